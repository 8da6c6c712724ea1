//! Seed file formats seen from outside: fixture files byte for byte, round trips through
//! independent tools (python-pskc, pskctool, oathtool), and the errors a customer reads.

use rand::rngs::StdRng;
use rand::SeedableRng;
use seedport::domain::{HashAlg, OtpKind, Serial, Token, TokenContext};
use seedport::formats::{
    self, ColumnValue, CustomColumn, CustomCsvSpec, Delimiter, FormatId, FormatOptions,
    SecretEncoding, SeedFormat, TokenProperty, TokenShape,
};
use seedport::vault::{SecretBytes, SecretString};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::support::tools::{self, Tool};

const PSK_HEX: &str = "12345678901234567890123456789012";
const PASSPHRASE: &str = "correct horse battery staple";
const NOW: &str = "2026-01-01 00:00:00 UTC";
const HOTP_COUNTER: &str = "5";

#[allow(clippy::too_many_arguments)]
fn token(
    serial: &str,
    secret_hex: &str,
    kind: OtpKind,
    hash: HashAlg,
    digits: u8,
    step: u32,
    counter: u64,
    model: &str,
) -> Token {
    Token {
        serial: Serial::parse(serial).unwrap(),
        secret: SecretBytes::new(hex::decode(secret_hex).unwrap()),
        kind,
        hash,
        digits,
        time_step: step,
        counter,
        manufacturer: "Deepnet Security".into(),
        model: model.into(),
    }
}

/// A mixed shipment: every format accepts some of it.
fn shipment() -> Vec<Token> {
    use HashAlg::*;
    use OtpKind::*;
    vec![
        token(
            "10001001",
            "3132333435363738393031323334353637383930",
            Totp,
            Sha1,
            6,
            60,
            0,
            "SafeID/Classic",
        ),
        token(
            "0001002",
            "08E49538328BAE830E0DB14A82341100BC23B840",
            Totp,
            Sha1,
            6,
            30,
            0,
            "SafeID/Enterprise",
        ),
        token(
            "10001003",
            "A1B2C3D4E5F60718293A4B5C6D7E8F9001122334",
            Hotp,
            Sha1,
            6,
            0,
            0,
            "SafeID/Eco",
        ),
        token(
            "10001004",
            "3132333435363738393031323334353637383930313233343536373839303132",
            Totp,
            Sha256,
            6,
            30,
            0,
            "SafeID/Pro",
        ),
        token(
            "10001005",
            "00112233445566778899AABBCCDDEEFF00112233",
            Totp,
            Sha1,
            6,
            30,
            0,
            "SafeID/Enterprise",
        ),
        token(
            "10001006",
            &"3132333435363738393031323334353637383930".repeat(4)[..128],
            Totp,
            Sha512,
            8,
            30,
            0,
            "SafeID/Diamond",
        ),
        token(
            "10001007",
            "FFEEDDCCBBAA99887766554433221100FFEEDDCC",
            Totp,
            Sha1,
            8,
            60,
            0,
            "SafeID/Classic",
        ),
    ]
}

fn context() -> TokenContext {
    TokenContext {
        po_number: "PO-1234".into(),
        invoice_number: "=cmd|' /C calc'!A0".into(),
        shipment_number: "SH;42".into(),
    }
}

fn custom_spec() -> CustomCsvSpec {
    let p = |label: &str, prop| CustomColumn {
        label: label.into(),
        value: ColumnValue::Property(prop),
    };
    CustomCsvSpec {
        columns: vec![
            p("Serial", TokenProperty::Serial),
            p("Seed (hex)", TokenProperty::Secret),
            p("Type", TokenProperty::Kind),
            p("Hash", TokenProperty::Hash),
            p("Digits", TokenProperty::Digits),
            p("Step", TokenProperty::TimeStep),
            p("Counter", TokenProperty::Counter),
            p("Maker", TokenProperty::Manufacturer),
            p("Model", TokenProperty::Model),
            p("PO", TokenProperty::PoNumber),
            p("Invoice", TokenProperty::InvoiceNumber),
            p("Shipment", TokenProperty::ShipmentNumber),
            p("URI", TokenProperty::OtpauthUri),
            CustomColumn {
                label: "Site".into(),
                value: ColumnValue::Fixed("HQ Berlin".into()),
            },
        ],
        header: true,
        secret_encoding: SecretEncoding::Hex,
        delimiter: Delimiter::Semicolon,
    }
}

