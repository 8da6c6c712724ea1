//! Submit: in one transaction, claims the draft, builds each package (tokens decrypted a page at
//! a time → format writer → zip → PGP → sealed chunks), and records the request, its shipments,
//! packages, audit row and "request received" email.

use super::draft::{self, Bundling, Draft, DraftSecrets, ProtectionKind};
use super::package::{self, PackagePlan};
use crate::audit;
use crate::db::schema::{drafts, packages, request_shipments, requests};
use crate::db::{write_tx, DbConnection};
use crate::formats::FormatOptions;
use crate::mail::outbox::{enqueue, OutgoingEmail};
use crate::pipeline::{choice, PgpRecipient, Protection, ZipPassword};
use crate::vault::Vault;
use diesel::prelude::*;
use rand::seq::SliceRandom;

/// Why a submit did not produce a new request.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The draft was submitted before (double click, reload): here is that request's id.
    #[error("already submitted")]
    AlreadySubmitted,
    /// Something the customer must fix (message for the customer, never a secret).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for SubmitError {
    fn from(e: diesel::result::Error) -> Self {
        SubmitError::Internal(e.into())
    }
}

/// What a submit made.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub request_id: String,
    pub reference: String,
}

/// Everything submit needs besides the draft.
pub struct SubmitParams {
    pub reference: String,
    /// The Argon2id hash of the download password, made beforehand by [`prepare`] with no
    /// database connection held (the hashing is slow on purpose).
    pub prepared: Prepared,
    pub email: OutgoingEmail,
    pub max_downloads: u32,
    /// Days a request may wait for review before it expires and its files are destroyed.
    pub review_expiry_days: u32,
    pub now: i64,
}

/// A human reference like `SP-7K3M-9Q2X` (Crockford base32: no I, L, O, U).
pub fn new_reference() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut rng = rand::rngs::OsRng;
    let mut pick = || char::from(*ALPHABET.choose(&mut rng).unwrap_or(&b'0'));
    let a: String = (0..4).map(|_| pick()).collect();
    let b: String = (0..4).map(|_| pick()).collect();
    format!("SP-{a}-{b}")
}

/// What submit needs that is slow to make: the download password's Argon2id hash, computed
/// from the draft's sealed secrets before the transaction, on no connection.
pub struct Prepared {
    secrets: DraftSecrets,
    password_hash: Option<String>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Prepared([redacted])")
    }
}

/// Opens the draft's sealed secrets (one short read).
pub fn open_secrets(
    conn: &mut DbConnection,
    vault: &Vault,
    draft: &Draft,
) -> Result<DraftSecrets, SubmitError> {
    draft::open_secrets(conn, vault, draft).map_err(|e| SubmitError::Internal(e.into()))
}

/// Hashes the download password, if the draft chose one. Run it on a blocking thread with no
/// database connection held.
pub fn prepare(draft: &Draft, secrets: DraftSecrets) -> Result<Prepared, SubmitError> {
    let wants_password = draft.choices.protection.is_some_and(|k| k.has_password());
    let password_hash = match secrets.zip_password() {
        Some(pw) if wants_password => Some(hash_password(pw.expose())?),
        _ => None,
    };
    Ok(Prepared {
        secrets,
        password_hash,
    })
}

/// Builds the packages and records the request, on one connection in one transaction (the
/// token pages are read on the same connection the package chunks are written to).
pub fn submit(
    conn: &mut DbConnection,
    vault: &Vault,
    draft: &Draft,
    params: SubmitParams,
) -> Result<Submitted, SubmitError> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let started = std::time::Instant::now();
    let mut body = std::time::Duration::ZERO;
    let submitted = write_tx(conn, |conn| {
        let claimed = diesel::update(
            drafts::table
                .find(&draft.id)
                .filter(drafts::request_id.is_null()),
        )
        .set((
            drafts::request_id.eq(&request_id),
            drafts::step.eq(draft::Step::Submitted.as_str()),
        ))
        .execute(conn)?;
        if claimed == 0 {
            return Err(SubmitError::AlreadySubmitted);
        }
        let secrets = &params.prepared.secrets;
        let (protection, kind) = protection(draft, secrets, params.now)?;
        let options = format_options(draft, secrets)?;
        let format_id = draft
            .choices
            .format
            .ok_or_else(|| SubmitError::Invalid("choose a file format first".into()))?;
        let format = format_id.format();
        format
            .check_options(&options)
            .map_err(|e| SubmitError::Invalid(e.to_string()))?;
        insert_request(conn, draft, &request_id, &params, kind)?;
        for plan in plans(draft, &params.reference) {
            package::build(
                conn,
                vault,
                &request_id,
                &plan,
                format,
                &options,
                &protection,
                params.max_downloads,
                params.now,
            )?;
        }
        finish(conn, draft, &request_id, &params)?;
        crate::lifecycle::announce::entered(
            conn,
            &crate::lifecycle::RequestId::from_raw(request_id.clone()),
            crate::lifecycle::State::PendingReview,
            params.now,
        )?;
        body = started.elapsed();
        Ok(Submitted {
            request_id: request_id.clone(),
            reference: params.reference.clone(),
        })
    });
    if submitted.is_ok() {
        tracing::debug!(
            transaction_ms = body.as_millis() as u64,
            commit_ms = started.elapsed().saturating_sub(body).as_millis() as u64,
            "submit recorded"
        );
    }
    submitted
}

