//! The delivery team's console: routes, the signed-in session check, roles and its error type.

mod audit;
mod customers;
mod emails;
mod import;
mod login;
mod orders;
mod requests;

use super::csrf;
use super::{AppError, AppState};
use crate::db::DbError;
use crate::staff::session::{self, Session};
use crate::staff::Role;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};

/// The staff session cookie. Before sign-in it holds an anonymous value that only keys the
/// sign-in form's CSRF token; sign-in replaces it with a fresh session id.
pub const COOKIE: &str = "sp_staff";

/// Registers `/staff/...`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/staff",
        web::get().to(|| async { see_other("/staff/requests") }),
    )
    .route("/staff/login", web::get().to(login::form))
    .route("/staff/login", web::post().to(login::submit))
    .route("/staff/logout", web::post().to(login::logout))
    .route("/staff/requests", web::get().to(requests::queue))
    .route("/staff/requests/{id}", web::get().to(requests::detail))
    .route(
        "/staff/requests/{id}/approve",
        web::post().to(requests::approve),
    )
    .route(
        "/staff/requests/{id}/reject",
        web::post().to(requests::reject),
    )
    .route(
        "/staff/packages/{id}/{action}",
        web::post().to(requests::package_action),
    )
    .route("/staff/emails", web::get().to(emails::page))
    .route("/staff/emails/{id}/retry", web::post().to(emails::retry))
    .route("/staff/customers", web::get().to(customers::page))
    .route("/staff/customers/{id}", web::post().to(customers::save))
    .route("/staff/orders", web::get().to(orders::page))
    .route("/staff/import", web::get().to(import::form))
    .route("/staff/import", web::post().to(import::submit))
    .route("/staff/audit", web::get().to(audit::page));
}

/// What a staff page can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    /// No live session: go and sign in.
    #[error("sign in first")]
    SignIn,
    /// Signed in, but the role does not allow this page.
    #[error("Your role does not allow this page. Ask an administrator if you need it.")]
    Forbidden,
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<DbError> for StaffError {
    fn from(e: DbError) -> StaffError {
        StaffError::App(e.into())
    }
}

impl From<diesel::result::Error> for StaffError {
    fn from(e: diesel::result::Error) -> StaffError {
        StaffError::App(e.into())
    }
}

impl From<tera::Error> for StaffError {
    fn from(e: tera::Error) -> StaffError {
        StaffError::App(e.into())
    }
}

impl ResponseError for StaffError {
    fn status_code(&self) -> StatusCode {
        match self {
            StaffError::SignIn => StatusCode::SEE_OTHER,
            StaffError::Forbidden => StatusCode::FORBIDDEN,
            StaffError::App(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            StaffError::SignIn => see_other("/staff/login"),
            StaffError::Forbidden => HttpResponse::Forbidden()
                .content_type("text/html; charset=utf-8")
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .body(format!(
                    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
                     <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
                     <title>Forbidden</title><link rel=\"stylesheet\" href=\"/static/css/site.css\"></head>\
                     <body><main id=\"main\" class=\"wrap\"><div class=\"card\"><h1>Forbidden</h1>\
                     <p role=\"alert\">{self}</p><p><a href=\"/staff/requests\">Back to the review queue</a></p>\
                     </div></main></body></html>"
                )),
            StaffError::App(e) => e.error_response(),
        }
    }
}

/// A `303 See Other` to `location`.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// The cookie's value, if the browser sent one.
fn cookie_value(req: &HttpRequest) -> Option<String> {
    csrf::request_cookie(req, COOKIE).map(|c| c.value().to_string())
}

/// The live session behind the request's cookie, or [`StaffError::SignIn`].
pub async fn signed_in(req: &HttpRequest, state: &AppState) -> Result<Session, StaffError> {
    let Some(cookie) = cookie_value(req) else {
        return Err(StaffError::SignIn);
    };
    let now = state.clock.now();
    let found: Option<Session> = state
        .db
        .run(move |conn| session::resume(conn, &cookie, now).map_err(DbError::Query))
        .await?;
    found.ok_or(StaffError::SignIn)
}

/// Admins only.
pub fn require_admin(session: &Session) -> Result<(), StaffError> {
    match session.staff.role {
        Role::Admin => Ok(()),
        Role::Reviewer => Err(StaffError::Forbidden),
    }
}

/// Checks a form's CSRF token against the session's.
pub fn check_csrf(session: &Session, submitted: Option<&str>) -> Result<(), StaffError> {
    csrf::verify(&session.csrf, submitted).map_err(StaffError::App)
}

/// The context every signed-in page starts from: who, their role, the CSRF token.
pub fn page_context(session: &Session) -> tera::Context {
    let mut ctx = tera::Context::new();
    ctx.insert("me", &session.staff);
    ctx.insert("is_admin", &(session.staff.role == Role::Admin));
    ctx.insert("csrf", &session.csrf);
    ctx
}

/// Renders a staff page with a status other than 200.
pub fn render_status(
    state: &AppState,
    template: &str,
    ctx: tera::Context,
    status: StatusCode,
) -> Result<HttpResponse, StaffError> {
    let mut response = state.render(template, ctx)?;
    *response.status_mut() = status;
    Ok(response)
}

/// The client's address as the audit log records it.
pub fn client_ip(req: &HttpRequest, state: &AppState) -> String {
    super::security::client_ip(req, &state.config.trusted_proxies)
}
