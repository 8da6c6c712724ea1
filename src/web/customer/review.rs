//! Step 4: the summary, submit (builds the packages, records the request: one call to
//! `request::submit::submit_draft`) and the confirmation page. A second submit of the same
//! draft lands on the same request.

use super::fields::Fields;
use super::step_url;
use crate::db::schema::requests;
use crate::db::DbError;
use crate::request::lookup::order_numbers;
use crate::request::submit::{self, SubmitError};
use crate::request::{Draft, Step};
use crate::web::kit::draft::{self as at, DraftAt};
use crate::web::kit::{respond, CsrfForm};
use crate::web::{AppError, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use diesel::prelude::*;

type Open = DraftAt<at::Review>;

/// What the review page shows: the choices in words (names from the format registry).
fn summary_context(
    mut ctx: tera::Context,
    draft: &Draft,
    po: &str,
    invoice: &str,
) -> tera::Context {
    let c = &draft.choices;
    ctx.insert("po", po);
    ctx.insert("invoice", invoice);
    ctx.insert("shipments", &c.shipments);
    ctx.insert("bundling", c.bundling.map(|b| b.as_str()).unwrap_or("one"));
    ctx.insert("protection", c.protection.map(|p| p.as_str()).unwrap_or(""));
    ctx.insert(
        "protection_label",
        c.protection.map(|p| p.label()).unwrap_or(""),
    );
    ctx.insert(
        "password_zip",
        &c.protection.is_some_and(|p| p.has_password()),
    );
    ctx.insert("pgp", &c.pgp);
    let format = c.format.map(|f| f.format());
    ctx.insert("format_name", &format.map(|f| f.name));
    ctx.insert("format_help", &format.map(|f| f.help));
    ctx.insert("custom_csv", &c.custom_csv);
    ctx
}

async fn render_review(
    state: &AppState,
    open: &Open,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let order_id = open.draft.order_id.clone();
    let (po, invoice) = state
        .db
        .run(move |conn| order_numbers(conn, &order_id).map_err(DbError::Query))
        .await?;
    let mut ctx = summary_context(open.context(), &open.draft, &po, &invoice);
    ctx.insert("error", &error);
    respond::page_with(state, "customer/review.html", ctx, status)
}

/// `GET /request/{draft}/review`
pub async fn page(state: web::Data<AppState>, open: Open) -> Result<HttpResponse, AppError> {
    render_review(&state, &open, None, StatusCode::OK).await
}

/// `POST /request/{draft}/submit`
pub async fn submit(
    state: web::Data<AppState>,
    posted: CsrfForm<Open, Fields>,
) -> Result<HttpResponse, AppError> {
    let open = posted.guard;
    let now = state.clock.now();
    let outcome = submit::submit_draft(
        &state.db,
        &state.vault,
        &state.tera,
        &state.config,
        &open.draft,
        now,
    )
    .await;
    match outcome {
        Ok(_) | Err(SubmitError::AlreadySubmitted) => Ok(respond::see_other(&step_url(
            &open.draft.id,
            Step::Submitted,
        ))),
        Err(SubmitError::Invalid(message)) => {
            render_review(
                &state,
                &open,
                Some(message),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(SubmitError::Internal(e)) => Err(AppError::from_submit(e)),
    }
}

/// `GET /request/{draft}/done`: the confirmation with the request's reference.
pub async fn done(
    state: web::Data<AppState>,
    open: DraftAt<at::Submitted>,
) -> Result<HttpResponse, AppError> {
    let Some(request_id) = open.draft.request_id.clone() else {
        return Ok(respond::see_other(&step_url(
            &open.draft.id,
            open.draft.step,
        )));
    };
    let reference: String = state
        .db
        .run(move |conn| {
            requests::table
                .find(&request_id)
                .select(requests::reference)
                .first(conn)
                .map_err(DbError::Query)
        })
        .await?;
    let mut ctx = open.context();
    ctx.insert("reference", &reference);
    ctx.insert(
        "bundling",
        open.draft
            .choices
            .bundling
            .map(|b| b.as_str())
            .unwrap_or("one"),
    );
    respond::page_with(&state, "customer/done.html", ctx, StatusCode::OK)
}
