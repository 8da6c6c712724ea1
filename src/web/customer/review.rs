//! Step 4: the summary, submit (builds the packages, records the request) and the
//! confirmation page. A second submit of the same draft lands on the same request.

use super::{context, open, render_status, see_other, step_url, Session};
use crate::db::schema::{orders, requests};
use crate::mail::outbox::OutgoingEmail;
use crate::request::submit::{self, SubmitError, SubmitParams};
use crate::request::{Draft, Step};
use crate::web::{AppError, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::prelude::*;

async fn order_numbers(state: &AppState, order_id: &str) -> Result<(String, String), AppError> {
    let id = order_id.to_string();
    state
        .db
        .run(move |conn| {
            Ok::<_, AppError>(
                orders::table
                    .find(&id)
                    .select((orders::po_number, orders::invoice_number))
                    .first(conn)?,
            )
        })
        .await
}

/// What the review page and the email both show.
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
    ctx.insert("pgp", &c.pgp);
    ctx.insert("format_id", &c.format.map(|f| f.as_str()));
    ctx.insert("format_name", &c.format.map(|f| f.format().name));
    ctx.insert("custom_csv", &c.custom_csv);
    ctx
}

async fn render_review(
    state: &AppState,
    session: &Session,
    draft: &Draft,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let (po, invoice) = order_numbers(state, &draft.order_id).await?;
    let mut ctx = summary_context(context(session, draft, Step::Review), draft, &po, &invoice);
    ctx.insert("error", &error);
    render_status(state, "customer/review.html", ctx, status)
}

/// `GET /request/{draft}/review`
pub async fn page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (session, draft) = match open(&state, &req, &path, Step::Review).await {
        Ok(x) => x,
        Err(r) => return r.into_response(),
    };
    render_review(&state, &session, &draft, None, StatusCode::OK).await
}

fn received_email(
    state: &AppState,
    draft: &Draft,
    reference: &str,
    po: &str,
    invoice: &str,
) -> Result<OutgoingEmail, AppError> {
    let mut ctx = summary_context(tera::Context::new(), draft, po, invoice);
    ctx.insert("reference", reference);
    ctx.insert("brand", &state.brand());
    let text = state.tera.render("email/request_received.txt", &ctx)?;
    let html = state.tera.render("email/request_received.html", &ctx)?;
    Ok(OutgoingEmail {
        kind: "request_received".into(),
        to: draft.requester_email.clone(),
        subject: format!("We received your seed file request {reference}"),
        text,
        html,
        carries_links: false,
        request_id: None,
    })
}

/// `POST /request/{draft}/submit`
pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (session, draft) = match open(&state, &req, &path, Step::Review).await {
        Ok(x) => x,
        Err(r) => return r.into_response(),
    };
    let form = super::fields::Fields(form.into_inner());
    session.verify(form.get("csrf"))?;
    let (po, invoice) = order_numbers(&state, &draft.order_id).await?;
    let reference = submit::new_reference();
    let email = received_email(&state, &draft, &reference, &po, &invoice)?;
    // Three steps, one connection at a time: read the sealed secrets, hash the download
    // password with no connection held, then build and record everything in one transaction.
    let (vault, d) = (state.vault.clone(), draft.clone());
    let secrets = state
        .db
        .run(move |conn| Ok::<_, AppError>(submit::open_secrets(conn, &vault, &d)))
        .await?;
    let prepared = match secrets {
        Ok(secrets) => {
            let d = draft.clone();
            web::block(move || submit::prepare(&d, secrets))
                .await
                .map_err(AppError::internal)?
        }
        Err(e) => Err(e),
    };
    let (vault, d, now) = (state.vault.clone(), draft.clone(), state.clock.now());
    let outcome = match prepared {
        Ok(prepared) => {
            let params = SubmitParams {
                reference,
                prepared,
                email,
                max_downloads: state.config.download_limit,
                now,
            };
            state
                .db
                .run(move |conn| Ok::<_, AppError>(submit::submit(conn, &vault, &d, params)))
                .await?
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) | Err(SubmitError::AlreadySubmitted) => {
            Ok(see_other(&step_url(&draft.id, Step::Submitted)))
        }
        Err(SubmitError::Invalid(message)) => {
            render_review(
                &state,
                &session,
                &draft,
                Some(message),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        // A database that was busy or went away mid-submit rolled everything back: "try again".
        Err(SubmitError::Internal(e))
            if e.downcast_ref::<diesel::result::Error>()
                .is_some_and(crate::db::is_transient) =>
        {
            tracing::warn!(error = %format!("{e:#}"), "submit hit a busy or missing database");
            Err(AppError::Unavailable)
        }
        Err(SubmitError::Internal(e)) => Err(AppError::Internal(e)),
    }
}

/// `GET /request/{draft}/done`: the confirmation with the request's reference.
pub async fn done(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (session, draft) = match open(&state, &req, &path, Step::Submitted).await {
        Ok(x) => x,
        Err(r) => return r.into_response(),
    };
    let Some(request_id) = draft.request_id.clone() else {
        return Ok(see_other(&step_url(&draft.id, draft.step)));
    };
    let reference: String = state
        .db
        .run(move |conn| {
            Ok::<_, AppError>(
                requests::table
                    .find(&request_id)
                    .select(requests::reference)
                    .first(conn)?,
            )
        })
        .await?;
    let mut ctx = context(&session, &draft, Step::Submitted);
    ctx.insert("reference", &reference);
    ctx.insert(
        "bundling",
        draft.choices.bundling.map(|b| b.as_str()).unwrap_or("one"),
    );
    render_status(&state, "customer/done.html", ctx, StatusCode::OK)
}
