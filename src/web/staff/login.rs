//! `GET/POST /staff/login` and `POST /staff/logout`.

use super::{client_ip, cookie_value, see_other, signed_in, StaffError, COOKIE};
use crate::audit::{self, Entry};
use crate::db::{write_tx, DbError};
use crate::staff::login::{self, Outcome, GENERIC_FAILURE, THROTTLED};
use crate::staff::totp::TotpCode;
use crate::staff::{password, session};
use crate::vault::SecretString;
use crate::web::csrf::{self, random_token, session_cookie, token_hash};
use crate::web::{AppError, AppState};
use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

/// The sign-in form's CSRF token: derived from the anonymous cookie, which a cross-site page
/// can neither read nor send (SameSite=Strict).
fn login_csrf(cookie: &str) -> String {
    token_hash(&format!("seedport:staff-login:{cookie}"))
}

/// The sign-in page. Sets an anonymous cookie when the browser has none (no server state).
/// Signing in while signed in replaces the current session.
pub async fn form(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, StaffError> {
    render_form(&req, &state, None, "", StatusCode::OK)
}

fn render_form(
    req: &HttpRequest,
    state: &AppState,
    error: Option<&str>,
    email: &str,
    status: StatusCode,
) -> Result<HttpResponse, StaffError> {
    let (cookie, fresh) = match cookie_value(req) {
        Some(c) => (c, false),
        None => (random_token("sp_pre_"), true),
    };
    let mut ctx = tera::Context::new();
    ctx.insert("csrf", &login_csrf(&cookie));
    ctx.insert("error", &error);
    ctx.insert("email", email);
    let mut response = state.render("staff/login.html", ctx)?;
    *response.status_mut() = status;
    if fresh {
        response
            .add_cookie(&session_cookie(
                csrf::cookie_name(COOKIE, &state.config),
                cookie,
                &state.config,
            ))
            .map_err(|e| StaffError::App(AppError::internal(e)))?;
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
    csrf: Option<String>,
}

/// Checks credentials; on success starts a new session under a new id.
pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, StaffError> {
    let form = form.into_inner();
    let old_cookie = cookie_value(&req);
    let expected = old_cookie.as_deref().map(login_csrf).unwrap_or_default();
    csrf::verify(&expected, form.csrf.as_deref())?;
    let code = TotpCode::parse(&form.code);
    let email = form.email.clone();
    let password = SecretString::new(form.password);
    let ip = client_ip(&req, &state);
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
        .map_err(|e| StaffError::App(AppError::internal(e)))?;
    Ok(response)
}

#[derive(Deserialize)]
pub struct LogoutForm {
    csrf: Option<String>,
}

/// Ends the session on the server and clears the cookie.
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LogoutForm>,
) -> Result<HttpResponse, StaffError> {
    let session = signed_in(&req, &state).await?;
    super::check_csrf(&session, form.csrf.as_deref())?;
    let ip = client_ip(&req, &state);
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
    response
        .add_cookie(&gone)
        .map_err(|e| StaffError::App(AppError::internal(e)))?;
    Ok(response)
}
