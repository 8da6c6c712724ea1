//! One end-to-end walk through the wizard in headless Chromium (driven by chromedriver via
//! fantoccini), from the start page to the confirmation page, then the request in the database.

use crate::support;
use crate::wizard_helpers;

use diesel::prelude::*;
use fantoccini::Locator;
use seedport::db::schema::{packages, requests};

use crate::support::browser::{Browser, BrowserOptions};
use crate::support::tools::Tool;
use support::{spawn_app, Backend};
use wizard_helpers::PASSWORD;

#[tokio::test]
async fn customer_walks_the_wizard_in_a_real_browser() {
    crate::require_tools!(Tool::Chromium, Tool::Chromedriver);
    let app = spawn_app(Backend::Sqlite).await;
    let browser = Browser::start(BrowserOptions::default()).await;
    let c = browser.client.clone();

    c.goto(&app.base_url).await.unwrap();
    crate::support::browser::click(&c, "#kind-po").await;
    crate::support::browser::fill(&c, "#reference", "PO-2026-0042").await;
    crate::support::browser::fill(&c, "#email", "it-admin@acme.example").await;
    crate::support::browser::click(&c, "form[action='/request'] button[type=submit]").await;

    // Shipments: both preselected; type one serial each.
    c.wait()
        .for_element(Locator::Css("input[name^='serial-']"))
        .await
        .unwrap();
    let serials = c
        .find_all(Locator::Css("input[name^='serial-']"))
        .await
        .unwrap();
    assert_eq!(serials.len(), 2);
    serials[0].send_keys("10001010").await.unwrap();
    serials[1].send_keys("10002010").await.unwrap();
    crate::support::browser::click(&c, "form button[type=submit]").await;

    // Protection: password only, suggested passphrase is not needed; type our own.
    c.wait()
        .for_element(Locator::Css("#prot-password"))
        .await
        .unwrap();
    crate::support::browser::click(&c, "#prot-password").await;
    crate::support::browser::fill(&c, "#password", PASSWORD).await;
    crate::support::browser::fill(&c, "#password_confirm", PASSWORD).await;
    crate::support::browser::click(&c, ".actions button[value=continue]").await;

    // Format: Duo CSV; the PSKC and custom CSV options are hidden by the script.
    c.wait()
        .for_element(Locator::Css("#format-duo-csv"))
        .await
        .unwrap();
    crate::support::browser::click(&c, "#format-duo-csv").await;
    let custom = c.find(Locator::Css("#opt-custom-csv")).await.unwrap();
    assert!(
        !custom.is_displayed().await.unwrap(),
        "script hides other formats' options"
    );
    crate::support::browser::click(&c, ".actions button[value=continue]").await;

    // Review, then submit.
    c.wait()
        .for_element(Locator::XPath("//h1[contains(., 'Check your request')]"))
        .await
        .unwrap();
    crate::support::browser::click(&c, "form[action$='/submit'] button[type=submit]").await;
    let reference = c
        .wait()
        .for_element(Locator::Css("#reference"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(reference.starts_with("SP-"), "{reference}");
    c.close().await.unwrap();

    let mut conn = app.db.get().unwrap();
    let (id, format_id, state): (String, String, String) = requests::table
        .filter(requests::reference.eq(&reference))
        .select((requests::id, requests::format_id, requests::state))
        .first(&mut conn)
        .unwrap();
    assert_eq!(
        (format_id.as_str(), state.as_str()),
        ("duo-csv", "pending_review")
    );
    let pkgs: Vec<(String, i64)> = packages::table
        .filter(packages::request_id.eq(&id))
        .select((packages::file_name, packages::token_count))
        .load(&mut conn)
        .unwrap();
    assert_eq!(pkgs, vec![(format!("{reference}.zip"), 50)]);
}
