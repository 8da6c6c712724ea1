//! Step 2: one file or one per shipment; password, PGP, both, or PGP armored without a zip.
//! Passwords are sealed in the draft, never stored in its choices; the public key is shown back
//! with its fingerprint. The checks live in `request::protection`.

use super::fields::Fields;
use super::step_url;
use crate::db::DbError;
use crate::pipeline::{suggest_passphrase, PgpRecipient};
use crate::request::protection::{self, KeySource, ProtectionError, ProtectionInput};
use crate::request::{Bundling, ProtectionKind, Step};
use crate::vault::SecretString;
use crate::web::kit::draft::{self as at, DraftAt};
use crate::web::kit::{respond, CsrfMultipart, UploadLimits};
use crate::web::multipart::Limits;
use crate::web::{AppError, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use std::collections::BTreeMap;

/// The protection form: a public key is a few KiB, and it has a dozen fields.
pub struct ProtectionUpload;

impl UploadLimits for ProtectionUpload {
    const LIMITS: Limits = Limits {
        total: 256 * 1024,
        parts: 64,
    };
}

type Open = DraftAt<at::Protection>;

/// What the page shows back in its fields.
struct View<'a> {
    bundling: &'a str,
    protection: &'a str,
    pgp_source: &'a str,
    pgp_text: &'a str,
    suggestion: Option<String>,
    errors: BTreeMap<&'static str, String>,
}

async fn render(
    state: &AppState,
    open: &Open,
    view: View<'_>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let draft = open.draft.clone();
    let saved = state
        .db
        .run(move |conn| protection::saved_key(conn, &draft).map_err(DbError::Query))
        .await?
        .and_then(|k| PgpRecipient::parse(k.as_bytes()).ok());
    let mut ctx = open.context();
    ctx.insert("bundling", view.bundling);
    ctx.insert("protection", view.protection);
    ctx.insert("pgp_source", view.pgp_source);
    ctx.insert("pgp_text", view.pgp_text);
    ctx.insert("suggestion", &view.suggestion);
    ctx.insert("errors", &view.errors);
    ctx.insert("shipment_count", &open.draft.choices.shipments.len());
    ctx.insert("current_pgp", &open.draft.choices.pgp);
    ctx.insert(
        "saved_pgp",
        &saved.map(|r| (r.fingerprint(), r.user_ids().join(", "))),
    );
    respond::page_with(state, "customer/protection.html", ctx, status)
}

/// `GET /request/{draft}/protection`
pub async fn page(state: web::Data<AppState>, open: Open) -> Result<HttpResponse, AppError> {
    let c = &open.draft.choices;
    let view = View {
        bundling: c.bundling.unwrap_or(Bundling::One).as_str(),
        protection: c.protection.unwrap_or(ProtectionKind::Password).as_str(),
        pgp_source: if c.pgp.is_some() { "current" } else { "new" },
        pgp_text: "",
        suggestion: None,
        errors: BTreeMap::new(),
    };
    render(&state, &open, view, StatusCode::OK).await
}

/// The form's fields as the use case takes them.
fn input(form: &Fields) -> ProtectionInput {
    ProtectionInput {
        bundling: match form.text("bundling") {
            "per_shipment" => Bundling::PerShipment,
            _ => Bundling::One,
        },
        kind: ProtectionKind::parse(form.text("protection")),
        password: SecretString::new(form.get("password").unwrap_or("").to_string()),
        password_confirm: SecretString::new(form.get("password_confirm").unwrap_or("").to_string()),
        pgp_text: form.get("pgp_key").unwrap_or("").to_string(),
        pgp_file: form.get("pgp_file").unwrap_or("").to_string(),
        source: match form.text("pgp_source") {
            "saved" => KeySource::Saved,
            "current" => KeySource::Current,
            _ => KeySource::New,
        },
    }
}

/// `POST /request/{draft}/protection` (multipart: the key may come as a file). "Suggest a
/// passphrase" shows the page again with one filled in; "continue" saves.
pub async fn save(
    state: web::Data<AppState>,
    upload: CsrfMultipart<Open, ProtectionUpload>,
) -> Result<HttpResponse, AppError> {
    let CsrfMultipart {
        guard: open, parts, ..
    } = upload;
    let form = Fields::from_parts(parts);
    let chosen = input(&form);
    let suggestion =
        (form.text("action") == "suggest").then(|| suggest_passphrase().expose().to_string());
    let outcome = match suggestion {
        Some(_) => Ok(()),
        None => {
            let (vault, now, mut draft) =
                (state.vault.clone(), state.clock.now(), open.draft.clone());
            let chosen = input(&form);
            state
                .db
                .run(move |conn| {
                    Ok::<_, DbError>(protection::choose(conn, &vault, &mut draft, &chosen, now))
                })
                .await?
        }
    };
    let errors = match outcome {
        Ok(()) if suggestion.is_none() => {
            return Ok(respond::see_other(&step_url(&open.draft.id, Step::Format)))
        }
        Ok(()) => BTreeMap::new(),
        Err(ProtectionError::Fields(errors)) => errors,
        Err(e) => return Err(AppError::internal(e)),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let view = View {
        bundling: chosen.bundling.as_str(),
        protection: chosen.kind.map(ProtectionKind::as_str).unwrap_or(""),
        pgp_source: form.text("pgp_source"),
        pgp_text: form.get("pgp_key").unwrap_or(""),
        suggestion,
        errors,
    };
    render(&state, &open, view, status).await
}