fn plans(draft: &Draft, reference: &str) -> Vec<PackagePlan> {
    let all = &draft.choices.shipments;
    match draft.choices.bundling.unwrap_or(Bundling::One) {
        Bundling::One => vec![PackagePlan {
            name: reference.to_string(),
            shipments: all
                .iter()
                .map(|s| (s.id.clone(), s.number.clone()))
                .collect(),
        }],
        Bundling::PerShipment => all
            .iter()
            .map(|s| PackagePlan {
                name: format!("{reference}_{}", s.number),
                shipments: vec![(s.id.clone(), s.number.clone())],
            })
            .collect(),
    }
}

fn protection(
    draft: &Draft,
    secrets: &DraftSecrets,
    now: i64,
) -> Result<(Protection, ProtectionKind), SubmitError> {
    let kind = draft
        .choices
        .protection
        .ok_or_else(|| SubmitError::Invalid("choose how the file is protected first".into()))?;
    let password = if kind.has_password() {
        let raw = secrets
            .zip_password()
            .ok_or_else(|| SubmitError::Invalid("enter the file password again".into()))?;
        Some(ZipPassword::parse(raw).map_err(|e| SubmitError::Invalid(e.to_string()))?)
    } else {
        None
    };
    let recipient = if kind.has_pgp() {
        let pgp = draft
            .choices
            .pgp
            .as_ref()
            .ok_or_else(|| SubmitError::Invalid("add your PGP public key again".into()))?;
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(now.max(0) as u64);
        Some(
            PgpRecipient::parse_at(pgp.armored.as_bytes(), at)
                .map_err(|e| SubmitError::Invalid(e.to_string()))?,
        )
    } else {
        None
    };
    let p = match (kind, draft.choices.format) {
        (ProtectionKind::PgpArmored, Some(format)) => choice::armored(password, recipient, format),
        (ProtectionKind::PgpArmored, None) => {
            return Err(SubmitError::Invalid("choose the file format first".into()))
        }
        _ => choice::protection(password, recipient),
    }
    .map_err(|e| SubmitError::Invalid(e.to_string()))?;
    Ok((p, kind))
}

fn format_options(draft: &Draft, secrets: &DraftSecrets) -> Result<FormatOptions, SubmitError> {
    let pskc_key = match secrets.pskc_key_hex() {
        Some(h) => Some(
            choice::pskc_key_hex(h.expose()).map_err(|e| SubmitError::Invalid(e.to_string()))?,
        ),
        None => None,
    };
    Ok(FormatOptions {
        pskc_key,
        pskc_passphrase: secrets.pskc_passphrase(),
        custom_csv: draft.choices.custom_csv.clone(),
        ..FormatOptions::default()
    })
}

/// Argon2id hash (PHC string) of the download password.
fn hash_password(password: &str) -> anyhow::Result<String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("password hashing failed: {e}"))
}

/// The secret-free summary of the format the staff pages and emails show.
pub fn format_summary(draft: &Draft) -> serde_json::Value {
    let id = draft.choices.format;
    serde_json::json!({
        "format": id.map(|f| f.as_str()),
        "name": id.map(|f| f.format().name),
        "custom_csv": draft.choices.custom_csv,
    })
}

