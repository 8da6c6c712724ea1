//! Step 1: the order's shipments; select some or all and type one serial for each.

use super::fields::Fields;
use super::{context, open, render_status, see_other, step_url, Session};
use crate::domain::Serial;
use crate::request::draft::{self, ProvedShipment};
use crate::request::shipments::{self, Asker, SerialCheck, ShipmentView};
use crate::request::{Draft, Step};
use crate::web::{AppError, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

/// A shipment row as the form shows it.
#[derive(Serialize)]
struct Row {
    #[serde(flatten)]
    shipment: ShipmentView,
    selected: bool,
    serial: String,
    error: Option<String>,
}

async fn load_list(state: &AppState, order_id: &str) -> Result<Vec<ShipmentView>, AppError> {
    let order_id = order_id.to_string();
    state
        .db
        .run(move |conn| Ok::<_, AppError>(shipments::list(conn, &order_id)?))
        .await
}

async fn order_label(state: &AppState, order_id: &str) -> Result<(String, String), AppError> {
    use crate::db::schema::orders;
    use diesel::prelude::*;
    let order_id = order_id.to_string();
    state
        .db
        .run(move |conn| {
            Ok::<_, AppError>(
                orders::table
                    .find(&order_id)
                    .select((orders::po_number, orders::invoice_number))
                    .first(conn)?,
            )
        })
        .await
}

async fn render(
    state: &AppState,
    session: &Session,
    draft: &Draft,
    rows: Vec<Row>,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let (po, invoice) = order_label(state, &draft.order_id).await?;
    let mut ctx = context(session, draft, Step::Shipments);
    ctx.insert("po", &po);
    ctx.insert("invoice", &invoice);
    ctx.insert("rows", &rows);
    ctx.insert("error", &error);
    ctx.insert(
        "has_errors",
        &(error.is_some() || rows.iter().any(|r| r.error.is_some())),
    );
    ctx.insert("limit", &state.config.serial_attempt_limit);
    render_status(state, "customer/shipments.html", ctx, status)
}

/// `GET /request/{draft}/shipments`
pub async fn page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (session, draft) = match open(&state, &req, &path, Step::Shipments).await {
        Ok(x) => x,
        Err(r) => return r.into_response(),
    };
    let list = load_list(&state, &draft.order_id).await?;
    let fresh = draft.choices.shipments.is_empty();
    let rows = list
        .into_iter()
        .map(|s| {
            let proved = draft.choices.shipments.iter().find(|p| p.id == s.id);
            Row {
                selected: (fresh && !s.locked) || proved.is_some(),
                serial: proved.map(|p| p.serial.clone()).unwrap_or_default(),
                error: None,
                shipment: s,
            }
        })
        .collect();
    render(&state, &session, &draft, rows, None, StatusCode::OK).await
}

/// `POST /request/{draft}/shipments`: checks each selected shipment's serial.
pub async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (session, draft) = match open(&state, &req, &path, Step::Shipments).await {
        Ok(x) => x,
        Err(r) => return r.into_response(),
    };
    let form = Fields(form.into_inner());
    session.verify(form.get("csrf"))?;
    let list = load_list(&state, &draft.order_id).await?;
    let selected = form.all("ship");
    if let Some(foreign) = selected
        .iter()
        .find(|id| !list.iter().any(|s| s.id == **id))
    {
        tracing::warn!(draft = %draft.id, shipment = %foreign, "shipment outside the order named");
        return Err(AppError::BadRequest(
            "That shipment is not part of the order you looked up.".into(),
        ));
    }
    let limit = state.config.serial_attempt_limit;
    let mut rows = Vec::new();
    let mut proved = Vec::new();
    for s in list {
        let chosen = selected.contains(&s.id.as_str());
        let typed = form.text(&format!("serial-{}", s.id)).to_string();
        let mut error = None;
        let mut shipment = s;
        if chosen {
            match check(&state, &draft, &shipment, &typed, limit).await? {
                Ok(()) => proved.push(ProvedShipment {
                    id: shipment.id.clone(),
                    number: shipment.number.clone(),
                    serial: typed.clone(),
                }),
                Err((message, locked)) => {
                    // A lock taken just now shows on the page.
                    shipment.locked |= locked;
                    error = Some(message);
                }
            }
        }
        rows.push(Row {
            selected: chosen,
            serial: typed,
            error,
            shipment,
        });
    }
    let failed = rows.iter().any(|r| r.error.is_some());
    if selected.is_empty() || failed {
        let error = selected
            .is_empty()
            .then(|| "Select at least one shipment.".to_string());
        return render(
            &state,
            &session,
            &draft,
            rows,
            error,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let mut choices = draft.choices.clone();
    choices.shipments = proved;
    let d = draft.clone();
    state
        .db
        .run(move |conn| Ok::<_, AppError>(draft::save(conn, &d, Step::Protection, &choices)?))
        .await?;
    Ok(see_other(&step_url(&draft.id, Step::Protection)))
}

/// One selected shipment's serial: `Err` holds the message shown next to its field and
/// whether the shipment is locked.
async fn check(
    state: &AppState,
    draft: &Draft,
    shipment: &ShipmentView,
    typed: &str,
    limit: u32,
) -> Result<Result<(), (String, bool)>, AppError> {
    let contact = &state.config.delivery_email;
    let locked = format!(
        "Shipment {} is locked after too many wrong serial numbers. Write to {contact} with the \
         shipment number to get its seed file.",
        shipment.number
    );
    if shipment.locked {
        return Ok(Err((locked, true)));
    }
    let serial = match Serial::parse_typed(typed) {
        Ok(s) => s,
        Err(_) if typed.is_empty() => {
            return Ok(Err((
                format!(
                    "Type the serial number of one token from shipment {}.",
                    shipment.number
                ),
                false,
            )))
        }
        Err(e) => return Ok(Err((format!("{}.", capital(&e)), false))),
    };
    let id = shipment.id.clone();
    let email = draft.requester_email.clone();
    let ip = draft.client_ip.clone();
    let alert_to = state.config.alert_email.clone();
    let now = state.clock.now();
    let outcome = state
        .db
        .run(move |conn| {
            let asker = Asker {
                email: &email,
                client_ip: &ip,
                alert_to: &alert_to,
            };
            Ok::<_, AppError>(shipments::verify(conn, &id, &serial, limit, &asker, now)?)
        })
        .await?;
    Ok(match outcome {
        SerialCheck::Proved => Ok(()),
        SerialCheck::Locked => Err((locked, true)),
        SerialCheck::Wrong { left } => Err((
            format!(
                "This serial number is not in shipment {}. Check the label on a token from this \
                 shipment; {left} {} left before the shipment is locked.",
                shipment.number,
                if left == 1 { "attempt" } else { "attempts" }
            ),
            false,
        )),
    })
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
