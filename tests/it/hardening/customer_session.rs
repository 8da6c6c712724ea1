//! Finding 9: the customer session cookie is issued by the server; a value it did not issue is
//! ignored and replaced, and a successful lookup rotates it, so a planted value is worthless.

use super::*;
use crate::support::{backends, spawn_app};
use reqwest::StatusCode;

const EMAIL: &str = "it-admin@acme.example";

fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or("").to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_value_the_server_did_not_issue_is_replaced() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let b = Browser::new(&app);
        let chosen = format!("sp_cs_{}", "A".repeat(43));
        b.jar.add_cookie_str(
            &format!("sp_customer={chosen}; Path=/"),
            &app.base_url.parse().unwrap(),
        );
        let r = b.get("/").await;
        let issued = set_cookie(&r, "sp_customer");
        assert!(issued.is_some(), "{backend:?}: a chosen value was adopted");
        assert_ne!(issued.as_deref(), Some(chosen.as_str()));
        // The issued value is kept on the next page (no new cookie).
        let r = b.get("/").await;
        assert_eq!(set_cookie(&r, "sp_customer"), None, "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_successful_lookup_rotates_the_session() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        // The attacker gets a genuine value and plants it in the victim's browser.
        let attacker = Browser::new(&app);
        attacker.get("/").await;
        let planted = attacker.cookie("sp_customer").unwrap();
        let victim = Browser::new(&app);
        victim.jar.add_cookie_str(
            &format!("sp_customer={planted}; Path=/"),
            &app.base_url.parse().unwrap(),
        );
        let csrf = victim.csrf("/").await;
        assert_eq!(
            victim.cookie("sp_customer").as_deref(),
            Some(planted.as_str())
        );
        let r = victim
            .post(
                "/request",
                &[
                    ("csrf", &csrf),
                    ("kind", "po"),
                    ("reference", "PO-2026-0042"),
                    ("email", EMAIL),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{backend:?}");
        let shipments = r.headers()["location"].to_str().unwrap().to_string();
        let rotated = set_cookie(&r, "sp_customer");
        assert!(rotated.is_some(), "{backend:?}: not rotated");
        assert_ne!(rotated.as_deref(), Some(planted.as_str()));
        // The victim continues; the attacker's value opens nothing.
        assert_eq!(victim.get(&shipments).await.status(), StatusCode::OK);
        let stolen = attacker.get(&shipments).await;
        assert_eq!(stolen.status(), StatusCode::NOT_FOUND, "{backend:?}");
    }
}
