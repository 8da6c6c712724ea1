//! The review queue (a filter per state, with counts), one request in detail, approve and
//! reject, and the actions on a request's packages (re-send, re-issue, cancel, extend), each
//! behind a fresh authenticator code.

use crate::clock::format_utc;
use crate::db::DbConnection;
use crate::db::DbError;
use crate::delivery::{
    self, ActionDone, AlreadyDecided, ApproveOutcome, DeliveryError, RejectOutcome,
    MAX_EXTEND_DAYS, MAX_REASON_CHARS,
};
use crate::lifecycle::{PackageId, RequestId, State, Who};
use crate::staff::login::{confirm_code, LoginError};
use crate::staff::review::{self, Filter};
use crate::staff::totp::TotpCode;
use crate::web::kit::{see_other, ClientIp, CsrfForm, StaffSession};
use crate::web::{AppError, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

/// Shown next to a code field when the code is refused.
const BAD_CODE: &str =
    "That code is wrong or was already used. Wait for the next code and enter it.";

#[derive(Deserialize)]
pub struct QueueQuery {
    state: Option<String>,
}

/// `GET /staff/requests?state=…`: oldest first, one filter per state with its count.
pub async fn queue(
    state: web::Data<AppState>,
    session: StaffSession,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, AppError> {
    let filter = Filter::parse(query.state.as_deref());
    let now = state.clock.now();
    let rows = state
        .db
        .run(move |conn| review::queue(conn, filter, now).map_err(DbError::Query))
        .await?;
    let mut ctx = session.context();
    ctx.insert("rows", &rows);
    ctx.insert("selected", filter.as_str());
    let label = match filter {
        Filter::State(s) => s.label(),
        Filter::All => "of any state",
    };
    ctx.insert("selected_label", label);
    session.page(&state, "staff/requests.html", ctx).await
}

#[derive(Deserialize)]
pub struct DetailQuery {
    done: Option<String>,
}

/// `GET /staff/requests/{id}`.
pub async fn detail(
    state: web::Data<AppState>,
    session: StaffSession,
    path: web::Path<String>,
    query: web::Query<DetailQuery>,
) -> Result<HttpResponse, AppError> {
    let notice = match query.done.as_deref() {
        Some("approved") => Some("You approved this request."),
        Some("rejected") => Some("You rejected this request; the customer will be told why."),
        Some("resent") => Some("A new download email is on its way; the old links no longer work."),
        Some("reissued") => Some("New links were issued and emailed to the customer."),
        Some("cancelled") => Some("The file is cancelled and destroyed; its links no longer work."),
        Some("extended") => Some("The links' expiry was extended."),
        _ => None,
    };
    let id = RequestId::from_raw(path.into_inner());
    render_detail(
        &state,
        &session,
        id,
        |ctx| {
            ctx.insert("notice", &notice);
        },
        StatusCode::OK,
    )
    .await
}

/// Renders the detail page with `status`; `extra` adds form errors or notices.
async fn render_detail(
    state: &AppState,
    session: &StaffSession,
    id: RequestId,
    extra: impl FnOnce(&mut tera::Context),
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let found = state
        .db
        .run(move |conn| review::detail(conn, &id, now).map_err(DbError::Query))
        .await?;
    let Some(detail) = found else {
        return Err(AppError::NotFound);
    };
    let mut ctx = session.context();
    ctx.insert("r", &detail);
    ctx.insert("max_reason", &MAX_REASON_CHARS);
    ctx.insert("max_extend", &MAX_EXTEND_DAYS);
    ctx.insert("notice", &None::<String>);
    ctx.insert("problem", &None::<String>);
    ctx.insert("code_error", &None::<String>);
    ctx.insert("code_error_for", &None::<String>);
    ctx.insert("reason_error", &None::<String>);
    ctx.insert("reason", "");
    extra(&mut ctx);
    session
        .page_with(state, "staff/request.html", ctx, status)
        .await
}

/// A form that needs a fresh authenticator code. No `Debug`: it holds a TOTP code.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CodeForm {
    code: String,
    days: Option<String>,
}

/// What a step-up action returned: a refused code, or the action's own result.
enum Stepped<T> {
    BadCode,
    Done(T),
}

/// Checks the fresh code and runs `action` on the same connection; the code is consumed even
/// when the action is refused, so it cannot be replayed.
async fn with_fresh_code<T, F>(
    state: &web::Data<AppState>,
    session: &StaffSession,
    ip: &ClientIp,
    code: &str,
    action: F,
) -> Result<Stepped<T>, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection, &AppState, i64) -> Result<T, DeliveryError> + Send + 'static,
{
    let code = TotpCode::parse(code);
    let now = state.clock.now();
    let app = state.clone();
    let staff_id = session.0.staff.id.clone();
    let ip = ip.0.clone();
    state
        .db
        .run(move |conn| {
            if !confirm_code(conn, &app.vault, &staff_id, code, &ip, now).map_err(login_error)? {
                return Ok::<_, AppError>(Stepped::BadCode);
            }
            Ok(Stepped::Done(action(conn, &app, now)?))
        })
        .await
}

