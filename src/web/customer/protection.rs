//! Step 2: one file or one per shipment; password, PGP or both. Passwords are sealed in the
//! draft, never stored in its choices; the public key is shown back with its fingerprint.

use super::fields::Fields;
use super::{context, open, render_status, see_other, step_url, Session};
use crate::db::schema::customers;
use crate::pipeline::{suggest_passphrase, PgpRecipient, ZipPassword};
use crate::request::draft::{self, PgpChoice};
use crate::request::{Bundling, Draft, ProtectionKind, Step};
use crate::vault::SecretString;
use crate::web::multipart;
use crate::web::{AppError, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::prelude::*;
use std::collections::BTreeMap;

/// Largest protection form accepted (a public key is a few KiB).
const MAX_BODY: usize = 256 * 1024;
/// The form has a dozen fields; anything far beyond that is not our form.
const MAX_PARTS: usize = 64;

/// The customer's saved PGP key, offered only to the address it was approved for.
async fn saved_key(state: &AppState, draft: &Draft) -> Result<Option<String>, AppError> {
    let id = draft.customer_id.clone();
    let email = draft.requester_email.to_lowercase();
    state
        .db
        .run(move |conn| {
            let key: Option<(Option<String>, Option<String>)> = customers::table
                .find(&id)
                .select((customers::saved_pgp_key, customers::saved_pgp_email))
                .first(conn)
                .optional()?;
            Ok::<_, AppError>(key.and_then(|(key, owner)| {
                key.filter(|_| owner.is_some_and(|o| o.to_lowercase() == email))
            }))
        })
        .await
}

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
    session: &Session,
    draft: &Draft,
    view: View<'_>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let saved = saved_key(state, draft)
        .await?
        .and_then(|k| PgpRecipient::parse(k.as_bytes()).ok());
    let mut ctx = context(session, draft, Step::Protection);
    ctx.insert("bundling", view.bundling);
    ctx.insert("protection", view.protection);
    ctx.insert("pgp_source", view.pgp_source);
    ctx.insert("pgp_text", view.pgp_text);
    ctx.insert("suggestion", &view.suggestion);
    ctx.insert("errors", &view.errors);
    ctx.insert("shipment_count", &draft.choices.shipments.len());
    ctx.insert("current_pgp", &draft.choices.pgp);
    ctx.insert(
        "saved_pgp",
        &saved.map(|r| (r.fingerprint(), r.user_ids().join(", "))),
    );
    render_status(state, "customer/protection.html", ctx, status)
}

/// `GET /request/{draft}/protection`
pub async fn page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (session, draft) = match open(&state, &req, &path, Step::Protection).await {
        Ok(x) => x,
        Err(r) => return r.into_response(),
    };
    let c = &draft.choices;
    let view = View {
        bundling: c.bundling.unwrap_or(Bundling::One).as_str(),
        protection: c.protection.unwrap_or(ProtectionKind::Password).as_str(),
        pgp_source: if c.pgp.is_some() { "current" } else { "new" },
        pgp_text: "",
        suggestion: None,
        errors: BTreeMap::new(),
    };
    render(&state, &session, &draft, view, StatusCode::OK).await
}

/// `POST /request/{draft}/protection` (multipart: the key may come as a file).
pub async fn save(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (session, mut draft) = match open(&state, &req, &path, Step::Protection).await {
        Ok(x) => x,
        Err(r) => return r.into_response(),
    };
    let limits = multipart::Limits {
        total: MAX_BODY,
        parts: MAX_PARTS,
    };
    let parts = multipart::read(&req, payload, limits)
        .await
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    let form = Fields(
        parts
            .into_iter()
            .map(|p| (p.name, String::from_utf8_lossy(&p.data).into_owned()))
            .collect(),
    );
    session.verify(form.get("csrf"))?;

    let mut errors = BTreeMap::new();
    let bundling = match form.text("bundling") {
        "per_shipment" => Bundling::PerShipment,
        _ => Bundling::One,
    };
    let kind = match form.text("protection") {
        "password" => Some(ProtectionKind::Password),
        "pgp" => Some(ProtectionKind::Pgp),
        "both" => Some(ProtectionKind::Both),
        _ => None,
    };
    let pgp_text = form.get("pgp_key").unwrap_or("");
    let pgp_file = form.get("pgp_file").unwrap_or("");
    let pgp_source = form.text("pgp_source");
    if form.text("action") == "suggest" {
        let view = View {
            bundling: bundling.as_str(),
            protection: form.text("protection"),
            pgp_source,
            pgp_text,
            suggestion: Some(suggest_passphrase().expose().to_string()),
            errors,
        };
        return render(&state, &session, &draft, view, StatusCode::OK).await;
    }
    let Some(kind) = kind else {
        errors.insert("protection", "Choose how the file is protected.".into());
        let view = View {
            bundling: bundling.as_str(),
            protection: "",
            pgp_source,
            pgp_text,
            suggestion: None,
            errors,
        };
        return render(
            &state,
            &session,
            &draft,
            view,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let mut password = None;
    if kind.has_password() {
        let first = form.get("password").unwrap_or("");
        let second = form.get("password_confirm").unwrap_or("");
        if first != second {
            errors.insert("password_confirm", "The two passwords do not match.".into());
        } else {
            match ZipPassword::parse(SecretString::new(first.to_string())) {
                Ok(p) => password = Some(SecretString::new(p.expose().to_string())),
                Err(e) => {
                    errors.insert("password", format!("{e}."));
                }
            }
        }
    }
    let mut pgp = None;
    if kind.has_pgp() {
        let now = state.clock.now();
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(now.max(0) as u64);
        let source = if !pgp_file.trim().is_empty() {
            Some(pgp_file.to_string())
        } else if !pgp_text.trim().is_empty() {
            Some(pgp_text.to_string())
        } else if pgp_source == "saved" {
            saved_key(&state, &draft).await?
        } else if pgp_source == "current" {
            draft.choices.pgp.as_ref().map(|p| p.armored.clone())
        } else {
            None
        };
        match source.map(|s| PgpRecipient::parse_at(s.as_bytes(), at)) {
            None => {
                errors.insert("pgp_key", "Paste or upload your PGP public key.".into());
            }
            Some(Err(e)) => {
                errors.insert("pgp_key", format!("{e}."));
            }
            Some(Ok(r)) => match r.armored_public() {
                Ok(armored) => {
                    pgp = Some(PgpChoice {
                        armored,
                        fingerprint: r.fingerprint(),
                        user_ids: r.user_ids(),
                    })
                }
                Err(e) => {
                    errors.insert("pgp_key", format!("{e}."));
                }
            },
        }
    }
    if !errors.is_empty() {
        let view = View {
            bundling: bundling.as_str(),
            protection: kind.as_str(),
            pgp_source,
            pgp_text,
            suggestion: None,
            errors,
        };
        return render(
            &state,
            &session,
            &draft,
            view,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let mut choices = draft.choices.clone();
    choices.bundling = Some(bundling);
    choices.protection = Some(kind);
    choices.pgp = pgp;
    let vault = state.vault.clone();
    let now = state.clock.now();
    let id = draft.id.clone();
    state
        .db
        .run(move |conn| {
            draft::advance(
                conn,
                &vault,
                &mut draft,
                Step::Format,
                &choices,
                now,
                |secrets| secrets.set_zip_password(password.as_ref()),
            )
            .map_err(AppError::internal)
        })
        .await?;
    Ok(see_other(&step_url(&id, Step::Format)))
}
