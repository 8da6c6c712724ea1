//! Step 3 of the wizard as one use case: which formats can carry the draft's tokens (checked on
//! the tokens' shapes, no seed decrypted, and on the protection chosen: "PGP armored, no zip"
//! takes single-file formats only), and the customer's format with its PSKC secret or custom
//! CSV layout checked and, when all is right, saved into the draft with the secrets sealed.

use super::draft::{self, Draft, Step};
use super::{summary, ProtectionKind};
use crate::db::DbConnection;
use crate::formats::{self, CustomCsvSpec, FormatId};
use crate::pipeline::choice::{self, ChoiceError};
use crate::vault::{SecretString, Vault};
use std::collections::BTreeMap;

/// One format as the picker offers it: `disabled` says why it cannot be chosen.
#[derive(Debug, serde::Serialize)]
pub struct Offered {
    pub id: &'static str,
    pub name: &'static str,
    pub help: &'static str,
    pub carries: &'static str,
    pub disabled: Option<String>,
}

/// Why "PGP armored, no zip" rules a format out, in the picker's words.
pub const NOT_ARMORABLE: &str = "PGP armored without a zip delivers one file that an importer \
decrypts itself, and is offered for PSKC and custom CSV files only. To use this format, go back \
to Protection and choose a password, PGP or both";

/// Every format, each with the reason it cannot carry this draft's tokens, if any.
pub fn offered(conn: &mut DbConnection, draft: &Draft) -> anyhow::Result<Vec<Offered>> {
    let ids: Vec<String> = draft
        .choices
        .shipments
        .iter()
        .map(|s| s.id.clone())
        .collect();
    // The shipments' token groups, not every token: a GET stays cheap at 100,000 tokens.
    let groups = summary::of(conn, &ids)?;
    let armored = draft.choices.protection == Some(ProtectionKind::PgpArmored);
    Ok(formats::all()
        .iter()
        .map(|f| Offered {
            id: f.id.as_str(),
            name: f.name,
            help: f.help,
            carries: f.carries,
            disabled: if armored && !choice::armorable(f.id) {
                Some(format!("{NOT_ARMORABLE}."))
            } else {
                summary::check(f, &groups).err().map(|e| e.to_string())
            },
        })
        .collect())
}

/// What the format form sent. No `Debug`: it holds the PSKC passphrase.
pub struct FormatInput {
    pub format: Option<FormatId>,
    pub pskc_passphrase: SecretString,
    pub pskc_passphrase_confirm: SecretString,
    pub pskc_key: String,
    /// The custom CSV builder's layout, or why it is not a valid layout.
    pub custom_csv: Result<CustomCsvSpec, String>,
}

/// The message for each field the customer must fix, by field name.
pub type FieldErrors = BTreeMap<&'static str, String>;

/// Why the choice was not saved.
#[derive(Debug, thiserror::Error)]
pub enum FormatChoiceError {
    #[error("some fields need fixing")]
    Fields(FieldErrors),
    #[error(transparent)]
    Draft(#[from] draft::DraftError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

fn passphrase(input: &FormatInput, errors: &mut FieldErrors) -> Option<SecretString> {
    if input.pskc_passphrase.expose() != input.pskc_passphrase_confirm.expose() {
        errors.insert(
            "pskc_passphrase_confirm",
            "The two passphrases do not match.".into(),
        );
        return None;
    }
    match choice::pskc_passphrase(SecretString::new(
        input.pskc_passphrase.expose().to_string(),
    )) {
        Ok(p) => Some(p),
        Err(e) => {
            // The field already says "passphrase": show the policy's own words.
            let message = match e {
                ChoiceError::Passphrase(policy) => policy.to_string(),
                other => other.to_string(),
            };
            errors.insert("pskc_passphrase", format!("{message}."));
            None
        }
    }
}

/// Checks the format and its options and, when all are right, saves them and opens the review.
pub fn choose(
    conn: &mut DbConnection,
    vault: &Vault,
    draft: &mut Draft,
    input: &FormatInput,
    now: i64,
) -> Result<(), FormatChoiceError> {
    let mut errors = FieldErrors::new();
    let Some(id) = input.format else {
        errors.insert("format", "Choose a file format.".into());
        return Err(FormatChoiceError::Fields(errors));
    };
    let disabled = offered(conn, draft)?
        .into_iter()
        .find(|o| o.id == id.as_str())
        .and_then(|o| o.disabled);
    if let Some(reason) = disabled {
        errors.insert("format", reason);
    }
    let (mut pskc_passphrase, mut psk, mut spec) = (None, None, None);
    match id {
        FormatId::PskcPassphrase => pskc_passphrase = passphrase(input, &mut errors),
        FormatId::PskcPsk => match choice::pskc_key_hex(&input.pskc_key) {
            Ok(key) => psk = Some(choice::pskc_key_text(&key)),
            Err(e) => {
                errors.insert("pskc_key", format!("{e}."));
            }
        },
        FormatId::CustomCsv => match &input.custom_csv {
            Ok(s) => spec = Some(s.clone()),
            Err(e) => {
                errors.insert("custom", e.clone());
            }
        },
        _ => {}
    }
    if !errors.is_empty() {
        return Err(FormatChoiceError::Fields(errors));
    }
    let mut choices = draft.choices.clone();
    choices.format = Some(id);
    choices.custom_csv = spec;
    draft::advance(conn, vault, draft, Step::Review, &choices, now, |secrets| {
        secrets.set_pskc(pskc_passphrase.as_ref(), psk.as_ref())
    })?;
    Ok(())
}
