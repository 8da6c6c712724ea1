//! Custom CSV: the customer's own column layout (formats.md §9).

mod spec;

pub use spec::{
    ColumnValue, CustomColumn, CustomCsvSpec, Delimiter, SecretEncoding, TokenProperty,
    MAX_COLUMNS, MAX_TEXT_LEN,
};

use super::encode::{base32, base64, hex_upper};
use super::registry::{one_group, FormatId, SeedFormat};
use super::rules::{self, Rule};
use super::{FormatError, FormatOptions, SeedWriter, TokenShape};
use crate::domain::{OtpKind, Token, TokenContext};
use rand::RngCore;
use std::fmt::Write as _;
use std::io::Write;
use zeroize::Zeroizing;

pub(crate) const FORMAT: SeedFormat = SeedFormat {
    id: FormatId::CustomCsv,
    name: "Custom CSV",
    help: "A CSV with the columns, order, delimiter and secret encoding you choose.",
    how_to_import: "The file follows the column layout you chose when you requested it \
(its header row, if enabled, names each column). Open it in a text editor or import it with your \
tool's CSV import, telling it the delimiter and the secret encoding you picked; avoid saving it \
from Excel, which drops leading zeros from serial numbers.",
    carries: "all tokens: TOTP and HOTP, any hash, 6 or 8 digits",
    extension: "csv",
    max_tokens_per_file: None,
    rules: check,
    group: one_group,
    options: spec_ok,
    open,
};

fn check(s: &TokenShape) -> Rule {
    rules::all(s, &[rules::has_secret])
}

fn spec_ok(o: &FormatOptions) -> Result<(), String> {
    match &o.custom_csv {
        None => Err("choose the columns of the custom CSV first".into()),
        Some(spec) => spec.problem().map_or(Ok(()), Err),
    }
}

fn open<'a>(
    o: &FormatOptions,
    _: &'a mut dyn RngCore,
) -> Result<Box<dyn SeedWriter + 'a>, FormatError> {
    match &o.custom_csv {
        Some(spec) => Ok(Box::new(Writer {
            spec: spec.clone(),
            line: Zeroizing::new(String::with_capacity(256)),
        })),
        None => Err(FormatError::Options {
            format: FORMAT.name,
            message: "choose the columns of the custom CSV first".into(),
        }),
    }
}

struct Writer {
    spec: CustomCsvSpec,
    /// Reused per row and wiped on drop: it holds encoded seeds.
    line: Zeroizing<String>,
}

impl SeedWriter for Writer {
    fn begin(&mut self, out: &mut dyn Write) -> Result<(), FormatError> {
        if self.spec.header {
            let d = self.spec.delimiter.as_char().to_string();
            let labels: Vec<&str> = self.spec.columns.iter().map(|c| c.label.as_str()).collect();
            out.write_all(labels.join(&d).as_bytes())?;
            out.write_all(b"\r\n")?;
        }
        Ok(())
    }

    fn write_token(
        &mut self,
        out: &mut dyn Write,
        t: &Token,
        ctx: &TokenContext,
    ) -> Result<(), FormatError> {
        let d = self.spec.delimiter;
        self.line.clear();
        for (i, c) in self.spec.columns.iter().enumerate() {
            if i > 0 {
                self.line.push(d.as_char());
            }
            match &c.value {
                // Validated when the layout was accepted.
                ColumnValue::Fixed(v) => self.line.push_str(v),
                ColumnValue::Property(p) => {
                    push_property(&mut self.line, *p, t, ctx, self.spec.secret_encoding, d)
                }
            }
        }
        self.line.push_str("\r\n");
        out.write_all(self.line.as_bytes())?;
        Ok(())
    }

    fn finish(&mut self, _out: &mut dyn Write) -> Result<(), FormatError> {
        Ok(())
    }
}

fn push_property(
    line: &mut String,
    p: TokenProperty,
    t: &Token,
    ctx: &TokenContext,
    enc: SecretEncoding,
    d: Delimiter,
) {
    let hotp = t.kind == OtpKind::Hotp;
    // Writing to a String cannot fail.
    let _ = match p {
        TokenProperty::Serial => write!(line, "{}", t.serial),
        TokenProperty::Secret => {
            // Never escaped: the seed is not attacker text, and a prefix would corrupt it.
            let s = match enc {
                SecretEncoding::Hex => hex_upper(t.secret.expose()),
                SecretEncoding::Base32 => base32(t.secret.expose()),
                SecretEncoding::Base64 => base64(t.secret.expose()),
            };
            line.push_str(&s);
            Ok(())
        }
        TokenProperty::Kind => write!(line, "{}", t.kind),
        TokenProperty::Hash => write!(line, "{}", t.hash),
        TokenProperty::Digits => write!(line, "{}", t.digits),
        TokenProperty::TimeStep if hotp => Ok(()),
        TokenProperty::TimeStep => write!(line, "{}", t.time_step),
        TokenProperty::Counter if hotp => write!(line, "{}", t.counter),
        TokenProperty::Counter => Ok(()),
        TokenProperty::Manufacturer => push_free_text(line, &t.manufacturer, d),
        TokenProperty::Model => push_free_text(line, &t.model, d),
        TokenProperty::PoNumber => push_free_text(line, &ctx.po_number, d),
        TokenProperty::InvoiceNumber => push_free_text(line, &ctx.invoice_number, d),
        TokenProperty::ShipmentNumber => push_free_text(line, &ctx.shipment_number, d),
        TokenProperty::OtpauthUri => {
            push_otpauth(line, t);
            Ok(())
        }
    };
}

/// Free text from the order system is escaped, not refused: a leading `'` defuses formula
/// starts, and quoting keeps a delimiter, quote or line break inside its cell.
fn push_free_text(line: &mut String, s: &str, d: Delimiter) -> std::fmt::Result {
    let defused = if s.trim_start().starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if defused.contains([d.as_char(), '"', '\r', '\n']) {
        write!(line, "\"{}\"", defused.replace('"', "\"\""))
    } else {
        line.push_str(&defused);
        Ok(())
    }
}

/// Key URI Format (Google Authenticator): `otpauth://totp/Issuer:serial?secret=...`.
fn push_otpauth(line: &mut String, t: &Token) {
    let issuer = percent(&t.manufacturer);
    let _ = write!(line, "otpauth://{}/", t.kind.as_str().to_ascii_lowercase());
    if !issuer.is_empty() {
        let _ = write!(line, "{issuer}:");
    }
    let _ = write!(line, "{}?secret=", t.serial);
    line.push_str(&base32(t.secret.expose()));
    if !issuer.is_empty() {
        let _ = write!(line, "&issuer={issuer}");
    }
    let _ = write!(line, "&algorithm={}&digits={}", t.hash, t.digits);
    let _ = match t.kind {
        OtpKind::Totp => write!(line, "&period={}", t.time_step),
        OtpKind::Hotp => write!(line, "&counter={}", t.counter),
    };
}

/// RFC 3986 percent-encoding of everything but unreserved characters; this also keeps any
/// delimiter out of the URI.
fn percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}
