//! The console in headless Chromium: a reviewer approves in the browser, the customer downloads
//! and confirms in the browser, and the reviewer sees each step on the request page and in the
//! right queue filter; then a lock, an email given up past the retry cap with its re-send, and
//! a request that expires unreviewed.

use super::*;
use crate::support::browser::{Browser, BrowserOptions};
use crate::support::smtp::{free_port, Smtp};
use crate::support::tools::Tool;
use fantoccini::{Client, Locator};
use std::time::{Duration, Instant};

/// Clicks `selector` and waits until a new page has loaded (the old one is marked first).
async fn click_through(c: &Client, selector: &str) {
    c.execute("window.__seedport_old_page = true; return true;", vec![])
        .await
        .unwrap();
    crate::support::browser::click(c, selector).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let loaded = c
            .execute(
                "return !window.__seedport_old_page && document.readyState === 'complete';",
                vec![],
            )
            .await;
        if matches!(loaded, Ok(serde_json::Value::Bool(true))) {
            return;
        }
        if Instant::now() > deadline {
            let url = c.current_url().await.unwrap();
            let h1 = c
                .find(Locator::Css("h1"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            panic!("no new page after clicking {selector} on {url}: {h1} ({loaded:?})");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn sign_in(c: &Client, app: &TestApp, email: &str, secret: &[u8]) {
    c.goto(&format!("{}/staff/login", app.base_url))
        .await
        .unwrap();
    crate::support::browser::fill(c, "#email", email).await;
    crate::support::browser::fill(c, "#password", STAFF_PASSWORD).await;
    let code = totp::code_at(secret, app.clock.now());
    crate::support::browser::fill(c, "#code", &code).await;
    c.find(Locator::Css(
        "form[action='/staff/login'] button[type=submit]",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    c.wait()
        .for_element(Locator::Css("nav a[href='/staff/emails']"))
        .await
        .unwrap();
    app.clock.advance(totp::STEP);
}

/// The request page's state badge, as the reviewer reads it.
async fn shown_state(c: &Client, app: &TestApp, id: &RequestId) -> String {
    c.goto(&format!("{}/staff/requests/{id}", app.base_url))
        .await
        .unwrap();
    c.find(Locator::Css("#request-state"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Whether the queue filtered by `state` lists the request.
async fn listed_in(c: &Client, app: &TestApp, state: &str, reference: &str) -> bool {
    c.goto(&format!("{}/staff/requests", app.base_url))
        .await
        .unwrap();
    click_through(c, &format!("a[data-state='{state}']")).await;
    c.find_all(Locator::Css(&format!("tr[data-reference='{reference}']")))
        .await
        .unwrap()
        .len()
        == 1
}

/// Types a fresh code into the form of `selector` and submits it.
async fn with_code(c: &Client, app: &TestApp, secret: &[u8], form: &str) {
    let code = totp::code_at(secret, app.clock.now());
    crate::support::browser::fill(c, &format!("{form} input[name=code]"), &code).await;
    click_through(c, &format!("{form} button[type=submit]")).await;
    app.clock.advance(totp::STEP);
}

fn reference_of(app: &TestApp, id: &RequestId) -> String {
    let mut conn = app.db.get().unwrap();
    requests::table
        .find(id)
        .select(requests::reference)
        .first(&mut conn)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_delivery_team_follows_every_step_in_a_real_browser() {
    crate::require_tools!(Tool::Chromium, Tool::Chromedriver, Tool::Aiosmtpd);
    let port = free_port();
    let mut smtp = Some(Smtp::start(port));
    let app = app(Backend::Sqlite, port).await;
    let secret = create_staff(&app, "rev@vendor.example", Role::Reviewer);
    let downloads = tempfile::tempdir().unwrap();
    let browser = Browser::start(BrowserOptions {
        downloads: Some(downloads.path()),
        ..BrowserOptions::default()
    })
    .await;
    let c = browser.client.clone();
    sign_in(&c, &app, "rev@vendor.example", &secret).await;

    // Approve in the browser.
    let id = submit(&app, "one").await;
    let reference = reference_of(&app, &id);
    assert!(listed_in(&c, &app, "pending_review", &reference).await);
    assert_eq!(shown_state(&c, &app, &id).await, "waiting for review");
    with_code(&c, &app, &secret, "form[action$='/approve']").await;
    assert_eq!(shown_state(&c, &app, &id).await, "approved, email queued");
    assert!(listed_in(&c, &app, "approved", &reference).await);
    run_jobs(&app, 8).await;
    assert_eq!(shown_state(&c, &app, &id).await, "emailed");
    assert!(listed_in(&c, &app, "emailed", &reference).await);

    // The customer downloads and confirms in the browser.
    let mail = download_emails(smtp.as_ref().unwrap());
    let (download_link, confirm_link) = links_in(&app, &mail[0].text);
    c.goto(&download_link).await.unwrap();
    crate::support::browser::fill(&c, "#password", CUSTOMER_PASSWORD).await;
    crate::support::browser::click(&c, "form button[type=submit]").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let done: Vec<_> = std::fs::read_dir(downloads.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".zip"))
            .collect();
        if !done.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "the file never arrived");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(shown_state(&c, &app, &id).await, "downloaded");
    assert!(listed_in(&c, &app, "downloaded", &reference).await);
    c.goto(&confirm_link).await.unwrap();
    click_through(&c, "form button[type=submit]").await;
    assert_eq!(shown_state(&c, &app, &id).await, "confirmed");
    assert!(listed_in(&c, &app, "confirmed", &reference).await);
    c.goto(&format!("{}/staff/requests/{id}", app.base_url))
        .await
        .unwrap();
    let history = c
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for step in [
        "request.approved",
        "package.emailed",
        "package.downloaded",
        "package.confirmed",
    ] {
        assert!(history.contains(step), "{step} in the history");
    }

    // A lock: five wrong passwords in the browser.
    let locked = submit(&app, "one").await;
    c.goto(&format!("{}/staff/requests/{locked}", app.base_url))
        .await
        .unwrap();
    with_code(&c, &app, &secret, "form[action$='/approve']").await;
    run_jobs(&app, 8).await;
    let (link, _) = links_in(
        &app,
        &download_emails(smtp.as_ref().unwrap()).last().unwrap().text,
    );
    for _ in 0..5 {
        c.goto(&link).await.unwrap();
        crate::support::browser::fill(&c, "#password", "wrong wrong wrong").await;
        // The page posts in place (download.js) and shows the answer without navigating.
        crate::support::browser::click(&c, "form button[type=submit]").await;
        browser
            .wait_js(
                "document.querySelector('#download-error') || \
                 document.querySelector('main h1').textContent.includes('locked')",
            )
            .await;
    }
    let page = c
        .find(Locator::Css("main h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("locked"), "{page}");
    assert_eq!(shown_state(&c, &app, &locked).await, "locked");
    assert!(listed_in(&c, &app, "locked", &reference_of(&app, &locked)).await);

    // The relay is down past the retry cap: shown as failed; a re-send reaches the customer.
    let failing = submit(&app, "one").await;
    c.goto(&format!("{}/staff/requests/{failing}", app.base_url))
        .await
        .unwrap();
    with_code(&c, &app, &secret, "form[action$='/approve']").await;
    drop(smtp.take());
    fail_all(&app).await;
    assert_eq!(shown_state(&c, &app, &failing).await, "email failed");
    assert!(listed_in(&c, &app, "failed_delivery", &reference_of(&app, &failing)).await);
    c.goto(&format!("{}/staff/requests/{failing}", app.base_url))
        .await
        .unwrap();
    let emails = c
        .find(Locator::Css("#emails"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(emails.contains("failed"), "{emails}");
    let restarted = Smtp::start(port);
    with_code(&c, &app, &secret, "form[action$='/resend']").await;
    assert_eq!(
        shown_state(&c, &app, &failing).await,
        "approved, email queued"
    );
    run_jobs(&app, 8).await;
    assert_eq!(shown_state(&c, &app, &failing).await, "emailed");
    assert_eq!(download_emails(&restarted).len(), 1);

    // Nobody reviews a request for 14 days: it expires (sign in again after the jump).
    let unreviewed = submit(&app, "one").await;
    app.clock.advance(14 * 86_400 + 60);
    jobs::sweep_once(&deps(&app)).await.unwrap();
    sign_in(&c, &app, "rev@vendor.example", &secret).await;
    assert_eq!(shown_state(&c, &app, &unreviewed).await, "expired");
    assert!(listed_in(&c, &app, "expired", &reference_of(&app, &unreviewed)).await);
    c.goto(&format!("{}/staff/requests/{unreviewed}", app.base_url))
        .await
        .unwrap();
    let page = c
        .find(Locator::Css("#packages"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("the customer must make a new request"),
        "{page}"
    );
}
