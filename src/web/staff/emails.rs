//! `GET /staff/emails`: the outbox with each message's state (queued, sent, retrying with the
//! last error, failed), never a body; `POST /staff/emails/{id}/retry` puts a failed one back.

use crate::db::DbError;
use crate::delivery::notify;
use crate::lifecycle::Who;
use crate::staff::outbox;
use crate::web::kit::{see_other, ClientIp, CsrfForm, StaffSession};
use crate::web::{AppError, AppState};
use actix_web::{web, HttpResponse};
use serde::de::IgnoredAny;
use serde::Deserialize;

/// The filters of the emails page.
const STATUSES: &[&str] = &["all", "queued", "retrying", "sent", "failed"];

#[derive(Deserialize)]
pub struct EmailsQuery {
    state: Option<String>,
    done: Option<String>,
}

pub async fn page(
    state: web::Data<AppState>,
    session: StaffSession,
    query: web::Query<EmailsQuery>,
) -> Result<HttpResponse, AppError> {
    let selected = query
        .state
        .as_deref()
        .filter(|s| STATUSES.contains(s))
        .unwrap_or("all")
        .to_string();
    let filter = selected.clone();
    let emails = state
        .db
        .run(move |conn| outbox::emails(conn, None, Some(&filter)).map_err(DbError::Query))
        .await?;
    let mut ctx = session.context();
    ctx.insert("emails", &emails);
    ctx.insert("statuses", STATUSES);
    ctx.insert("selected", &selected);
    ctx.insert(
        "notice",
        &match query.done.as_deref() {
            Some("retried") => Some("The email is queued again and will be sent shortly."),
            Some("not_failed") => Some("Nothing changed: that email is not failed (any more)."),
            _ => None,
        },
    );
    session.page(&state, "staff/emails.html", ctx).await
}

/// Puts a failed email without one-time links back in the queue (link-bearing ones are
/// re-sent from the request page, with new links).
pub async fn retry(
    state: web::Data<AppState>,
    path: web::Path<String>,
    posted: CsrfForm<StaffSession, IgnoredAny>,
    ip: ClientIp,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let now = state.clock.now();
    let actor = posted.guard.actor();
    let ip = ip.0;
    let retried = state
        .db
        .run(move |conn| {
            let who = Who {
                actor: &actor,
                client_ip: &ip,
            };
            notify::retry_failed(conn, &id, who, now)
        })
        .await?;
    Ok(see_other(if retried {
        "/staff/emails?state=queued&done=retried"
    } else {
        "/staff/emails?done=not_failed"
    }))
}
