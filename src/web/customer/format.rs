//! Step 3: the file format. Formats that cannot carry the selected tokens (or the chosen
//! protection) are disabled with the reason; PSKC keys and passphrases are sealed in the draft;
//! the custom CSV builder works without JavaScript. The checks live in `request::format_choice`.

use super::fields::Fields;
use super::format_form::{BuilderView, PROPERTIES};
use super::step_url;
use crate::formats::FormatId;
use crate::request::format_choice::{self, FormatChoiceError, FormatInput};
use crate::request::Step;
use crate::vault::SecretString;
use crate::web::kit::draft::{self as at, DraftAt};
use crate::web::kit::{respond, CsrfForm};
use crate::web::{AppError, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use rand::RngCore;
use std::collections::BTreeMap;

type Open = DraftAt<at::Format>;

/// What the page shows back in its fields.
struct View {
    format: String,
    builder: BuilderView,
    pskc_key: String,
    psk_generated: bool,
    errors: BTreeMap<&'static str, String>,
}

async fn render(
    state: &AppState,
    open: &Open,
    view: View,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let draft = open.draft.clone();
    let formats = state
        .db
        .run(move |conn| format_choice::offered(conn, &draft).map_err(AppError::internal))
        .await?;
    let mut ctx = open.context();
    ctx.insert("formats", &formats);
    ctx.insert("format", &view.format);
    ctx.insert("builder", &view.builder);
    ctx.insert("properties", PROPERTIES);
    ctx.insert("pskc_key", &view.pskc_key);
    ctx.insert("psk_generated", &view.psk_generated);
    ctx.insert("errors", &view.errors);
    ctx.insert("pgp", &open.draft.choices.pgp);
    respond::page_with(state, "customer/format.html", ctx, status)
}

/// `GET /request/{draft}/format`
pub async fn page(state: web::Data<AppState>, open: Open) -> Result<HttpResponse, AppError> {
    let view = View {
        format: open
            .draft
            .choices
            .format
            .map(|f| f.as_str().to_string())
            .unwrap_or_default(),
        builder: BuilderView::from_spec(open.draft.choices.custom_csv.as_ref()),
        pskc_key: String::new(),
        psk_generated: false,
        errors: BTreeMap::new(),
    };
    render(&state, &open, view, StatusCode::OK).await
}

/// A fresh 16-byte PSKC pre-shared key, as the hex the field shows.
fn generated_key() -> String {
    let mut key = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut key);
    hex::encode_upper(key)
}

/// `POST /request/{draft}/format`: "generate a key" and the builder's buttons show the page
/// again; "continue" saves.
pub async fn save(
    state: web::Data<AppState>,
    posted: CsrfForm<Open, Fields>,
) -> Result<HttpResponse, AppError> {
    let CsrfForm { guard: open, form } = posted;
    let action = form.text("action");
    let mut view = View {
        format: form.text("format").to_string(),
        builder: BuilderView::from_form(&form),
        pskc_key: form.text("pskc_key").to_string(),
        psk_generated: action == "generate_psk",
        errors: BTreeMap::new(),
    };
    if view.psk_generated {
        view.pskc_key = generated_key();
        view.format = FormatId::PskcPsk.as_str().into();
        return render(&state, &open, view, StatusCode::OK).await;
    }
    if view.builder.apply(action) {
        view.format = FormatId::CustomCsv.as_str().into();
        return render(&state, &open, view, StatusCode::OK).await;
    }
    let input = FormatInput {
        format: view.format.parse::<FormatId>().ok(),
        pskc_passphrase: SecretString::new(form.get("pskc_passphrase").unwrap_or("").into()),
        pskc_passphrase_confirm: SecretString::new(
            form.get("pskc_passphrase_confirm").unwrap_or("").into(),
        ),
        pskc_key: view.pskc_key.clone(),
        custom_csv: view.builder.to_spec(),
    };
    let (vault, now, mut draft) = (state.vault.clone(), state.clock.now(), open.draft.clone());
    let outcome = state
        .db
        .run(move |conn| {
            Ok::<_, AppError>(format_choice::choose(conn, &vault, &mut draft, &input, now))
        })
        .await?;
    match outcome {
        Ok(()) => Ok(respond::see_other(&step_url(&open.draft.id, Step::Review))),
        Err(FormatChoiceError::Fields(errors)) => {
            view.errors = errors;
            render(&state, &open, view, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(AppError::internal(e)),
    }
}
