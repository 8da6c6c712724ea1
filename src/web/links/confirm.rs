//! `GET /c/{token}` asks the customer to confirm they have the file; `POST /c/{token}`
//! destroys the package and kills both links.

use super::{csrf_for, gone_page, render_page, reused, LinkCookie};
use crate::delivery::links::{self, ConfirmOutcome, LinkKind};
use crate::delivery::LinkToken;
use crate::web::kit::{ClientIp, CsrfForm};
use crate::web::{AppError, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::de::IgnoredAny;

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

/// `POST /c/{token}`: one call to `delivery::links::confirm`.
pub async fn confirm(
    state: web::Data<AppState>,
    token: web::Path<String>,
    _checked: CsrfForm<LinkCookie, IgnoredAny>,
    ip: ClientIp,
) -> Result<HttpResponse, AppError> {
    let token = LinkToken::from_url(token.into_inner());
    let (app, now) = (state.clone(), state.clock.now());
    let outcome = state
        .db
        .run(move |conn| links::confirm(conn, &app.config, &app.tera, &token, &ip.0, now))
        .await?;
    let pending = match outcome {
        ConfirmOutcome::Confirmed => false,
        ConfirmOutcome::Pending => true,
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
