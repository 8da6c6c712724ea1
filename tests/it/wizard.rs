//! The request wizard over HTTP on every backend: lookup, rate limits, serial proof and locks,
//! step order, sessions, CSRF, and bad input at each step.

use crate::support;
use crate::wizard_helpers;

use diesel::prelude::*;
use reqwest::StatusCode;
use seedport::db::schema::{audit_log, outbox, shipments};
use std::time::{Duration, Instant};
use support::{backends, spawn_app, spawn_app_with};
use wizard_helpers::*;

#[tokio::test]
async fn failed_lookups_all_look_the_same() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let csrf = start(&app).await;
        let mut answers = Vec::new();
        for (kind, reference, email) in [
            ("po", "PO-0000-0000", EMAIL), // unknown reference
            ("po", "PO-2026-0042", "someone@elsewhere.example"), // right order, wrong email
            ("invoice", "INV-99999", "someone@elsewhere.example"), // both wrong
            ("shipment", "SHP-50042-1", "it-admin@acme.example.evil"),
        ] {
            let t = Instant::now();
            let resp = lookup(&app, &csrf, kind, reference, email).await;
            let status = resp.status();
            let body = resp.text().await.unwrap();
            assert!(
                t.elapsed() >= Duration::from_millis(300),
                "{backend:?}: answered too fast"
            );
            // The page keeps what was typed (issue 13); apart from that echo, one answer.
            assert!(
                body.contains(&format!("value=\"{reference}\"")),
                "{backend:?}"
            );
            assert!(body.contains(&format!("value=\"{email}\"")), "{backend:?}");
            let body = body
                .replace(&format!("value=\"{reference}\""), "value=\"REF\"")
                .replace(&format!("value=\"{email}\""), "value=\"EMAIL\"")
                .replace(" checked", "");
            answers.push((status, body));
        }
        for a in &answers {
            assert_eq!(a.0, StatusCode::NOT_FOUND);
            assert_eq!(a.1, answers[0].1, "{backend:?}: bodies differ");
        }
        assert!(answers[0].1.contains("could not find an order"));
        assert!(answers[0].1.contains("delivery@deepnetsecurity.com"));

        // Case-insensitive email, registered domain, and every reference kind work.
        for (kind, reference, email) in [
            ("po", "po-2026-0042", "IT-Admin@Acme.Example"),
            ("invoice", "INV-10042", "someone.else@acme.example"),
            ("shipment", "SHP-50077-1", EMAIL),
        ] {
            // Each success rotates the session: fetch the form again, as a browser would.
            let csrf = start(&app).await;
            let resp = lookup(&app, &csrf, kind, reference, email).await;
            assert_eq!(
                resp.status(),
                StatusCode::SEE_OTHER,
                "{kind} {reference} {email}"
            );
        }

        // Malformed input is a form error next to the field, not a lookup.
        let csrf = start(&app).await;
        let resp = lookup(&app, &csrf, "po", "", "not-an-email").await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = resp.text().await.unwrap();
        assert!(body.contains("id=\"reference-error\"") && body.contains("id=\"email-error\""));

        // No CSRF token, or a wrong one: refused.
        let resp = app
            .client
            .post(format!("{}/request", app.base_url))
            .form(&[
                ("kind", "po"),
                ("reference", "PO-2026-0042"),
                ("email", EMAIL),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let resp = lookup(&app, "sp_nope", "po", "PO-2026-0042", EMAIL).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn lookups_are_rate_limited_per_reference_and_per_ip() {
    for backend in backends() {
        let app = spawn_app_with(backend, |c| {
            c.lookups_per_reference_per_hour = 3;
            c.lookups_per_ip_per_hour = 6;
        })
        .await;
        let csrf = start(&app).await;
        for _ in 0..3 {
            let r = lookup(&app, &csrf, "po", "PO-2026-0077", "x@nowhere.example").await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND);
        }
        // The same (reference, email) pair is refused now...
        let r = lookup(&app, &csrf, "po", "PO-2026-0077", "X@nowhere.example").await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{backend:?}");
        assert!(r.text().await.unwrap().contains("Too many attempts"));
        // ...but wrong guesses do not lock the real customer out of their order.
        let r = lookup(&app, &csrf, "po", "po-2026-0077", EMAIL).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{backend:?}");
        let csrf = start(&app).await;
        let r = lookup(&app, &csrf, "po", "PO-2026-0042", EMAIL).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        // 6 counted for this IP; the 7th is refused whatever the reference.
        let csrf = start(&app).await;
        let r = lookup(&app, &csrf, "shipment", "SHP-50042-2", EMAIL).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        // A new window starts after an hour.
        app.clock.advance(3601);
        let r = lookup(&app, &csrf, "shipment", "SHP-50042-2", EMAIL).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
}

#[tokio::test]
async fn serials_prove_only_their_own_shipment_and_lock_at_the_cap() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let (base, csrf) = draft_for(&app, "po", "PO-2026-0042").await;
        let page = app
            .client
            .get(format!("{base}/shipments"))
            .send()
            .await
            .unwrap();
        let html = page.text().await.unwrap();
        assert!(html.contains("SHP-50042-1") && html.contains("SHP-50042-2"));
        assert!(html.contains("Classic") && html.contains("2026-11-02"));
        assert!(!html.contains("SHP-50077-1"));

        // Wrong serial, serial of the other shipment, serial of another order: each counted.
        for serial in ["99999999", "10002001", "10003001", "10001999"] {
            let r = prove(&app, &base, &csrf, &[("SHP-50042-1", serial)]).await;
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
            let body = r.text().await.unwrap();
            assert!(body.contains("is not in shipment SHP-50042-1"), "{body}");
            assert!(body.contains("aria-invalid=\"true\""));
        }
        let mut conn = app.db.get().unwrap();
        let failures: i32 = shipments::table
            .filter(shipments::shipment_number.eq("SHP-50042-1"))
            .select(shipments::serial_failures)
            .first(&mut conn)
            .unwrap();
        assert_eq!(failures, 4);
        // A malformed serial is a form error and not counted.
        let r = prove(&app, &base, &csrf, &[("SHP-50042-1", "=1+2")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        // The fifth wrong serial locks the shipment and alerts the delivery team.
        let r = prove(&app, &base, &csrf, &[("SHP-50042-1", "10002002")]).await;
        let body = r.text().await.unwrap();
        assert!(body.contains("locked"), "{body}");
        let (failures, locked): (i32, Option<i64>) = shipments::table
            .filter(shipments::shipment_number.eq("SHP-50042-1"))
            .select((shipments::serial_failures, shipments::locked_at))
            .first(&mut conn)
            .unwrap();
        assert_eq!((failures, locked.is_some()), (5, true));
        let alerts: Vec<(String, String)> = outbox::table
            .filter(outbox::kind.eq("shipment_locked"))
            .select((outbox::to_addr, outbox::subject))
            .load(&mut conn)
            .unwrap();
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].0, app.config.alert_email);
        assert!(alerts[0].1.contains("SHP-50042-1"));
        let audits: i64 = audit_log::table
            .filter(audit_log::action.eq("shipment.locked"))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(audits, 1);
        // Even the right serial no longer works; the page shows the lock and whom to write to.
        let r = prove(&app, &base, &csrf, &[("SHP-50042-1", "10001001")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = app
            .client
            .get(format!("{base}/shipments"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("Locked") && html.contains("delivery@deepnetsecurity.com"));
        // The other shipment still proves with its own serial.
        let r = prove(&app, &base, &csrf, &[("SHP-50042-2", "10002010")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(location(&r).ends_with("/protection"));
    }
}

#[tokio::test]
async fn steps_cannot_be_skipped_or_borrowed() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let (base, csrf) = draft_for(&app, "po", "PO-2026-0042").await;
        for step in ["protection", "format", "review"] {
            let r = app
                .client
                .get(format!("{base}/{step}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "{step}");
            assert!(location(&r).ends_with("/shipments"));
        }
        let r = post_form(&app, &format!("{base}/submit"), &[("csrf", &csrf)]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(location(&r).ends_with("/shipments"));
        // A shipment of another order cannot be named.
        let foreign = shipment_id(&app, "SHP-50077-1").await;
        let r = post_form(
            &app,
            &format!("{base}/shipments"),
            &[
                ("csrf", &csrf),
                ("ship", &foreign),
                (&format!("serial-{foreign}"), "10003001"),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        // No shipment selected.
        let r = post_form(&app, &format!("{base}/shipments"), &[("csrf", &csrf)]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        // Missing CSRF token on a step.
        let r = prove(&app, &base, "", &[("SHP-50042-1", "10001001")]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        // Another browser (no cookie) cannot open or post to the draft.
        let other = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r = other.get(format!("{base}/shipments")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert!(r.text().await.unwrap().contains("no longer open"));
        // Drafts expire after an hour.
        app.clock.advance(3601);
        let r = app
            .client
            .get(format!("{base}/shipments"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn protection_refuses_weak_passwords_and_bad_keys() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let (base, csrf) = draft_for(&app, "invoice", "INV-10077").await;
        let r = prove(&app, &base, &csrf, &[("SHP-50077-1", "10003005")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let html = app
            .client
            .get(format!("{base}/protection"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("7-Zip or WinZip") && html.contains("enctype=\"multipart/form-data\"")
        );
        for (pw, confirm, message) in [
            ("short", "short", "at least 12 characters"),
            ("password1234", "password1234", "commonly used"),
            (
                "a fine long passphrase",
                "a fine long passphrase!",
                "do not match",
            ),
        ] {
            let r = protect(
                &app,
                &base,
                &[
                    ("csrf", &csrf),
                    ("bundling", "one"),
                    ("protection", "password"),
                    ("password", pw),
                    ("password_confirm", confirm),
                ],
            )
            .await;
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
            let body = r.text().await.unwrap();
            assert!(body.contains(message), "{message}: {body}");
            assert!(!body.contains(pw) || pw == "short", "password echoed");
        }
        for key in [
            "",
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\nnonsense\n-----END PGP PUBLIC KEY BLOCK-----",
        ] {
            let r = protect(
                &app,
                &base,
                &[
                    ("csrf", &csrf),
                    ("bundling", "one"),
                    ("protection", "pgp"),
                    ("pgp_key", key),
                ],
            )
            .await;
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().await.unwrap().contains("id=\"pgp_key-error\""));
        }
        // Suggest a passphrase: shown, filled in, nothing saved.
        let r = protect(
            &app,
            &base,
            &[
                ("csrf", &csrf),
                ("protection", "password"),
                ("action", "suggest"),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        let body = r.text().await.unwrap();
        assert!(body.contains("id=\"suggested-passphrase\""));
        let r = app
            .client
            .get(format!("{base}/format"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        // Missing CSRF on the multipart form.
        let r = protect(
            &app,
            &base,
            &[
                ("protection", "password"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn incompatible_formats_and_bad_options_are_refused() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        // HOTP (SafeID/Eco) tokens cannot go into Entra.
        let (base, csrf) = draft_for(&app, "shipment", "SHP-50077-1").await;
        prove(&app, &base, &csrf, &[("SHP-50077-1", "10003002")]).await;
        let r = protect(
            &app,
            &base,
            &[
                ("csrf", &csrf),
                ("bundling", "one"),
                ("protection", "password"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let html = app
            .client
            .get(format!("{base}/format"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("value=\"entra-csv\" disabled"),
            "entra not disabled"
        );
        assert!(html.contains("HOTP"));
        let r = post_form(
            &app,
            &format!("{base}/format"),
            &[
                ("csrf", &csrf),
                ("format", "entra-csv"),
                ("action", "continue"),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("id=\"format-error\""));
        // PSKC options.
        let r = post_form(
            &app,
            &format!("{base}/format"),
            &[("csrf", &csrf), ("format", "pskc-psk"), ("pskc_key", "abc")],
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let r = post_form(
            &app,
            &format!("{base}/format"),
            &[
                ("csrf", &csrf),
                ("format", "pskc-passphrase"),
                ("pskc_passphrase", "short"),
                ("pskc_passphrase_confirm", "short"),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let r = post_form(
            &app,
            &format!("{base}/format"),
            &[("csrf", &csrf), ("action", "generate_psk")],
        )
        .await;
        let body = r.text().await.unwrap();
        assert!(body.contains("Copy this key now") && body.contains("id=\"generated-psk\""));
        // A malformed custom layout: formula start and an empty layout.
        let r = post_form(
            &app,
            &format!("{base}/format"),
            &[
                ("csrf", &csrf),
                ("format", "custom-csv"),
                ("columns", "1"),
                ("col-0-label", "=cmd()"),
                ("col-0-source", "property"),
                ("col-0-property", "serial"),
                ("csv_encoding", "hex"),
                ("csv_delimiter", "comma"),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("formula"));
        let r = post_form(
            &app,
            &format!("{base}/format"),
            &[
                ("csrf", &csrf),
                ("format", "custom-csv"),
                ("columns", "0"),
                ("csv_encoding", "hex"),
                ("csv_delimiter", "comma"),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        // The builder's buttons work without JavaScript.
        let r = post_form(
            &app,
            &format!("{base}/format"),
            &[
                ("csrf", &csrf),
                ("columns", "2"),
                ("col-0-label", "sn"),
                ("col-0-source", "property"),
                ("col-0-property", "serial"),
                ("col-1-label", "key"),
                ("col-1-source", "property"),
                ("col-1-property", "secret"),
                ("csv_encoding", "hex"),
                ("csv_delimiter", "comma"),
                ("action", "add"),
            ],
        )
        .await;
        let body = r.text().await.unwrap();
        assert!(body.contains("name=\"col-2-label\""));
        let r = post_form(
            &app,
            &format!("{base}/format"),
            &[
                ("csrf", &csrf),
                ("columns", "2"),
                ("col-0-label", "sn"),
                ("col-0-source", "property"),
                ("col-0-property", "serial"),
                ("col-1-label", "key"),
                ("col-1-source", "property"),
                ("col-1-property", "secret"),
                ("action", "up-1"),
            ],
        )
        .await;
        let body = r.text().await.unwrap();
        assert!(body.find("value=\"key\"").unwrap() < body.find("value=\"sn\"").unwrap());
        // Nothing was saved: review is still out of reach.
        let r = app
            .client
            .get(format!("{base}/review"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
}
