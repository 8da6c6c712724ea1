//! `seedport pack` as an operator uses it: factory file in, protected package out, read back
//! with gpg, 7z, python-pskc and oathtool; bad inputs get clear messages and write nothing.

use crate::support;
use crate::support::tools::{self, Tool};

use std::path::Path;
use std::process::{Command, Output};

fn pack(dir: &Path, args: &[&str]) -> Output {
    Command::new(support::seedport_bin())
        .current_dir(dir)
        .arg("pack")
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

/// 20 SafeID/Classic tokens with known seeds, as a Deepnet factory CSV.
fn factory(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut csv = String::from("serial number,secret key,time interval,manufacturer,model\r\n");
    let mut tokens = Vec::new();
    for i in 0..20u8 {
        let seed: Vec<u8> = (0..20u8)
            .map(|b| b.wrapping_mul(13).wrapping_add(i))
            .collect();
        let serial = format!("0070{i:02}");
        csv.push_str(&format!(
            "{serial},{},60,Deepnet Security,SafeID/Classic\r\n",
            data_encoding::BASE32_NOPAD.encode(&seed)
        ));
        tokens.push((serial, seed));
    }
    std::fs::write(dir.join("factory.csv"), csv).unwrap();
    tokens
}

fn gpg_key(dir: &Path) -> std::path::PathBuf {
    let home = dir.join("gnupg");
    std::fs::create_dir_all(&home).unwrap();
    #[cfg(unix)]
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
    assert!(gpg(&[
        "--passphrase",
        "",
        "--quick-gen-key",
        "Ops <ops@acme.example>",
        "default",
        "default",
        "never"
    ])
    .status
    .success());
    let public = gpg(&["--armor", "--export", "ops@acme.example"]);
    std::fs::write(dir.join("ops.asc"), &public.stdout).unwrap();
    home
}

#[test]
fn pskc_passphrase_with_password_and_pgp_opens_with_independent_tools() {
    crate::require_tools!(Tool::Gpg, Tool::SevenZip, Tool::PythonPskc);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tokens = factory(d);
    let home = gpg_key(d);
    std::fs::write(d.join("pw"), "correct horse battery staple\n").unwrap();
    std::fs::write(d.join("pp"), "a long pskc passphrase\n").unwrap();
    let out = pack(
        d,
        &[
            "--tokens",
            "factory.csv",
            "--format",
            "pskc-passphrase",
            "--pskc-passphrase-file",
            "pp",
            "--password-file",
            "pw",
            "--pgp-key",
            "ops.asc",
            "--out",
            "PO-7.zip.pgp",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("20 tokens"), "{}", text(&out));

    let dec = tools::command(Tool::Gpg)
        .env("GNUPGHOME", &home)
        .args([
            "--batch",
            "--quiet",
            "--output",
            "PO-7.zip",
            "--decrypt",
            "PO-7.zip.pgp",
        ])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(dec.status.success(), "{}", text(&dec));
    let unzip = tools::command(Tool::SevenZip)
        .args(["x", "-y", "-pcorrect horse battery staple", "PO-7.zip"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(unzip.status.success(), "{}", text(&unzip));
    let readme = std::fs::read_to_string(d.join("README.txt")).unwrap();
    assert!(readme.contains("Tokens:  20"), "{readme}");

    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/formats_pskc_check.py");
    let check = tools::command(Tool::Python)
        .arg(script)
        .arg(d.join("PO-7.xml"))
        .args(["passphrase", "a long pskc passphrase"])
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", text(&check));
    let listing = String::from_utf8_lossy(&check.stdout);
    for (serial, seed) in &tokens {
        assert!(
            listing.contains(&format!("{serial} {}", hex::encode(seed))),
            "{serial} missing in {listing}"
        );
    }
}

#[test]
fn entra_csv_secrets_give_the_factory_codes_in_oathtool() {
    crate::require_tools!(Tool::SevenZip, Tool::Oathtool);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tokens = factory(d);
    std::fs::write(d.join("pw"), "correct horse battery staple").unwrap();
    let out = pack(
        d,
        &[
            "--tokens",
            "factory.csv",
            "--format",
            "entra-csv",
            "--password-file",
            "pw",
            "--out",
            "PO-8.zip",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let unzip = tools::command(Tool::SevenZip)
        .args(["x", "-y", "-pcorrect horse battery staple", "PO-8.zip"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(unzip.status.success(), "{}", text(&unzip));
    let csv = std::fs::read_to_string(d.join("PO-8.csv")).unwrap();
    assert!(csv.starts_with("upn,serial number,secret key,time interval,manufacturer,model\r\n"));
    let code = |secret_b32: &str| {
        let o = tools::command(Tool::Oathtool)
            .args([
                "--totp",
                "-b",
                "-s",
                "60s",
                "--now",
                "2026-01-01 00:00:00 UTC",
                secret_b32,
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    for line in csv.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        let (_, seed) = tokens.iter().find(|(s, _)| s == cols[1]).unwrap();
        assert_eq!(
            code(cols[2]),
            code(&data_encoding::BASE32_NOPAD.encode(seed)),
            "serial {}",
            cols[1]
        );
    }
}

#[test]
fn bad_inputs_are_explained_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    factory(d);
    std::fs::write(d.join("short"), "tiny").unwrap();
    std::fs::write(d.join("common"), "password1234").unwrap();
    std::fs::write(
        d.join("garbage.asc"),
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\nnot a key\n",
    )
    .unwrap();
    std::fs::write(d.join("pw"), "correct horse battery staple").unwrap();
    std::fs::write(d.join("eco.csv"), "serial number,secret key,time interval,manufacturer,model\n1,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,0,Deepnet Security,SafeID/Eco\n").unwrap();
    std::fs::write(d.join("spec.json"), r#"{"columns":[{"label":"=cmd","value":{"property":"serial"}}],"header":true,"secret_encoding":"hex","delimiter":"comma"}"#).unwrap();
    for (args, expected) in [
        (
            vec![
                "--tokens",
                "factory.csv",
                "--format",
                "entra-csv",
                "--out",
                "a.zip",
            ],
            "choose how the package is protected",
        ),
        (
            vec![
                "--tokens",
                "factory.csv",
                "--format",
                "entra-csv",
                "--password-file",
                "short",
                "--out",
                "a.zip",
            ],
            "at least 12 characters",
        ),
        (
            vec![
                "--tokens",
                "factory.csv",
                "--format",
                "entra-csv",
                "--password-file",
                "common",
                "--out",
                "a.zip",
            ],
            "commonly used",
        ),
        (
            vec![
                "--tokens",
                "factory.csv",
                "--format",
                "entra-csv",
                "--pgp-key",
                "garbage.asc",
                "--out",
                "a.zip",
            ],
            "OpenPGP",
        ),
        (
            vec![
                "--tokens",
                "factory.csv",
                "--format",
                "nope",
                "--password-file",
                "pw",
                "--out",
                "a.zip",
            ],
            "entra-csv",
        ),
        (
            vec![
                "--tokens",
                "eco.csv",
                "--format",
                "entra-csv",
                "--password-file",
                "pw",
                "--out",
                "a.zip",
            ],
            "HOTP",
        ),
        (
            vec![
                "--tokens",
                "factory.csv",
                "--format",
                "custom-csv",
                "--custom-spec",
                "spec.json",
                "--password-file",
                "pw",
                "--out",
                "a.zip",
            ],
            "column 1",
        ),
        (
            vec![
                "--tokens",
                "factory.csv",
                "--format",
                "pskc-passphrase",
                "--password-file",
                "pw",
                "--out",
                "a.zip",
            ],
            "passphrase",
        ),
    ] {
        let out = pack(d, &args);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(text(&out).contains(expected), "{args:?}: {}", text(&out));
        assert!(
            !d.join("a.zip").exists() && !d.join("a.partial").exists(),
            "{args:?} left a file"
        );
        assert!(!text(&out).contains("panicked"), "{}", text(&out));
    }
}
