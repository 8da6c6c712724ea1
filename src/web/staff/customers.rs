//! `GET /staff/customers` (admin): customers with their registered emails and domain;
//! `POST /staff/customers/{id}` saves one customer's edit.

use super::{
    check_csrf, client_ip, page_context, render_status, require_admin, see_other, signed_in,
    StaffError,
};
use crate::db::DbError;
use crate::staff::customers::{self, CustomerEdit, EditError};
use crate::web::{AppError, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct PageQuery {
    done: Option<String>,
}

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, StaffError> {
    let session = signed_in(&req, &state).await?;
    require_admin(&session)?;
    let notice = match query.done.as_deref() {
        Some("saved") => Some("Saved; the change is in the audit log."),
        Some("unchanged") => Some("Nothing changed."),
        _ => None,
    };
    render(&state, &session, notice, None, StatusCode::OK).await
}

async fn render(
    state: &AppState,
    session: &crate::staff::session::Session,
    notice: Option<&str>,
    problem: Option<(String, String)>,
    status: StatusCode,
) -> Result<HttpResponse, StaffError> {
    let list = state
        .db
        .run(|conn| customers::list(conn).map_err(DbError::Query))
        .await?;
    let mut ctx = page_context(session);
    ctx.insert("customers", &list);
    ctx.insert("notice", &notice);
    ctx.insert("problem_for", &problem.as_ref().map(|p| p.0.clone()));
    ctx.insert("problem", &problem.map(|p| p.1));
    render_status(state, "staff/customers.html", ctx, status)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EditForm {
    csrf: Option<String>,
    emails: String,
    domain: String,
}

pub async fn save(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<EditForm>,
) -> Result<HttpResponse, StaffError> {
    let session = signed_in(&req, &state).await?;
    require_admin(&session)?;
    check_csrf(&session, form.csrf.as_deref())?;
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
    let (actor, ip, now) = (
        session.staff.actor(),
        client_ip(&req, &state),
        state.clock.now(),
    );
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
        Err(EditError::NotFound) => Err(StaffError::App(AppError::NotFound)),
        Err(e @ (EditError::Taken(_) | EditError::Invalid(_))) => {
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
