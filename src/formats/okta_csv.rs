//! Okta CSV restating the "Custom OTP" profile per row (formats.md §5, our choice).

use super::csv_rows::CsvRows;
use super::encode::base32;
use super::registry::{no_options, FormatId, SeedFormat};
use super::rules::{self, Rule};
use super::{FormatError, FormatOptions, SeedWriter, TokenShape};
use crate::domain::{HashAlg, Token};
use rand::RngCore;
use std::fmt::Write as _;

const HEADER: &str = "login,serialNumber,sharedSecret,encoding,hmacAlgorithm,timeStep,otpLength";

pub(crate) const FORMAT: SeedFormat = SeedFormat {
    id: FormatId::OktaCsv,
    name: "Okta (CSV)",
    help: "CSV for enrolling tokens through Okta's Factors API; one file per Custom OTP profile.",
    how_to_import: "Okta has no file import: in the Okta admin console create a Custom OTP \
authenticator whose settings match the file name and the encoding, hmacAlgorithm, timeStep and \
otpLength columns, then fill in each login and enroll the tokens through the Factors API or your \
provisioning script. Use one profile per file.",
    carries: "time-based (TOTP) tokens, SHA-1/SHA-256/SHA-512, 6 or 8 digits, 30 or 60 second step",
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
            rules::totp_only,
            rules::six_or_eight_digits,
            rules::step_30_or_60,
        ],
    )
}

fn okta_hash(h: HashAlg) -> &'static str {
    match h {
        HashAlg::Sha1 => "HMacSHA1",
        HashAlg::Sha256 => "HMacSHA256",
        HashAlg::Sha512 => "HMacSHA512",
    }
}

/// One Okta profile covers one (hash, step, digits): each needs its own file.
fn group(s: &TokenShape) -> Option<String> {
    Some(format!(
        "okta_{}_TOTP{}_{}s",
        s.hash.as_str(),
        s.digits,
        s.time_step
    ))
}

fn open<'a>(
    _: &FormatOptions,
    _: &'a mut dyn RngCore,
) -> Result<Box<dyn SeedWriter + 'a>, FormatError> {
    Ok(Box::new(CsvRows::new(Some(HEADER), row)))
}

fn row(t: &Token, line: &mut String) {
    line.push(',');
    line.push_str(t.serial.as_str());
    line.push(',');
    line.push_str(&base32(t.secret.expose()));
    let _ = write!(
        line,
        ",base32,{},{},{}",
        okta_hash(t.hash),
        t.time_step,
        t.digits
    );
}
