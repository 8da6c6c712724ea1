//! The customer's emails as a real SMTP server (aiosmtpd) received them: the guides linked in
//! both parts where they apply (the PGP guide for a PGP-protected file, the Entra guide for the
//! Entra formats), counted nouns in words and orders labelled once ("purchase order PO-…").

use super::*;
use crate::lifecycle::{download_emails, run_jobs};
use crate::support::backends;
use crate::support::smtp::Smtp;
use crate::support::tools::Tool;
use crate::wizard_helpers::{draft_for, post_form, protect, prove, PASSWORD};
use reqwest::StatusCode;
use seedport::db::schema::requests;
use sequoia_openpgp::serialize::SerializeInto;

/// A public key sequoia makes, dated before the test clock so it is valid "now".
fn public_key() -> String {
    use sequoia_openpgp::cert::CertBuilder;
    let (cert, _) = CertBuilder::general_purpose(Some("Acme IT <it-admin@acme.example>"))
        .set_creation_time(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000))
        .set_validity_period(None)
        .generate()
        .unwrap();
    let armored = cert.armored().to_vec().unwrap();
    String::from_utf8(armored).unwrap()
}

/// A request through the wizard: both shipments, password and PGP, in `format`.
async fn submit_pgp(app: &TestApp, format: &str) -> RequestId {
    let (base, csrf) = draft_for(app, "po", "PO-2026-0042").await;
    prove(
        app,
        &base,
        &csrf,
        &[("SHP-50042-1", "10001003"), ("SHP-50042-2", "10002007")],
    )
    .await;
    let key = public_key();
    let r = protect(
        app,
        &base,
        &[
            ("csrf", &csrf),
            ("bundling", "one"),
            ("protection", "both"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
            ("pgp_source", "new"),
            ("pgp_key", &key),
            ("action", "continue"),
        ],
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    let r = post_form(
        app,
        &format!("{base}/format"),
        &[("csrf", &csrf), ("format", format), ("action", "continue")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = post_form(app, &format!("{base}/submit"), &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let draft = base.rsplit('/').next().unwrap().to_string();
    let mut conn = app.db.get().unwrap();
    RequestId::from_raw(
        requests::table
            .filter(requests::draft_id.eq(draft))
            .select(requests::id)
            .first::<String>(&mut conn)
            .unwrap(),
    )
}

fn no_clumsy_words(part: &str) {
    assert!(!part.contains("(s)"), "no \"(s)\" plurals: {part}");
    assert!(!part.contains("PO PO-"), "no \"PO PO-…\": {part}");
    assert!(
        !part.contains("entra-csv") && !part.contains("{\""),
        "no ids or JSON: {part}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn download_emails_link_the_guides_that_apply() {
    crate::require_tools!(Tool::Aiosmtpd);
    for backend in backends() {
        let smtp = Smtp::start(free_port());
        let app = crate::lifecycle::app(backend, smtp.port).await;
        let console = Console::sign_in(&app, "rev@vendor.example", Role::Reviewer).await;
        let entra_pgp = submit_pgp(&app, "entra-csv").await;
        let pskc_pgp = submit_pgp(&app, "pskc-plain").await;
        let entra_password = submit(&app, "one").await;
        for id in [&entra_pgp, &pskc_pgp, &entra_password] {
            assert_eq!(console.approve(&app, id).await.0, StatusCode::SEE_OTHER);
        }
        run_jobs(&app, 8).await;
        let emails = download_emails(&smtp);
        assert_eq!(emails.len(), 3, "{backend:?}");
        let pgp_guide = format!("{}/guides/pgp-key", app.base_url);
        let entra_guide = format!("{}/guides/entra", app.base_url);
        let of = |id: &RequestId| {
            let reference: String = {
                let mut conn = app.db.get().unwrap();
                requests::table
                    .find(id.to_string())
                    .select(requests::reference)
                    .first(&mut conn)
                    .unwrap()
            };
            emails
                .iter()
                .find(|m| m.subject.contains(&reference))
                .unwrap_or_else(|| panic!("the email of {reference}"))
                .clone()
        };
        for part in [of(&entra_pgp).text, of(&entra_pgp).html] {
            assert!(part.contains(&pgp_guide), "{backend:?}: {part}");
            assert!(part.contains(&entra_guide), "{backend:?}: {part}");
            assert!(
                part.contains("Microsoft Entra ID"),
                "the format by its name"
            );
            assert!(part.contains("shipments SHP-50042-1, SHP-50042-2"));
            no_clumsy_words(&part);
        }
        for part in [of(&pskc_pgp).text, of(&pskc_pgp).html] {
            assert!(part.contains(&pgp_guide), "{backend:?}: {part}");
            assert!(
                !part.contains(&entra_guide),
                "{backend:?}: not an Entra format"
            );
            no_clumsy_words(&part);
        }
        for part in [of(&entra_password).text, of(&entra_password).html] {
            assert!(
                !part.contains(&pgp_guide),
                "{backend:?}: no PGP in this file"
            );
            assert!(part.contains(&entra_guide), "{backend:?}: {part}");
            assert!(part.contains("of 3 downloads left"), "{part}");
            no_clumsy_words(&part);
        }
        let received: Vec<_> = smtp
            .received()
            .into_iter()
            .filter(|m| m.subject.contains("We received"))
            .collect();
        assert_eq!(received.len(), 3);
        for m in received {
            for part in [&m.text, &m.html] {
                assert!(
                    part.to_lowercase().contains("purchase order po-2026-0042"),
                    "{part}"
                );
                no_clumsy_words(part);
            }
        }
    }
}
