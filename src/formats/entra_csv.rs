//! Microsoft Entra ID "OATH tokens" CSV upload (formats.md §1).

use super::csv_rows::CsvRows;
use super::encode::base32;
use super::registry::{no_options, one_group, FormatId, SeedFormat};
use super::rules::{self, Rule};
use super::{FormatError, FormatOptions, SeedWriter, TokenShape};
use crate::domain::Token;
use rand::RngCore;
use std::fmt::Write as _;

pub(crate) const HEADER: &str = "upn,serial number,secret key,time interval,manufacturer,model";

pub(crate) const FORMAT: SeedFormat = SeedFormat {
    id: FormatId::EntraCsv,
    name: "Microsoft Entra ID (CSV)",
    help: "CSV for the Entra admin center's OATH token upload: TOTP, SHA-1, 6 digits.",
    how_to_import: "In the Microsoft Entra admin center open Protection > Authentication methods > \
OATH tokens and upload the CSV. Fill in the upn column (one user per token, up to 5 tokens per user) \
first, in a text editor: do not open or save the file in Excel, which drops leading zeros and \
mangles long serial numbers.",
    carries: "time-based (TOTP) tokens with SHA-1, 6 digits and a 30 or 60 second step",
    extension: "csv",
    max_tokens_per_file: None,
    rules: check,
    group: one_group,
    options: no_options,
    open,
};

fn check(s: &TokenShape) -> Rule {
    rules::all(
        s,
        &[
            rules::has_secret,
            rules::totp_only,
            rules::sha1_only,
            rules::six_digits,
            rules::step_30_or_60,
            rules::base32_up_to_128,
            rules::plain_names,
        ],
    )
}

fn open<'a>(
    _: &FormatOptions,
    _: &'a mut dyn RngCore,
) -> Result<Box<dyn SeedWriter + 'a>, FormatError> {
    Ok(Box::new(CsvRows::new(Some(HEADER), row)))
}

/// The Entra layout with an empty `upn`; SafeID CSV reuses it for its first six columns.
pub(crate) fn row(t: &Token, line: &mut String) {
    line.push(',');
    line.push_str(t.serial.as_str());
    line.push(',');
    line.push_str(&base32(t.secret.expose()));
    // Writing to a String cannot fail.
    let _ = write!(line, ",{},{},{}", t.time_step, t.manufacturer, t.model);
}
