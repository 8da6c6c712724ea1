//! `GET /staff/customers` (admin): customers with their registered emails and domain;
//! `POST /staff/customers/{id}` saves one customer's edit.

use crate::db::DbError;
use crate::staff::customers::{self, CustomerEdit, EditError};
use crate::web::kit::{see_other, AdminSession, ClientIp, CsrfForm};
use crate::web::{AppError, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct PageQuery {
    done: Option<String>,
}

pub async fn page(
    state: web::Data<AppState>,
    session: AdminSession,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let notice = match query.done.as_deref() {
        Some("saved") => Some("Saved; the change is in the audit log."),
        Some("unchanged") => Some("Nothing changed."),
        _ => None,
    };
    render(&state, &session, notice, None, StatusCode::OK).await
}

async fn render(
    state: &AppState,
    session: &AdminSession,
    notice: Option<&str>,
    problem: Option<(String, String)>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let list = state
        .db
        .run(|conn| customers::list(conn).map_err(DbError::Query))
        .await?;
    let mut ctx = session.context();
    ctx.insert("customers", &list);
    ctx.insert("notice", &notice);
    ctx.insert("problem_for", &problem.as_ref().map(|p| p.0.clone()));
    ctx.insert("problem", &problem.map(|p| p.1));
    session
        .page_with(state, "staff/customers.html", ctx, status)
        .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EditForm {
    emails: String,
    domain: String,
}

pub async fn save(
    state: web::Data<AppState>,
    path: web::Path<String>,
    posted: CsrfForm<AdminSession, EditForm>,
    ip: ClientIp,
) -> Result<HttpResponse, AppError> {
    let CsrfForm {
        guard: session,
        form,
    } = posted;
    let id = path.into_inner();
    let edit = match CustomerEdit::parse(&form.emails, &form.domain) {
        Ok(edit) => edit,
        Err(message) => {
            return render(
                &state,
                &session,
                None,
                Some((id, message)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let (actor, ip, now) = (session.actor(), ip.0, state.clock.now());
    let customer = id.clone();
    let result = state
        .db
        .run(move |conn| {
            Ok::<_, DbError>(customers::save(conn, &customer, &edit, &actor, &ip, now))
        })
        .await?;
    match result {
        Ok(true) => Ok(see_other("/staff/customers?done=saved")),
        Ok(false) => Ok(see_other("/staff/customers?done=unchanged")),
        Err(EditError::NotFound) => Err(AppError::NotFound),
        Err(e @ EditError::Taken(_)) => {
            render(
                &state,
                &session,
                None,
                Some((id, e.to_string())),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(EditError::Db(e)) => Err(e.into()),
    }
}