fn options() -> FormatOptions {
    FormatOptions {
        pskc_key: Some(SecretBytes::new(hex::decode(PSK_HEX).unwrap())),
        pskc_passphrase: Some(SecretString::new(PASSPHRASE.into())),
        custom_csv: Some(custom_spec()),
        ..FormatOptions::default()
    }
}

/// What the packager does: keep the tokens the format takes, group them, split groups at the
/// per-file limit, stream each file. Returns (file name, bytes) in first-seen group order.
fn render(
    format: &'static SeedFormat,
    tokens: &[Token],
    opts: &FormatOptions,
) -> Vec<(String, Vec<u8>)> {
    let accepted: Vec<&Token> = tokens
        .iter()
        .filter(|t| format.check_token(&TokenShape::from(*t)).is_ok())
        .collect();
    let mut groups: Vec<(Option<String>, Vec<&Token>)> = Vec::new();
    for t in accepted {
        let g = format.file_group(&TokenShape::from(t));
        match groups.iter_mut().find(|(k, _)| *k == g) {
            Some((_, v)) => v.push(t),
            None => groups.push((g, vec![t])),
        }
    }
    let mut rng = StdRng::seed_from_u64(6030);
    let mut files = Vec::new();
    for (group, members) in groups {
        let max = format.max_tokens_per_file.unwrap_or(usize::MAX);
        let parts: Vec<&[&Token]> = members.chunks(max).collect();
        let split = parts.len() > 1;
        for (i, part) in parts.iter().enumerate() {
            let mut out = Vec::new();
            let mut w = format.open(opts, &mut rng).unwrap();
            w.begin(&mut out).unwrap();
            for t in part.iter() {
                w.write_token(&mut out, t, &context()).unwrap();
            }
            w.finish(&mut out).unwrap();
            let name = format.file_name("PO1234", group.as_deref(), split.then_some(i + 1));
            files.push((name, out));
        }
    }
    files
}

fn fixture_dir(id: FormatId) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/formats")
        .join(id.as_str())
}

#[test]
fn every_format_matches_its_fixtures_byte_for_byte() {
    let update = std::env::var_os("UPDATE_FIXTURES").is_some();
    for f in formats::all() {
        let files = render(f, &shipment(), &options());
        assert!(!files.is_empty(), "{} wrote nothing", f.id);
        let dir = fixture_dir(f.id);
        if update {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            for (name, bytes) in &files {
                std::fs::write(dir.join(name), bytes).unwrap();
            }
        }
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_FIXTURES=1)", dir.display()))
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        on_disk.sort();
        let mut names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
        names.sort();
        assert_eq!(names, on_disk, "{}: file set differs", f.id);
        for (name, bytes) in &files {
            let want = std::fs::read(dir.join(name)).unwrap();
            assert!(
                *bytes == want,
                "{}/{name} differs from its fixture:\n{}",
                f.id,
                String::from_utf8_lossy(bytes)
            );
        }
    }
}

#[test]
fn csv_files_are_crlf_without_bom_or_quotes() {
    for id in [
        FormatId::EntraCsv,
        FormatId::DuoCsv,
        FormatId::OktaCsv,
        FormatId::SafeidCsv,
        FormatId::SalesforceCsv,
    ] {
        for (name, bytes) in render(id.format(), &shipment(), &options()) {
            let text = String::from_utf8(bytes).unwrap();
            assert!(!text.starts_with('\u{feff}'), "{name} has a BOM");
            assert!(!text.contains('"'), "{name} is quoted");
            assert!(text.ends_with("\r\n"), "{name}");
            assert_eq!(
                text.matches('\n').count(),
                text.matches("\r\n").count(),
                "{name}"
            );
        }
    }
}

