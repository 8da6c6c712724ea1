//! `PUT /api/v1/orders` (an order with its shipments) and `PUT
//! /api/v1/shipments/{number}/tokens` (a shipment's factory token file, CSV or PSKC).

use super::auth::authorize;
use super::problem::{ApiError, Problem};
use crate::api_keys::Scope;
use crate::domain::OrderNumber;
use crate::import::intake::{self, OrderIntake, ShipmentIntake, Written};
use crate::import::TokenOverrides;
use crate::web::security::client_ip;
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One shipment of an order.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentBody {
    #[schema(example = "SHP-70001-1", min_length = 1, max_length = 64)]
    pub number: String,
    /// Ship date, `YYYY-MM-DD`.
    #[schema(example = "2026-12-01")]
    pub date: String,
}

/// An order as the vendor's system sends it; the invoice number identifies it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderBody {
    /// The customer's name, as sent to `PUT /api/v1/customers`.
    #[schema(example = "Acme Corporation")]
    pub customer: String,
    #[schema(example = "PO-2026-0700", min_length = 1, max_length = 64)]
    pub po: String,
    #[schema(example = "INV-70001", min_length = 1, max_length = 64)]
    pub invoice: String,
    pub shipments: Vec<ShipmentBody>,
}

/// The order as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderOut {
    pub customer: String,
    pub po: String,
    pub invoice: String,
    pub shipments: Vec<ShipmentBody>,
    /// `created` (something new was stored) or `unchanged`.
    #[schema(example = "created")]
    pub result: String,
}

/// A shipment's token file as stored (never a seed).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokensOut {
    pub shipment: String,
    /// Tokens stored for the shipment.
    pub tokens: usize,
    /// `created` or `unchanged` (the same file was attached before).
    #[schema(example = "created")]
    pub result: String,
}

fn number(field: String, raw: &str) -> Result<OrderNumber, ApiError> {
    OrderNumber::parse(raw)
        .map_err(|m| ApiError::Invalid(Some(field.clone()), format!("{field}: {m}")))
}

fn outcome(written: Written) -> (StatusCode, String) {
    match written {
        Written::Created => (StatusCode::CREATED, "created".into()),
        Written::Unchanged => (StatusCode::OK, "unchanged".into()),
    }
}

/// Create an order with its shipments
///
/// Idempotent: the same order again changes nothing (200); new shipments are added (201); a
/// different PO or customer for the invoice, or a shipment of another order, is a 409 naming
/// the field.
#[utoipa::path(
    put,
    path = "/api/v1/orders",
    tag = "orders",
    request_body = OrderBody,
    responses(
        (status = 201, description = "Created (or shipments added)", body = OrderOut),
        (status = 200, description = "Already exactly so", body = OrderOut),
        (status = 401, description = "No live key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks orders:write", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Conflicts with what is stored; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field cannot be accepted", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["orders:write"]))
)]
pub async fn put_order(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<OrderBody>,
) -> Result<HttpResponse, ApiError> {
    let caller = authorize(&req, &state, Scope::OrdersWrite).await?;
    let body = body.into_inner();
    if body.shipments.is_empty() {
        return Err(ApiError::Invalid(
            Some("shipments".into()),
            "An order needs at least one shipment.".into(),
        ));
    }
    let mut shipments = Vec::with_capacity(body.shipments.len());
    for (i, s) in body.shipments.iter().enumerate() {
        shipments.push(ShipmentIntake {
            number: number(format!("shipments[{i}].number"), &s.number)?,
            date: s.date.trim().to_string(),
        });
    }
    let order = OrderIntake {
        customer: body.customer.clone(),
        po: number("po".into(), &body.po)?,
        invoice: number("invoice".into(), &body.invoice)?,
        shipments,
    };
    let (actor, ip, now) = (
        caller.actor(),
        client_ip(&req, &state.config.trusted_proxies),
        state.clock.now(),
    );
    let vault = state.vault.clone();
    let stored = order.clone();
    let (_, written) = state
        .db
        .run(move |conn| {
            intake::put_order(conn, &vault, &order, &actor, &ip, now).map_err(ApiError::from)
        })
        .await?;
    let (status, result) = outcome(written);
    Ok(HttpResponse::build(status).json(OrderOut {
        customer: stored.customer.trim().to_string(),
        po: stored.po.to_string(),
        invoice: stored.invoice.to_string(),
        shipments: stored
            .shipments
            .iter()
            .map(|s| ShipmentBody {
                number: s.number.to_string(),
                date: s.date.clone(),
            })
            .collect(),
        result,
    }))
}

/// Attach a shipment's factory token file
///
/// The body is the factory file itself, CSV or PSKC, checked with the same rules and messages
/// as `seedport import`: all or nothing. The same file again changes nothing (200); another
/// file for a shipment that has its tokens is a 409.
#[utoipa::path(
    put,
    path = "/api/v1/shipments/{number}/tokens",
    tag = "orders",
    params(("number" = String, Path, description = "The shipment number")),
    request_body(content = String, content_type = "application/octet-stream", description = "The factory token file (CSV or PSKC)"),
    responses(
        (status = 201, description = "Tokens stored", body = TokensOut),
        (status = 200, description = "This file was attached before", body = TokensOut),
        (status = 401, description = "No live key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks orders:write", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such shipment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The shipment has another token file", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problems in the file, listed in `errors`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["orders:write"]))
)]
pub async fn put_tokens(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let caller = authorize(&req, &state, Scope::OrdersWrite).await?;
    let shipment = path.into_inner();
    let (actor, ip, now) = (
        caller.actor(),
        client_ip(&req, &state.config.trusted_proxies),
        state.clock.now(),
    );
    let vault = state.vault.clone();
    let number = shipment.clone();
    let attached = state
        .db
        .run(move |conn| {
            intake::attach_tokens(
                conn,
                &vault,
                &number,
                &body,
                &TokenOverrides::default(),
                &actor,
                &ip,
                now,
            )
            .map_err(ApiError::from)
        })
        .await?;
    let (status, result) = outcome(attached.written);
    Ok(HttpResponse::build(status).json(TokensOut {
        shipment,
        tokens: attached.tokens,
        result,
    }))
}
