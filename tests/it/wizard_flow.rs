//! The request wizard end to end over HTTP on every backend: submit builds packages that open
//! with 7z (and gpg) and hold exactly the seeds in the database; a double submit is one request.

use crate::support;
use crate::support::tools::{self, Tool};
use crate::wizard_helpers;

use diesel::prelude::*;
use reqwest::StatusCode;
use seedport::db::schema::{
    audit_log, customers, drafts, outbox, packages, request_shipments, requests,
};
use std::collections::BTreeMap;
use support::{backends, spawn_app};
use wizard_helpers::*;

type RequestRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
);
type PackageRow = (
    String,
    String,
    String,
    i64,
    String,
    i64,
    String,
    String,
    i32,
);

fn packages_of(app: &support::TestApp, request_id: &str) -> Vec<PackageRow> {
    let mut conn = app.db.get().unwrap();
    packages::table
        .filter(packages::request_id.eq(request_id))
        .order(packages::file_name.asc())
        .select((
            packages::id,
            packages::file_name,
            packages::content_type,
            packages::size,
            packages::sha256,
            packages::token_count,
            packages::shipment_numbers,
            packages::state,
            packages::max_downloads,
        ))
        .load(&mut conn)
        .unwrap()
}

fn base32(bytes: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(bytes)
}

