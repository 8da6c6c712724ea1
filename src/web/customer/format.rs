//! Step 3: the file format. Formats that cannot carry the selected tokens are disabled with
//! the reason (checked on the tokens' shapes, no seed decrypted); PSKC keys and passphrases
//! are sealed in the draft; the custom CSV builder works without JavaScript.

use super::fields::Fields;
use super::format_form::{BuilderView, PROPERTIES};
use super::{context, open, render_status, see_other, step_url, Session};
use crate::formats::{self, FormatId};
use crate::pipeline::choice;
use crate::request::{draft, tokens, Draft, Step};
use crate::vault::SecretString;
use crate::web::{AppError, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use rand::RngCore;
use serde::Serialize;
use std::collections::BTreeMap;

/// One format as the picker shows it.
#[derive(Serialize)]
struct Choice {
    id: &'static str,
    name: &'static str,
    help: &'static str,
    carries: &'static str,
    disabled: Option<String>,
}

/// Which formats can carry the draft's tokens.
async fn choices(state: &AppState, draft: &Draft) -> Result<Vec<Choice>, AppError> {
    let ids: Vec<String> = draft
        .choices
        .shipments
        .iter()
        .map(|s| s.id.clone())
        .collect();
    let shapes = state
        .db
        .run(move |conn| tokens::shapes(conn, &ids).map_err(AppError::internal))
        .await?;
    Ok(formats::all()
        .iter()
        .map(|f| Choice {
            id: f.id.as_str(),
            name: f.name,
            help: f.help,
            carries: f.carries,
            disabled: f
                .check(&mut shapes.iter().cloned())
                .err()
                .map(|e| e.to_string()),
        })
        .collect())
}

struct View {
    format: String,
    builder: BuilderView,
    pskc_key: String,
    psk_generated: bool,
    errors: BTreeMap<&'static str, String>,
}

async fn render(
    state: &AppState,
    session: &Session,
    draft: &Draft,
    view: View,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let mut ctx = context(session, draft, Step::Format);
    ctx.insert("formats", &choices(state, draft).await?);
    ctx.insert("format", &view.format);
    ctx.insert("builder", &view.builder);
    ctx.insert("properties", PROPERTIES);
    ctx.insert("pskc_key", &view.pskc_key);
    ctx.insert("psk_generated", &view.psk_generated);
    ctx.insert("errors", &view.errors);
    ctx.insert("pgp", &draft.choices.pgp);
    render_status(state, "customer/format.html", ctx, status)
}

/// `GET /request/{draft}/format`
pub async fn page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (session, draft) = match open(&state, &req, &path, Step::Format).await {
        Ok(x) => x,
        Err(r) => return r.into_response(),
    };
    let view = View {
        format: draft
            .choices
            .format
            .map(|f| f.as_str().to_string())
            .unwrap_or_default(),
        builder: BuilderView::from_spec(draft.choices.custom_csv.as_ref()),
        pskc_key: String::new(),
        psk_generated: false,
        errors: BTreeMap::new(),
    };
    render(&state, &session, &draft, view, StatusCode::OK).await
}

/// `POST /request/{draft}/format`: a builder button re-shows the page; "continue" saves.
pub async fn save(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (session, mut draft) = match open(&state, &req, &path, Step::Format).await {
        Ok(x) => x,
        Err(r) => return r.into_response(),
    };
    let form = Fields(form.into_inner());
    session.verify(form.get("csrf"))?;
    let action = form.text("action");
    let mut view = View {
        format: form.text("format").to_string(),
        builder: BuilderView::from_form(&form),
        pskc_key: form.text("pskc_key").to_string(),
        psk_generated: false,
        errors: BTreeMap::new(),
    };
    if action == "generate_psk" {
        let mut key = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut key);
        view.pskc_key = hex::encode_upper(key);
        view.psk_generated = true;
        view.format = FormatId::PskcPsk.as_str().into();
        return render(&state, &session, &draft, view, StatusCode::OK).await;
    }
    if view.builder.apply(action) {
        view.format = FormatId::CustomCsv.as_str().into();
        return render(&state, &session, &draft, view, StatusCode::OK).await;
    }

    let Ok(id) = view.format.parse::<FormatId>() else {
        view.errors.insert("format", "Choose a file format.".into());
        return render(
            &state,
            &session,
            &draft,
            view,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let picked = choices(&state, &draft)
        .await?
        .into_iter()
        .find(|c| c.id == id.as_str())
        .and_then(|c| c.disabled);
    if let Some(reason) = picked {
        view.errors.insert("format", reason);
    }
    let mut passphrase = None;
    let mut psk = None;
    let mut spec = None;
    match id {
        FormatId::PskcPassphrase => {
            let first = form.get("pskc_passphrase").unwrap_or("");
            if first != form.get("pskc_passphrase_confirm").unwrap_or("") {
                view.errors.insert(
                    "pskc_passphrase_confirm",
                    "The two passphrases do not match.".into(),
                );
            } else {
                match choice::pskc_passphrase(SecretString::new(first.to_string())) {
                    Ok(p) => passphrase = Some(p),
                    Err(e) => {
                        // The field already says "passphrase": show the policy's own words.
                        let message = match e {
                            choice::ChoiceError::Passphrase(policy) => policy.to_string(),
                            other => other.to_string(),
                        };
                        view.errors.insert("pskc_passphrase", format!("{message}."));
                    }
                }
            }
        }
        FormatId::PskcPsk => match choice::pskc_key_hex(&view.pskc_key) {
            Ok(key) => psk = Some(choice::pskc_key_text(&key)),
            Err(e) => {
                view.errors.insert("pskc_key", format!("{e}."));
            }
        },
        FormatId::CustomCsv => match view.builder.to_spec() {
            Ok(s) => spec = Some(s),
            Err(e) => {
                view.errors.insert("custom", e);
            }
        },
        _ => {}
    }
    if !view.errors.is_empty() {
        view.format = id.as_str().into();
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
    choices.format = Some(id);
    choices.custom_csv = spec;
    let vault = state.vault.clone();
    let now = state.clock.now();
    let draft_id = draft.id.clone();
    state
        .db
        .run(move |conn| {
            draft::advance(
                conn,
                &vault,
                &mut draft,
                Step::Review,
                &choices,
                now,
                |secrets| secrets.set_pskc(passphrase.as_ref(), psk.as_ref()),
            )
            .map_err(AppError::internal)
        })
        .await?;
    Ok(see_other(&step_url(&draft_id, Step::Review)))
}