/// `POST /staff/requests/{id}/approve`: needs a fresh, unused TOTP code.
pub async fn approve(
    state: web::Data<AppState>,
    path: web::Path<String>,
    posted: CsrfForm<StaffSession, CodeForm>,
    client: ClientIp,
) -> Result<HttpResponse, AppError> {
    let CsrfForm {
        guard: session,
        form,
    } = posted;
    let id = RequestId::from_raw(path.into_inner());
    let (actor, ip) = (session.actor(), client.0.clone());
    let request_id = id.clone();
    let result = with_fresh_code(
        &state,
        &session,
        &client,
        &form.code,
        move |conn, app, now| {
            let who = Who {
                actor: &actor,
                client_ip: &ip,
            };
            delivery::approve(conn, &app.config, &app.tera, &request_id, who, now)
        },
    )
    .await;
    match result {
        Ok(Stepped::BadCode) => bad_code(&state, &session, id, "approve").await,
        Ok(Stepped::Done(ApproveOutcome::Approved { .. })) => Ok(decided(&id, "approved")),
        Ok(Stepped::Done(ApproveOutcome::AlreadyDecided(first))) => {
            already_decided(&state, &session, id, first).await
        }
        Err(AppError::Conflict(message)) => problem(&state, &session, id, message).await,
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RejectForm {
    reason: String,
}

/// `POST /staff/requests/{id}/reject`: needs a reason, which the customer will read.
pub async fn reject(
    state: web::Data<AppState>,
    path: web::Path<String>,
    posted: CsrfForm<StaffSession, RejectForm>,
    client: ClientIp,
) -> Result<HttpResponse, AppError> {
    let CsrfForm {
        guard: session,
        form,
    } = posted;
    let id = RequestId::from_raw(path.into_inner());
    let reason = form.reason.trim().to_string();
    if delivery::parse_reason(&reason).is_err() {
        let message = if reason.is_empty() {
            "Give the reason; the customer will read it.".to_string()
        } else {
            format!("Keep the reason under {MAX_REASON_CHARS} characters.")
        };
        return render_detail(
            &state,
            &session,
            id,
            |ctx| {
                ctx.insert("reason_error", &message);
                ctx.insert("reason", &reason);
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let (actor, ip) = (session.actor(), client.0);
    let (app, request_id, now) = (state.clone(), id.clone(), state.clock.now());
    let outcome = state
        .db
        .run(move |conn| {
            let who = Who {
                actor: &actor,
                client_ip: &ip,
            };
            delivery::reject(conn, &app.config, &app.tera, &request_id, who, &reason, now)
        })
        .await?;
    match outcome {
        RejectOutcome::Rejected { .. } => Ok(decided(&id, "rejected")),
        RejectOutcome::AlreadyDecided(first) => already_decided(&state, &session, id, first).await,
    }
}

/// The package actions of the request page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageAction {
    Resend,
    Reissue,
    Cancel,
    Extend,
}

impl PackageAction {
    fn done(self) -> &'static str {
        match self {
            PackageAction::Resend => "resent",
            PackageAction::Reissue => "reissued",
            PackageAction::Cancel => "cancelled",
            PackageAction::Extend => "extended",
        }
    }
}

/// `POST /staff/packages/{id}/{action}`: one action on one package, behind a fresh code.
pub async fn package_action(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    posted: CsrfForm<StaffSession, CodeForm>,
    client: ClientIp,
) -> Result<HttpResponse, AppError> {
    let CsrfForm {
        guard: session,
        form,
    } = posted;
    let (raw_id, raw_action) = path.into_inner();
    let action = match raw_action.as_str() {
        "resend" => PackageAction::Resend,
        "reissue" => PackageAction::Reissue,
        "cancel" => PackageAction::Cancel,
        "extend" => PackageAction::Extend,
        _ => return Err(AppError::NotFound),
    };
    let package_id = PackageId::from_raw(raw_id);
    let pid = package_id.clone();
    let request_id = state
        .db
        .run(move |conn| delivery::package(conn, &pid).map_err(DbError::Query))
        .await?
        .map(|p| p.request_id)
        .ok_or(AppError::NotFound)?;
    let days = match action {
        PackageAction::Extend => match form.days.as_deref().map(str::trim).map(str::parse::<u32>) {
            Some(Ok(d)) if (1..=MAX_EXTEND_DAYS).contains(&d) => d,
            _ => {
                let message = format!("Extend by a whole number of days, 1 to {MAX_EXTEND_DAYS}.");
                return problem(&state, &session, request_id, message).await;
            }
        },
        _ => 0,
    };
    let (actor, ip) = (session.actor(), client.0.clone());
    let result = with_fresh_code(
        &state,
        &session,
        &client,
        &form.code,
        move |conn, app, now| {
            let who = Who {
                actor: &actor,
                client_ip: &ip,
            };
            let done: ActionDone = match action {
                PackageAction::Resend => {
                    delivery::resend(conn, &app.config, &app.tera, &package_id, who, now)?
                }
                PackageAction::Reissue => {
                    delivery::reissue(conn, &app.config, &app.tera, &package_id, who, now)?
                }
                PackageAction::Cancel => delivery::cancel(conn, &package_id, who, now)?,
                PackageAction::Extend => delivery::extend(conn, &package_id, days, who, now)?,
            };
            Ok(done)
        },
    )
    .await;
    match result {
        Ok(Stepped::BadCode) => bad_code(&state, &session, request_id, raw_action.as_str()).await,
        Ok(Stepped::Done(done)) => Ok(decided(&done.request_id, action.done())),
        Err(AppError::Conflict(message)) | Err(AppError::BadRequest(message)) => {
            problem(&state, &session, request_id, message).await
        }
        Err(e) => Err(e),
    }
}

/// After an action: back to the request, which now shows it.
fn decided(id: &RequestId, done: &str) -> HttpResponse {
    see_other(&format!("/staff/requests/{id}?done={done}"))
}

async fn bad_code(
    state: &AppState,
    session: &StaffSession,
    id: RequestId,
    action: &str,
) -> Result<HttpResponse, AppError> {
    let action = action.to_string();
    render_detail(
        state,
        session,
        id,
        |ctx| {
            ctx.insert("code_error", BAD_CODE);
            ctx.insert("code_error_for", &action);
            ctx.insert("problem", BAD_CODE);
        },
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

async fn problem(
    state: &AppState,
    session: &StaffSession,
    id: RequestId,
    message: String,
) -> Result<HttpResponse, AppError> {
    render_detail(
        state,
        session,
        id,
        |ctx| ctx.insert("problem", &message),
        StatusCode::CONFLICT,
    )
    .await
}

/// The loser of a race sees who decided first, and when.
async fn already_decided(
    state: &AppState,
    session: &StaffSession,
    id: RequestId,
    first: AlreadyDecided,
) -> Result<HttpResponse, AppError> {
    let message = match (first.by, first.at) {
        (Some(by), Some(at)) => format!(
            "Nothing changed: this request was already {} by {} at {}.",
            if first.state == State::Rejected {
                "rejected"
            } else {
                "approved"
            },
            by.trim_start_matches("staff:"),
            format_utc(at)
        ),
        _ => format!(
            "Nothing changed: this request is {} and can no longer be decided.",
            first.state.label()
        ),
    };
    problem(state, session, id, message).await
}

fn login_error(e: LoginError) -> AppError {
    AppError::internal(anyhow::Error::new(e))
}
