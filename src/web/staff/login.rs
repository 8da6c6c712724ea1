//! `GET/POST /staff/login` and `POST /staff/logout`.

use super::COOKIE;
use crate::audit::{self, Entry};
use crate::db::{write_tx, DbError};
use crate::staff::login::{self, Outcome, GENERIC_FAILURE, THROTTLED};
use crate::staff::totp::TotpCode;
use crate::staff::{password, session};
use crate::vault::SecretString;
use crate::web::csrf::{self, random_token, session_cookie, token_hash};
use crate::web::kit::staff::cookie_value;
use crate::web::kit::{respond, see_other, ClientIp, CsrfForm, CsrfSource, StaffSession};
use crate::web::{AppError, AppState};
use actix_web::cookie::Cookie;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde::de::IgnoredAny;
use serde::Deserialize;
use std::future::{ready, Ready};

/// The sign-in form's CSRF token: derived from the anonymous cookie, which a cross-site page
/// can neither read nor send (SameSite=Strict).
fn login_csrf(cookie: &str) -> String {
    token_hash(&format!("seedport:staff-login:{cookie}"))
}

/// The sign-in form's CSRF guard: the browser's staff cookie as it was before sign-in.
pub struct LoginCookie(Option<String>);

impl FromRequest for LoginCookie {
    type Error = AppError;
    type Future = Ready<Result<LoginCookie, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(LoginCookie(cookie_value(req))))
    }
}

impl CsrfSource for LoginCookie {
    fn check_csrf(&self, submitted: Option<&str>) -> Result<(), AppError> {
        let expected = self.0.as_deref().map(login_csrf).unwrap_or_default();
        csrf::verify(&expected, submitted)
    }
}

/// The sign-in page. Sets an anonymous cookie when the browser has none (no server state).
/// Signing in while signed in replaces the current session.
pub async fn form(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    render_form(&req, &state, None, "", StatusCode::OK)
}

fn render_form(
    req: &HttpRequest,
    state: &AppState,
    error: Option<&str>,
    email: &str,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let (cookie, fresh) = match cookie_value(req) {
        Some(c) => (c, false),
        None => (random_token("sp_pre_"), true),
    };
    let mut ctx = tera::Context::new();
    ctx.insert("csrf", &login_csrf(&cookie));
    ctx.insert("error", &error);
    ctx.insert("email", email);
    let mut response = respond::page_with(state, "staff/login.html", ctx, status)?;
    if fresh {
        response
            .add_cookie(&session_cookie(
                csrf::cookie_name(COOKIE, &state.config),
                cookie,
                &state.config,
            ))
            .map_err(AppError::internal)?;
    }
    Ok(response)
}

/// The sign-in form. No `Debug`: it holds a password.
#[derive(Deserialize)]
#[serde(default)]
#[derive(Default)]
pub struct LoginForm {
    email: String,
    password: String,
    code: String,
}

/// Checks credentials; on success starts a new session under a new id.
pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    posted: CsrfForm<LoginCookie, LoginForm>,
    ip: ClientIp,
) -> Result<HttpResponse, AppError> {
    let CsrfForm {
        guard: LoginCookie(old_cookie),
        form,
    } = posted;
    let code = TotpCode::parse(&form.code);
    let email = form.email.clone();
    let password = SecretString::new(form.password);
    let ip = ip.0;
    let now = state.clock.now();
    // Phase 1 holds a connection for two short statements; the hash runs with none held.
    let begin_ip = ip.clone();
    let attempt = state
        .db
        .run(move |conn| {
            login::begin(conn, &email, &begin_ip, now)
                .map_err(|e| AppError::internal(anyhow::Error::new(e)))
        })
        .await?;
    let password_ok = if attempt.needs_hash() {
        password::verify_bounded(password, attempt.stored_hash()).await
    } else {
        false
    };
    let vault = state.vault.clone();
    let outcome = state
        .db
        .run(move |conn| {
            let outcome = login::finish(conn, &vault, &attempt, password_ok, code, &ip, now)
                .map_err(|e| AppError::internal(anyhow::Error::new(e)))?;
            match outcome {
                Outcome::SignedIn(member) => {
                    let id = session::start(conn, &member.id, old_cookie.as_deref(), now)?;
                    Ok::<_, AppError>(Ok(id))
                }
                other => Ok(Err(other)),
            }
        })
        .await?;
    let id = match outcome {
        Ok(id) => id,
        Err(failed) => {
            let email = form.email.chars().take(254).collect::<String>();
            let (message, status) = match failed {
                Outcome::Throttled => (THROTTLED, StatusCode::TOO_MANY_REQUESTS),
                _ => (GENERIC_FAILURE, StatusCode::UNAUTHORIZED),
            };
            return render_form(&req, &state, Some(message), &email, status);
        }
    };
    let mut response = see_other("/staff/requests");
    response
        .add_cookie(&session_cookie(
            csrf::cookie_name(COOKIE, &state.config),
            id.expose().to_string(),
            &state.config,
        ))
        .map_err(AppError::internal)?;
    Ok(response)
}

/// Ends the session on the server and clears the cookie.
pub async fn logout(
    state: web::Data<AppState>,
    posted: CsrfForm<StaffSession, IgnoredAny>,
    ip: ClientIp,
) -> Result<HttpResponse, AppError> {
    let StaffSession(session) = posted.guard;
    let ip = ip.0;
    let now = state.clock.now();
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                session::end(conn, session.id_hash())?;
                audit::record(
                    conn,
                    &Entry {
                        actor: &session.staff.actor(),
                        action: "staff.signed_out",
                        subject: &format!("staff:{}", session.staff.id),
                        client_ip: &ip,
                        details: "",
                    },
                    now,
                )
            })
            .map_err(DbError::Query)
        })
        .await?;
    let mut response = see_other("/staff/login");
    let mut gone = Cookie::new(csrf::cookie_name(COOKIE, &state.config), "");
    gone.set_path("/");
    gone.set_secure(!state.config.is_demo());
    gone.make_removal();
    response.add_cookie(&gone).map_err(AppError::internal)?;
    Ok(response)
}