#[tokio::test]
async fn password_protected_entra_csv_request_end_to_end() {
    crate::require_tools!(Tool::SevenZip);
    for backend in backends() {
        let app = spawn_app(backend).await;
        let (base, csrf) = to_format(&app, "one").await;
        let html = app
            .client
            .get(format!("{base}/format"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(
            html.matches("name=\"format\"").count(),
            11,
            "all eleven formats listed"
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
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let review = app
            .client
            .get(format!("{base}/review"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            review.contains("SHP-50042-1") && review.contains("Microsoft Entra")
                || review.contains("Entra")
        );
        assert!(!review.contains(PASSWORD));
        // The password is sealed, not in the choices.
        {
            let mut conn = app.db.get().unwrap();
            let (choices, sealed): (String, Option<Vec<u8>>) = drafts::table
                .select((drafts::choices, drafts::secrets_ct))
                .first(&mut conn)
                .unwrap();
            assert!(!choices.contains(PASSWORD) && sealed.is_some());
        }
        // Submit twice: one request.
        let r1 = post_form(&app, &format!("{base}/submit"), &[("csrf", &csrf)]).await;
        assert_eq!(
            r1.status(),
            StatusCode::SEE_OTHER,
            "{}",
            r1.text().await.unwrap()
        );
        let r2 = post_form(&app, &format!("{base}/submit"), &[("csrf", &csrf)]).await;
        assert_eq!(r2.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            location(&r2),
            format!("{}/done", base.trim_start_matches(&app.base_url))
        );
        let done = app
            .client
            .get(format!("{base}/done"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();

        let mut conn = app.db.get().unwrap();
        let rows: Vec<RequestRow> = requests::table
            .select((
                requests::id,
                requests::reference,
                requests::state,
                requests::format_id,
                requests::protection,
                requests::bundling,
                requests::password_hash,
            ))
            .load(&mut conn)
            .unwrap();
        assert_eq!(
            rows.len(),
            1,
            "{backend:?}: double submit made two requests"
        );
        let (request_id, reference, state, format_id, protection, bundling, hash) = rows[0].clone();
        assert!(done.contains(&reference));
        assert!(
            reference.starts_with("SP-") && reference.len() == 12,
            "{reference}"
        );
        assert_eq!(
            (state.as_str(), format_id.as_str()),
            ("pending_review", "entra-csv")
        );
        assert_eq!(
            (protection.as_str(), bundling.as_str()),
            ("password", "one")
        );
        let hash = hash.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        {
            use argon2::password_hash::{PasswordHash, PasswordVerifier};
            let parsed = PasswordHash::new(&hash).unwrap();
            assert!(argon2::Argon2::default()
                .verify_password(PASSWORD.as_bytes(), &parsed)
                .is_ok());
        }
        let proved: Vec<(String, String)> = request_shipments::table
            .inner_join(seedport::db::schema::shipments::table)
            .filter(request_shipments::request_id.eq(&request_id))
            .select((
                seedport::db::schema::shipments::shipment_number,
                request_shipments::proved_serial,
            ))
            .order(seedport::db::schema::shipments::shipment_number.asc())
            .load(&mut conn)
            .unwrap();
        assert_eq!(
            proved,
            vec![
                ("SHP-50042-1".into(), "10001003".into()),
                ("SHP-50042-2".into(), "10002007".into())
            ]
        );
        let mails: Vec<(String, String, String)> = outbox::table
            .filter(outbox::kind.eq("request_received"))
            .select((outbox::to_addr, outbox::subject, outbox::body_text))
            .load(&mut conn)
            .unwrap();
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].0, EMAIL);
        assert!(mails[0].1.contains(&reference) && !mails[0].2.contains(PASSWORD));
        let audits: i64 = audit_log::table
            .filter(audit_log::action.eq("request.submitted"))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(audits, 1);
        // The draft's secrets and key are gone.
        let (sealed, key): (Option<Vec<u8>>, Option<String>) = drafts::table
            .select((drafts::secrets_ct, drafts::data_key_id))
            .first(&mut conn)
            .unwrap();
        assert!(sealed.is_none() && key.is_none());

        let pkgs = packages_of(&app, &request_id);
        assert_eq!(pkgs.len(), 1);
        let (pid, file_name, content_type, size, sha, count, numbers, state, max) = pkgs[0].clone();
        assert_eq!(file_name, format!("{reference}.zip"));
        assert_eq!(content_type, "application/zip");
        assert_eq!((count, state.as_str(), max), (50, "pending_review", 3));
        assert_eq!(numbers, "SHP-50042-1, SHP-50042-2");
        let bytes = package_bytes(&app, &pid, size);
        assert_eq!(bytes.len() as i64, size);
        use sha2::Digest;
        assert_eq!(hex::encode(sha2::Sha256::digest(&bytes)), sha);

        let dir = tempfile::tempdir().unwrap();
        let zip = dir.path().join(&file_name);
        std::fs::write(&zip, &bytes).unwrap();
        let out = dir.path().join("out");
        sevenz(&zip, Some(PASSWORD), &out);
        let csv = std::fs::read_to_string(out.join(format!("{reference}.csv"))).unwrap();
        let mut lines = csv.split("\r\n");
        assert_eq!(
            lines.next().unwrap(),
            "upn,serial number,secret key,time interval,manufacturer,model"
        );
        let mut got: BTreeMap<String, (String, String)> = BTreeMap::new();
        for line in lines.filter(|l| !l.is_empty()) {
            let cols: Vec<&str> = line.split(',').collect();
            got.insert(
                cols[1].to_string(),
                (cols[2].to_string(), cols[3].to_string()),
            );
        }
        assert_eq!(got.len(), 50);
        for (number, step) in [("SHP-50042-1", "60"), ("SHP-50042-2", "30")] {
            for (serial, seed) in seeds(&app, number) {
                assert_eq!(got[&serial], (base32(&seed), step.to_string()), "{serial}");
            }
        }
        assert!(std::fs::read_to_string(out.join("README.txt"))
            .unwrap()
            .contains("7-Zip"));
        // Wrong password does not open it.
        let bad = tools::command(Tool::SevenZip)
            .args(["t", "-pwrong password 123"])
            .arg(&zip)
            .output()
            .unwrap();
        assert!(!bad.status.success());
        // No step is reachable after submit: everything goes to the confirmation.
        let r = app
            .client
            .get(format!("{base}/format"))
            .send()
            .await
            .unwrap();
        assert!(location(&r).ends_with("/done"));
        // The password never reached the database in clear.
        if backend == support::Backend::Sqlite {
            let all = app.test_db.sqlite_file_bytes();
            assert!(!all
                .windows(PASSWORD.len())
                .any(|w| w == PASSWORD.as_bytes()));
        }
    }
}

/// A key sequoia makes, dated before the test clock so it is valid "now".
fn test_cert() -> sequoia_openpgp::Cert {
    use sequoia_openpgp::cert::CertBuilder;
    let (cert, _) = CertBuilder::general_purpose(Some("Acme IT <it-admin@acme.example>"))
        .set_creation_time(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000))
        .set_validity_period(None)
        // What gpg 2.2 reads: SEIPDv1 only (no v6 PKESK / SEIPDv2 messages).
        .set_features(sequoia_openpgp::types::Features::empty().set_seipdv1())
        .unwrap()
        .generate()
        .unwrap();
    cert
}

#[tokio::test]
async fn pgp_and_password_per_shipment_custom_csv_request() {
    use sequoia_openpgp::serialize::SerializeInto;
    let have_gpg = tools::require(&[Tool::Gpg, Tool::SevenZip]);
    for backend in backends() {
        let app = spawn_app(backend).await;
        let cert = test_cert();
        let public = String::from_utf8(cert.armored().to_vec().unwrap()).unwrap();
        let (base, csrf) = draft_for(&app, "po", "PO-2026-0042").await;
        prove(
            &app,
            &base,
            &csrf,
            &[("SHP-50042-1", "10001001"), ("SHP-50042-2", "10002001")],
        )
        .await;
        let r = protect(
            &app,
            &base,
            &[
                ("csrf", &csrf),
                ("bundling", "per_shipment"),
                ("protection", "both"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
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
        let fpr = cert.fingerprint().to_hex();
        let html = app
            .client
            .get(format!("{base}/format"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.replace(' ', "").contains(&fpr), "fingerprint shown");
        let r = post_form(
            &app,
            &format!("{base}/format"),
            &[
                ("csrf", &csrf),
                ("format", "custom-csv"),
                ("columns", "3"),
                ("col-0-label", "Serial"),
                ("col-0-source", "property"),
                ("col-0-property", "serial"),
                ("col-1-label", "Seed"),
                ("col-1-source", "property"),
                ("col-1-property", "secret"),
                ("col-2-label", "Site"),
                ("col-2-source", "fixed"),
                ("col-2-fixed", "HQ"),
                ("csv_header", "1"),
                ("csv_encoding", "hex"),
                ("csv_delimiter", "semicolon"),
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
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(review.replace(' ', "").contains(&fpr) && review.contains("Acme IT"));
        let r = post_form(&app, &format!("{base}/submit"), &[("csrf", &csrf)]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);

        let mut conn = app.db.get().unwrap();
        let (request_id, reference, protection, fp): (String, String, String, Option<String>) =
            requests::table
                .select((
                    requests::id,
                    requests::reference,
                    requests::protection,
                    requests::pgp_fingerprint,
                ))
                .first(&mut conn)
                .unwrap();
        assert_eq!(protection, "both");
        assert_eq!(fp.unwrap().replace(' ', ""), fpr);
        let saved: Option<String> = customers::table
            .select(customers::saved_pgp_key)
            .first(&mut conn)
            .unwrap();
        assert!(
            saved.is_none(),
            "the key is saved only when the request is approved"
        );
        let on_request: Option<String> = requests::table
            .select(requests::pgp_key)
            .first(&mut conn)
            .unwrap();
        assert!(on_request.unwrap().contains("PUBLIC KEY"));
        let pkgs = packages_of(&app, &request_id);
        assert_eq!(pkgs.len(), 2);
        for (i, number) in ["SHP-50042-1", "SHP-50042-2"].iter().enumerate() {
            let (pid, name, ctype, size, ..) = pkgs[i].clone();
            assert_eq!(name, format!("{reference}_{number}.zip.pgp"));
            assert_eq!(ctype, "application/pgp-encrypted");
            assert_eq!(pkgs[i].5, 25);
            if !have_gpg {
                continue;
            }
            let dir = tempfile::tempdir().unwrap();
            let pgp = dir.path().join(&name);
            std::fs::write(&pgp, package_bytes(&app, &pid, size)).unwrap();
            let home = dir.path().join("gnupg");
            std::fs::create_dir(&home).unwrap();
            std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700))
                .unwrap();
            let gpg = |args: &[&str]| {
                let mut c = tools::command(Tool::Gpg);
                c.arg("--homedir").arg(&home).args([
                    "--batch",
                    "--pinentry-mode",
                    "loopback",
                    "--passphrase",
                    "",
                ]);
                c.args(args);
                c
            };
            let secret = dir.path().join("secret.asc");
            std::fs::write(&secret, cert.as_tsk().armored().to_vec().unwrap()).unwrap();
            assert!(gpg(&["--import", secret.to_str().unwrap()])
                .output()
                .unwrap()
                .status
                .success());
            let zip = dir.path().join("inner.zip");
            let out = gpg(&[
                "--output",
                zip.to_str().unwrap(),
                "--decrypt",
                pgp.to_str().unwrap(),
            ])
            .output()
            .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let x = dir.path().join("x");
            sevenz(&zip, Some(PASSWORD), &x);
            let csv = std::fs::read_to_string(x.join(format!("{reference}_{number}.csv"))).unwrap();
            let mut lines = csv.split("\r\n");
            assert_eq!(lines.next().unwrap(), "Serial;Seed;Site");
            let rows: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
            let expected: Vec<String> = seeds(&app, number)
                .into_iter()
                .map(|(s, seed)| format!("{s};{};HQ", hex::encode_upper(seed)))
                .collect();
            assert_eq!(rows, expected);
            let _ = tools::command(Tool::Gpgconf)
                .arg("--homedir")
                .arg(&home)
                .args(["--kill", "gpg-agent"])
                .status();
        }
        // Not offered before approval; once approved, offered to the same address only.
        let (other, other_csrf) = draft_for(&app, "po", "PO-2026-0042").await;
        prove(&app, &other, &other_csrf, &[("SHP-50042-2", "10002003")]).await;
        let html = app
            .client
            .get(format!("{other}/protection"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            !html.contains("saved for this account"),
            "not before approval"
        );
        {
            let mut conn = app.db.get().unwrap();
            let tera = seedport::web::assets::tera().unwrap();
            let who = seedport::lifecycle::Who {
                actor: "staff:rev@vendor.example",
                client_ip: "127.0.0.1",
            };
            let id = seedport::lifecycle::RequestId::from_raw(request_id.clone());
            seedport::delivery::approve(&mut conn, &app.config, &tera, &id, who, app.clock.now())
                .unwrap();
        }
        let colleague = {
            let csrf = start(&app).await;
            let r = lookup(&app, &csrf, "po", "PO-2026-0042", "colleague@acme.example").await;
            let loc = location(&r);
            let base = format!("{}{}", app.base_url, loc.trim_end_matches("/shipments"));
            prove(&app, &base, &csrf, &[("SHP-50042-2", "10002003")]).await;
            app.client
                .get(format!("{base}/protection"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        };
        assert!(
            !colleague.contains("saved for this account"),
            "a colleague at the same company is not offered the key"
        );
        let (base2, csrf2) = draft_for(&app, "po", "PO-2026-0042").await;
        prove(&app, &base2, &csrf2, &[("SHP-50042-2", "10002003")]).await;
        let html = app
            .client
            .get(format!("{base2}/protection"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("saved for this account"));
        let r = protect(
            &app,
            &base2,
            &[
                ("csrf", &csrf2),
                ("bundling", "one"),
                ("protection", "pgp"),
                ("pgp_source", "saved"),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
}
