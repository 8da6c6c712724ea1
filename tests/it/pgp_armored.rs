//! "PGP, armored, no zip": the one seed file, OpenPGP-encrypted and ASCII-armored, imported
//! straight through privacyIDEA's own import code (its GPGImport with the key it holds, then its
//! PSKC or OATH CSV parser), for PSKC and for custom CSV laid out as privacyIDEA's OATH CSV.

use crate::support;
use crate::support::tools::{self, Tool};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PASSPHRASE: &str = "a fine long passphrase";

fn pack(dir: &Path, args: &[&str]) -> Output {
    Command::new(support::seedport_bin())
        .current_dir(dir)
        .arg("pack")
        .args(args)
        .output()
        .unwrap()
}

/// 12 SafeID/Classic tokens with known seeds: (serial, hex seed).
fn factory(dir: &Path) -> Vec<(String, String)> {
    let mut csv = String::from("serial number,secret key,time interval,manufacturer,model\r\n");
    let mut tokens = Vec::new();
    for i in 0..12u8 {
        let seed: Vec<u8> = (0..20u8).map(|b| b.wrapping_mul(7) ^ i).collect();
        let serial = format!("0081{i:02}");
        csv.push_str(&format!(
            "{serial},{},60,Deepnet Security,SafeID/Classic\r\n",
            data_encoding::BASE32_NOPAD.encode(&seed)
        ));
        tokens.push((serial, hex::encode(seed)));
    }
    std::fs::write(dir.join("factory.csv"), csv).unwrap();
    std::fs::write(dir.join("pp"), format!("{PASSPHRASE}\n")).unwrap();
    tokens.sort();
    tokens
}

/// A key pair in `dir/gnupg` (privacyIDEA's PI_GNUPG_HOME); its public key in `dir/pi.asc`.
pub(crate) fn privacyidea_key(dir: &Path) -> PathBuf {
    let home = dir.join("gnupg");
    std::fs::create_dir_all(&home).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let gpg = |args: &[&str]| {
        tools::command(Tool::Gpg)
            .env("GNUPGHOME", &home)
            .args(["--batch", "--quiet"])
            .args(args)
            .output()
            .unwrap()
    };
    let made = gpg(&[
        "--passphrase",
        "",
        "--quick-gen-key",
        "privacyIDEA <pi@acme.example>",
        "default",
        "default",
        "never",
    ]);
    assert!(made.status.success(), "{made:?}");
    let public = gpg(&["--armor", "--export", "pi@acme.example"]);
    std::fs::write(dir.join("pi.asc"), &public.stdout).unwrap();
    home
}

/// privacyIDEA's import of `file`: (serial, hex key, type, digits, time step) per token.
pub(crate) fn privacyidea_import(
    file: &Path,
    home: &Path,
    kind: &str,
    passphrase: Option<&str>,
) -> Vec<Vec<String>> {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/privacyidea_import.py");
    let mut cmd = tools::command(Tool::PrivacyIdea);
    cmd.arg(script).arg(file).arg(home).arg(kind);
    if let Some(p) = passphrase {
        cmd.arg(p);
    }
    let out = cmd.env("GNUPGHOME", home).output().unwrap();
    assert!(
        out.status.success(),
        "privacyIDEA import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

#[test]
fn pskc_passphrase_armored_imports_straight_into_privacyidea() {
    crate::require_tools!(Tool::Gpg, Tool::PrivacyIdea);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tokens = factory(d);
    let home = privacyidea_key(d);
    let run = pack(
        d,
        &[
            "--tokens",
            "factory.csv",
            "--format",
            "pskc-passphrase",
            "--pskc-passphrase-file",
            "pp",
            "--pgp-key",
            "pi.asc",
            "--pgp-armored",
            "--out",
            "PO-81.xml.asc",
        ],
    );
    assert!(run.status.success(), "{run:?}");
    let text = std::fs::read_to_string(d.join("PO-81.xml.asc")).unwrap();
    assert!(
        text.starts_with("-----BEGIN PGP MESSAGE-----"),
        "{}",
        &text[..40]
    );
    assert!(!text.contains("KeyContainer"), "the file is encrypted");
    let imported = privacyidea_import(&d.join("PO-81.xml.asc"), &home, "pskc", Some(PASSPHRASE));
    assert_eq!(imported.len(), tokens.len());
    for (row, (serial, seed)) in imported.iter().zip(&tokens) {
        assert_eq!(row[..5], [serial, seed, "totp", "6", "60"], "{row:?}");
    }
}

#[test]
fn custom_csv_as_oath_csv_armored_imports_straight_into_privacyidea() {
    crate::require_tools!(Tool::Gpg, Tool::PrivacyIdea);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tokens = factory(d);
    let home = privacyidea_key(d);
    // privacyIDEA's OATH CSV: serial, hex key, type, digits, time step; no header.
    std::fs::write(
        d.join("oath.json"),
        r#"{"columns":[
            {"label":"serial","value":{"property":"serial"}},
            {"label":"key","value":{"property":"secret"}},
            {"label":"type","value":{"property":"kind"}},
            {"label":"digits","value":{"property":"digits"}},
            {"label":"step","value":{"property":"time_step"}}],
          "header":false,"secret_encoding":"hex","delimiter":"comma"}"#,
    )
    .unwrap();
    let run = pack(
        d,
        &[
            "--tokens",
            "factory.csv",
            "--format",
            "custom-csv",
            "--custom-spec",
            "oath.json",
            "--pgp-key",
            "pi.asc",
            "--pgp-armored",
            "--out",
            "PO-81.csv.asc",
        ],
    );
    assert!(run.status.success(), "{run:?}");
    let imported = privacyidea_import(&d.join("PO-81.csv.asc"), &home, "oathcsv", None);
    assert_eq!(imported.len(), tokens.len(), "{imported:?}");
    for (row, (serial, seed)) in imported.iter().zip(&tokens) {
        assert_eq!(row[..5], [serial, seed, "totp", "6", "60"], "{row:?}");
    }
}

#[test]
fn armored_refuses_multi_file_formats_and_a_zip_password() {
    crate::require_tools!(Tool::Gpg);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    factory(d);
    privacyidea_key(d);
    std::fs::write(d.join("pw"), "correct horse battery staple\n").unwrap();
    let entra = pack(
        d,
        &[
            "--tokens",
            "factory.csv",
            "--format",
            "entra-csv",
            "--pgp-key",
            "pi.asc",
            "--pgp-armored",
            "--out",
            "x.csv.asc",
        ],
    );
    assert!(!entra.status.success());
    assert!(
        String::from_utf8_lossy(&entra.stderr).contains("PSKC and custom CSV files only"),
        "{entra:?}"
    );
    let with_pw = pack(
        d,
        &[
            "--tokens",
            "factory.csv",
            "--format",
            "pskc-plain",
            "--pgp-key",
            "pi.asc",
            "--password-file",
            "pw",
            "--pgp-armored",
            "--out",
            "x.xml.asc",
        ],
    );
    assert!(!with_pw.status.success());
    assert!(
        String::from_utf8_lossy(&with_pw.stderr).contains("no zip password"),
        "{with_pw:?}"
    );
    assert!(!d.join("x.xml.asc").exists() && !d.join("x.csv.asc").exists());
}
