//! Packaging read back with independent tools: `7z` opens the AES zip, `gpg` decrypts the
//! OpenPGP layer. Also the refusal messages for bad passwords and bad certificates, and a large
//! stream that must not be held in memory.

use sequoia_openpgp as openpgp;

use openpgp::cert::prelude::*;
use openpgp::serialize::SerializeInto;
use openpgp::types::{KeyFlags, ReasonForRevocation};
use seedport::pipeline::{
    build_package, suggest_passphrase, PackageEntry, PackageSummary, PasswordError, PgpKeyError,
    PgpRecipient, Protection, ReadmeInput, SafeFileName, ZipPassword,
};
use seedport::vault::SecretString;
use sha2::{Digest, Sha256};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime};
use time::OffsetDateTime;

use crate::support::tools::{self, Tool};

const PASSWORD: &str = "tulip anchor gravel 42";

// ---------------------------------------------------------------------------------------------
// helpers

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("could not run {cmd:?}: {e}"))
}

fn run_ok(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Deterministic XML-ish seed data: `tokens` lines, each with a pseudo-random 40-hex secret.
fn seed_xml(tokens: u64) -> impl FnOnce(&mut dyn Write) -> anyhow::Result<()> {
    move |w: &mut dyn Write| {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        writeln!(w, "<?xml version=\"1.0\"?>\n<Tokens>")?;
        for i in 0..tokens {
            let mut secret = String::with_capacity(40);
            for _ in 0..5 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                secret.push_str(&format!("{:08x}", x as u32));
            }
            writeln!(
                w,
                "  <Token serial=\"SP{i:010}\"><Model>OTP c200</Model><Secret>{secret}</Secret>\
                 <Algorithm>HOTP</Algorithm><Digits>6</Digits><Counter>0</Counter></Token>"
            )?;
        }
        writeln!(w, "</Tokens>")?;
        Ok(())
    }
}

fn seed_bytes(tokens: u64) -> Vec<u8> {
    let mut v = Vec::new();
    seed_xml(tokens)(&mut v).unwrap();
    v
}

fn readme() -> ReadmeInput {
    ReadmeInput {
        format_name: "Test XML".into(),
        token_count: 500,
        how_to_import: "Import seeds.xml in the admin console under Tokens > Import.".into(),
    }
}

fn password() -> ZipPassword {
    ZipPassword::parse(SecretString::new(PASSWORD.into())).unwrap()
}

fn name(s: &str) -> SafeFileName {
    SafeFileName::parse(s).unwrap()
}