fn insert_request(
    conn: &mut DbConnection,
    draft: &Draft,
    request_id: &str,
    params: &SubmitParams,
    kind: ProtectionKind,
) -> Result<(), SubmitError> {
    let password_hash = params.prepared.password_hash.clone();
    if kind.has_password() && password_hash.is_none() {
        return Err(SubmitError::Invalid("enter the file password again".into()));
    }
    let pgp = draft.choices.pgp.as_ref().filter(|_| kind.has_pgp());
    diesel::insert_into(requests::table)
        .values((
            requests::id.eq(request_id),
            requests::reference.eq(&params.reference),
            requests::draft_id.eq(&draft.id),
            requests::customer_id.eq(&draft.customer_id),
            requests::order_id.eq(&draft.order_id),
            requests::requester_email.eq(&draft.requester_email),
            requests::client_ip.eq(&draft.client_ip),
            requests::state.eq(crate::lifecycle::State::PendingReview),
            requests::format_id.eq(draft.choices.format.map(|f| f.as_str()).unwrap_or("")),
            requests::format_summary.eq(format_summary(draft).to_string()),
            requests::bundling.eq(draft.choices.bundling.unwrap_or(Bundling::One).as_str()),
            requests::protection.eq(kind.as_str()),
            requests::pgp_fingerprint.eq(pgp.map(|p| p.fingerprint.clone())),
            requests::pgp_user_ids.eq(pgp.map(|p| serde_json::json!(p.user_ids).to_string())),
            requests::password_hash.eq(password_hash),
            requests::pgp_key.eq(pgp.map(|p| p.armored.clone())),
            requests::created_at.eq(params.now),
        ))
        .execute(conn)?;
    for s in &draft.choices.shipments {
        diesel::insert_into(request_shipments::table)
            .values((
                request_shipments::request_id.eq(request_id),
                request_shipments::shipment_id.eq(&s.id),
                request_shipments::proved_serial.eq(&s.serial),
            ))
            .execute(conn)?;
    }
    // The key becomes the customer's saved key only when the request is approved.
    Ok(())
}

fn finish(
    conn: &mut DbConnection,
    draft: &Draft,
    request_id: &str,
    params: &SubmitParams,
) -> Result<(), SubmitError> {
    // Every package has a finite life from the start: unreviewed, it expires with the request.
    let review_deadline = params.now + i64::from(params.review_expiry_days) * 86_400;
    diesel::update(packages::table.filter(packages::request_id.eq(request_id)))
        .set(packages::expires_at.eq(review_deadline))
        .execute(conn)?;
    let mut email = params.email.clone();
    email.request_id = Some(request_id.to_string());
    enqueue(conn, &email, params.now)?;
    let actor = format!("customer:{}", draft.requester_email);
    let subject = format!("request:{}", params.reference);
    let numbers: Vec<&str> = draft
        .choices
        .shipments
        .iter()
        .map(|s| s.number.as_str())
        .collect();
    let details = format!(
        "submitted for review; shipments {}; format {}",
        numbers.join(", "),
        draft.choices.format.map(|f| f.format().name).unwrap_or("")
    );
    audit::record(
        conn,
        &audit::Entry {
            actor: &actor,
            action: "request.submitted",
            subject: &subject,
            client_ip: &draft.client_ip,
            details: &details,
        },
        params.now,
    )?;
    draft::destroy_secrets(conn, draft)?;
    Ok(())
}

impl From<crate::db::DbError> for SubmitError {
    fn from(e: crate::db::DbError) -> Self {
        SubmitError::Internal(anyhow::Error::new(e))
    }
}

/// The portal's submit, end to end, one connection at a time: the order's numbers and the
/// "request received" email, then the sealed secrets read, the download password hashed on the
/// blocking pool with no connection held, and the packages built and the request recorded in
/// one transaction. A second submit of the same draft is [`SubmitError::AlreadySubmitted`].
pub async fn submit_draft(
    db: &crate::db::Db,
    vault: &Vault,
    tera: &tera::Tera,
    config: &crate::config::Config,
    draft: &Draft,
    now: i64,
) -> Result<Submitted, SubmitError> {
    let order_id = draft.order_id.clone();
    let (po, invoice) = db
        .run(move |conn| Ok::<_, SubmitError>(super::lookup::order_numbers(conn, &order_id)?))
        .await?;
    let reference = new_reference();
    let email =
        crate::mail::compose::request_received(tera, config, draft, &reference, &po, &invoice)
            .map_err(|e| SubmitError::Internal(anyhow::anyhow!("template: {e:?}")))?;
    let (v, d) = (vault.clone(), draft.clone());
    let secrets = db.run(move |conn| open_secrets(conn, &v, &d)).await?;
    let d = draft.clone();
    let hashing = std::time::Instant::now();
    let prepared = tokio::task::spawn_blocking(move || prepare(&d, secrets))
        .await
        .map_err(|e| SubmitError::Internal(e.into()))??;
    tracing::debug!(
        ms = hashing.elapsed().as_millis() as u64,
        "download password hashed"
    );
    let params = SubmitParams {
        reference,
        prepared,
        email,
        max_downloads: config.download_limit,
        review_expiry_days: config.review_expiry_days,
        now,
    };
    let (v, d) = (vault.clone(), draft.clone());
    db.run(move |conn| submit(conn, &v, &d, params)).await
}
