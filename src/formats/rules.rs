//! Token rules several formats share, each worded as the customer should read it.

use super::TokenShape;
use crate::domain::{HashAlg, OtpKind};

/// A rule check: `Err` holds the customer-readable rule the token breaks.
pub(crate) type Rule = Result<(), &'static str>;

pub(crate) fn totp_only(s: &TokenShape) -> Rule {
    match s.kind {
        OtpKind::Totp => Ok(()),
        OtpKind::Hotp => {
            Err("only time-based (TOTP) tokens can be imported, not event-based (HOTP) ones")
        }
    }
}

pub(crate) fn sha1_only(s: &TokenShape) -> Rule {
    match s.hash {
        HashAlg::Sha1 => Ok(()),
        _ => Err("only SHA-1 tokens can be imported (these use SHA-256 or SHA-512)"),
    }
}

pub(crate) fn six_digits(s: &TokenShape) -> Rule {
    if s.digits == 6 {
        Ok(())
    } else {
        Err("only 6-digit tokens can be imported")
    }
}

pub(crate) fn six_or_eight_digits(s: &TokenShape) -> Rule {
    if matches!(s.digits, 6 | 8) {
        Ok(())
    } else {
        Err("tokens must show 6 or 8 digits")
    }
}

pub(crate) fn step_30_or_60(s: &TokenShape) -> Rule {
    if s.kind == OtpKind::Hotp || matches!(s.time_step, 30 | 60) {
        Ok(())
    } else {
        Err("the time step must be 30 or 60 seconds")
    }
}

pub(crate) fn has_secret(s: &TokenShape) -> Rule {
    if s.secret_len == 0 {
        Err("the token has no seed")
    } else {
        Ok(())
    }
}

/// Base32 of the seed at most 128 characters (Entra's limit): an 80-byte seed.
pub(crate) fn base32_up_to_128(s: &TokenShape) -> Rule {
    if (s.secret_len * 8).div_ceil(5) <= 128 {
        Ok(())
    } else {
        Err("the seed is longer than 80 bytes (128 Base32 characters)")
    }
}

pub(crate) fn plain_names(s: &TokenShape) -> Rule {
    if super::encode::is_plain_name(&s.manufacturer) && super::encode::is_plain_name(&s.model) {
        Ok(())
    } else {
        Err("the manufacturer and model names must be 1 to 64 letters, digits, spaces or . / _ - ( ) and may not start with = + - @")
    }
}

/// Runs rules in order and reports the first one broken.
pub(crate) fn all(s: &TokenShape, rules: &[fn(&TokenShape) -> Rule]) -> Rule {
    rules.iter().try_for_each(|r| r(s))
}
