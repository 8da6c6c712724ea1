//! Secrets never reach a log line: a whole flow (lookup, wizard, submit, staff sign-in and
//! approval, download, confirmation) runs under a capturing subscriber at trace level, and the
//! output is searched for every password, cookie, link token and seed (raw text, hex, Base32,
//! Base64).

use super::*;
use crate::support::{backends, spawn_app};
use crate::wizard_helpers::{seeds, shipment_id};
use base64::Engine;
use reqwest::StatusCode;
use seedport::db::schema::outbox;
use std::sync::Mutex;

static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const ZIP_PASSWORD: &str = "tulip anchor gravel 42";

fn link_in(text: &str, base: &str, kind: &str) -> String {
    let prefix = format!("{base}/{kind}/");
    let start = text.find(&prefix).expect("a link");
    text[start..].split_whitespace().next().unwrap()[base.len()..].to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_the_log_at_trace_level() {
    // Everything at trace level except the test's own HTTP client (reqwest, hyper, its cookie
    // jar), which runs in this process but is not part of seedport. Switched off at the end, so
    // the rest of the suite does not pay for trace output.
    use tracing_subscriber::prelude::*;
    let (filter, switch) =
        tracing_subscriber::reload::Layer::new(tracing_subscriber::EnvFilter::new(
            "trace,cookie_store=off,reqwest=off,hyper=off,hyper_util=off,h2=off",
        ));
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(|| Capture),
        )
        .try_init()
        .expect("this test owns the global subscriber");
    for backend in backends() {
        let app = spawn_app(backend).await;
        let mut secrets: Vec<String> = vec![ZIP_PASSWORD.into(), STAFF_PASSWORD.into()];

        // The customer's wizard.
        let c = Browser::new(&app);
        let csrf = c.csrf("/").await;
        let r = c
            .post(
                "/request",
                &[
                    ("csrf", &csrf),
                    ("kind", "po"),
                    ("reference", "PO-2026-0042"),
                    ("email", "it-admin@acme.example"),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let base = r.headers()["location"]
            .to_str()
            .unwrap()
            .trim_end_matches("/shipments")
            .to_string();
        let csrf = c.csrf(&format!("{base}/shipments")).await;
        let ship = shipment_id(&app, "SHP-50042-1").await;
        let r = c
            .post(
                &format!("{base}/shipments"),
                &[
                    ("csrf", &csrf),
                    ("ship", &ship),
                    (&format!("serial-{ship}"), "10001003"),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in [
            ("csrf", csrf.as_str()),
            ("bundling", "one"),
            ("protection", "password"),
            ("password", ZIP_PASSWORD),
            ("password_confirm", ZIP_PASSWORD),
            ("action", "continue"),
        ] {
            form = form.text(k.to_string(), v.to_string());
        }
        let r = c
            .client
            .post(format!("{}{base}/protection", app.base_url))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let r = c
            .post(
                &format!("{base}/format"),
                &[
                    ("csrf", &csrf),
                    ("format", "entra-csv"),
                    ("action", "continue"),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let r = c.post(&format!("{base}/submit"), &[("csrf", &csrf)]).await;
        assert_eq!(
            r.status(),
            StatusCode::SEE_OTHER,
            "{}",
            r.text().await.unwrap()
        );
        secrets.push(c.cookie("sp_customer").unwrap());

        // The reviewer signs in and approves with a step-up code.
        let totp_secret = add_staff(&app, "rev@vendor.example", Role::Reviewer);
        secrets.push(data_encoding::BASE32_NOPAD.encode(&totp_secret));
        secrets.push(hex::encode(&totp_secret));
        let s = signed_in(&app, "rev@vendor.example", &totp_secret).await;
        secrets.push(s.cookie("sp_staff").unwrap());
        let request_id: String = {
            let mut conn = app.db.get().unwrap();
            requests::table
                .select(requests::id)
                .first(&mut conn)
                .unwrap()
        };
        let path = format!("/staff/requests/{request_id}");
        let staff_csrf = s.csrf(&path).await;
        let r = s
            .post(
                &format!("{path}/approve"),
                &[("csrf", &staff_csrf), ("code", &code(&app, &totp_secret))],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);

        // The links, as the email carries them (the sender is not running).
        let body: String = {
            let mut conn = app.db.get().unwrap();
            outbox::table
                .filter(outbox::body_text.like("%/d/%"))
                .select(outbox::body_text)
                .first(&mut conn)
                .unwrap()
        };
        let download = link_in(&body, &app.base_url, "d");
        let confirm = link_in(&body, &app.base_url, "c");
        for link in [&download, &confirm] {
            secrets.push(link.rsplit('/').next().unwrap().to_string());
        }
        let csrf = c.csrf(&download).await;
        let r = c
            .post(&download, &[("csrf", &csrf), ("password", ZIP_PASSWORD)])
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let csrf = c.csrf(&confirm).await;
        let r = c.post(&confirm, &[("csrf", &csrf)]).await;
        assert_eq!(r.status(), StatusCode::OK);

        for (_, seed) in seeds(&app, "SHP-50042-1") {
            secrets.push(hex::encode(&seed));
            secrets.push(hex::encode_upper(&seed));
            secrets.push(data_encoding::BASE32_NOPAD.encode(&seed));
            secrets.push(base64::engine::general_purpose::STANDARD.encode(&seed));
            secrets.push(String::from_utf8_lossy(&seed).into_owned());
        }

        let log = String::from_utf8_lossy(&LOG.lock().unwrap()).into_owned();
        assert!(
            log.len() > 1000,
            "{backend:?}: the subscriber captured the flow"
        );
        for secret in secrets.iter().filter(|s| s.len() >= 8) {
            if let Some(at) = log.find(secret.as_str()) {
                let start = log[..at].rfind('\n').map_or(0, |i| i + 1);
                let end = log[at..].find('\n').map_or(log.len(), |i| at + i);
                eprintln!(
                    "LEAK: {}",
                    &log[start..end].replace(secret.as_str(), "<SECRET>")
                );
            }
            assert!(
                !log.contains(secret.as_str()),
                "{backend:?}: a secret ({} chars) is in the log",
                secret.len()
            );
        }
        eprintln!(
            "{backend:?}: {} secrets checked against {} bytes of trace output",
            secrets.len(),
            log.len()
        );
    }
    let _ = switch.reload(tracing_subscriber::EnvFilter::new("off"));
    LOG.lock().unwrap().clear();
}
