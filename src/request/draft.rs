//! Wizard drafts: the server-side state of one customer's request between steps, bound to a
//! browser session, expiring after an hour, with passwords sealed under the draft's own key.

use crate::db::schema::drafts;
use crate::db::DbConnection;
use crate::formats::{CustomCsvSpec, FormatId};
use crate::vault::{SecretString, Vault, VaultError};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// How long a draft lives, in seconds.
pub const DRAFT_LIFETIME: i64 = 3600;

/// The wizard's steps in order; a draft's step is the furthest one the customer may open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Shipments,
    Protection,
    Format,
    Review,
    Submitted,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Shipments => "shipments",
            Step::Protection => "protection",
            Step::Format => "format",
            Step::Review => "review",
            Step::Submitted => "submitted",
        }
    }

    pub fn parse(s: &str) -> Step {
        match s {
            "protection" => Step::Protection,
            "format" => Step::Format,
            "review" => Step::Review,
            "submitted" => Step::Submitted,
            _ => Step::Shipments,
        }
    }

    /// The step after this one.
    pub fn next(self) -> Step {
        match self {
            Step::Shipments => Step::Protection,
            Step::Protection => Step::Format,
            Step::Format => Step::Review,
            Step::Review | Step::Submitted => Step::Submitted,
        }
    }
}

/// One file for everything, or one file (and email) per shipment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bundling {
    One,
    PerShipment,
}

impl Bundling {
    pub fn as_str(self) -> &'static str {
        match self {
            Bundling::One => "one",
            Bundling::PerShipment => "per_shipment",
        }
    }
}

/// Password only, PGP only, both, or "PGP armored, no zip" (the one seed file encrypted to
/// the customer's key, for importers that decrypt PGP themselves).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProtectionKind {
    Password,
    Pgp,
    Both,
    PgpArmored,
}

impl ProtectionKind {
    pub const ALL: [ProtectionKind; 4] = [
        ProtectionKind::Password,
        ProtectionKind::Pgp,
        ProtectionKind::Both,
        ProtectionKind::PgpArmored,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProtectionKind::Password => "password",
            ProtectionKind::Pgp => "pgp",
            ProtectionKind::Both => "both",
            ProtectionKind::PgpArmored => "pgp_armored",
        }
    }

    /// The kind in the customer's words, as the summary and the emails show it.
    pub fn label(self) -> &'static str {
        match self {
            ProtectionKind::Password => "Password (AES-256 zip)",
            ProtectionKind::Pgp => "PGP (a zip encrypted to your key)",
            ProtectionKind::Both => "Password (AES-256 zip) and PGP",
            ProtectionKind::PgpArmored => "PGP armored, no zip (one file encrypted to your key)",
        }
    }

    /// The kind a form or a stored request names, if any.
    pub fn parse(s: &str) -> Option<ProtectionKind> {
        ProtectionKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn has_password(self) -> bool {
        matches!(self, ProtectionKind::Password | ProtectionKind::Both)
    }

    pub fn has_pgp(self) -> bool {
        matches!(
            self,
            ProtectionKind::Pgp | ProtectionKind::Both | ProtectionKind::PgpArmored
        )
    }

    /// Whether the delivered file is a zip (all but "PGP armored, no zip").
    pub fn zipped(self) -> bool {
        self != ProtectionKind::PgpArmored
    }
}

/// A shipment the customer proved with one of its serials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvedShipment {
    pub id: String,
    pub number: String,
    pub serial: String,
}

/// The customer's public key: public, so it may sit in the choices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PgpChoice {
    pub armored: String,
    pub fingerprint: String,
    pub user_ids: Vec<String>,
}

/// Everything chosen so far except secrets; stored as JSON in `drafts.choices`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choices {
    #[serde(default)]
    pub shipments: Vec<ProvedShipment>,
    #[serde(default)]
    pub bundling: Option<Bundling>,
    #[serde(default)]
    pub protection: Option<ProtectionKind>,
    #[serde(default)]
    pub pgp: Option<PgpChoice>,
    #[serde(default)]
    pub format: Option<FormatId>,
    #[serde(default)]
    pub custom_csv: Option<CustomCsvSpec>,
}

/// Secrets kept between steps: sealed in `drafts.secrets_ct`, never in the choices.
#[derive(Default, Clone, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct DraftSecrets {
    #[serde(default)]
    zip_password: Option<String>,
    #[serde(default)]
    pskc_passphrase: Option<String>,
    /// The PSKC pre-shared key as 32 hex characters.
    #[serde(default)]
    pskc_key_hex: Option<String>,
}