/// Builds a package with `seeds.xml` (500 tokens) and `extra.txt` into `dir`.
fn build_into(dir: &Path, base: &str, protection: &Protection) -> (PathBuf, PackageSummary) {
    let entries = vec![
        PackageEntry::new(name("seeds.xml"), seed_xml(500)),
        PackageEntry::new(name("extra.txt"), |w: &mut dyn Write| {
            Ok(w.write_all(b"second file\n")?)
        }),
    ];
    let mut bytes = Vec::new();
    let summary = build_package(
        &mut bytes,
        &name(base),
        entries,
        protection,
        &readme(),
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let path = dir.join(&summary.file_name);
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(summary.size, bytes.len() as u64);
    assert_eq!(summary.sha256, hex::encode(Sha256::digest(&bytes)));
    (path, summary)
}

fn sha256_file(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// Checks the extracted files against the expected content and the summary.
fn check_extracted(dir: &Path, summary: &PackageSummary) {
    let seeds = std::fs::read(dir.join("seeds.xml")).unwrap();
    assert_eq!(seeds, seed_bytes(500));
    assert_eq!(
        std::fs::read(dir.join("extra.txt")).unwrap(),
        b"second file\n"
    );
    assert_eq!(summary.entries.len(), 2);
    assert_eq!(summary.entries[0].name, "seeds.xml");
    assert_eq!(summary.entries[0].size, seeds.len() as u64);
    assert_eq!(
        summary.entries[0].sha256,
        sha256_file(&dir.join("seeds.xml"))
    );
    let readme = std::fs::read_to_string(dir.join("README.txt")).unwrap();
    assert!(readme.contains("Format:  Test XML"), "{readme}");
    assert!(readme.contains("Tokens:  500"), "{readme}");
    assert!(readme.contains(&summary.entries[0].sha256), "{readme}");
    assert!(readme.contains(&summary.entries[1].sha256), "{readme}");
    assert!(readme.contains("Tokens > Import"), "{readme}");
}

/// A throwaway GnuPG home with one key `Test <t@example.com>` (no passphrase).
struct GpgHome {
    dir: tempfile::TempDir,
}

impl GpgHome {
    fn new() -> GpgHome {
        let dir = tempfile::Builder::new().prefix("gpg").tempdir().unwrap();
        let home = GpgHome { dir };
        run_ok(home.gpg().args([
            "--passphrase",
            "",
            "--quick-gen-key",
            "Test <t@example.com>",
            "default",
            "default",
            "never",
        ]));
        home
    }

    fn gpg(&self) -> Command {
        let mut c = tools::command(Tool::Gpg);
        c.arg("--homedir").arg(self.dir.path()).args([
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--no-tty",
        ]);
        c
    }

    fn export(&self, secret: bool) -> Vec<u8> {
        let what = if secret {
            "--export-secret-keys"
        } else {
            "--export"
        };
        let out = run_ok(
            self.gpg()
                .args(["--passphrase", "", "--armor", what, "t@example.com"]),
        );
        out.stdout
    }

    fn decrypt(&self, input: &Path, output: &Path) {
        run_ok(
            self.gpg()
                .args(["--passphrase", "", "--output"])
                .arg(output)
                .arg("--decrypt")
                .arg(input),
        );
    }
}

impl Drop for GpgHome {
    fn drop(&mut self) {
        let _ = tools::command(Tool::Gpgconf)
            .arg("--homedir")
            .arg(self.dir.path())
            .args(["--kill", "gpg-agent"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn sevenz_slt(zip: &Path, pw: &str) -> String {
    let out = run_ok(
        tools::command(Tool::SevenZip)
            .args(["l", "-slt", &format!("-p{pw}")])
            .arg(zip),
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sevenz_extract(zip: &Path, pw: Option<&str>, to: &Path) -> Output {
    let mut c = tools::command(Tool::SevenZip);
    c.arg("x").arg("-y").arg(format!("-o{}", to.display()));
    if let Some(pw) = pw {
        c.arg(format!("-p{pw}"));
    }
    run(c.arg(zip))
}

// ---------------------------------------------------------------------------------------------
// password policy

#[test]
fn refuses_empty_short_and_common_passwords_with_clear_messages() {
    let parse = |s: &str| ZipPassword::parse(SecretString::new(s.into()));
    assert_eq!(parse("").unwrap_err(), PasswordError::Empty);
    assert_eq!(
        parse("").unwrap_err().to_string(),
        "Enter a password to protect the zip file"
    );
    assert_eq!(
        parse("abcdefghijk").unwrap_err().to_string(),
        "Use at least 12 characters \u{2014} this one has 11"
    );
    for common in [
        "password1234",
        "123456789012",
        "qwertyuiopas",
        "Password1234!",
    ] {
        assert_eq!(
            parse(common).unwrap_err().to_string(),
            "This password is on a list of commonly used passwords; choose another",
            "{common}"
        );
    }
    let ok = parse(PASSWORD).unwrap();
    assert_eq!(format!("{ok:?}"), "ZipPassword([redacted])");
    let suggested = suggest_passphrase();
    assert_eq!(suggested.expose().split('-').count(), 5);
    assert!(ZipPassword::parse(suggested).is_ok());
}

// ---------------------------------------------------------------------------------------------
// certificates

fn armored(cert: &Cert) -> Vec<u8> {
    cert.armored().to_vec().unwrap()
}

#[test]
fn accepts_sequoia_certificate_armored_and_binary() {
    let (cert, _) = CertBuilder::general_purpose(Some("Alice <alice@example.com>"))
        .generate()
        .unwrap();
    let from_armor = PgpRecipient::parse(&armored(&cert)).unwrap();
    let from_binary = PgpRecipient::parse(&cert.to_vec().unwrap()).unwrap();
    assert_eq!(from_armor.fingerprint(), from_binary.fingerprint());
    let fp = from_armor.fingerprint();
    assert_eq!(fp.replace(' ', ""), cert.fingerprint().to_hex());
    assert!(fp.split(' ').all(|g| g.len() == 4), "{fp}");
    assert_eq!(
        from_armor.user_ids(),
        vec!["Alice <alice@example.com>".to_string()]
    );
    let stored = from_armor.armored_public().unwrap();
    assert!(stored.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
    assert!(!stored.contains("PRIVATE"));
    assert_eq!(
        PgpRecipient::parse(stored.as_bytes())
            .unwrap()
            .fingerprint(),
        fp
    );
}

#[test]
fn refuses_bad_certificates_with_clear_messages() {
    let err = |bytes: &[u8]| PgpRecipient::parse(bytes).unwrap_err();

    for garbage in [
        &b""[..],
        b"   \n",
        b"hello, this is my key",
        &[0x99, 0x01, 0x02, 0xff],
    ] {
        let e = err(garbage);
        assert_eq!(e, PgpKeyError::NotAKey);
        assert!(e
            .to_string()
            .starts_with("This is not an OpenPGP public key"));
    }

    // A secret key (TSK), armored and binary.
    let (cert, revocation) = CertBuilder::general_purpose(Some("Bob <bob@example.com>"))
        .generate()
        .unwrap();
    let tsk_armored = cert.as_tsk().armored().to_vec().unwrap();
    assert!(String::from_utf8_lossy(&tsk_armored).contains("PRIVATE KEY BLOCK"));
    for tsk in [tsk_armored, cert.as_tsk().to_vec().unwrap()] {
        let e = err(&tsk);
        assert_eq!(e, PgpKeyError::SecretKey);
        let msg = e.to_string();
        assert!(msg.contains("PRIVATE (secret) key"), "{msg}");
        assert!(msg.contains("consider it exposed"), "{msg}");
        assert!(msg.contains("send only the public key"), "{msg}");
    }

    // Revoked.
    let (revoked, _) = cert.clone().insert_packets(revocation).unwrap();
    let e = err(&armored(&revoked));
    assert_eq!(e, PgpKeyError::Revoked);
    assert!(e.to_string().contains("revoked"));

    // Revoked with a later revocation certificate made by hand.
    let mut signer = cert
        .primary_key()
        .key()
        .clone()
        .parts_into_secret()
        .unwrap()
        .into_keypair()
        .unwrap();
    let rev = cert
        .revoke(&mut signer, ReasonForRevocation::KeyCompromised, b"lost")
        .unwrap();
    let (revoked2, _) = cert.clone().insert_packets(rev).unwrap();
    assert_eq!(err(&armored(&revoked2)), PgpKeyError::Revoked);

    // Expired: created two days ago, valid for one.
    let two_days_ago = SystemTime::now() - Duration::from_secs(2 * 86_400);
    let (expired, _) = CertBuilder::general_purpose(Some("Old <old@example.com>"))
        .set_creation_time(two_days_ago)
        .set_validity_period(Duration::from_secs(86_400))
        .generate()
        .unwrap();
    let e = err(&armored(&expired));
    assert_eq!(e, PgpKeyError::Expired);
    assert!(e.to_string().contains("expired"));

    // Sign-only: no encryption subkey at all.
    let (sign_only, _) = CertBuilder::new()
        .add_userid("Signer <s@example.com>")
        .add_signing_subkey()
        .generate()
        .unwrap();
    let e = err(&armored(&sign_only));
    assert_eq!(e, PgpKeyError::NoEncryptionKey);
    assert!(e
        .to_string()
        .contains("no valid, unexpired encryption subkey"));

    // Encryption subkey expired while the primary key lives on.
    let (sub_expired, _) = CertBuilder::new()
        .set_creation_time(two_days_ago)
        .add_userid("Sub <sub@example.com>")
        .add_subkey(
            KeyFlags::empty().set_transport_encryption(),
            Duration::from_secs(3600),
            None,
        )
        .generate()
        .unwrap();
    assert_eq!(err(&armored(&sub_expired)), PgpKeyError::NoEncryptionKey);

    // Two certificates in one file.
    let mut two = armored(&cert);
    two.extend(armored(&expired));
    assert_eq!(err(&two), PgpKeyError::SeveralCerts(2));
}

#[test]
fn gpg_generated_keys_public_accepted_secret_refused() {
    if !tools::require(&[Tool::Gpg]) {
        return;
    }
    let home = GpgHome::new();
    let recipient = PgpRecipient::parse(&home.export(false)).unwrap();
    assert_eq!(
        recipient.user_ids(),
        vec!["Test <t@example.com>".to_string()]
    );
    assert_eq!(
        PgpRecipient::parse(&home.export(true)).unwrap_err(),
        PgpKeyError::SecretKey
    );
}

// ---------------------------------------------------------------------------------------------
// packages read back with 7z and gpg

#[test]
fn password_only_package_is_an_aes256_zip_that_7z_opens() {
    if !tools::require(&[Tool::SevenZip]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (zip, summary) = build_into(
        dir.path(),
        "order-4711",
        &Protection::PasswordOnly(password()),
    );
    assert_eq!(summary.file_name, "order-4711.zip");

    let listing = sevenz_slt(&zip, PASSWORD);
    assert_eq!(
        listing.matches("Method = AES-256 Deflate").count(),
        3,
        "{listing}"
    );
    assert_eq!(listing.matches("Encrypted = +").count(), 3, "{listing}");
    // README.txt comes last.
    let last_path = listing.lines().rfind(|l| l.starts_with("Path = ")).unwrap();
    assert_eq!(last_path, "Path = README.txt");

    let out = dir.path().join("ok");
    let res = sevenz_extract(&zip, Some(PASSWORD), &out);
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stdout)
    );
    check_extracted(&out, &summary);
    let readme = std::fs::read_to_string(out.join("README.txt")).unwrap();
    assert!(readme.contains("Windows Explorer"), "{readme}");
    assert!(readme.contains("AES-256"), "{readme}");

    // No password (7z cannot prompt: stdin is closed) and a wrong password both fail.
    let res = sevenz_extract(&zip, None, &dir.path().join("none"));
    assert!(!res.status.success());
    let res = sevenz_extract(&zip, Some("wrong password!!"), &dir.path().join("wrong"));
    assert!(!res.status.success());
    let wrong_seeds = std::fs::read(dir.path().join("wrong/seeds.xml")).unwrap_or_default();
    assert_ne!(wrong_seeds, seed_bytes(500));
}

#[test]
fn pgp_only_package_decrypts_with_gpg_to_a_plain_zip() {
    if !tools::require(&[Tool::Gpg, Tool::SevenZip]) {
        return;
    }
    let home = GpgHome::new();
    let recipient = PgpRecipient::parse(&home.export(false)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (pgp, summary) = build_into(
        dir.path(),
        "order-4712",
        &Protection::PgpOnly(recipient.clone()),
    );
    assert_eq!(summary.file_name, "order-4712.zip.pgp");
    let head = std::fs::read(&pgp).unwrap();
    assert!(!head.starts_with(b"-----BEGIN"), "binary, not armored");

    let packets = run_ok(
        home.gpg()
            .args(["--passphrase", "", "--list-packets"])
            .arg(&pgp),
    );
    let packets = String::from_utf8_lossy(&packets.stdout);
    assert!(packets.contains("name=\"order-4712.zip\""), "{packets}");
    assert!(packets.contains("mode b"), "{packets}");

    let zip = dir.path().join("order-4712.zip");
    home.decrypt(&pgp, &zip);
    let listing = sevenz_slt(&zip, "");
    assert_eq!(listing.matches("Method = Deflate").count(), 3, "{listing}");
    assert!(!listing.contains("Encrypted = +"), "{listing}");
    let out = dir.path().join("x");
    let res = sevenz_extract(&zip, None, &out);
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stdout)
    );
    check_extracted(&out, &summary);
    let readme = std::fs::read_to_string(out.join("README.txt")).unwrap();
    assert!(readme.contains(&recipient.fingerprint()), "{readme}");
    assert!(
        readme.contains("gpg --output order-4712.zip --decrypt order-4712.zip.pgp"),
        "{readme}"
    );
}

#[test]
fn both_package_is_an_aes_zip_inside_pgp() {
    if !tools::require(&[Tool::Gpg, Tool::SevenZip]) {
        return;
    }
    let home = GpgHome::new();
    let recipient = PgpRecipient::parse(&home.export(false)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let protection = Protection::Both {
        password: password(),
        recipient,
    };
    let (pgp, summary) = build_into(dir.path(), "order-4713", &protection);
    assert_eq!(summary.file_name, "order-4713.zip.pgp");
    let zip = dir.path().join("order-4713.zip");
    home.decrypt(&pgp, &zip);
    let listing = sevenz_slt(&zip, PASSWORD);
    assert_eq!(
        listing.matches("Method = AES-256 Deflate").count(),
        3,
        "{listing}"
    );
    let out = dir.path().join("x");
    let res = sevenz_extract(&zip, Some(PASSWORD), &out);
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stdout)
    );
    check_extracted(&out, &summary);
    assert!(
        !sevenz_extract(&zip, Some("wrong password!!"), &dir.path().join("w"))
            .status
            .success()
    );
}

// ---------------------------------------------------------------------------------------------
// streaming

/// Discards everything, counting bytes.
struct CountingSink(u64);

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Peak resident set size of this process so far, in KiB (Linux only; 0 elsewhere).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

#[test]
fn a_large_seed_file_streams_through_without_being_held_in_memory() {
    let (cert, _) = CertBuilder::general_purpose(Some("Big <big@example.com>"))
        .generate()
        .unwrap();
    let protection = Protection::Both {
        password: password(),
        recipient: PgpRecipient::parse(&armored(&cert)).unwrap(),
    };
    // ~170 bytes per token: 300,000 tokens are ~51 MB of XML.
    let tokens = 300_000;
    let before = peak_rss_kib();
    let mut sink = CountingSink(0);
    let summary = build_package(
        &mut sink,
        &name("large"),
        vec![PackageEntry::new(name("seeds.xml"), seed_xml(tokens))],
        &protection,
        &readme(),
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let grown_mib = (peak_rss_kib().saturating_sub(before)) / 1024;
    let written_mib = summary.entries[0].size / (1024 * 1024);
    eprintln!(
        "streamed {written_mib} MiB of XML; package {} bytes; peak RSS grew {grown_mib} MiB",
        summary.size
    );
    assert!(
        summary.entries[0].size > 50_000_000,
        "{}",
        summary.entries[0].size
    );
    assert_eq!(summary.size, sink.0);
    assert!(
        summary.size < summary.entries[0].size,
        "deflate should shrink XML"
    );
    // Peak RSS is process-wide and other tests run in this process at the same time, so it is
    // reported here, not asserted: memory is measured by `bench/pack.sh`.
    let _ = grown_mib;
}

/// The size of a one-million-token PSKC file (~900 MB of XML: 5 million of our ~176-byte lines)
/// through the full stack into a counting sink. Run by hand to measure peak memory:
/// `/usr/bin/time -v cargo test --release --test packaging -- --ignored million`.
#[test]
#[ignore]
fn million_tokens_stream() {
    let (cert, _) = CertBuilder::general_purpose(Some("Big <big@example.com>"))
        .generate()
        .unwrap();
    let protection = Protection::Both {
        password: password(),
        recipient: PgpRecipient::parse(&armored(&cert)).unwrap(),
    };
    let mut sink = CountingSink(0);
    let summary = build_package(
        &mut sink,
        &name("million"),
        vec![PackageEntry::new(name("seeds.xml"), seed_xml(5_000_000))],
        &protection,
        &readme(),
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    eprintln!(
        "{} bytes of XML -> {} byte package; peak RSS {} MiB",
        summary.entries[0].size,
        summary.size,
        peak_rss_kib() / 1024
    );
}

#[test]
fn entry_names_are_checked() {
    for bad in [
        "",
        "../x",
        "a/b",
        "a\\b",
        ".hidden",
        "-rf",
        "x y",
        "é.xml",
        &"a".repeat(121),
    ] {
        assert!(SafeFileName::parse(bad).is_err(), "{bad:?}");
    }
    let mut sink = CountingSink(0);
    let res = build_package(
        &mut sink,
        &name("dup"),
        vec![PackageEntry::new(
            name("README.txt"),
            |_w: &mut dyn Write| Ok(()),
        )],
        &Protection::PasswordOnly(password()),
        &readme(),
        OffsetDateTime::now_utc(),
    );
    assert!(res.is_err());
}

#[test]
fn a_failing_source_fails_the_package_without_leaking_secrets() {
    let mut sink = CountingSink(0);
    let err = build_package(
        &mut sink,
        &name("fail"),
        vec![PackageEntry::new(name("seeds.xml"), |w: &mut dyn Write| {
            w.write_all(b"partial")?;
            anyhow::bail!("database went away")
        })],
        &Protection::PasswordOnly(password()),
        &readme(),
        OffsetDateTime::now_utc(),
    )
    .unwrap_err();
    let shown = format!("{err} / {err:?}");
    assert!(shown.contains("seeds.xml"), "{shown}");
    assert!(!shown.contains(PASSWORD), "{shown}");
}
