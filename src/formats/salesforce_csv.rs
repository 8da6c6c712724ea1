//! Sales Force CSV for `TwoFactorInfo` records loaded with Data Loader (formats.md §8).

use super::csv_rows::CsvRows;
use super::encode::base32;
use super::registry::{no_options, one_group, FormatId, SeedFormat};
use super::rules::{self, Rule};
use super::{FormatError, FormatOptions, SeedWriter, TokenShape};
use crate::domain::{OtpKind, Token};
use rand::RngCore;

const HEADER: &str = "Serial Number,SharedKey,Type";

pub(crate) const FORMAT: SeedFormat = SeedFormat {
    id: FormatId::SalesforceCsv,
    name: "Salesforce (CSV)",
    help: "CSV of TwoFactorInfo records for Salesforce Data Loader: TOTP, 30 s, 6 digits, SHA-1, 20-byte seeds.",
    how_to_import: "The file is named .csv.txt so that Excel does not open it and damage the \
serial numbers. Add a User Name column in a text editor, rename it to .csv and load it into the \
TwoFactorInfo object with Salesforce Data Loader.",
    carries: "time-based (TOTP) tokens with SHA-1, 6 digits, a 30 second step and a 20-byte seed",
    extension: "csv.txt",
    max_tokens_per_file: None,
    rules: check,
    group: one_group,
    options: no_options,
    open,
};

fn step_30(s: &TokenShape) -> Rule {
    if s.kind == OtpKind::Totp && s.time_step != 30 {
        Err("Salesforce verifies codes with a 30 second time step only")
    } else {
        Ok(())
    }
}

fn seed_20_bytes(s: &TokenShape) -> Rule {
    if s.secret_len == 20 {
        Ok(())
    } else {
        Err("Salesforce accepts only 20-byte (160-bit) seeds")
    }
}

fn check(s: &TokenShape) -> Rule {
    rules::all(
        s,
        &[
            rules::totp_only,
            rules::sha1_only,
            rules::six_digits,
            step_30,
            seed_20_bytes,
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
    line.push_str(t.serial.as_str());
    line.push(',');
    line.push_str(&base32(t.secret.expose()));
    line.push_str(",TOTP");
}
