//! The portal as a customer meets it (issue 13): what a failed lookup keeps, serials as people
//! type them, the download page after a download, guides, copy and the finish (HEAD, 404,
//! favicon). Pages are read as a browser gets them; rows are read back from the database.

use crate::support::browser::{Browser, BrowserOptions};
use crate::support::tools::Tool;
use crate::support::{backends, spawn_app, Backend, TestApp};
use crate::wizard_helpers::{self as wh, EMAIL, PASSWORD};
use diesel::prelude::*;
use fantoccini::Locator;
use reqwest::StatusCode;
use seedport::db::schema::{packages, requests, shipments};
use std::time::{Duration, Instant};

async fn get(app: &TestApp, path: &str) -> (StatusCode, String) {
    let resp = app
        .client
        .get(format!("{}{path}", app.base_url))
        .send()
        .await
        .unwrap();
    (resp.status(), resp.text().await.unwrap())
}

/// Submits a request for PO-2026-0042 in `format` with password protection, approves it and
/// returns the download and confirmation links from the "download ready" email.
pub async fn delivered(app: &TestApp, format: &str) -> (String, String) {
    let (base, csrf) = wh::to_format(app, "one").await;
    let r = wh::post_form(
        app,
        &format!("{base}/format"),
        &[("csrf", &csrf), ("format", format), ("action", "continue")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = wh::post_form(app, &format!("{base}/submit"), &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let id: String = {
        let mut conn = app.db.get().unwrap();
        requests::table
            .select(requests::id)
            .first(&mut conn)
            .unwrap()
    };
    let (config, now) = (app.config.clone(), app.clock.now());
    app.db
        .run(move |conn| {
            let tera = seedport::web::assets::tera().unwrap();
            let who = seedport::lifecycle::Who {
                actor: "staff:t",
                client_ip: "10.0.0.1",
            };
            let id = seedport::lifecycle::RequestId::from_raw(id);
            seedport::delivery::approve(conn, &config, &tera, &id, who, now)
        })
        .await
        .unwrap();
    let _jobs = seedport::jobs::start(
        seedport::jobs::JobDeps {
            db: app.db.clone(),
            config: app.config.clone(),
            clock: app.clock.clone(),
            tera: seedport::web::assets::tera().unwrap(),
        },
        seedport::jobs::JobOptions {
            sender: seedport::mail::sender::SenderOptions {
                poll: Duration::from_millis(50),
                ..Default::default()
            },
            sweep_every: Duration::from_secs(3600),
            ..Default::default()
        },
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mail = seedport::mail::mailbox::list(&app.config.mail_dir());
        if let Some(ready) = mail.iter().find(|m| m.text.contains("/d/sp_")) {
            let link = |kind: &str| {
                let prefix = format!("{}/{kind}/", app.base_url);
                let start = ready.text.find(&prefix).unwrap();
                ready.text[start..]
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .to_string()
            };
            return (link("d"), link("c"));
        }
        assert!(Instant::now() < deadline, "no download email arrived");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_failed_lookup_keeps_what_was_typed_and_the_number_shape_finds_the_order() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let csrf = wh::start(&app).await;
        // Wrong email: the page keeps the number, the email and the kind chosen.
        let r = wh::lookup(
            &app,
            &csrf,
            "shipment",
            "PO-2026-0042",
            "someone@elsewhere.example",
        )
        .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let page = r.text().await.unwrap();
        assert!(page.contains("We could not find an order"), "{backend:?}");
        assert!(
            page.contains(r#"value="PO-2026-0042""#),
            "{backend:?}: number kept"
        );
        assert!(
            page.contains(r#"value="someone@elsewhere.example""#),
            "{backend:?}: email kept"
        );
        assert!(
            page.contains(r#"id="kind-shipment" name="kind" value="shipment" checked"#),
            "{backend:?}: kind kept"
        );
        // An invoice or shipment number typed with "PO" chosen finds its order.
        for number in ["INV-10042", "inv-10042", "SHP-50042-2"] {
            // A fresh form each time, as a browser would (a success may renew the session).
            let csrf = wh::start(&app).await;
            let r = wh::lookup(&app, &csrf, "po", number, EMAIL).await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "{backend:?} {number}");
            assert!(wh::location(&r).ends_with("/shipments"));
        }
        // The same email with a PO-shaped number that is not ours is still the one answer.
        let csrf = wh::start(&app).await;
        let r = wh::lookup(
            &app,
            &csrf,
            "invoice",
            "PO-2026-0042",
            "x@elsewhere.example",
        )
        .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn serials_typed_with_spaces_or_dashes_prove_the_shipment_without_an_attempt() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let (base, csrf) = wh::draft_for(&app, "po", "PO-2026-0042").await;
        let r = wh::prove(
            &app,
            &base,
            &csrf,
            &[("SHP-50042-1", "1000 1003"), ("SHP-50042-2", "1000-2007")],
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{backend:?}");
        assert!(wh::location(&r).ends_with("/protection"));
        let mut conn = app.db.get().unwrap();
        let failures: Vec<i32> = shipments::table
            .select(shipments::serial_failures)
            .load(&mut conn)
            .unwrap();
        assert!(
            failures.iter().all(|f| *f == 0),
            "{backend:?}: {failures:?}"
        );
        // A really wrong serial still counts.
        let (base, csrf) = wh::draft_for(&app, "po", "PO-2026-0042").await;
        let r = wh::prove(&app, &base, &csrf, &[("SHP-50042-1", "1000-9999")]).await;
        let page = r.text().await.unwrap();
        assert!(page.contains("4 attempts left"), "{backend:?}");
    }
}

#[tokio::test]
async fn head_answers_like_get_unknown_pages_are_branded_and_there_is_a_favicon() {
    let app = spawn_app(Backend::Sqlite).await;
    for path in ["/", "/static/css/site.css", "/guides/entra", "/healthz"] {
        let resp = app
            .client
            .head(format!("{}{path}", app.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "HEAD {path}");
        assert!(
            resp.text().await.unwrap().is_empty(),
            "HEAD {path} has no body"
        );
    }
    let (status, page) = get(&app, "/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("We cannot find that page"), "{page}");
    assert!(page.contains(&app.config.vendor_name), "branded 404");
    assert!(page.contains(r#"class="site""#), "with the site header");
    let resp = app
        .client
        .get(format!("{}/favicon.ico", app.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "image/svg+xml");
    let (_, start) = get(&app, "/").await;
    assert!(start.contains(r#"rel="icon""#));
}

#[tokio::test]
async fn copy_reads_as_written_for_people() {
    let app = spawn_app(Backend::Sqlite).await;
    let (base, csrf) = wh::draft_for(&app, "po", "PO-2026-0042").await;
    let shipments = app
        .client
        .get(format!("{base}/shipments"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!shipments.contains("PO PO-"), "no \"PO PO-…\"");
    assert!(shipments.contains("Purchase order PO-2026-0042"));
    wh::prove(
        &app,
        &base,
        &csrf,
        &[("SHP-50042-1", "10001003"), ("SHP-50042-2", "10002007")],
    )
    .await;
    let r = wh::protect(
        &app,
        &base,
        &[
            ("csrf", &csrf),
            ("bundling", "one"),
            ("protection", "pgp"),
            ("pgp_source", "new"),
            ("pgp_key", "hello, this is not a key"),
            ("action", "continue"),
        ],
    )
    .await;
    let page = r.text().await.unwrap();
    assert!(page.contains("This is not an OpenPGP public key"), "{page}");
    assert!(!page.contains('`'), "no Markdown backticks on the page");
    assert!(
        page.contains(r#"href="/guides/pgp-key""#),
        "the PGP guide is linked"
    );
}

#[tokio::test]
async fn the_guides_are_there_and_linked() {
    let app = spawn_app(Backend::Sqlite).await;
    let (status, pgp) = get(&app, "/guides/pgp-key").await;
    assert_eq!(status, StatusCode::OK);
    for needle in [
        "Kleopatra",
        "Gpg4win",
        "gpg --export --armor",
        "--quick-generate-key",
    ] {
        assert!(pgp.contains(needle), "PGP guide mentions {needle}");
    }
    let (status, entra) = get(&app, "/guides/entra").await;
    assert_eq!(status, StatusCode::OK);
    for needle in [
        "Upload",
        "Activate",
        "/tools/assign",
        "upn,serial number,secret key",
    ] {
        assert!(entra.contains(needle), "Entra guide mentions {needle}");
    }
    let (download, _) = delivered(&app, "entra-csv").await;
    let page = app
        .client
        .get(&download)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"href="/guides/entra""#),
        "download page links the guide"
    );
    assert!(
        page.contains("7-Zip"),
        "download page says how to open the zip"
    );
}

async fn wait_file(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().unwrap_or_default().to_string_lossy();
                !name.starts_with('.') && !name.ends_with(".crdownload") && !name.ends_with(".tmp")
            })
            .collect();
        if !files.is_empty() {
            return files;
        }
        assert!(Instant::now() < deadline, "no file was downloaded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn after_a_download_the_page_says_so_and_a_double_click_spends_one_download() {
    crate::require_tools!(Tool::Chromium, Tool::Chromedriver);
    let app = spawn_app(Backend::Sqlite).await;
    let (download, _) = delivered(&app, "entra-csv").await;
    let downloads = tempfile::tempdir().unwrap();
    let b = Browser::start(BrowserOptions {
        downloads: Some(downloads.path()),
        ..BrowserOptions::default()
    })
    .await;
    b.goto(&download).await.unwrap();
    assert_eq!(
        b.find(Locator::Css("#downloads-left"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "3"
    );
    crate::support::browser::fill(&b, "#password", "not the password").await;
    crate::support::browser::click(&b, "#download-form button").await;
    b.wait_js("document.getElementById('download-error')").await;
    let error = b
        .find(Locator::Css("#download-error"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(error.contains("4 attempts left"), "{error}");
    crate::support::browser::fill(&b, "#password", PASSWORD).await;
    // A double click.
    b.execute(
        "var f = document.getElementById('download-form');
         f.requestSubmit(); f.requestSubmit();
         return document.querySelector('#download-form button').getAttribute('aria-busy');",
        vec![],
    )
    .await
    .unwrap();
    b.wait_js("!document.getElementById('downloaded').hidden")
        .await;
    let files = wait_file(downloads.path()).await;
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].to_string_lossy().ends_with(".zip"), "{files:?}");
    let state = b
        .execute(
            "return [!!document.getElementById('download-error'),
                     document.getElementById('password').value,
                     document.getElementById('downloads-left').textContent,
                     document.getElementById('downloaded').textContent];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(state[0], false, "the earlier error is gone");
    assert_eq!(state[1], "", "the password field is empty");
    assert_eq!(state[2], "2", "one download fewer");
    assert!(state[3].as_str().unwrap().contains("open it"), "{state:?}");
    let page = b.source().await.unwrap();
    assert!(page.contains("7-Zip") && page.contains("/guides/entra"));
    let mut conn = app.db.get().unwrap();
    let spent: i32 = packages::table
        .select(packages::downloads)
        .first(&mut conn)
        .unwrap();
    assert_eq!(spent, 1, "a double click spends one download");
}

/// Walks a fresh browser from the start page to the format step (serials for both shipments,
/// password protection).
pub async fn browser_to_format(app: &TestApp, c: &fantoccini::Client) {
    c.goto(&app.base_url).await.unwrap();
    for (css, text) in [("#reference", "PO-2026-0042"), ("#email", EMAIL)] {
        crate::support::browser::fill(c, css, text).await;
    }
    let click = |css: &'static str| async move {
        crate::support::browser::click(c, css).await;
    };
    click("form[action='/request'] button[type=submit]").await;
    c.wait()
        .for_element(Locator::Css("input[name^='serial-']"))
        .await
        .unwrap();
    let serials = c
        .find_all(Locator::Css("input[name^='serial-']"))
        .await
        .unwrap();
    serials[0].send_keys("10001010").await.unwrap();
    serials[1].send_keys("10002010").await.unwrap();
    click("form button[type=submit]").await;
    c.wait()
        .for_element(Locator::Css("#prot-password"))
        .await
        .unwrap();
    click("#prot-password").await;
    for css in ["#password", "#password_confirm"] {
        crate::support::browser::fill(c, css, PASSWORD).await;
    }
    click(".actions button[value=continue]").await;
    c.wait()
        .for_element(Locator::Css("#format-custom-csv"))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_custom_csv_builder_edits_in_place_with_a_live_preview() {
    crate::require_tools!(Tool::Chromium, Tool::Chromedriver);
    let app = spawn_app(Backend::Sqlite).await;
    let b = Browser::start(BrowserOptions::default()).await;
    let c = b.client.clone();
    browser_to_format(&app, &c).await;
    crate::support::browser::click(&c, "#format-custom-csv").await;
    // A marker that a page load would wipe.
    c.execute(
        "window.stayed = true; window.scrollTo(0, 600); return window.scrollY;",
        vec![],
    )
    .await
    .unwrap();
    let preview = || async {
        c.find(Locator::Css("#csv-preview"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let first = preview().await;
    assert!(
        first.starts_with("serial,secret\n10001001,GEZDGNBV"),
        "{first}"
    );
    crate::support::browser::click(&c, "button[value=add]").await;
    let focused = c
        .execute("return document.activeElement.id;", vec![])
        .await
        .unwrap();
    assert_eq!(focused, "col-2-label", "the new row's label has the focus");
    crate::support::browser::fill(&c, "#col-2-label", "model").await;
    c.find(Locator::Css("#col-2-property"))
        .await
        .unwrap()
        .select_by_value("model")
        .await
        .unwrap();
    crate::support::browser::click(&c, "button[value='up-2']").await;
    let focused = c
        .execute(
            "return document.activeElement.getAttribute('aria-label');",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(focused, "Move column 2 up", "focus stays on the moved row");
    c.find(Locator::Css("#csv_delimiter"))
        .await
        .unwrap()
        .select_by_value("semicolon")
        .await
        .unwrap();
    let now = preview().await;
    assert!(
        now.starts_with("serial;model;secret\n10001001;SafeID/Classic;GEZDGNBV"),
        "{now}"
    );
    let after = c
        .execute(
            "return [window.stayed === true, window.scrollY > 0,
                     document.querySelector('input[name=columns]').value];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        after,
        serde_json::json!([true, true, "3"]),
        "no page load, no jump to the top, rows renumbered"
    );
    crate::support::browser::click(&c, "button[value='remove-0']").await;
    assert!(preview().await.starts_with("model;secret\n"));
    crate::support::browser::click(&c, ".actions button[value=continue]").await;
    c.wait()
        .for_element(Locator::Css("form[action$='/submit']"))
        .await
        .unwrap();
    let review = c.source().await.unwrap();
    assert!(
        review.contains("Columns: model, secret"),
        "the server got the edited rows"
    );
    assert!(review.contains("delimiter semicolon"), "{review}");
}

/// WCAG contrast ratio of two `rgb(r, g, b)` colours as the browser reports them.
fn contrast(a: &str, b: &str) -> f64 {
    let lum = |c: &str| {
        let v: Vec<f64> = c
            .trim_start_matches("rgba(")
            .trim_start_matches("rgb(")
            .trim_end_matches(')')
            .split(',')
            .take(3)
            .map(|x| x.trim().parse::<f64>().unwrap() / 255.0)
            .map(|x| {
                if x <= 0.03928 {
                    x / 12.92
                } else {
                    ((x + 0.055) / 1.055).powf(2.4)
                }
            })
            .collect();
        0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]
    };
    let (x, y) = (lum(a), lum(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

#[tokio::test]
async fn the_focus_ring_stands_out_and_the_number_shape_picks_its_kind() {
    crate::require_tools!(Tool::Chromium, Tool::Chromedriver);
    let app = spawn_app(Backend::Sqlite).await;
    let b = Browser::start(BrowserOptions::default()).await;
    b.goto(&app.base_url).await.unwrap();
    // Keyboard focus on a field in a card, on a button, and on the header's logo link.
    for (css, background) in [
        ("#reference", "rgb(255, 255, 255)"),
        ("form[action='/request'] button", "rgb(255, 255, 255)"),
        ("header.site .logo", "rgb(11, 92, 173)"),
    ] {
        let ring = b
            .execute(
                "var e = document.querySelector(arguments[0]); e.focus();
                 var s = getComputedStyle(e);
                 return [s.outlineStyle, s.outlineWidth, s.outlineColor];",
                vec![serde_json::json!(css)],
            )
            .await
            .unwrap();
        let (style, color) = (ring[0].as_str().unwrap(), ring[2].as_str().unwrap());
        assert_eq!(style, "solid", "{css} shows a focus ring");
        let ratio = contrast(color, background);
        assert!(
            ratio >= 3.0,
            "{css}: focus ring {color} on {background} is {ratio:.2}:1, WCAG asks 3:1"
        );
    }
    // Typing an invoice number selects "invoice".
    crate::support::browser::fill(&b, "#reference", "INV-10042").await;
    let chosen = b
        .execute(
            "return document.querySelector('input[name=kind]:checked').value;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(chosen, "invoice");
}
