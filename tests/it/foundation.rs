//! Foundation: migrations on both backends, the server's operational endpoints and headers,
//! configuration failures, and the production guard.

use crate::support;

use seedport::db::{self, Db};
use support::{backends, spawn_app, TestDb};

#[test]
fn migrations_apply_revert_and_reapply_on_every_backend() {
    for backend in backends() {
        let test_db = TestDb::new(backend);
        let db = Db::connect(&test_db.url, 2).unwrap();
        let mut conn = db.get().unwrap();
        let applied = db::migrate(&mut conn).unwrap();
        assert!(applied >= 2, "{backend:?}: applied {applied}");
        assert_eq!(
            db::migrate(&mut conn).unwrap(),
            0,
            "{backend:?}: second run is a no-op"
        );
        assert_eq!(db::revert_all(&mut conn).unwrap(), applied, "{backend:?}");
        assert_eq!(db::migrate(&mut conn).unwrap(), applied, "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn health_readiness_and_security_headers() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let health = app
            .client
            .get(format!("{}/healthz", app.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
        let ready = app
            .client
            .get(format!("{}/readyz", app.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status(), 200, "{backend:?}");
        let start = app
            .client
            .get(format!("{}/", app.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(start.status(), 200);
        let h = start.headers().clone();
        assert!(h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'"));
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["x-content-type-options"], "nosniff");
        let body = start.text().await.unwrap();
        assert!(body.contains("Get the seed file for your tokens"), "{body}");
        let missing = app
            .client
            .get(format!("{}/no/such/page", app.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);
        assert!(missing.text().await.unwrap().contains("does not exist"));
        let css = app
            .client
            .get(format!("{}/static/css/site.css", app.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
        let tool = app
            .client
            .get(format!("{}/tools/assign", app.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(tool.status(), 200);
        assert!(tool.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("connect-src 'none'"));
        let module = app
            .client
            .get(format!("{}/static/tools/assign/app.js", app.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(module.status(), 200);
        assert_eq!(
            module.headers()["content-type"],
            "text/javascript; charset=utf-8"
        );
    }
}

#[test]
fn production_refuses_to_start_without_key_smtp_and_https() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(support::seedport_bin())
        .current_dir(dir.path())
        .env_remove("SEEDPORT_MASTER_KEY")
        .env("SEEDPORT_MODE", "production")
        .arg("serve")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("production mode cannot start"), "{err}");
    assert!(err.contains("SMTP"), "{err}");
    assert!(err.contains("https://"), "{err}");
    assert!(err.contains("master key"), "{err}");
}

#[test]
fn unknown_settings_are_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("seedport.toml"),
        "bind = \"127.0.0.1:0\"\nlink_expiry = 3\n",
    )
    .unwrap();
    let out = std::process::Command::new(support::seedport_bin())
        .current_dir(dir.path())
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("link_expiry"), "{err}");
}