impl fmt::Debug for DraftSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DraftSecrets([redacted])")
    }
}

impl DraftSecrets {
    pub fn zip_password(&self) -> Option<SecretString> {
        self.zip_password.clone().map(SecretString::new)
    }
    pub fn pskc_passphrase(&self) -> Option<SecretString> {
        self.pskc_passphrase.clone().map(SecretString::new)
    }
    pub fn pskc_key_hex(&self) -> Option<SecretString> {
        self.pskc_key_hex.clone().map(SecretString::new)
    }
    pub fn set_zip_password(&mut self, p: Option<&SecretString>) {
        self.zip_password = p.map(|p| p.expose().to_string());
    }
    pub fn set_pskc(&mut self, passphrase: Option<&SecretString>, key_hex: Option<&SecretString>) {
        self.pskc_passphrase = passphrase.map(|p| p.expose().to_string());
        self.pskc_key_hex = key_hex.map(|p| p.expose().to_string());
    }
}

/// A draft as loaded for the session that owns it.
#[derive(Debug, Clone)]
pub struct Draft {
    pub id: String,
    pub customer_id: String,
    pub order_id: String,
    pub requester_email: String,
    pub client_ip: String,
    pub step: Step,
    pub choices: Choices,
    pub data_key_id: Option<String>,
    pub request_id: Option<String>,
    pub expires_at: i64,
}

/// Why a draft cannot be used; all shown to the customer as one "start again" page.
#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    #[error("the request form has expired or belongs to another browser")]
    Gone,
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// What a new draft starts with.
pub struct NewDraft<'a> {
    pub session_hash: &'a str,
    pub customer_id: &'a str,
    pub order_id: &'a str,
    pub requester_email: &'a str,
    pub client_ip: &'a str,
}

/// Creates a draft at the shipments step; returns its random id (the URL names it).
pub fn create(
    conn: &mut DbConnection,
    new: &NewDraft<'_>,
    now: i64,
) -> Result<String, diesel::result::Error> {
    let id = crate::vault::random_token("");
    diesel::insert_into(drafts::table)
        .values((
            drafts::id.eq(&id),
            drafts::session_hash.eq(new.session_hash),
            drafts::customer_id.eq(new.customer_id),
            drafts::order_id.eq(new.order_id),
            drafts::requester_email.eq(new.requester_email),
            drafts::client_ip.eq(new.client_ip),
            drafts::step.eq(Step::Shipments.as_str()),
            drafts::choices.eq(choices_json(&Choices::default())),
            drafts::created_at.eq(now),
            drafts::expires_at.eq(now + DRAFT_LIFETIME),
        ))
        .execute(conn)?;
    Ok(id)
}

fn choices_json(c: &Choices) -> String {
    serde_json::to_string(c).unwrap_or_else(|_| "{}".into())
}

/// A draft row as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = drafts)]
struct DraftRecord {
    id: String,
    session_hash: String,
    customer_id: String,
    order_id: String,
    requester_email: String,
    client_ip: String,
    step: String,
    choices: String,
    data_key_id: Option<String>,
    request_id: Option<String>,
    expires_at: i64,
}

/// Loads a live draft owned by `session_hash`; anything else is [`DraftError::Gone`].
pub fn load(
    conn: &mut DbConnection,
    id: &str,
    session_hash: &str,
    now: i64,
) -> Result<Draft, DraftError> {
    let row: Option<DraftRecord> = drafts::table
        .find(id)
        .select(DraftRecord::as_select())
        .first(conn)
        .optional()?;
    let Some(r) = row else {
        return Err(DraftError::Gone);
    };
    let owned: bool =
        subtle::ConstantTimeEq::ct_eq(r.session_hash.as_bytes(), session_hash.as_bytes()).into();
    if !owned || r.expires_at <= now {
        return Err(DraftError::Gone);
    }
    Ok(Draft {
        id: r.id,
        customer_id: r.customer_id,
        order_id: r.order_id,
        requester_email: r.requester_email,
        client_ip: r.client_ip,
        step: Step::parse(&r.step),
        choices: serde_json::from_str(&r.choices).unwrap_or_default(),
        data_key_id: r.data_key_id,
        request_id: r.request_id,
        expires_at: r.expires_at,
    })
}

