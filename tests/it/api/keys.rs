//! API keys: created, listed and revoked from the CLI (the key printed once, stored only as its
//! SHA-256), and every way a call is refused as problem+json.

use super::{call, json, key_with};
use crate::support::{backends, seedport_bin, spawn_app, spawn_app_with, TestApp};
use diesel::prelude::*;
use reqwest::Method;
use seedport::api_keys::Scope;
use seedport::db::schema::{api_keys, audit_log};
use serde_json::json;
use std::process::{Command, Output};

fn cli(app: &TestApp, args: &[&str]) -> Output {
    Command::new(seedport_bin())
        .current_dir(app.test_db.dir.path())
        .env("DATABASE_URL", &app.test_db.url)
        .env("SEEDPORT_MASTER_KEY", app.master.to_base64())
        .env("SEEDPORT_DATA_DIR", app.test_db.dir.path().join("var"))
        .env_remove("SEEDPORT_LOG")
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test]
async fn the_cli_prints_a_key_once_lists_without_it_and_revokes_it() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let out = cli(
            &app,
            &[
                "api-key",
                "create",
                "--name",
                "erp",
                "--scope",
                "orders:write,requests:read",
                "--webhook-url",
                "https://erp.example/hooks/seedport",
            ],
        );
        assert!(out.status.success(), "{backend:?}: {}", text(&out));
        let said = text(&out);
        let key = said
            .lines()
            .find(|l| l.starts_with("sp_live_"))
            .unwrap_or_else(|| panic!("no key printed: {said}"))
            .to_string();
        // 32 random bytes, URL-safe Base64 without padding: 43 characters after the prefix.
        assert_eq!(key.len(), "sp_live_".len() + 43, "{key}");
        let secret = said
            .lines()
            .find(|l| l.starts_with("sp_whsec_"))
            .expect("webhook secret printed");
        {
            let mut conn = app.db.get().unwrap();
            let (hash, ct): (String, Option<Vec<u8>>) = api_keys::table
                .filter(api_keys::name.eq("erp"))
                .select((api_keys::key_hash, api_keys::webhook_secret_ct))
                .first(&mut conn)
                .unwrap();
            assert_eq!(
                hash,
                seedport::vault::token_hash(&key),
                "stored only as SHA-256"
            );
            let ct = ct.unwrap();
            assert!(
                !ct.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "secret sealed"
            );
        }
        if backend == crate::support::Backend::Sqlite {
            let bytes = app.test_db.sqlite_file_bytes();
            for needle in [key.as_str(), secret] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "{needle} on disk"
                );
            }
        }
        // The key works; a second key of the same name is refused.
        let r = call(&app, Method::GET, "/api/v1/requests", Some(&key), None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let again = cli(
            &app,
            &[
                "api-key",
                "create",
                "--name",
                "erp",
                "--scope",
                "orders:write",
            ],
        );
        assert!(!again.status.success());
        assert!(text(&again).contains("already exists"), "{}", text(&again));
        let bad = cli(
            &app,
            &["api-key", "create", "--name", "x", "--scope", "orders:read"],
        );
        assert!(
            text(&bad).contains("unknown scope \"orders:read\""),
            "{}",
            text(&bad)
        );

        let list = cli(&app, &["api-key", "list"]);
        let listed = text(&list);
        assert!(
            list.status.success()
                && listed.contains("erp")
                && listed.contains("orders:write,requests:read"),
            "{listed}"
        );
        assert!(
            !listed.contains(&key) && !listed.contains(secret),
            "{listed}"
        );
        assert!(!listed.contains("never"), "last use recorded: {listed}");

        let revoke = cli(&app, &["api-key", "revoke", "erp"]);
        assert!(revoke.status.success(), "{}", text(&revoke));
        let r = call(&app, Method::GET, "/api/v1/requests", Some(&key), None).await;
        r.problem(401);
        assert!(text(&cli(&app, &["api-key", "revoke", "erp"])).contains("already revoked"));
        assert!(text(&cli(&app, &["api-key", "revoke", "nope"])).contains("no key is named nope"));
        let mut conn = app.db.get().unwrap();
        let actions: Vec<String> = audit_log::table
            .filter(audit_log::subject.eq("api_key:erp"))
            .order(audit_log::seq.asc())
            .select(audit_log::action)
            .load(&mut conn)
            .unwrap();
        assert_eq!(actions, ["api_key.created", "api.call", "api_key.revoked"]);
    }
}

#[tokio::test]
async fn missing_unknown_and_revoked_keys_are_401_and_a_wrong_scope_is_403() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let (reader, _) = key_with(&app, "reader", &[Scope::RequestsRead], None);
        let body = json!({"name": "Initech", "emails": ["it@initech.example"]});
        for k in [None, Some("sp_live_unknown"), Some("")] {
            let r = call(
                &app,
                Method::PUT,
                "/api/v1/customers",
                k,
                json(body.clone()),
            )
            .await;
            r.problem(401);
            assert_eq!(r.headers["www-authenticate"], "Bearer realm=\"seedport\"");
        }
        let r = call(
            &app,
            Method::PUT,
            "/api/v1/customers",
            Some(&reader),
            json(body.clone()),
        )
        .await;
        let p = r.problem(403);
        assert!(
            p["detail"].as_str().unwrap().contains("orders:write"),
            "{p}"
        );
        let r = call(
            &app,
            Method::GET,
            "/api/v1/requests/SP-NONE",
            Some(&reader),
            None,
        )
        .await;
        r.problem(404);
        let r = call(
            &app,
            Method::GET,
            "/api/v1/requests?state=held",
            Some(&reader),
            None,
        )
        .await;
        r.problem(422);
        let r = call(
            &app,
            Method::GET,
            "/api/v1/nothing-here",
            Some(&reader),
            None,
        )
        .await;
        r.problem(404);
        // The document itself needs no key and names the bearer scheme.
        let r = call(&app, Method::GET, "/api/v1/openapi.json", None, None).await;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.json()["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
    }
}

#[tokio::test]
async fn a_key_over_its_rate_limit_gets_429_with_retry_after() {
    for backend in backends() {
        let app = spawn_app_with(backend, |c| c.api_calls_per_key_per_minute = 3).await;
        let (k, _) = key_with(&app, "busy", &Scope::ALL, None);
        let (other, _) = key_with(&app, "calm", &Scope::ALL, None);
        for _ in 0..3 {
            let r = call(&app, Method::GET, "/api/v1/requests", Some(&k), None).await;
            assert_eq!(r.status, 200, "{}", r.text);
        }
        let r = call(&app, Method::GET, "/api/v1/requests", Some(&k), None).await;
        r.problem(429);
        let retry: i64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        // Per key: another key is not slowed down; the window ends and the key works again.
        let r = call(&app, Method::GET, "/api/v1/requests", Some(&other), None).await;
        assert_eq!(r.status, 200);
        app.clock.advance(61);
        let r = call(&app, Method::GET, "/api/v1/requests", Some(&k), None).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
}