#[test]
fn file_groups_and_names() {
    let names = |id: FormatId| -> Vec<String> {
        render(id.format(), &shipment(), &options())
            .into_iter()
            .map(|(n, _)| n)
            .collect()
    };
    assert_eq!(
        names(FormatId::DuoCsv),
        [
            "PO1234_duo_TOTP6_60s.csv",
            "PO1234_duo_TOTP6_30s.csv",
            "PO1234_duo_HOTP6.csv",
            "PO1234_duo_TOTP8_60s.csv"
        ]
    );
    assert_eq!(names(FormatId::SalesforceCsv), ["PO1234.csv.txt"]);
    assert!(
        names(FormatId::Dualshield).contains(&"PO1234_dualshield_SE_HOTP6_SHA1.xml".to_string())
    );
    assert!(names(FormatId::OktaCsv).contains(&"PO1234_okta_SHA256_TOTP6_30s.csv".to_string()));
}

#[test]
fn entra_json_splits_at_100_items_with_valid_json() {
    let base = &shipment()[0];
    let tokens: Vec<Token> = (0..250)
        .map(|i| Token {
            serial: Serial::parse(&format!("2000{i:04}")).unwrap(),
            ..base.clone()
        })
        .collect();
    let files = render(FormatId::EntraJson.format(), &tokens, &options());
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "PO1234_part001.json",
            "PO1234_part002.json",
            "PO1234_part003.json"
        ]
    );
    let counts: Vec<usize> = files
        .iter()
        .map(|(_, b)| {
            let v: serde_json::Value = serde_json::from_slice(b).unwrap();
            assert_eq!(v["@context"], "#$delta");
            let items = v["value"].as_array().unwrap();
            assert_eq!(items[0]["@contentId"], "1");
            assert_eq!(items[0]["timeIntervalInSeconds"], 60);
            items.len()
        })
        .collect();
    assert_eq!(counts, [100, 100, 50]);

    // The writer itself refuses a 101st item.
    let mut rng = StdRng::seed_from_u64(1);
    let mut w = FormatId::EntraJson
        .format()
        .open(&options(), &mut rng)
        .unwrap();
    let mut out = Vec::new();
    w.begin(&mut out).unwrap();
    for t in &tokens[..100] {
        w.write_token(&mut out, t, &context()).unwrap();
    }
    let e = w
        .write_token(&mut out, &tokens[100], &context())
        .unwrap_err();
    assert!(e.to_string().contains("at most 100 tokens"), "{e}");
}

/// Every write is small, so a million-token file never sits in memory.
#[test]
fn writers_stream_row_by_row() {
    struct Sink {
        total: usize,
        largest: usize,
    }
    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.total += b.len();
            self.largest = self.largest.max(b.len());
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let base = &shipment()[0];
    let opts = FormatOptions {
        pbkdf2_iterations: 1000,
        ..options()
    };
    for id in [
        FormatId::PskcPsk,
        FormatId::PskcPassphrase,
        FormatId::EntraCsv,
        FormatId::CustomCsv,
        FormatId::Dualshield,
    ] {
        let mut rng = StdRng::seed_from_u64(2);
        let mut w = id.format().open(&opts, &mut rng).unwrap();
        let mut sink = Sink {
            total: 0,
            largest: 0,
        };
        w.begin(&mut sink).unwrap();
        let mut t = base.clone();
        for i in 0..20_000u32 {
            t.serial = Serial::parse(&format!("3{i:07}")).unwrap();
            w.write_token(&mut sink, &t, &context()).unwrap();
        }
        w.finish(&mut sink).unwrap();
        assert!(sink.total > 20_000 * 40, "{id}");
        assert!(sink.largest < 4096, "{id}: a {} byte write", sink.largest);
    }
}

// ---------------------------------------------------------------- independent tools

