//! Step 1: the order's shipments; select some or all and type one serial for each. The proof
//! itself is `request::proof`.

use super::fields::Fields;
use super::step_url;
use crate::request::lookup::order_numbers;
use crate::request::proof::{self, ProofError, ProofInput, ProofOutcome, ProofRules, ShipmentRow};
use crate::request::Step;
use crate::web::kit::draft::{self as at, DraftAt};
use crate::web::kit::{respond, CsrfForm};
use crate::web::{AppError, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

type Open = DraftAt<at::Shipments>;

/// The page: the rows, the order's numbers (read in the same database call as the rows) and
/// the messages.
fn render(
    state: &AppState,
    open: &Open,
    (rows, (po, invoice)): (Vec<ShipmentRow>, (String, String)),
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let mut ctx = open.context();
    ctx.insert("po", &po);
    ctx.insert("invoice", &invoice);
    ctx.insert(
        "has_errors",
        &(error.is_some() || rows.iter().any(|r| r.error.is_some())),
    );
    ctx.insert("rows", &rows);
    ctx.insert("error", &error);
    ctx.insert("limit", &state.config.serial_attempt_limit);
    respond::page_with(state, "customer/shipments.html", ctx, status)
}

impl From<ProofError> for AppError {
    fn from(e: ProofError) -> AppError {
        match e {
            e @ ProofError::Foreign => AppError::BadRequest(e.to_string()),
            ProofError::Db(q) => q.into(),
        }
    }
}

/// `GET /request/{draft}/shipments`
pub async fn page(state: web::Data<AppState>, open: Open) -> Result<HttpResponse, AppError> {
    let draft = open.draft.clone();
    let shown = state
        .db
        .run(move |conn| {
            let rows = proof::rows(conn, &draft)?;
            Ok::<_, AppError>((rows, order_numbers(conn, &draft.order_id)?))
        })
        .await?;
    render(&state, &open, shown, None, StatusCode::OK)
}

/// `POST /request/{draft}/shipments`: checks each selected shipment's serial.
pub async fn verify(
    state: web::Data<AppState>,
    posted: CsrfForm<Open, Fields>,
) -> Result<HttpResponse, AppError> {
    let CsrfForm { guard: open, form } = posted;
    let input = ProofInput {
        selected: form.all("ship").into_iter().map(str::to_string).collect(),
        typed: form
            .0
            .iter()
            .filter_map(|(k, v)| {
                Some((k.strip_prefix("serial-")?.to_string(), v.trim().to_string()))
            })
            .collect(),
    };
    let (app, draft, now) = (state.clone(), open.draft.clone(), state.clock.now());
    let refused = state
        .db
        .run(move |conn| {
            let rules = ProofRules {
                attempt_limit: app.config.serial_attempt_limit,
                delivery_email: &app.config.delivery_email,
                alert_to: &app.config.alert_email,
            };
            // A refused proof shows the page again, with the order's numbers read here too.
            Ok::<_, AppError>(match proof::prove(conn, &draft, &input, &rules, now)? {
                ProofOutcome::Saved => None,
                ProofOutcome::Refused { rows, error } => {
                    Some((rows, order_numbers(conn, &draft.order_id)?, error))
                }
            })
        })
        .await?;
    match refused {
        None => Ok(respond::see_other(&step_url(
            &open.draft.id,
            Step::Protection,
        ))),
        Some((rows, numbers, error)) => render(
            &state,
            &open,
            (rows, numbers),
            error,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    }
}
