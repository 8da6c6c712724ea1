//! `PUT /api/v1/customers`: create a customer or replace its registered emails and domain.

use super::auth::authorize;
use super::problem::{ApiError, Problem};
use crate::api_keys::Scope;
use crate::staff::customers::{self, CustomerEdit, Put};
use crate::web::security::client_ip;
use crate::web::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A customer as the vendor's system sends it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerBody {
    /// The company name; it identifies the customer in orders.
    #[schema(example = "Acme Corporation", min_length = 1, max_length = 200)]
    pub name: String,
    /// Every registered business email (the full list: addresses left out are removed).
    #[serde(default)]
    #[schema(example = json!(["it-admin@acme.example"]))]
    pub emails: Vec<String>,
    /// Any address at this domain counts as registered.
    #[schema(example = "acme.example")]
    pub domain: Option<String>,
}

/// A customer as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerOut {
    pub name: String,
    pub emails: Vec<String>,
    pub domain: Option<String>,
    /// `created`, `updated` or `unchanged`.
    #[schema(example = "created")]
    pub result: String,
}

/// Create or update a customer
#[utoipa::path(
    put,
    path = "/api/v1/customers",
    tag = "orders",
    request_body = CustomerBody,
    responses(
        (status = 201, description = "Created", body = CustomerOut),
        (status = 200, description = "Updated, or already exactly so", body = CustomerOut),
        (status = 401, description = "No live key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks orders:write", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An email belongs to another customer", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field cannot be accepted", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["orders:write"]))
)]
pub async fn put_customer(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<CustomerBody>,
) -> Result<HttpResponse, ApiError> {
    let caller = authorize(&req, &state, Scope::OrdersWrite).await?;
    let body = body.into_inner();
    let edit = CustomerEdit::parse(
        &body.emails.join("\n"),
        body.domain.as_deref().unwrap_or(""),
    )
    .map_err(|m| ApiError::Invalid(Some("emails".into()), m))?;
    let (actor, ip, now) = (
        caller.actor(),
        client_ip(&req, &state.config.trusted_proxies),
        state.clock.now(),
    );
    let (view, put) = state
        .db
        .run(move |conn| {
            let (id, put) = customers::put(conn, &body.name, &edit, &actor, &ip, now)?;
            Ok::<_, ApiError>((customers::view(conn, &id)?, put))
        })
        .await?;
    let (status, result) = match put {
        Put::Created => (actix_web::http::StatusCode::CREATED, "created"),
        Put::Updated => (actix_web::http::StatusCode::OK, "updated"),
        Put::Unchanged => (actix_web::http::StatusCode::OK, "unchanged"),
    };
    Ok(HttpResponse::build(status).json(CustomerOut {
        name: view.name,
        emails: view.emails,
        domain: view.domain,
        result: result.into(),
    }))
}
