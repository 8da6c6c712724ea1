//! The customer's one-time links: `GET/POST /d/{token}` (download) and `GET/POST /c/{token}`
//! (confirm receipt). A GET only shows a page; every change is a CSRF-checked POST.

mod confirm;
pub mod counted;
mod download;

use super::kit::{respond, CsrfSource};
use super::{csrf, AppError, AppState};
use crate::delivery::links::{self, Gone, LinkKind};
use crate::delivery::LinkToken;
use actix_web::cookie::Cookie;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use std::future::{ready, Ready};

/// Double-submit CSRF cookie for the link pages (the customer has no session).
const CSRF_COOKIE: &str = "sp_link_csrf";
const CSRF_PREFIX: &str = "sp_lc_";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/d/{token}", web::get().to(download::page))
        .route("/d/{token}", web::post().to(download::download))
        .route("/c/{token}", web::get().to(confirm::page))
        .route("/c/{token}", web::post().to(confirm::confirm));
}

/// The CSRF value for a form: the browser's existing cookie when it has a well-formed one (so
/// two open tabs both work), else a new one to set.
fn csrf_for(req: &HttpRequest, state: &AppState) -> (String, Option<Cookie<'static>>) {
    if let Some(existing) = csrf::request_cookie(req, CSRF_COOKIE) {
        let value = existing.value();
        if value.starts_with(CSRF_PREFIX) && value.len() == CSRF_PREFIX.len() + 43 {
            return (value.to_string(), None);
        }
    }
    let value = csrf::random_token(CSRF_PREFIX);
    let cookie = csrf::session_cookie(
        csrf::cookie_name(CSRF_COOKIE, &state.config),
        value.clone(),
        &state.config,
    );
    (value, Some(cookie))
}

/// The link pages' CSRF guard: the browser's double-submit cookie, which a form's `csrf`
/// field must equal (constant-time). The customer has no session on these pages.
pub struct LinkCookie(Option<String>);

impl FromRequest for LinkCookie {
    type Error = AppError;
    type Future = Ready<Result<LinkCookie, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(LinkCookie(
            csrf::request_cookie(req, CSRF_COOKIE).map(|c| c.value().to_string()),
        )))
    }
}

impl CsrfSource for LinkCookie {
    fn check_csrf(&self, submitted: Option<&str>) -> Result<(), AppError> {
        csrf::verify(self.0.as_deref().ok_or(AppError::Csrf)?, submitted)
    }
}

impl LinkCookie {
    /// Which browser this is, as the download records it: a hash, never the cookie itself.
    pub fn browser(&self) -> Option<String> {
        self.0
            .as_deref()
            .map(|v| csrf::token_hash(&format!("link-browser:{v}")))
    }
}

/// Renders `template` with `status` (and the CSRF cookie, when a new one was made).
fn render_page(
    state: &AppState,
    template: &str,
    context: tera::Context,
    status: StatusCode,
    cookie: Option<Cookie<'static>>,
) -> Result<HttpResponse, AppError> {
    let mut response = respond::page_with(state, template, context, status)?;
    if let Some(cookie) = cookie {
        response
            .add_cookie(&cookie)
            .map_err(|e| AppError::internal(anyhow::anyhow!("cookie: {e}")))?;
    }
    Ok(response)
}

/// A dead link was opened: audited (and the delivery team alerted at most hourly per file),
/// then the one page saying what happened.
async fn reused(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    kind: LinkKind,
    token: &LinkToken,
    gone: Gone,
) -> Result<HttpResponse, AppError> {
    let app = state.clone();
    let token = LinkToken::from_url(token.expose().to_string());
    let ip = super::security::client_ip(req, &state.config.trusted_proxies);
    let now = state.clock.now();
    state
        .db
        .run(move |conn| {
            links::note_reuse(conn, &app.config, &app.tera, kind, &token, gone, &ip, now)
        })
        .await?;
    gone_page(state, gone)
}

/// The one page for a link that does not work (any more): what happened and whom to contact.
fn gone_page(state: &AppState, gone: Gone) -> Result<HttpResponse, AppError> {
    let (title, message) = match gone {
        Gone::Unknown => (
            "This link is not valid",
            "The link may be incomplete: copy the whole link from the email into the address bar. \
             Links from an older email stop working once a newer one is sent.",
        ),
        Gone::Used => (
            "This download link has been used",
            "The file has already been downloaded as many times as allowed. If you need it again, \
             ask the delivery team for a new request.",
        ),
        Gone::Expired => (
            "This link has expired",
            "The file was kept for a limited time only and has now been deleted. You can make a \
             new request, or ask the delivery team for help.",
        ),
        Gone::Locked => (
            "This download is locked",
            "The wrong password was entered too many times, so the download was locked to protect \
             your token secrets. The delivery team has been told; write to them to get your file.",
        ),
        Gone::Confirmed => (
            "Receipt already confirmed",
            "You confirmed that you have the file, so we deleted our copy and its links. Nothing \
             more to do.",
        ),
        Gone::Cancelled => (
            "This file was cancelled",
            "The delivery team cancelled this file and deleted it, so its links no longer work. \
             Write to them if you still need your token seeds.",
        ),
        Gone::Withdrawn => (
            "This request was not approved",
            "The delivery team did not approve this request and its file was deleted. Their email \
             gives the reason.",
        ),
    };
    let mut context = tera::Context::new();
    context.insert("title", title);
    context.insert("message", message);
    context.insert("kind", &format!("{gone:?}").to_lowercase());
    let status = StatusCode::from_u16(gone.status()).unwrap_or(StatusCode::GONE);
    render_page(state, "links/gone.html", context, status, None)
}