/// Stores the choices and the step the customer may now open. A submitted draft never changes.
pub fn save(
    conn: &mut DbConnection,
    draft: &Draft,
    step: Step,
    choices: &Choices,
) -> Result<(), diesel::result::Error> {
    diesel::update(
        drafts::table
            .find(&draft.id)
            .filter(drafts::request_id.is_null()),
    )
    .set((
        drafts::step.eq(step.as_str()),
        drafts::choices.eq(choices_json(choices)),
    ))
    .execute(conn)?;
    Ok(())
}

fn secrets_aad(draft_id: &str) -> Vec<u8> {
    format!("seedport:draft:{draft_id}").into_bytes()
}

/// Seals `secrets` under the draft's own data key (made on first use).
pub fn save_secrets(
    conn: &mut DbConnection,
    vault: &Vault,
    draft: &mut Draft,
    secrets: &DraftSecrets,
    now: i64,
) -> Result<(), DraftError> {
    let key = match &draft.data_key_id {
        Some(id) => vault.data_key(conn, id)?,
        None => vault.new_data_key(conn, "draft", now)?,
    };
    let json = Zeroizing::new(serde_json::to_vec(secrets).unwrap_or_default());
    let sealed = key.seal(&json, &secrets_aad(&draft.id));
    diesel::update(
        drafts::table
            .find(&draft.id)
            .filter(drafts::request_id.is_null()),
    )
    .set((
        drafts::secrets_ct.eq(sealed),
        drafts::data_key_id.eq(&key.id),
    ))
    .execute(conn)?;
    draft.data_key_id = Some(key.id);
    Ok(())
}

/// Opens the draft's sealed secrets (empty when none were stored).
pub fn open_secrets(
    conn: &mut DbConnection,
    vault: &Vault,
    draft: &Draft,
) -> Result<DraftSecrets, DraftError> {
    let sealed: Option<Vec<u8>> = drafts::table
        .find(&draft.id)
        .select(drafts::secrets_ct)
        .first(conn)?;
    let (Some(sealed), Some(key_id)) = (sealed, &draft.data_key_id) else {
        return Ok(DraftSecrets::default());
    };
    let key = vault.data_key(conn, key_id)?;
    let plain = key
        .open(&sealed, &secrets_aad(&draft.id))
        .map_err(VaultError::from)?;
    Ok(serde_json::from_slice(plain.expose()).unwrap_or_default())
}

/// Edits the draft's sealed secrets, then stores the choices and the step the customer may
/// now open, in one write transaction: the step never advances without its secrets.
pub fn advance(
    conn: &mut DbConnection,
    vault: &Vault,
    draft: &mut Draft,
    step: Step,
    choices: &Choices,
    now: i64,
    edit: impl FnOnce(&mut DraftSecrets),
) -> Result<(), DraftError> {
    crate::db::write_tx(conn, |conn| {
        let mut secrets = open_secrets(conn, vault, draft)?;
        edit(&mut secrets);
        save_secrets(conn, vault, draft, &secrets, now)?;
        save(conn, draft, step, choices)?;
        Ok(())
    })
}

/// Drops the sealed secrets and shreds their key (at submit).
pub fn destroy_secrets(
    conn: &mut DbConnection,
    draft: &Draft,
) -> Result<(), diesel::result::Error> {
    diesel::update(drafts::table.find(&draft.id))
        .set((
            drafts::secrets_ct.eq(None::<Vec<u8>>),
            drafts::data_key_id.eq(None::<String>),
        ))
        .execute(conn)?;
    if let Some(id) = &draft.data_key_id {
        Vault::destroy_data_key(conn, id)?;
    }
    Ok(())
}

/// Deletes expired drafts (a batch at a time) and shreds their keys; returns how many went.
pub fn purge_expired(conn: &mut DbConnection, now: i64) -> Result<usize, diesel::result::Error> {
    let expired: Vec<(String, Option<String>)> = drafts::table
        .filter(drafts::expires_at.le(now))
        .select((drafts::id, drafts::data_key_id))
        .limit(500)
        .load(conn)?;
    let ids: Vec<&String> = expired.iter().map(|(id, _)| id).collect();
    let n = diesel::delete(drafts::table.filter(drafts::id.eq_any(ids))).execute(conn)?;
    for (_, key) in &expired {
        if let Some(key) = key {
            Vault::destroy_data_key(conn, key)?;
        }
    }
    Ok(n)
}
