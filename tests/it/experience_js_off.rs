//! The customer flow in Chromium with JavaScript turned off: every step works with plain forms,
//! the custom CSV builder's Add / ↑ / ↓ / Remove are server round trips, controls that need
//! scripts (Copy) are not shown, and the download page's form saves the file.

use crate::experience::delivered;
use crate::support::browser::{Browser, BrowserOptions};
use crate::support::tools::Tool;
use crate::support::{spawn_app, Backend};
use crate::wizard_helpers::{EMAIL, PASSWORD};
use diesel::prelude::*;
use fantoccini::{Client, Locator};
use seedport::db::schema::requests;
use std::time::{Duration, Instant};

/// Clicks a button and waits until its page is replaced: with JavaScript off every button
/// posts a form, and the next check must read the page that answers it, not the old one.
async fn click(c: &Client, css: &str) {
    let button = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    button.clone().click().await.unwrap();
    for _ in 0..100 {
        if button.tag_name().await.is_err() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn type_in(c: &Client, css: &str, text: &str) {
    let field = c.find(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn wait_for(c: &Client, css: &str) {
    c.wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("waiting for {css}: {e}"));
}

async fn value(c: &Client, css: &str) -> String {
    // With JavaScript off a form post replaces the page, which can happen between finding the
    // field and reading it (a stale element): read it again from the new page.
    for _ in 0..40 {
        if let Ok(field) = c.find(Locator::Css(css)).await {
            if let Ok(v) = field.prop("value").await {
                return v.unwrap_or_default();
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("cannot read the value of {css}");
}

async fn rows(c: &Client) -> usize {
    c.find_all(Locator::Css("#custom-columns tbody tr"))
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn the_customer_flow_runs_through_with_javascript_off() {
    crate::require_tools!(Tool::Chromium, Tool::Chromedriver);
    let app = spawn_app(Backend::Sqlite).await;
    let downloads = tempfile::tempdir().unwrap();
    let browser = Browser::start(BrowserOptions {
        javascript: false,
        downloads: Some(downloads.path()),
        ..BrowserOptions::default()
    })
    .await;
    let c = browser.client.clone();

    c.goto(&app.base_url).await.unwrap();
    type_in(&c, "#reference", "INV-10042").await; // "PO" stays chosen: the shape decides
    type_in(&c, "#email", EMAIL).await;
    click(&c, "form[action='/request'] button[type=submit]").await;
    wait_for(&c, "input[name^='serial-']").await;
    let serials = c
        .find_all(Locator::Css("input[name^='serial-']"))
        .await
        .unwrap();
    serials[0].send_keys("1000 1010").await.unwrap();
    serials[1].send_keys("10002010").await.unwrap();
    click(&c, "form button[type=submit]").await;

    // Protection: a suggested passphrase; its Copy button needs scripts, so it is not shown.
    wait_for(&c, "#prot-password").await;
    click(&c, "button[value=suggest]").await;
    wait_for(&c, "#suggested-passphrase").await;
    let copy = c.find(Locator::Css("[data-copy]")).await.unwrap();
    assert!(
        !copy.is_displayed().await.unwrap(),
        "Copy does nothing without scripts, so it is hidden"
    );
    click(&c, "#prot-password").await;
    type_in(&c, "#password", PASSWORD).await;
    type_in(&c, "#password_confirm", PASSWORD).await;
    click(&c, ".actions button[value=continue]").await;

    // Format: the custom CSV builder by round trips.
    wait_for(&c, "#format-custom-csv").await;
    click(&c, "#format-custom-csv").await;
    assert_eq!(rows(&c).await, 2);
    click(&c, "button[value=add]").await;
    wait_for(&c, "#col-2-label").await;
    assert_eq!(rows(&c).await, 3);
    let landed = c
        .execute("return [location.hash, window.scrollY > 0];", vec![])
        .await
        .unwrap();
    assert_eq!(
        landed,
        serde_json::json!(["#opt-custom-csv", true]),
        "the round trip lands at the builder, not the top of the page"
    );
    assert!(
        c.find(Locator::Css("#format-custom-csv"))
            .await
            .unwrap()
            .is_selected()
            .await
            .unwrap(),
        "the chosen format survives the round trip"
    );
    type_in(&c, "#col-2-label", "model").await;
    c.find(Locator::Css("#col-2-property"))
        .await
        .unwrap()
        .select_by_value("model")
        .await
        .unwrap();
    click(&c, "button[value='up-2']").await;
    wait_for(&c, "#col-1-label").await;
    assert_eq!(value(&c, "#col-1-label").await, "model");
    assert_eq!(value(&c, "#col-2-label").await, "secret");
    click(&c, "button[value='remove-0']").await;
    wait_for(&c, "#col-0-label").await;
    assert_eq!(rows(&c).await, 2);
    assert_eq!(value(&c, "#col-0-label").await, "model");
    click(&c, ".actions button[value=continue]").await;

    // Review and submit.
    wait_for(&c, "form[action$='/submit'] button[type=submit]").await;
    let review = c.source().await.unwrap();
    assert!(review.contains("Columns: model, secret"), "{review}");
    click(&c, "form[action$='/submit'] button[type=submit]").await;
    wait_for(&c, "#reference").await;
    let reference = c
        .find(Locator::Css("#reference"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut conn = app.db.get().unwrap();
    let (format_id, state): (String, String) = requests::table
        .filter(requests::reference.eq(&reference))
        .select((requests::format_id, requests::state))
        .first(&mut conn)
        .unwrap();
    assert_eq!(
        (format_id.as_str(), state.as_str()),
        ("custom-csv", "pending_review")
    );
}

#[tokio::test]
async fn the_download_form_saves_the_file_with_javascript_off() {
    crate::require_tools!(Tool::Chromium, Tool::Chromedriver);
    let app = spawn_app(Backend::Sqlite).await;
    let (download, _) = delivered(&app, "duo-csv").await;
    let downloads = tempfile::tempdir().unwrap();
    let browser = Browser::start(BrowserOptions {
        javascript: false,
        downloads: Some(downloads.path()),
        ..BrowserOptions::default()
    })
    .await;
    let c = browser.client.clone();
    c.goto(&download).await.unwrap();
    type_in(&c, "#password", PASSWORD).await;
    click(&c, "#download-form button").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let done: Vec<_> = std::fs::read_dir(downloads.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n.ends_with(".zip"))
            .collect();
        if done.len() == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "no zip arrived: {done:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