fn python_pskc(file: &Path, args: &[&str]) -> String {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/formats_pskc_check.py");
    let out = tools::command(Tool::Python)
        .arg(script)
        .arg(file)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python-pskc refused {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn write_temp(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn python_pskc_decrypts_and_checks_every_mac() {
    crate::require_tools!(Tool::PythonPskc);
    let dir = tempfile::tempdir().unwrap();
    let tokens = shipment();
    for (id, args) in [
        (FormatId::PskcPlain, vec!["plain"]),
        (FormatId::PskcPsk, vec!["psk", PSK_HEX]),
        (FormatId::PskcPassphrase, vec!["passphrase", PASSPHRASE]),
    ] {
        let files = render(id.format(), &tokens, &options());
        assert_eq!(files.len(), 1);
        let path = write_temp(dir.path(), &files[0].0, &files[0].1);
        let out = python_pskc(&path, &args);
        let mut lines = out.lines();
        if id == FormatId::PskcPassphrase {
            assert_eq!(
                lines.next().unwrap(),
                "iterations 100000 keylen 16 prf None"
            );
        }
        let lines: Vec<&str> = lines.collect();
        assert_eq!(lines.len(), tokens.len(), "{id}: {out}");
        for (line, t) in lines.iter().zip(&tokens) {
            let (algo, interval, counter) = match t.kind {
                OtpKind::Totp => ("totp", t.time_step.to_string(), "None".to_string()),
                OtpKind::Hotp => ("hotp", "None".to_string(), t.counter.to_string()),
            };
            let suite = match t.hash {
                HashAlg::Sha1 => "None",
                other => other.as_str(),
            };
            let want = format!(
                "{} {} {algo} {} {interval} {counter} {suite} Deepnet Security Deepnet Security {}",
                t.serial,
                hex::encode(t.secret.expose()),
                t.digits,
                t.model
            );
            assert_eq!(*line, want, "{id}");
        }
    }
}

#[test]
fn python_pskc_rejects_a_wrong_key_and_a_tampered_mac() {
    crate::require_tools!(Tool::PythonPskc);
    let dir = tempfile::tempdir().unwrap();
    let files = render(FormatId::PskcPsk.format(), &shipment(), &options());
    let path = write_temp(dir.path(), "wrong.xml", &files[0].1);
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/formats_pskc_check.py");
    let wrong = tools::command(Tool::Python)
        .arg(&script)
        .arg(&path)
        .args(["psk", "00000000000000000000000000000000"])
        .output()
        .unwrap();
    assert!(!wrong.status.success());

    let text = String::from_utf8(files[0].1.clone()).unwrap();
    let at = text.find("<pskc:ValueMAC>").unwrap() + "<pskc:ValueMAC>".len();
    let mut tampered = text.clone();
    let flipped = if &text[at..at + 1] == "A" { "B" } else { "A" };
    tampered.replace_range(at..at + 1, flipped);
    let path = write_temp(dir.path(), "tampered.xml", tampered.as_bytes());
    let out = tools::command(Tool::Python)
        .arg(&script)
        .arg(&path)
        .args(["psk", PSK_HEX])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("MAC"));
}

#[test]
fn pskctool_validates_every_pskc_variant() {
    crate::require_tools!(Tool::Pskctool);
    let dir = tempfile::tempdir().unwrap();
    for id in [
        FormatId::PskcPlain,
        FormatId::PskcPsk,
        FormatId::PskcPassphrase,
    ] {
        let files = render(id.format(), &shipment(), &options());
        let path = write_temp(dir.path(), &files[0].0, &files[0].1);
        // pskctool exits 0 on failure too: read what it says. For the encrypted variants libpskc
        // also warns that it cannot parse EncryptedValue (it has no decryption); the schema
        // validation is what we check.
        let out = tools::command(Tool::Pskctool)
            .arg("--validate")
            .arg(&path)
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            said.contains("OK") && !said.contains("FAIL"),
            "{id}: pskctool said {said}"
        );
    }
}

/// (serial, secret as the file delivers it, how it is encoded) for each token in a file.
enum Delivered {
    Base32(String),
    Hex(String),
    Base64(String),
}

fn delivered(id: FormatId, text: &str) -> Vec<(String, Delivered)> {
    let csv =
        |skip: usize, serial: usize, secret: usize, hexenc: bool| -> Vec<(String, Delivered)> {
            text.split("\r\n")
                .filter(|l| !l.is_empty())
                .skip(skip)
                .map(|l| {
                    let c: Vec<&str> = l.split(',').collect();
                    let s = c[secret].to_string();
                    (
                        c[serial].to_string(),
                        if hexenc {
                            Delivered::Hex(s)
                        } else {
                            Delivered::Base32(s)
                        },
                    )
                })
                .collect()
        };
    let between = |hay: &str, a: &str, b: &str| -> Vec<String> {
        hay.split(a)
            .skip(1)
            .map(|s| s.split(b).next().unwrap().to_string())
            .collect()
    };
    match id {
        FormatId::EntraCsv | FormatId::SafeidCsv | FormatId::OktaCsv => csv(1, 1, 2, false),
        FormatId::SalesforceCsv => csv(1, 0, 1, false),
        FormatId::DuoCsv => csv(0, 0, 1, true),
        FormatId::Dualshield => between(text, "<serial>", "</serial>")
            .into_iter()
            .zip(between(text, "<seed>", "</seed>"))
            .map(|(s, k)| (s, Delivered::Hex(k)))
            .collect(),
        FormatId::EntraJson => {
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            v["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    (
                        i["serialNumber"].as_str().unwrap().to_string(),
                        Delivered::Base32(i["secretKey"].as_str().unwrap().to_string()),
                    )
                })
                .collect()
        }
        FormatId::PskcPlain => between(text, "<pskc:KeyPackage>", "</pskc:KeyPackage>")
            .iter()
            .map(|kp| {
                let serial = between(kp, "<pskc:SerialNo>", "<").remove(0);
                let secret = between(kp, "<pskc:Secret>", "</pskc:Secret>").remove(0);
                (
                    serial,
                    Delivered::Base64(between(&secret, "<pskc:PlainValue>", "<").remove(0)),
                )
            })
            .collect(),
        other => panic!("no reader for {other}"),
    }
}

