//! Finding 8: HSTS in production, a Permissions-Policy everywhere, and `__Host-` cookies in
//! production (Secure, Path=/, no Domain) that the server reads back.

use crate::support::{backends, spawn_app, spawn_app_with};
use seedport::config::Mode;

fn set_cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

fn assert_host_cookie(cookies: &[String], name: &str) -> String {
    let c = cookies
        .iter()
        .find(|c| c.starts_with(&format!("__Host-{name}=")))
        .unwrap_or_else(|| panic!("no __Host-{name} cookie in {cookies:?}"));
    assert!(c.contains("; Secure"), "{c}");
    assert!(c.contains("; Path=/"), "{c}");
    assert!(c.contains("; HttpOnly"), "{c}");
    assert!(!c.to_ascii_lowercase().contains("domain="), "{c}");
    c.split(';').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn production_sends_hsts_and_host_prefixed_cookies() {
    for backend in backends() {
        let app = spawn_app_with(backend, |c| c.mode = Mode::Production).await;
        let r = app
            .client
            .get(format!("{}/", app.base_url))
            .send()
            .await
            .unwrap();
        let hsts = r.headers()["strict-transport-security"].to_str().unwrap();
        let max_age: u64 = hsts
            .split(';')
            .find_map(|p| p.trim().strip_prefix("max-age="))
            .unwrap()
            .parse()
            .unwrap();
        assert!(max_age >= 31_536_000, "{backend:?}: {hsts}");
        assert!(r.headers().contains_key("permissions-policy"));
        let customer = assert_host_cookie(&set_cookies(&r), "sp_customer");

        // The prefixed cookie is read back: no new session on the next page.
        let again = reqwest::Client::new()
            .get(format!("{}/", app.base_url))
            .header("cookie", &customer)
            .send()
            .await
            .unwrap();
        assert!(
            set_cookies(&again).is_empty(),
            "{backend:?}: cookie not read back"
        );

        let r = app
            .client
            .get(format!("{}/staff/login", app.base_url))
            .send()
            .await
            .unwrap();
        assert_host_cookie(&set_cookies(&r), "sp_staff");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_mode_has_no_hsts_but_a_permissions_policy() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let r = app
            .client
            .get(format!("{}/", app.base_url))
            .send()
            .await
            .unwrap();
        assert!(!r.headers().contains_key("strict-transport-security"));
        let policy = r.headers()["permissions-policy"].to_str().unwrap();
        assert!(policy.contains("camera=()"), "{backend:?}: {policy}");
        assert!(set_cookies(&r)
            .iter()
            .any(|c| c.starts_with("sp_customer=")));
    }
}
