//! `GET /c/{token}` asks the customer to confirm they have the file; `POST /c/{token}`
//! destroys the package and kills both links.

use super::{check_csrf, csrf_for, gone_page, render_page, reused};
use crate::delivery::links::{self, ConfirmOutcome, Gone, LinkKind};
use crate::delivery::LinkToken;
use crate::web::security::client_ip;
use crate::web::{AppError, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct ConfirmForm {
    csrf: String,
}

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = LinkToken::from_url(token.into_inner());
    let now = state.clock.now();
    let probe = LinkToken::from_url(token.expose().to_string());
    let found = state
        .db
        .run(move |conn| links::lookup(conn, LinkKind::Confirm, &probe, now))
        .await?;
    let found = match found {
        Ok(found) => found,
        Err(gone) => return reused(&state, &req, LinkKind::Confirm, &token, gone).await,
    };
    let (csrf, cookie) = csrf_for(&req, &state);
    let mut context = tera::Context::new();
    context.insert("file_name", &found.package.file_name);
    context.insert("reference", &found.request.reference);
    context.insert("downloads", &found.package.downloads);
    context.insert("csrf", &csrf);
    render_page(
        &state,
        "links/confirm.html",
        context,
        StatusCode::OK,
        cookie,
    )
}

pub async fn confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, AppError> {
    check_csrf(&req, &form.csrf)?;
    let token = LinkToken::from_url(token.into_inner());
    let ip = client_ip(&req, &state.config.trusted_proxies);
    let now = state.clock.now();
    let app = state.clone();
    let outcome = state
        .db
        .run(move |conn| links::confirm(conn, &app.config, &app.tera, &token, &ip, now))
        .await?;
    let pending = match outcome {
        ConfirmOutcome::Confirmed => false,
        ConfirmOutcome::Pending => true,
        ConfirmOutcome::Gone(Gone::Confirmed) => return gone_page(&state, Gone::Confirmed),
        ConfirmOutcome::Gone(gone) => return gone_page(&state, gone),
    };
    let mut context = tera::Context::new();
    context.insert("pending", &pending);
    render_page(
        &state,
        "links/confirmed.html",
        context,
        StatusCode::OK,
        None,
    )
}