fn oathtool(t: &Token, key: &str, base32: bool) -> String {
    let mut cmd = tools::command(Tool::Oathtool);
    cmd.arg("-d").arg(t.digits.to_string());
    match t.kind {
        OtpKind::Totp => {
            let mode = match t.hash {
                HashAlg::Sha1 => "--totp=sha1",
                HashAlg::Sha256 => "--totp=sha256",
                HashAlg::Sha512 => "--totp=sha512",
            };
            cmd.args([mode, "--now", NOW, "-s"])
                .arg(format!("{}s", t.time_step));
        }
        OtpKind::Hotp => {
            cmd.args(["--hotp", "-c", HOTP_COUNTER]);
        }
    }
    if base32 {
        cmd.arg("-b");
    }
    let out = cmd.arg(key).output().unwrap();
    assert!(
        out.status.success(),
        "oathtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn oathtool_codes_from_delivered_secrets_match_the_factory_secrets() {
    crate::require_tools!(Tool::Oathtool);
    // RFC 4226 Appendix D: the tool agrees with the standard before we trust it.
    let rfc = &shipment()[0];
    let mut hotp = rfc.clone();
    hotp.kind = OtpKind::Hotp;
    assert_eq!(
        oathtool(&hotp, &hex::encode(hotp.secret.expose()), false),
        "254676"
    );

    let tokens = shipment();
    let by_serial: BTreeMap<&str, &Token> = tokens.iter().map(|t| (t.serial.as_str(), t)).collect();
    for id in [
        FormatId::EntraCsv,
        FormatId::EntraJson,
        FormatId::Dualshield,
        FormatId::DuoCsv,
        FormatId::OktaCsv,
        FormatId::PskcPlain,
        FormatId::SafeidCsv,
        FormatId::SalesforceCsv,
    ] {
        let mut seen = 0;
        for (_, bytes) in render(id.format(), &tokens, &options()) {
            let text = String::from_utf8(bytes).unwrap();
            for (serial, secret) in delivered(id, &text) {
                let t = by_serial[serial.as_str()];
                let original = hex::encode(t.secret.expose());
                let (code, raw) = match &secret {
                    Delivered::Base32(s) => {
                        assert!(!s.contains('='), "{id}: padded Base32");
                        (
                            oathtool(t, s, true),
                            data_encoding::BASE32_NOPAD.decode(s.as_bytes()).unwrap(),
                        )
                    }
                    Delivered::Hex(s) => (oathtool(t, s, false), hex::decode(s).unwrap()),
                    Delivered::Base64(s) => {
                        use base64::Engine;
                        let raw = base64::engine::general_purpose::STANDARD.decode(s).unwrap();
                        (oathtool(t, &hex::encode(&raw), false), raw)
                    }
                };
                assert_eq!(raw, t.secret.expose(), "{id} {serial}: seed altered");
                assert_eq!(code, oathtool(t, &original, false), "{id} {serial}");
                seen += 1;
            }
        }
        assert!(seen > 0, "{id}: no tokens read back");
    }
}

// ---------------------------------------------------------------- errors a customer reads

fn check_err(id: FormatId, tokens: &[Token]) -> String {
    let mut shapes = tokens.iter().map(TokenShape::from);
    id.format().check(&mut shapes).unwrap_err().to_string()
}

#[test]
fn entra_refuses_hotp_sha256_and_8_digits_naming_serials() {
    let s = shipment();
    let e = check_err(FormatId::EntraCsv, &s[2..3]);
    assert_eq!(
        e,
        "The Microsoft Entra ID (CSV) format cannot carry 1 of the selected tokens: only time-based \
(TOTP) tokens can be imported, not event-based (HOTP) ones (serial 10001003)."
    );
    let e = check_err(FormatId::EntraCsv, &s[3..4]);
    assert!(
        e.contains("only SHA-1 tokens") && e.contains("10001004"),
        "{e}"
    );
    let e = check_err(FormatId::EntraJson, &s[6..7]);
    assert!(
        e.contains("Microsoft Entra ID (Graph JSON)")
            && e.contains("only 6-digit tokens")
            && e.contains("10001007"),
        "{e}"
    );
    // SHA-256 is fine in JSON, SHA-512 is not.
    assert!(FormatId::EntraJson
        .format()
        .check(&mut s[3..4].iter().map(TokenShape::from))
        .is_ok());
    assert!(check_err(FormatId::EntraJson, &s[5..6]).contains("not SHA-512"));
}

#[test]
fn many_offenders_are_summarised_with_and_n_more() {
    let hotp = &shipment()[2];
    let tokens: Vec<Token> = (0..12)
        .map(|i| Token {
            serial: Serial::parse(&format!("5{i:03}")).unwrap(),
            ..hotp.clone()
        })
        .collect();
    let e = check_err(FormatId::EntraCsv, &tokens);
    assert!(e.contains("cannot carry 12 of the selected tokens"), "{e}");
    assert!(
        e.contains("(serials 5000, 5001, 5002, 5003, 5004 and 7 more)"),
        "{e}"
    );
}

#[test]
fn salesforce_refuses_a_32_byte_seed() {
    let mut t = shipment()[1].clone();
    t.secret = SecretBytes::new(vec![7u8; 32]);
    let e = check_err(FormatId::SalesforceCsv, &[t.clone()]);
    assert!(
        e.contains("Salesforce accepts only 20-byte (160-bit) seeds (serial 0001002)"),
        "{e}"
    );
    // Also at write time, for a caller that skipped the check; the seed never shows.
    let mut rng = StdRng::seed_from_u64(3);
    let mut w = FormatId::SalesforceCsv
        .format()
        .open(&options(), &mut rng)
        .unwrap();
    let mut out = Vec::new();
    w.begin(&mut out).unwrap();
    let e = w.write_token(&mut out, &t, &context()).unwrap_err();
    assert!(
        e.to_string().contains("20-byte") && !format!("{e:?}").contains("0707"),
        "{e:?}"
    );
    assert_eq!(out, b"Serial Number,SharedKey,Type\r\n");
}

#[test]
fn a_token_of_another_group_cannot_join_a_file() {
    let s = shipment();
    let mut rng = StdRng::seed_from_u64(4);
    let mut w = FormatId::DuoCsv
        .format()
        .open(&options(), &mut rng)
        .unwrap();
    let mut out = Vec::new();
    w.begin(&mut out).unwrap();
    w.write_token(&mut out, &s[0], &context()).unwrap();
    let e = w
        .write_token(&mut out, &s[2], &context())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("10001003") && e.contains("duo_HOTP6") && e.contains("duo_TOTP6_60s"),
        "{e}"
    );
}

