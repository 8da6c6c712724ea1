//! The OATH token model every importer produces and every format writer consumes.

use crate::vault::SecretBytes;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Event-based (HOTP, RFC 4226) or time-based (TOTP, RFC 6238).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum OtpKind {
    Totp,
    Hotp,
}

/// The HMAC hash of the OTP algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HashAlg {
    Sha1,
    Sha256,
    Sha512,
}

impl OtpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OtpKind::Totp => "TOTP",
            OtpKind::Hotp => "HOTP",
        }
    }
}

impl HashAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            HashAlg::Sha1 => "SHA1",
            HashAlg::Sha256 => "SHA256",
            HashAlg::Sha512 => "SHA512",
        }
    }
}

impl fmt::Display for OtpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for HashAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OtpKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_uppercase().as_str() {
            "TOTP" => Ok(OtpKind::Totp),
            "HOTP" => Ok(OtpKind::Hotp),
            other => Err(format!("unknown token kind {other:?} (use TOTP or HOTP)")),
        }
    }
}

impl FromStr for HashAlg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s
            .trim()
            .to_ascii_uppercase()
            .replace(['-', '_'], "")
            .as_str()
        {
            "SHA1" | "HMACSHA1" => Ok(HashAlg::Sha1),
            "SHA256" | "HMACSHA256" => Ok(HashAlg::Sha256),
            "SHA512" | "HMACSHA512" => Ok(HashAlg::Sha512),
            other => Err(format!(
                "unknown hash {other:?} (use SHA1, SHA256 or SHA512)"
            )),
        }
    }
}

/// A token serial: 1 to 64 characters of `[A-Za-z0-9-]`, not starting with `-`, leading zeros kept.
#[derive(Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Serial(String);

impl Clone for Serial {
    fn clone(&self) -> Serial {
        Serial(self.0.clone())
    }

    /// Reuses this serial's buffer (shapes refilled token after token allocate nothing).
    fn clone_from(&mut self, source: &Serial) {
        self.0.clone_from(&source.0);
    }
}

impl Serial {
    pub fn parse(raw: &str) -> Result<Serial, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("the serial number is empty".into());
        }
        if s.len() > 64 {
            return Err("the serial number is longer than 64 characters".into());
        }
        if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err("a serial number may hold only letters, digits and '-'".into());
        }
        if s.starts_with('-') {
            return Err("a serial number may not start with '-'".into());
        }
        Ok(Serial(s.to_string()))
    }

    /// A serial as a person types it from a label: spaces anywhere are dropped first
    /// (`1000 1010` is `10001010`); the rest is [`Serial::parse`].
    pub fn parse_typed(raw: &str) -> Result<Serial, String> {
        let joined: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        Serial::parse(&joined)
    }

    /// The form serials are compared in when a typed one does not match exactly: no dashes,
    /// upper case (`1000-1010` and `10001010` are the same token).
    pub fn compact(&self) -> String {
        self.0.replace('-', "").to_ascii_uppercase()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Serial {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Serial::parse(&s)
    }
}

impl From<Serial> for String {
    fn from(s: Serial) -> String {
        s.0
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One OATH token with its decrypted seed. `Debug` never shows the seed.
#[derive(Debug, Clone)]
pub struct Token {
    pub serial: Serial,
    pub secret: SecretBytes,
    pub kind: OtpKind,
    pub hash: HashAlg,
    /// 6 or 8.
    pub digits: u8,
    /// Seconds, TOTP only (30 or 60); HOTP tokens carry 0 and writers ignore it.
    pub time_step: u32,
    /// HOTP moving factor, usually 0; TOTP tokens carry 0.
    pub counter: u64,
    pub manufacturer: String,
    pub model: String,
}

/// Where a token came from: the order context some formats (custom CSV) can print.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenContext {
    pub po_number: String,
    pub invoice_number: String,
    pub shipment_number: String,
}

/// Kind, step, digits and hash that a model implies, from the table in formats.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelDefaults {
    pub kind: OtpKind,
    pub time_step: u32,
    pub digits: u8,
    pub hash: HashAlg,
}

/// Defaults for a known Deepnet model; `None` for models we do not know.
pub fn model_defaults(model: &str) -> Option<ModelDefaults> {
    let totp = |time_step| ModelDefaults {
        kind: OtpKind::Totp,
        time_step,
        digits: 6,
        hash: HashAlg::Sha1,
    };
    match model.trim() {
        "SafeID/Classic" | "SafeID/Mini" => Some(totp(60)),
        "SafeID/Enterprise" | "SafeID/Diamond" | "SafeID/Pro" => Some(totp(30)),
        "SafeID/Eco" => Some(ModelDefaults {
            kind: OtpKind::Hotp,
            time_step: 0,
            digits: 6,
            hash: HashAlg::Sha1,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_serials_drop_spaces_and_compare_without_dashes() {
        assert_eq!(
            Serial::parse_typed(" 1000 1010 ").unwrap().as_str(),
            "10001010"
        );
        assert_eq!(
            Serial::parse_typed("1000-1010").unwrap().compact(),
            "10001010"
        );
        assert_eq!(Serial::parse_typed("ab-12").unwrap().compact(), "AB12");
        assert!(Serial::parse_typed("1000_1010").is_err());
    }

    #[test]
    fn serial_keeps_leading_zeros_and_rejects_junk() {
        assert_eq!(Serial::parse(" 0001234 ").unwrap().as_str(), "0001234");
        assert!(Serial::parse("").is_err());
        assert!(Serial::parse("12,3").is_err());
        assert!(Serial::parse("-123").is_err());
        assert!(Serial::parse("=1+2").is_err());
    }

    #[test]
    fn models_have_defaults() {
        assert_eq!(model_defaults("SafeID/Eco").unwrap().kind, OtpKind::Hotp);
        assert_eq!(model_defaults("SafeID/Classic").unwrap().time_step, 60);
        assert_eq!(model_defaults("SafeID/Enterprise").unwrap().time_step, 30);
        assert!(model_defaults("Other").is_none());
    }
}
