//! One pipeline: the same request built by the portal's submit and by `seedport pack` gives
//! the same files, in the same order, with the same plaintext; and `pack` refuses what the
//! portal refuses.

use crate::support::{self, backends, spawn_app};
use crate::wizard_helpers::*;

use diesel::prelude::*;
use reqwest::StatusCode;
use seedport::db::schema::{packages, requests};
use std::io::Read;
use std::path::Path;
use std::process::Command;

/// Every entry of an AES zip, in archive order: (name, bytes).
fn entries(zip: &[u8], password: &str) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index_decrypt(i, password.as_bytes()).unwrap();
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).unwrap();
            (f.name().unwrap().to_string(), bytes)
        })
        .collect()
}

/// The README without its creation time (the two builds run a moment apart).
fn undated(name: &str, bytes: &[u8]) -> Vec<u8> {
    if name != "README.txt" {
        return bytes.to_vec();
    }
    String::from_utf8_lossy(bytes)
        .lines()
        .filter(|l| !l.starts_with("Created:"))
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes()
}

/// The demo order's two shipments as one Deepnet factory CSV, in the portal's token order.
fn factory_csv(app: &support::TestApp, dir: &Path) -> std::path::PathBuf {
    let mut csv = String::from("serial number,secret key,time interval,manufacturer,model\r\n");
    for (number, step, model) in [
        ("SHP-50042-1", 60, "SafeID/Classic"),
        ("SHP-50042-2", 30, "SafeID/Enterprise"),
    ] {
        for (serial, seed) in seeds(app, number) {
            csv.push_str(&format!(
                "{serial},{},{step},Deepnet Security,{model}\r\n",
                data_encoding::BASE32_NOPAD.encode(&seed)
            ));
        }
    }
    let path = dir.join("factory.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

#[tokio::test]
async fn portal_submit_and_pack_build_the_same_files_in_the_same_order() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let (base, csrf) = to_format(&app, "one").await;
        // Duo CSV groups tokens by kind and time step: two files, so order matters.
        let r = post_form(
            &app,
            &format!("{base}/format"),
            &[
                ("csrf", &csrf),
                ("format", "duo-csv"),
                ("action", "continue"),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let r = post_form(&app, &format!("{base}/submit"), &[("csrf", &csrf)]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (portal_zip, reference) = {
            let mut conn = app.db.get().unwrap();
            let (request_id, reference): (String, String) = requests::table
                .select((requests::id, requests::reference))
                .first(&mut conn)
                .unwrap();
            let (pid, size): (String, i64) = packages::table
                .filter(packages::request_id.eq(&request_id))
                .select((packages::id, packages::size))
                .first(&mut conn)
                .unwrap();
            (package_bytes(&app, &pid, size), reference)
        };

        let dir = tempfile::tempdir().unwrap();
        let tokens = factory_csv(&app, dir.path());
        std::fs::write(dir.path().join("pw"), format!("{PASSWORD}\n")).unwrap();
        let out = dir.path().join(format!("{reference}.zip"));
        let run = Command::new(support::seedport_bin())
            .arg("pack")
            .arg("--tokens")
            .arg(&tokens)
            .args(["--format", "duo-csv", "--password-file"])
            .arg(dir.path().join("pw"))
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(run.status.success(), "{run:?}");

        let portal = entries(&portal_zip, PASSWORD);
        let packed = entries(&std::fs::read(&out).unwrap(), PASSWORD);
        let names = |e: &[(String, Vec<u8>)]| e.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&portal),
            vec![
                format!("{reference}_duo_TOTP6_30s.csv"),
                format!("{reference}_duo_TOTP6_60s.csv"),
                "README.txt".to_string()
            ],
            "{backend:?}"
        );
        assert_eq!(names(&portal), names(&packed), "{backend:?}");
        for ((name, a), (_, b)) in portal.iter().zip(&packed) {
            assert!(a.len() > 100, "{name} is empty");
            assert_eq!(
                undated(name, a),
                undated(name, b),
                "{backend:?}: {name} differs"
            );
        }
    }
}

#[test]
fn pack_refuses_a_pskc_passphrase_the_portal_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "serial number,secret key,time interval,manufacturer,model\n\
        10001001,234567ABCDEFGHIJKLMNOPQRSTUVWXYZ,60,Deepnet Security,SafeID/Classic\n";
    std::fs::write(dir.path().join("t.csv"), csv).unwrap();
    std::fs::write(dir.path().join("pp"), "abc\n").unwrap();
    std::fs::write(dir.path().join("pw"), format!("{PASSWORD}\n")).unwrap();
    let out = dir.path().join("x.zip");
    let run = Command::new(support::seedport_bin())
        .current_dir(dir.path())
        .args([
            "pack",
            "--tokens",
            "t.csv",
            "--format",
            "pskc-passphrase",
            "--pskc-passphrase-file",
            "pp",
            "--password-file",
            "pw",
            "--out",
            "x.zip",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(
        text.contains("PSKC passphrase: Use at least 12 characters"),
        "{text}"
    );
    assert!(!out.exists() && !dir.path().join("x.partial").exists());
}
