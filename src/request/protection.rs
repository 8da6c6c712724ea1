//! Step 2 of the wizard as one use case: the customer's protection choice (one file or one per
//! shipment; a password, a PGP key, both, or PGP armored without a zip) checked field by field
//! and, when every field is right, saved into the draft with the password sealed.

use super::draft::{self, Draft, PgpChoice, Step};
use super::{Bundling, ProtectionKind};
use crate::db::schema::customers;
use crate::db::DbConnection;
use crate::pipeline::{PgpRecipient, ZipPassword};
use crate::vault::{SecretString, Vault};
use diesel::prelude::*;
use std::collections::BTreeMap;

/// Where the PGP key comes from when none is pasted or uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// The key this draft already holds (going back a step).
    Current,
    /// The key saved for this customer by an earlier approved request.
    Saved,
    /// Only what was pasted or uploaded.
    New,
}

/// What the protection form sent, as the customer typed it. No `Debug`: it holds passwords.
pub struct ProtectionInput {
    pub bundling: Bundling,
    pub kind: Option<ProtectionKind>,
    pub password: SecretString,
    pub password_confirm: SecretString,
    /// A pasted key, then an uploaded one; the upload wins when both are there.
    pub pgp_text: String,
    pub pgp_file: String,
    pub source: KeySource,
}

/// The message for each field the customer must fix, by field name.
pub type FieldErrors = BTreeMap<&'static str, String>;

/// Why the choice was not saved.
#[derive(Debug, thiserror::Error)]
pub enum ProtectionError {
    /// Fields to fix; nothing was saved.
    #[error("some fields need fixing")]
    Fields(FieldErrors),
    #[error(transparent)]
    Draft(#[from] draft::DraftError),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// The customer's saved PGP key, offered only to the address it was approved for.
pub fn saved_key(conn: &mut DbConnection, draft: &Draft) -> QueryResult<Option<String>> {
    let email = draft.requester_email.to_lowercase();
    let key: Option<(Option<String>, Option<String>)> = customers::table
        .find(&draft.customer_id)
        .select((customers::saved_pgp_key, customers::saved_pgp_email))
        .first(conn)
        .optional()?;
    Ok(key
        .and_then(|(key, owner)| key.filter(|_| owner.is_some_and(|o| o.to_lowercase() == email))))
}

fn password(input: &ProtectionInput, errors: &mut FieldErrors) -> Option<SecretString> {
    if input.password.expose() != input.password_confirm.expose() {
        errors.insert("password_confirm", "The two passwords do not match.".into());
        return None;
    }
    match ZipPassword::parse(SecretString::new(input.password.expose().to_string())) {
        Ok(p) => Some(SecretString::new(p.expose().to_string())),
        Err(e) => {
            errors.insert("password", format!("{e}."));
            None
        }
    }
}

fn pgp_key(
    conn: &mut DbConnection,
    draft: &Draft,
    input: &ProtectionInput,
    now: i64,
    errors: &mut FieldErrors,
) -> QueryResult<Option<PgpChoice>> {
    let source = if !input.pgp_file.trim().is_empty() {
        Some(input.pgp_file.clone())
    } else if !input.pgp_text.trim().is_empty() {
        Some(input.pgp_text.clone())
    } else {
        match input.source {
            KeySource::Saved => saved_key(conn, draft)?,
            KeySource::Current => draft.choices.pgp.as_ref().map(|p| p.armored.clone()),
            KeySource::New => None,
        }
    };
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(now.max(0) as u64);
    let parsed = source.map(|s| {
        PgpRecipient::parse_at(s.as_bytes(), at).and_then(|r| {
            r.armored_public().map(|armored| PgpChoice {
                armored,
                fingerprint: r.fingerprint(),
                user_ids: r.user_ids(),
            })
        })
    });
    Ok(match parsed {
        None => {
            errors.insert("pgp_key", "Paste or upload your PGP public key.".into());
            None
        }
        Some(Err(e)) => {
            errors.insert("pgp_key", format!("{e}."));
            None
        }
        Some(Ok(choice)) => Some(choice),
    })
}

/// Checks every field and, when all are right, saves the choice and opens the format step.
pub fn choose(
    conn: &mut DbConnection,
    vault: &Vault,
    draft: &mut Draft,
    input: &ProtectionInput,
    now: i64,
) -> Result<(), ProtectionError> {
    let mut errors = FieldErrors::new();
    let Some(kind) = input.kind else {
        errors.insert("protection", "Choose how the file is protected.".into());
        return Err(ProtectionError::Fields(errors));
    };
    let password = if kind.has_password() {
        password(input, &mut errors)
    } else {
        None
    };
    let pgp = if kind.has_pgp() {
        pgp_key(conn, draft, input, now, &mut errors)?
    } else {
        None
    };
    if !errors.is_empty() {
        return Err(ProtectionError::Fields(errors));
    }
    let mut choices = draft.choices.clone();
    choices.bundling = Some(input.bundling);
    choices.protection = Some(kind);
    choices.pgp = pgp;
    draft::advance(conn, vault, draft, Step::Format, &choices, now, |secrets| {
        secrets.set_zip_password(password.as_ref())
    })?;
    Ok(())
}