fn spec_err(spec: &CustomCsvSpec) -> String {
    spec.validate().unwrap_err().to_string()
}

fn fixed(label: &str, v: &str) -> CustomColumn {
    CustomColumn {
        label: label.into(),
        value: ColumnValue::Fixed(v.into()),
    }
}

#[test]
fn custom_specs_with_bad_columns_are_refused_naming_the_column() {
    let mut spec = custom_spec();
    spec.columns[2].label = "=HYPERLINK(\"x\")".into();
    assert_eq!(
        spec_err(&spec),
        "Custom CSV layout: column 3 (\"=HYPERLINK(\\\"x\\\")\"): the header label may not start \
with =, +, - or @ (a spreadsheet would run it as a formula)"
    );
    for start in ["+1", "-1", "@SUM(A1)"] {
        let mut spec = custom_spec();
        spec.columns.push(fixed("Note", start));
        assert!(
            spec_err(&spec).contains("column 15 (\"Note\"): the fixed value may not start with")
        );
    }
    let mut spec = custom_spec();
    spec.columns.push(fixed("Site2", "Berlin; Mitte"));
    assert_eq!(
        spec_err(&spec),
        "Custom CSV layout: column 15 (\"Site2\"): the fixed value may not contain the delimiter ';'"
    );
    let mut spec = custom_spec();
    spec.columns.push(fixed("Line", "a\r\nb"));
    assert!(spec_err(&spec)
        .contains("column 15 (\"Line\"): the fixed value may not contain a line break"));
    let mut spec = custom_spec();
    spec.columns.push(fixed(&"L".repeat(65), ""));
    assert!(
        spec_err(&spec).contains("the header label is 65 characters long; at most 64 are allowed")
    );

    spec.columns.clear();
    assert_eq!(
        spec_err(&spec),
        "Custom CSV layout: add at least one column"
    );
    spec.columns = (0..500).map(|i| fixed(&format!("C{i}"), "")).collect();
    assert_eq!(
        spec_err(&spec),
        "Custom CSV layout: a layout may have at most 64 columns, this one has 500"
    );
    // The same refusal when the writer is opened with it.
    let opts = FormatOptions {
        custom_csv: Some(spec),
        ..FormatOptions::default()
    };
    let mut rng = StdRng::seed_from_u64(5);
    let e = FormatId::CustomCsv
        .format()
        .open(&opts, &mut rng)
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        e,
        "Custom CSV: a layout may have at most 64 columns, this one has 500"
    );
}

