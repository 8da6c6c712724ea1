//! Finding 7: download passwords have a per-IP limit across packages, so one address cannot
//! spread guesses over many packages (each with its own wrong-password limit).

use super::*;
use crate::support::requests::{approve_request, submit_request, RequestSpec};
use crate::support::{backends, spawn_app_with, TestApp};
use seedport::db::schema::outbox;

const PASSWORD: &str = "correct horse battery staple";

/// `n` password-protected packages (one request each, submitted and approved through the
/// domain); returns the download links from the queued emails (the sender is not running, so
/// they are still there).
async fn approved_with_packages(app: &TestApp, n: usize) -> Vec<String> {
    let mut links = Vec::new();
    for _ in 0..n {
        let spec = RequestSpec {
            password: Some(PASSWORD.into()),
            ..RequestSpec::default()
        };
        let made = submit_request(app, &spec);
        assert_eq!(made.package_ids.len(), 1);
        approve_request(app, &made.request_id, "staff:x");
        links.extend(download_links(app, &made.request_id));
    }
    assert_eq!(links.len(), n, "one download link per package");
    links
}

/// The `/d/…` paths in the emails queued for `request_id`.
fn download_links(app: &TestApp, request_id: &str) -> Vec<String> {
    let mut conn = app.db.get().unwrap();
    let bodies: Vec<String> = outbox::table
        .filter(outbox::request_id.eq(&request_id))
        .select(outbox::body_text)
        .load(&mut conn)
        .unwrap();
    let prefix = format!("{}/d/", app.base_url);
    let links: Vec<String> = bodies
        .iter()
        .filter_map(|t| {
            let start = t.find(&prefix)?;
            t[start..]
                .split_whitespace()
                .next()
                .map(|l| l[app.base_url.len()..].to_string())
        })
        .collect();
    links
}

async fn try_password(b: &Browser, link: &str, password: &str) -> reqwest::StatusCode {
    let csrf = b.csrf(link).await;
    b.post(link, &[("csrf", &csrf), ("password", password)])
        .await
        .status()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_address_cannot_spread_guesses_over_packages() {
    for backend in backends() {
        let app = spawn_app_with(backend, |c| {
            c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
            c.download_passwords_per_ip_per_hour = 4;
        })
        .await;
        let links = approved_with_packages(&app, 3).await;
        let guesser = Browser::from_ip(&app, "203.0.113.50");
        for link in &links[..2] {
            for _ in 0..2 {
                assert_eq!(try_password(&guesser, link, "wrong wrong wrong").await, 403);
            }
        }
        // Each package allows five wrong passwords, but this address has used its four.
        let r = try_password(&guesser, &links[2], "wrong wrong wrong").await;
        assert_eq!(r, 429, "{backend:?}");
        let page = guesser.get(&links[2]).await;
        assert_eq!(page.status(), 200, "a GET changes nothing");

        // The customer, from another address, downloads with the right password.
        let customer = Browser::from_ip(&app, "198.51.100.7");
        assert_eq!(
            try_password(&customer, &links[2], PASSWORD).await,
            200,
            "{backend:?}"
        );
    }
}
