//! One entry point per parser of outside input below the web layer, shared by the `fuzz/`
//! targets (nightly, libFuzzer) and the stable replay of their corpora
//! (`tests/it/hardening/fuzz_corpora.rs`). The upload forms' body reader is the web layer's own,
//! so its entry point lives beside it (`web::multipart::fuzz_body`).
//!
//! Each function feeds raw bytes to the parser the way the portal or the command line does,
//! then uses what was accepted (writes it back out, merges it, serializes it), so a bug that only
//! shows on a parsed value is found too. Every function returns `Ok` with a short summary or
//! `Err` with the message a user would see; a panic is a bug.

use crate::assign::table::Assignments;
use crate::assign::tokens::parse_token_file;
use crate::assign::users::parse_users;
use crate::domain::{HashAlg, OtpKind, Serial, Token, TokenContext};
use crate::formats::{CustomCsvSpec, FormatId, FormatOptions};
use crate::import::{factory, Manifest, TokenOverrides};
use crate::pipeline::pgp::PgpRecipient;
use crate::vault::SecretBytes;
use std::time::{Duration, SystemTime};

fn problems(found: Vec<factory::Problem>) -> String {
    found
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The factory CSV reader (and its sniffing), then every accepted token through every format
/// writer that takes it.
pub fn factory_csv(data: &[u8]) -> Result<String, String> {
    let tokens = factory::parse(data, &TokenOverrides::default()).map_err(problems)?;
    let written = write_every_format(&tokens)?;
    Ok(format!("{} tokens, {written} bytes written", tokens.len()))
}

/// The plain PSKC reader on the file's text, then every format writer.
pub fn pskc_plain(data: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8: {e}"))?;
    let tokens =
        crate::import::pskc_plain::parse(text, &TokenOverrides::default()).map_err(problems)?;
    let written = write_every_format(&tokens)?;
    Ok(format!("{} tokens, {written} bytes written", tokens.len()))
}

/// The import manifest.
pub fn manifest_toml(data: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8: {e}"))?;
    let manifest = Manifest::parse(text).map_err(|e| format!("{e:#}"))?;
    Ok(format!("{} shipments", manifest.shipments.len()))
}

/// The custom CSV layout as the wizard stores it, then a file written with it.
pub fn custom_csv_spec(data: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8: {e}"))?;
    let spec = CustomCsvSpec::from_json(text).map_err(|e| e.to_string())?;
    // What was accepted must read back as itself.
    let again = CustomCsvSpec::from_json(&spec.to_json()).map_err(|e| e.to_string())?;
    if again.to_json() != spec.to_json() {
        return Err("the layout does not read back as itself".into());
    }
    let options = FormatOptions {
        custom_csv: Some(spec),
        ..FormatOptions::default()
    };
    let written = write_format(FormatId::CustomCsv, &options, &sample_tokens())?;
    Ok(format!("{written} bytes written"))
}

/// The recipient parser at a fixed time (so a corpus replays the same way), then what the
/// portal does with an accepted key: fingerprint, user ids, armored export, and encryption.
pub fn pgp_key(data: &[u8]) -> Result<String, String> {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let key = PgpRecipient::parse_at(data, at).map_err(|e| e.to_string())?;
    let armored = key.armored_public().map_err(|e| e.to_string())?;
    let again = PgpRecipient::parse_at(armored.as_bytes(), at).map_err(|e| e.to_string())?;
    if again.fingerprint() != key.fingerprint() {
        return Err("the exported key has another fingerprint".into());
    }
    let mut out = Vec::new();
    let mut enc = crate::pipeline::pgp::PgpEncryptor::new(&mut out, &key, "seeds.csv", at)
        .map_err(|e| e.to_string())?;
    std::io::Write::write_all(&mut enc, b"seed file").map_err(|e| e.to_string())?;
    enc.finish().map_err(|e| e.to_string())?;
    Ok(format!(
        "{} ({} user ids), {} bytes encrypted",
        key.fingerprint(),
        key.user_ids().len(),
        out.len()
    ))
}

/// A fixed day for the assignment tool.
fn today() -> time::Date {
    time::macros::date!(2026 - 12 - 01)
}

/// Merges accepted rows into a table and writes both files of `seedport assign`.
fn assign_export(table: &Assignments) -> Result<String, String> {
    let entra = crate::assign::export::entra_csv(table).map_err(|e| e.to_string())?;
    let inventory = crate::assign::export::inventory_csv(table);
    // The inventory we write must read back with the same tokens.
    let (_, rows) = parse_token_file("inventory", &inventory).map_err(|e| e.to_string())?;
    if rows.len() != table.rows().len() {
        return Err("the written inventory does not read back".into());
    }
    Ok(format!(
        "{} rows, {} + {} bytes",
        table.rows().len(),
        entra.len(),
        inventory.len()
    ))
}

/// `seedport assign --tokens`: any of the three layouts, told apart by the header.
pub fn assign_tokens(data: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8: {e}"))?;
    let (_, rows) = parse_token_file("tokens.csv", text).map_err(|e| e.to_string())?;
    let mut table = Assignments::default();
    table.merge(rows).map_err(|e| e.to_string())?;
    assign_export(&table)
}

/// `seedport assign --users` against a table of free tokens, then the two files.
pub fn assign_users(data: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8: {e}"))?;
    let users = parse_users("users.txt", text).map_err(|e| e.to_string())?;
    let mut free = String::from(crate::assign::tokens::DEEPNET_HEADER);
    for i in 0..8 {
        free.push_str(&format!(
            "\n1000{i:04},JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP,30,Deepnet,SafeID/Enterprise"
        ));
    }
    let (_, rows) = parse_token_file("free.csv", &free).map_err(|e| e.to_string())?;
    let mut table = Assignments::new(rows).map_err(|e| e.to_string())?;
    table.apply(&users, today()).map_err(|e| e.to_string())?;
    assign_export(&table)
}

/// `seedport assign --inventory`: the input is the body of a CustomerTokens file (the header is
/// added, so the fuzzer spends its time on rows), merged with the users' new tokens.
pub fn assign_inventory(data: &[u8]) -> Result<String, String> {
    let body = std::str::from_utf8(data).map_err(|e| format!("not UTF-8: {e}"))?;
    let text = format!("{}\n{body}", crate::assign::inventory::HEADER);
    let (_, rows) = parse_token_file("CustomerTokens.csv", &text).map_err(|e| e.to_string())?;
    let mut table = Assignments::default();
    table.merge(rows).map_err(|e| e.to_string())?;
    for serial in table
        .rows()
        .iter()
        .take(1)
        .map(|r| r.token.serial.to_string())
        .collect::<Vec<_>>()
    {
        table
            .unassign(&serial, today())
            .map_err(|e| e.to_string())?;
    }
    assign_export(&table)
}

/// Two tokens of every kind a custom CSV can carry.
fn sample_tokens() -> Vec<Token> {
    let token = |serial: &str, kind: OtpKind, secret: &[u8]| -> Option<Token> {
        Some(Token {
            serial: Serial::parse(serial).ok()?,
            secret: SecretBytes::new(secret.to_vec()),
            kind,
            hash: HashAlg::Sha1,
            digits: 6,
            time_step: if kind == OtpKind::Totp { 30 } else { 0 },
            counter: 0,
            manufacturer: "Deepnet".into(),
            model: "SafeID/Enterprise".into(),
        })
    };
    [
        token("10000001", OtpKind::Totp, b"12345678901234567890"),
        token("10000002", OtpKind::Hotp, b"abcdefghijabcdefghij"),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Writes `tokens` as one file of `id`; returns its size.
pub fn write_format(
    id: FormatId,
    options: &FormatOptions,
    tokens: &[Token],
) -> Result<usize, String> {
    let format = crate::formats::get(id);
    let mut rng = rand::rngs::OsRng;
    let mut writer = format.open(options, &mut rng).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let ctx = TokenContext {
        po_number: "PO-1".into(),
        invoice_number: "INV-1".into(),
        shipment_number: "SHP-1".into(),
    };
    writer.begin(&mut out).map_err(|e| e.to_string())?;
    for t in tokens {
        writer
            .write_token(&mut out, t, &ctx)
            .map_err(|e| e.to_string())?;
    }
    writer.finish(&mut out).map_err(|e| e.to_string())?;
    Ok(out.len())
}

/// Writes the tokens in every format whose rules take all of them (one file per group, as the
/// pipeline does), with the options each needs; returns the bytes written.
fn write_every_format(tokens: &[Token]) -> Result<usize, String> {
    let mut options = FormatOptions {
        pskc_key: Some(SecretBytes::new(vec![7; 16])),
        pskc_passphrase: Some(crate::vault::SecretString::new("fuzzing passphrase".into())),
        // The count is the customer's; a small one keeps each input fast.
        pbkdf2_iterations: 1_000,
        ..FormatOptions::default()
    };
    options.custom_csv = CustomCsvSpec::from_json(DEFAULT_CUSTOM_LAYOUT).ok();
    let mut total = 0;
    for id in FormatId::ALL {
        let format = crate::formats::get(id);
        let shapes: Vec<_> = tokens
            .iter()
            .map(crate::formats::TokenShape::from)
            .collect();
        if format.check(&mut shapes.iter().cloned()).is_err() {
            continue;
        }
        let mut groups: Vec<(Option<String>, Vec<Token>)> = Vec::new();
        for (t, s) in tokens.iter().zip(&shapes) {
            let g = format.file_group(s);
            match groups.iter_mut().find(|(k, _)| *k == g) {
                Some((_, v)) => v.push(t.clone()),
                None => groups.push((g, vec![t.clone()])),
            }
        }
        for (_, group) in groups {
            let limit = format.max_tokens_per_file.unwrap_or(usize::MAX).max(1);
            for chunk in group.chunks(limit) {
                total += write_format(id, &options, chunk)?;
            }
        }
    }
    Ok(total)
}

/// A custom CSV layout with every kind of column.
const DEFAULT_CUSTOM_LAYOUT: &str = r#"{"columns":[
{"label":"Serial","value":{"property":"serial"}},{"label":"Seed","value":{"property":"secret"}},
{"label":"Kind","value":{"property":"kind"}},{"label":"Hash","value":{"property":"hash"}},
{"label":"Digits","value":{"property":"digits"}},{"label":"Step","value":{"property":"time_step"}},
{"label":"Counter","value":{"property":"counter"}},{"label":"Maker","value":{"property":"manufacturer"}},
{"label":"Model","value":{"property":"model"}},{"label":"PO","value":{"property":"po_number"}},
{"label":"Invoice","value":{"property":"invoice_number"}},{"label":"Shipment","value":{"property":"shipment_number"}},
{"label":"URI","value":{"property":"otpauth_uri"}},{"label":"Site","value":{"fixed":"HQ"}}],
"header":true,"secret_encoding":"hex","delimiter":"semicolon"}"#;
