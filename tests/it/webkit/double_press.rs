//! Issue #13, item 2: a double press of "Download" with JavaScript off (the form posted twice
//! at once by the same browser) spends one download, and both presses get the file.

use super::*;
use crate::support::backends;
use crate::wizard_helpers::{csrf_of, PASSWORD};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

/// The value of the hidden field `name` in a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("the field") + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Opens the download page in `client`: (csrf, seen, page).
async fn open(client: &reqwest::Client, link: &str) -> (String, String, String) {
    let page = client.get(link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    (csrf_of(&html), hidden(&html, "seen"), html)
}

async fn press(
    client: &reqwest::Client,
    link: &str,
    csrf: &str,
    seen: &str,
) -> (StatusCode, Option<String>, Vec<u8>) {
    let r = client
        .post(link)
        .form(&[("csrf", csrf), ("password", PASSWORD), ("seen", seen)])
        .send()
        .await
        .unwrap();
    let disposition = r
        .headers()
        .get("content-disposition")
        .map(|v| v.to_str().unwrap().to_string());
    (r.status(), disposition, r.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_presses_of_one_download_form_spend_one_download() {
    for backend in backends() {
        let app = quiet_app(backend).await;
        let (id, link) = approved(&app).await;
        let sha256: String = {
            let mut conn = app.db.get().unwrap();
            packages::table
                .filter(packages::request_id.eq(id.to_string()))
                .select(packages::sha256)
                .first(&mut conn)
                .unwrap()
        };
        let customer = browser();
        let (csrf, seen, _) = open(&customer, &link).await;
        assert_eq!(seen, "0");

        // The double click: the same form, posted twice at once.
        let (first, second) = tokio::join!(
            press(&customer, &link, &csrf, &seen),
            press(&customer, &link, &csrf, &seen)
        );
        for (status, disposition, bytes) in [&first, &second] {
            assert_eq!(
                *status,
                StatusCode::OK,
                "{backend:?}: {}",
                String::from_utf8_lossy(bytes)
            );
            assert!(
                disposition
                    .as_deref()
                    .is_some_and(|d| d.starts_with("attachment")),
                "{backend:?}: both presses get the file"
            );
            assert_eq!(hex::encode(Sha256::digest(bytes)), sha256, "{backend:?}");
        }
        assert_eq!(
            downloads_of(&app, &id),
            1,
            "{backend:?}: one download spent"
        );

        // Reloaded, the page shows one download fewer, and its form stands for the next one.
        let (csrf2, seen2, html) = open(&customer, &link).await;
        assert_eq!(seen2, "1");
        assert!(html.contains("id=\"downloads-left\">2<"), "{html}");

        // Someone else's browser with the old form gets no free download: nothing is spent,
        // and the page says the count moved on.
        let other = browser();
        let (other_csrf, _, _) = open(&other, &link).await;
        let (status, disposition, body) = press(&other, &link, &other_csrf, "0").await;
        assert_eq!(status, StatusCode::CONFLICT, "{backend:?}");
        assert!(disposition.is_none());
        assert!(String::from_utf8_lossy(&body).contains("This page was out of date"));
        assert_eq!(downloads_of(&app, &id), 1);

        // Past the window, the first browser's old form is stale too.
        app.clock
            .advance(seedport::delivery::links::AGAIN_WINDOW_SECS + 1);
        let (status, _, _) = press(&customer, &link, &csrf, "0").await;
        assert_eq!(status, StatusCode::CONFLICT, "{backend:?}");
        assert_eq!(downloads_of(&app, &id), 1);

        // The reloaded page's form spends the next download.
        let (status, disposition, _) = press(&customer, &link, &csrf2, &seen2).await;
        assert_eq!(status, StatusCode::OK);
        assert!(disposition.is_some());
        assert_eq!(downloads_of(&app, &id), 2, "{backend:?}");
        let mut conn = app.db.get().unwrap();
        let repeats: i64 = seedport::db::schema::audit_log::table
            .filter(seedport::db::schema::audit_log::action.eq("package.download_repeated"))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(repeats, 1, "{backend:?}: the repeat is audited");
    }
}
