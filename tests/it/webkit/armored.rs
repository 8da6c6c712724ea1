//! Issue #14: "PGP armored, no zip" offered in the wizard, through submit, approval and
//! download. The downloaded `.asc` decrypts with gpg to the PSKC file, and privacyIDEA's own
//! import code (with the key it holds) imports every token with its seed.

use super::*;
use crate::pgp_armored::{privacyidea_import, privacyidea_key};
use crate::support::backends;
use crate::support::tools::{self, Tool};
use crate::wizard_helpers::{csrf_of, draft_for, location, post_form, protect, prove, seeds};
use reqwest::StatusCode;
use seedport::db::schema::requests;

const PSKC_PASSPHRASE: &str = "a fine long passphrase";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pgp_armored_through_the_portal_imports_into_privacyidea() {
    crate::require_tools!(Tool::Gpg, Tool::PrivacyIdea);
    for backend in backends() {
        let app = quiet_app(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let home = privacyidea_key(dir.path());
        let public = std::fs::read_to_string(dir.path().join("pi.asc")).unwrap();
        // gpg dated its key by the wall clock: the portal's clock must be past that.
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        app.clock.advance((wall - app.clock.now()).max(0) + 60);

        let (base, csrf) = draft_for(&app, "po", "PO-2026-0042").await;
        let r = prove(
            &app,
            &base,
            &csrf,
            &[("SHP-50042-1", "10001003"), ("SHP-50042-2", "10002007")],
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let page = app
            .client
            .get(format!("{base}/protection"))
            .send()
            .await
            .unwrap();
        let html = page.text().await.unwrap();
        assert!(html.contains("value=\"pgp_armored\""), "offered");
        assert!(html.contains("PGP armored, no zip") && html.contains("privacyIDEA"));
        let r = protect(
            &app,
            &base,
            &[
                ("csrf", &csrf),
                ("bundling", "one"),
                ("protection", "pgp_armored"),
                ("pgp_source", "new"),
                ("pgp_key", &public),
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

        // Formats that make more than one file an importer reads are unavailable, with why.
        let html = app
            .client
            .get(format!("{base}/format"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let entra = &html[html.find("id=\"format-entra-csv\"").unwrap()..];
        let entra = &entra[..entra.find("</div>").unwrap()];
        assert!(entra.contains(" disabled"), "{entra}");
        assert!(
            html.contains("offered for PSKC and custom CSV files only"),
            "{html}"
        );
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
        let r = post_form(
            &app,
            &format!("{base}/format"),
            &[
                ("csrf", &csrf),
                ("format", "pskc-passphrase"),
                ("pskc_passphrase", PSKC_PASSPHRASE),
                ("pskc_passphrase_confirm", PSKC_PASSPHRASE),
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
        let review = app
            .client
            .get(format!("{base}/review"))
            .send()
            .await
            .unwrap();
        let review = review.text().await.unwrap();
        assert!(review.contains("PGP armored, no zip"), "{review}");
        assert!(
            !review.contains("pgp_armored"),
            "no internal ids on the page"
        );
        let r = post_form(&app, &format!("{base}/submit"), &[("csrf", &csrf)]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", location(&r));

        let draft = base.rsplit('/').next().unwrap().to_string();
        let id: String = {
            let mut conn = app.db.get().unwrap();
            requests::table
                .filter(requests::draft_id.eq(draft))
                .select(requests::id)
                .first(&mut conn)
                .unwrap()
        };
        let id = RequestId::from_raw(id);
        let console = Console::sign_in(&app, "rev@vendor.example", Role::Reviewer).await;
        let (status, detail) = console.approve(&app, &id).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(
            detail.contains("ASCII-armored, no zip"),
            "the reviewer reads it in words"
        );
        let link = {
            let mut conn = app.db.get().unwrap();
            let text: String = outbox::table
                .filter(outbox::request_id.eq(id.to_string()))
                .filter(outbox::kind.eq("download_ready"))
                .select(outbox::body_text)
                .first(&mut conn)
                .unwrap();
            let start = text.find(&format!("{}/d/", app.base_url)).unwrap();
            text[start..].split_whitespace().next().unwrap().to_string()
        };

        // The download: no password asked, an .asc file.
        let customer = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let page = customer
            .get(&link)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            !page.contains("id=\"password\""),
            "no zip password to ask for"
        );
        assert!(page.contains("gpg --decrypt"), "{page}");
        let seen = {
            let m = "name=\"seen\" value=\"";
            let s = page.find(m).unwrap() + m.len();
            page[s..].split('"').next().unwrap().to_string()
        };
        let r = customer
            .post(&link)
            .form(&[("csrf", csrf_of(&page).as_str()), ("seen", seen.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let disposition = r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(disposition.contains(".xml.asc\""), "{disposition}");
        let bytes = r.bytes().await.unwrap();
        assert!(bytes.starts_with(b"-----BEGIN PGP MESSAGE-----"));
        let file = dir.path().join("seeds.xml.asc");
        std::fs::write(&file, &bytes).unwrap();

        // gpg, with the key privacyIDEA holds, opens it to the PSKC file itself.
        let out = tools::command(Tool::Gpg)
            .env("GNUPGHOME", &home)
            .args(["--batch", "--quiet", "--decrypt"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let xml = String::from_utf8(out.stdout).unwrap();
        assert!(
            xml.contains("<pskc:KeyContainer") || xml.contains("KeyContainer"),
            "{xml}"
        );

        // privacyIDEA imports every token of both shipments, with its seed.
        let imported = privacyidea_import(&file, &home, "pskc", Some(PSKC_PASSPHRASE));
        let mut expected: Vec<(String, String)> = ["SHP-50042-1", "SHP-50042-2"]
            .iter()
            .flat_map(|n| seeds(&app, n))
            .map(|(serial, seed)| (serial, hex::encode(seed)))
            .collect();
        expected.sort();
        let got: Vec<(String, String)> = imported
            .iter()
            .map(|row| (row[0].clone(), row[1].clone()))
            .collect();
        assert_eq!(got, expected, "{backend:?}");
        let _ = tools::command(Tool::Gpgconf)
            .arg("--homedir")
            .arg(&home)
            .args(["--kill", "gpg-agent"])
            .status();
    }
}
