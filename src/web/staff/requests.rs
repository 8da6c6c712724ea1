//! The review queue, one request in detail, and the approve and reject forms.

use super::{check_csrf, client_ip, page_context, render_status, see_other, signed_in, StaffError};
use crate::clock::format_utc;
use crate::db::DbError;
use crate::delivery::{self, AlreadyDecided, ApproveOutcome, RejectOutcome, MAX_REASON_CHARS};
use crate::staff::login::{confirm_code, LoginError};
use crate::staff::review::{self, STATES};
use crate::staff::session::Session;
use crate::staff::totp::TotpCode;
use crate::web::{AppError, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

/// Shown next to the approve form's code field.
const BAD_CODE: &str =
    "That code is wrong or was already used. Wait for the next code and enter it.";

#[derive(Deserialize)]
pub struct QueueQuery {
    state: Option<String>,
}

/// `GET /staff/requests?state=…`: oldest first.
pub async fn queue(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, StaffError> {
    let session = signed_in(&req, &state).await?;
    let wanted = query
        .state
        .as_deref()
        .filter(|s| STATES.contains(s))
        .unwrap_or("pending_review")
        .to_string();
    let now = state.clock.now();
    let filter = wanted.clone();
    let rows = state
        .db
        .run(move |conn| review::queue(conn, &filter, now).map_err(DbError::Query))
        .await?;
    let mut ctx = page_context(&session);
    ctx.insert("rows", &rows);
    ctx.insert("states", STATES);
    ctx.insert("selected", &wanted);
    Ok(state.render("staff/requests.html", ctx)?)
}

#[derive(Deserialize)]
pub struct DetailQuery {
    done: Option<String>,
}

/// `GET /staff/requests/{id}`.
pub async fn detail(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<DetailQuery>,
) -> Result<HttpResponse, StaffError> {
    let session = signed_in(&req, &state).await?;
    let notice = match query.done.as_deref() {
        Some("approved") => Some("You approved this request."),
        Some("rejected") => Some("You rejected this request; the customer will be told why."),
        _ => None,
    };
    render_detail(&state, &session, path.into_inner(), |ctx| {
        ctx.insert("notice", &notice);
    })
    .await
}

/// Renders the detail page; `extra` adds form errors or notices.
async fn render_detail(
    state: &AppState,
    session: &Session,
    id: String,
    extra: impl FnOnce(&mut tera::Context),
) -> Result<HttpResponse, StaffError> {
    let status = render_detail_status(state, session, id, extra, StatusCode::OK).await?;
    Ok(status)
}

async fn render_detail_status(
    state: &AppState,
    session: &Session,
    id: String,
    extra: impl FnOnce(&mut tera::Context),
    status: StatusCode,
) -> Result<HttpResponse, StaffError> {
    let now = state.clock.now();
    let found = state
        .db
        .run(move |conn| review::detail(conn, &id, now).map_err(DbError::Query))
        .await?;
    let Some(detail) = found else {
        return Err(StaffError::App(AppError::NotFound));
    };
    let mut ctx = page_context(session);
    ctx.insert("r", &detail);
    ctx.insert("max_reason", &MAX_REASON_CHARS);
    ctx.insert("notice", &None::<String>);
    ctx.insert("problem", &None::<String>);
    ctx.insert("code_error", &None::<String>);
    ctx.insert("reason_error", &None::<String>);
    ctx.insert("reason", "");
    extra(&mut ctx);
    render_status(state, "staff/request.html", ctx, status)
}

/// The approve form. No `Debug`: it holds a TOTP code.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ApproveForm {
    csrf: Option<String>,
    code: String,
}

/// `POST /staff/requests/{id}/approve`: needs a fresh, unused TOTP code.
pub async fn approve(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<ApproveForm>,
) -> Result<HttpResponse, StaffError> {
    let session = signed_in(&req, &state).await?;
    check_csrf(&session, form.csrf.as_deref())?;
    let id = path.into_inner();
    let code = TotpCode::parse(&form.code);
    let ip = client_ip(&req, &state);
    let now = state.clock.now();
    let app = state.clone();
    let (staff_id, actor, request_id) =
        (session.staff.id.clone(), session.staff.actor(), id.clone());
    // The step-up code and the decision use one connection; the code is consumed even when
    // another reviewer wins, so it cannot be replayed.
    let result = state
        .db
        .run(move |conn| {
            if !confirm_code(conn, &app.vault, &staff_id, code, &ip, now).map_err(login_error)? {
                return Ok::<_, AppError>(None);
            }
            let outcome =
                delivery::approve(conn, &app.config, &app.tera, &request_id, &actor, &ip, now)?;
            Ok(Some(outcome))
        })
        .await?;
    match result {
        None => {
            render_detail_status(
                &state,
                &session,
                id,
                |ctx| ctx.insert("code_error", BAD_CODE),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Some(ApproveOutcome::Approved { .. }) => Ok(decided(&id, "approved")),
        Some(ApproveOutcome::AlreadyDecided(first)) => {
            already_decided(&state, &session, id, first).await
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RejectForm {
    csrf: Option<String>,
    reason: String,
}

/// `POST /staff/requests/{id}/reject`: needs a reason, which the customer will read.
pub async fn reject(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<RejectForm>,
) -> Result<HttpResponse, StaffError> {
    let session = signed_in(&req, &state).await?;
    check_csrf(&session, form.csrf.as_deref())?;
    let id = path.into_inner();
    let reason = form.reason.trim().to_string();
    let problem = if reason.is_empty() {
        Some("Give the reason; the customer will read it.".to_string())
    } else if reason.chars().count() > MAX_REASON_CHARS {
        Some(format!(
            "Keep the reason under {MAX_REASON_CHARS} characters."
        ))
    } else {
        None
    };
    if let Some(problem) = problem {
        return render_detail_status(
            &state,
            &session,
            id,
            |ctx| {
                ctx.insert("reason_error", &problem);
                ctx.insert("reason", &reason);
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let ip = client_ip(&req, &state);
    let outcome = delivery::reject_request(&state, &id, &session.staff.actor(), &ip, &reason)
        .await
        .map_err(AppError::from)?;
    match outcome {
        RejectOutcome::Rejected { .. } => Ok(decided(&id, "rejected")),
        RejectOutcome::AlreadyDecided(first) => already_decided(&state, &session, id, first).await,
    }
}

/// After a win: back to the request, which now shows the decision.
fn decided(id: &str, done: &str) -> HttpResponse {
    see_other(&format!("/staff/requests/{id}?done={done}"))
}

/// The loser of a race sees who decided first, and when.
async fn already_decided(
    state: &AppState,
    session: &Session,
    id: String,
    first: AlreadyDecided,
) -> Result<HttpResponse, StaffError> {
    let message = match (first.by, first.at) {
        (Some(by), Some(at)) => format!(
            "Nothing changed: this request was already {} by {} at {}.",
            first.state.replace('_', " "),
            by.trim_start_matches("staff:"),
            format_utc(at)
        ),
        _ => format!(
            "Nothing changed: this request is {} and can no longer be decided.",
            first.state.replace('_', " ")
        ),
    };
    render_detail_status(
        state,
        session,
        id,
        |ctx| ctx.insert("problem", &message),
        StatusCode::CONFLICT,
    )
    .await
}

fn login_error(e: LoginError) -> AppError {
    AppError::internal(anyhow::Error::new(e))
}
