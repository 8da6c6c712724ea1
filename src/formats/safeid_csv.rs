//! SafeID Token Service CSV: the Entra layout plus hash and digits (formats.md §7, our choice).

use super::csv_rows::CsvRows;
use super::registry::{no_options, one_group, FormatId, SeedFormat};
use super::rules::{self, Rule};
use super::{entra_csv, FormatError, FormatOptions, SeedWriter, TokenShape};
use crate::domain::Token;
use rand::RngCore;
use std::fmt::Write as _;

const HEADER: &str = "upn,serial number,secret key,time interval,manufacturer,model,hash,digits";

pub(crate) const FORMAT: SeedFormat = SeedFormat {
    id: FormatId::SafeidCsv,
    name: "SafeID Token Service (CSV)",
    help: "Entra-style CSV with hash and digits columns, for the SafeID Token Service.",
    how_to_import: "Upload the CSV in the SafeID Token Service. The first six columns follow the \
Microsoft Entra layout (fill in upn if you assign tokens by file); the hash and digits columns tell \
the service how each token computes its codes. Edit it in a text editor, not Excel.",
    carries: "time-based (TOTP) tokens, SHA-1/SHA-256/SHA-512, 6 or 8 digits, 30 or 60 second step",
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
            rules::six_or_eight_digits,
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

fn row(t: &Token, line: &mut String) {
    entra_csv::row(t, line);
    let _ = write!(line, ",{},{}", t.hash.as_str(), t.digits);
}