#[test]
fn custom_spec_round_trips_through_json() {
    let spec = custom_spec();
    let json = spec.to_json();
    assert!(
        json.contains(r#"{"label":"Serial","value":{"property":"serial"}}"#),
        "{json}"
    );
    assert!(
        json.contains(r#""delimiter":"semicolon""#) && json.contains(r#""secret_encoding":"hex""#)
    );
    assert_eq!(CustomCsvSpec::from_json(&json).unwrap(), spec);
    let minimal = CustomCsvSpec::from_json(
        r#"{"columns":[{"label":"S","value":{"property":"otpauth_uri"}}]}"#,
    )
    .unwrap();
    assert!(minimal.header);
    assert_eq!(minimal.delimiter, Delimiter::Comma);
    assert_eq!(minimal.secret_encoding, SecretEncoding::Base32);
    let e = CustomCsvSpec::from_json(r#"{"columns":[{"label":"S","value":{"fixed":"=1"}}]}"#)
        .unwrap_err();
    assert!(e.to_string().contains("may not start with"), "{e}");
}

#[test]
fn pskc_options_are_required_and_never_echoed() {
    let mut rng = StdRng::seed_from_u64(6);
    let none = FormatOptions::default();
    let e = FormatId::PskcPsk
        .format()
        .open(&none, &mut rng)
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        e,
        "PSKC (RFC 6030), pre-shared key: the 16-byte pre-shared AES key is missing"
    );
    let short = FormatOptions {
        pskc_key: Some(SecretBytes::new(vec![0x41; 10])),
        ..FormatOptions::default()
    };
    let e = FormatId::PskcPsk
        .format()
        .open(&short, &mut rng)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("must be 16 bytes") && !e.contains("AAAA"), "{e}");
    let e = FormatId::PskcPassphrase
        .format()
        .open(&none, &mut rng)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("passphrase is missing"), "{e}");
    assert!(!format!("{:?}", options()).contains(PASSPHRASE));
}

#[test]
fn registry_lists_every_format_with_its_texts() {
    let ids: Vec<&str> = formats::all().iter().map(|f| f.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "entra-csv",
            "entra-json",
            "dualshield",
            "duo-csv",
            "okta-csv",
            "pskc-plain",
            "pskc-psk",
            "pskc-passphrase",
            "safeid-csv",
            "salesforce-csv",
            "custom-csv"
        ]
    );
    for f in formats::all() {
        assert!(!f.name.is_empty() && !f.help.is_empty() && !f.carries.is_empty());
        assert!(f.how_to_import.len() > 80, "{}", f.id);
        assert_eq!(formats::find(f.id.as_str()).unwrap().id, f.id);
    }
}
