//! Duo Admin Panel hardware token import: headerless hex rows, one file per token type (§4).

use super::csv_rows::CsvRows;
use super::encode::hex_upper;
use super::registry::{no_options, FormatId, SeedFormat};
use super::rules::{self, Rule};
use super::{FormatError, FormatOptions, SeedWriter, TokenShape};
use crate::domain::{OtpKind, Token};
use rand::RngCore;
use std::fmt::Write as _;

pub(crate) const FORMAT: SeedFormat = SeedFormat {
    id: FormatId::DuoCsv,
    name: "Duo (CSV)",
    help: "Rows for Duo's hardware token import box; one file per token type (TOTP/HOTP, digits, step).",
    how_to_import: "In the Duo Admin Panel open 2FA Devices > Hardware Tokens > Import. Pick the \
token type that the file name states (for example TOTP6 with a 60 second step, or HOTP6), then paste \
the file's lines into the box. Import each file separately. Duo does not resynchronise drifting \
TOTP tokens.",
    carries: "SHA-1 tokens, TOTP (30 or 60 second step) or HOTP, 6 or 8 digits",
    extension: "csv",
    max_tokens_per_file: None,
    rules: check,
    group,
    options: no_options,
    open,
};

fn check(s: &TokenShape) -> Rule {
    rules::all(
        s,
        &[
            rules::has_secret,
            rules::sha1_only,
            rules::six_or_eight_digits,
            rules::step_30_or_60,
        ],
    )
}

/// Duo takes the token type from a drop-down, not the file, so each type needs its own file.
fn group(s: &TokenShape) -> Option<String> {
    Some(match s.kind {
        OtpKind::Totp => format!("duo_TOTP{}_{}s", s.digits, s.time_step),
        OtpKind::Hotp => format!("duo_HOTP{}", s.digits),
    })
}

fn open<'a>(
    _: &FormatOptions,
    _: &'a mut dyn RngCore,
) -> Result<Box<dyn SeedWriter + 'a>, FormatError> {
    Ok(Box::new(CsvRows::new(None, row)))
}

fn row(t: &Token, line: &mut String) {
    line.push_str(t.serial.as_str());
    line.push(',');
    line.push_str(&hex_upper(t.secret.expose()));
    // Duo assumes 30 s when the step is missing, so it is always written.
    let _ = match t.kind {
        OtpKind::Totp => write!(line, ",{}", t.time_step),
        OtpKind::Hotp => write!(line, ",{}", t.counter),
    };
}
