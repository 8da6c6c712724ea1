//! `GET /staff/emails`: the outbox with each message's state (queued, sent, retrying with the
//! last error, failed), never a body; `POST /staff/emails/{id}/retry` puts a failed one back.

use super::{check_csrf, page_context, see_other, signed_in, StaffError};
use crate::db::DbError;
use crate::delivery::notify;
use crate::lifecycle::Who;
use crate::staff::outbox;
use crate::web::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

/// The filters of the emails page.
const STATUSES: &[&str] = &["all", "queued", "retrying", "sent", "failed"];

#[derive(Deserialize)]
pub struct EmailsQuery {
    state: Option<String>,
    done: Option<String>,
}

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<EmailsQuery>,
) -> Result<HttpResponse, StaffError> {
    let session = signed_in(&req, &state).await?;
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
    let mut ctx = page_context(&session);
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
    Ok(state.render("staff/emails.html", ctx)?)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RetryForm {
    csrf: Option<String>,
}

/// Puts a failed email without one-time links back in the queue (link-bearing ones are
/// re-sent from the request page, with new links).
pub async fn retry(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<RetryForm>,
) -> Result<HttpResponse, StaffError> {
    let session = signed_in(&req, &state).await?;
    check_csrf(&session, form.csrf.as_deref())?;
    let id = path.into_inner();
    let now = state.clock.now();
    let actor = session.staff.actor();
    let ip = super::client_ip(&req, &state);
    let retried = state
        .db
        .run(move |conn| {
            let who = Who {
                actor: &actor,
                client_ip: &ip,
            };
            notify::retry_failed(conn, &id, who, now)
        })
        .await
        .map_err(crate::web::AppError::from)?;
    Ok(see_other(if retried {
        "/staff/emails?state=queued&done=retried"
    } else {
        "/staff/emails?done=not_failed"
    }))
}
