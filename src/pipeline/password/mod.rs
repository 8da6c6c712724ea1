//! The customer's zip password: parsed once against the policy, then held as a secret.
//!
//! Policy (NIST SP 800-63B style): at least [`MIN_CHARS`] characters, not a commonly used
//! password, any characters allowed, no composition rules. [`suggest_passphrase`] offers a
//! generated alternative.

mod common;
mod passphrase;

pub use passphrase::{suggest_passphrase, PASSPHRASE_WORDS};

use crate::vault::SecretString;
use std::fmt;

/// Fewest characters (Unicode scalar values, not bytes) a zip password may have.
pub const MIN_CHARS: usize = 12;
/// Most characters accepted; longer input is refused rather than silently cut.
pub const MAX_CHARS: usize = 1024;

/// Why a candidate zip password was refused. The messages are meant for the customer and never
/// contain the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("Enter a password to protect the zip file")]
    Empty,
    #[error("Use at least {MIN_CHARS} characters \u{2014} this one has {0}")]
    TooShort(usize),
    #[error("Use at most {MAX_CHARS} characters \u{2014} this one has {0}")]
    TooLong(usize),
    #[error("This password is on a list of commonly used passwords; choose another")]
    Common,
}

/// A zip password that passed the policy. Zeroized on drop; `Debug` prints `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct ZipPassword(SecretString);

impl ZipPassword {
    /// Checks `candidate` against the policy.
    pub fn parse(candidate: SecretString) -> Result<ZipPassword, PasswordError> {
        let text = candidate.expose();
        let chars = text.chars().count();
        if chars == 0 {
            return Err(PasswordError::Empty);
        }
        if chars < MIN_CHARS {
            return Err(PasswordError::TooShort(chars));
        }
        if chars > MAX_CHARS {
            return Err(PasswordError::TooLong(chars));
        }
        if common::is_common(text) {
            return Err(PasswordError::Common);
        }
        Ok(ZipPassword(candidate))
    }

    /// The password itself (UTF-8), for the zip encryption key derivation only. Keep the borrow
    /// short; never log or store it.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl fmt::Debug for ZipPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ZipPassword([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<ZipPassword, PasswordError> {
        ZipPassword::parse(SecretString::new(s.to_owned()))
    }

    #[test]
    fn accepts_long_uncommon_passwords_of_any_characters() {
        assert!(parse("correct horse battery").is_ok());
        assert!(parse("zürich-fondue-ñandú").is_ok());
        assert!(parse("                x").is_ok());
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // 11 characters, 22 bytes.
        assert_eq!(parse("ééééééééééé"), Err(PasswordError::TooShort(11)));
        assert!(parse("éééééééééééq").is_ok());
    }

    #[test]
    fn refuses_empty_short_long_and_common() {
        assert_eq!(parse(""), Err(PasswordError::Empty));
        assert_eq!(parse("abcdefghi"), Err(PasswordError::TooShort(9)));
        assert_eq!(
            parse("abcdefghi").unwrap_err().to_string(),
            "Use at least 12 characters \u{2014} this one has 9"
        );
        assert_eq!(parse(&"x7".repeat(600)), Err(PasswordError::TooLong(1200)));
        for common in [
            "password1234",
            "PassWord1234",
            "123456789012",
            "qwertyuiopas",
            "iloveyou2024!",
            "Summer2025!!!!",
            "aaaaaaaaaaaa",
            "abcabcabcabc",
            "abcdefghijklm",
            "0987654321098",
            "correcthorsebatterystaple",
        ] {
            assert_eq!(parse(common), Err(PasswordError::Common), "{common}");
        }
    }

    #[test]
    fn debug_is_redacted() {
        let pw = parse("a fine long passphrase").unwrap();
        assert_eq!(format!("{pw:?}"), "ZipPassword([redacted])");
    }
}
