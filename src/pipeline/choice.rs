//! The one parser for the customer's protection choice and PSKC key or passphrase, shared by
//! the wizard, `seedport pack`, submit and the tests: the same input gets the same answer
//! whichever door it came through.

use super::package::Protection;
use super::password::{PasswordError, ZipPassword};
use super::pgp::PgpRecipient;
use crate::formats::FormatId;
use crate::vault::{SecretBytes, SecretString};

/// Why a protection or PSKC secret was refused. Messages are for the customer and never
/// contain the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChoiceError {
    #[error("Choose how the file is protected: a password, a PGP key, or both")]
    NoProtection,
    #[error("PGP armored without a zip needs your PGP public key and no zip password")]
    Armored,
    #[error("PGP armored without a zip is offered for PSKC and custom CSV files only")]
    ArmoredFormat,
    #[error("PSKC passphrase: {0}")]
    Passphrase(PasswordError),
    #[error(
        "Enter the pre-shared key as 32 hexadecimal characters (16 bytes), or let us generate one"
    )]
    PskcKey,
}

/// The protection made of what the customer gave: a checked password, a checked certificate,
/// or both.
pub fn protection(
    password: Option<ZipPassword>,
    recipient: Option<PgpRecipient>,
) -> Result<Protection, ChoiceError> {
    match (password, recipient) {
        (Some(password), Some(recipient)) => Ok(Protection::Both {
            password,
            recipient,
        }),
        (Some(password), None) => Ok(Protection::PasswordOnly(password)),
        (None, Some(recipient)) => Ok(Protection::PgpOnly(recipient)),
        (None, None) => Err(ChoiceError::NoProtection),
    }
}

/// "PGP, armored, no zip": the one seed file encrypted to `recipient`, for importers that
/// decrypt PGP themselves. Only single-file formats they read (PSKC, custom CSV) qualify.
pub fn armored(
    password: Option<ZipPassword>,
    recipient: Option<PgpRecipient>,
    format: FormatId,
) -> Result<Protection, ChoiceError> {
    if !armorable(format) {
        return Err(ChoiceError::ArmoredFormat);
    }
    match (password, recipient) {
        (None, Some(recipient)) => Ok(Protection::PgpArmored(recipient)),
        _ => Err(ChoiceError::Armored),
    }
}

/// Whether a format may be delivered as "PGP, armored, no zip": one file that an importer
/// decrypting PGP itself reads.
pub fn armorable(format: FormatId) -> bool {
    matches!(
        format,
        FormatId::PskcPlain | FormatId::PskcPsk | FormatId::PskcPassphrase | FormatId::CustomCsv
    )
}

/// A PSKC passphrase: the same policy as the zip password (at least 12 characters, not a
/// common password), because it alone guards every seed of a `pskc-passphrase` file.
pub fn pskc_passphrase(candidate: SecretString) -> Result<SecretString, ChoiceError> {
    ZipPassword::parse(candidate)
        .map(|p| SecretString::new(p.expose().to_string()))
        .map_err(ChoiceError::Passphrase)
}

/// A PSKC pre-shared key typed as hex: 32 hex digits, with spaces, `:` and `-` ignored and
/// either case accepted.
pub fn pskc_key_hex(text: &str) -> Result<SecretBytes, ChoiceError> {
    let cleaned = SecretString::new(
        text.chars()
            .filter(|c| !c.is_whitespace() && *c != ':' && *c != '-')
            .collect(),
    );
    let hex_text = cleaned.expose();
    if hex_text.len() != 32 || !hex_text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ChoiceError::PskcKey);
    }
    hex::decode(hex_text)
        .map(SecretBytes::new)
        .map_err(|_| ChoiceError::PskcKey)
}

/// The canonical text of a PSKC key (upper-case hex), as the draft stores it.
pub fn pskc_key_text(key: &SecretBytes) -> SecretString {
    SecretString::new(hex::encode_upper(key.expose()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passphrase_follows_the_password_policy() {
        let short = pskc_passphrase(SecretString::new("abc".into())).unwrap_err();
        assert_eq!(
            short.to_string(),
            "PSKC passphrase: Use at least 12 characters \u{2014} this one has 3"
        );
        assert!(pskc_passphrase(SecretString::new("password1234".into())).is_err());
        assert!(pskc_passphrase(SecretString::new("a fine long passphrase".into())).is_ok());
    }

    #[test]
    fn key_accepts_hex_with_separators_only() {
        let k = pskc_key_hex("00112233:44556677-8899aabb ccddeeff\n").unwrap();
        assert_eq!(
            pskc_key_text(&k).expose(),
            "00112233445566778899AABBCCDDEEFF"
        );
        for bad in [
            "",
            "abc",
            "0011223344556677889900aabbccddee00",
            "zz112233445566778899aabbccddeeff",
        ] {
            assert_eq!(
                pskc_key_hex(bad).unwrap_err(),
                ChoiceError::PskcKey,
                "{bad}"
            );
        }
    }

    #[test]
    fn no_protection_is_refused() {
        assert_eq!(
            protection(None, None).unwrap_err(),
            ChoiceError::NoProtection
        );
    }
}
