//! The order API under `/api/v1` for the vendor's systems: customers, orders and their token
//! files in; requests' state and history out. Bearer API keys with scopes, every error as
//! problem+json, the OpenAPI 3.1 document generated from these handlers.

mod auth;
mod customers;
mod doc;
mod orders;
pub mod problem;
mod requests;

use actix_web::{web, HttpRequest, HttpResponse};
pub use doc::ApiDoc;
use problem::ApiError;

/// Registers `/api/v1/…`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .app_data(
                web::JsonConfig::default()
                    .limit(256 * 1024)
                    .error_handler(|e, _| bad_input(e.to_string())),
            )
            .app_data(web::QueryConfig::default().error_handler(|e, _| bad_input(e.to_string())))
            .app_data(web::PathConfig::default().error_handler(|e, _| bad_input(e.to_string())))
            .app_data(web::PayloadConfig::default().limit(32 * 1024 * 1024))
            .route("/openapi.json", web::get().to(doc::openapi_json))
            .route("/customers", web::put().to(customers::put_customer))
            .route("/orders", web::put().to(orders::put_order))
            .route(
                "/shipments/{number}/tokens",
                web::put().to(orders::put_tokens),
            )
            .route("/requests", web::get().to(requests::list_requests))
            .route(
                "/requests/{reference}",
                web::get().to(requests::get_request),
            )
            .default_service(web::to(unknown)),
    );
}

/// A body, query or path the extractor could not read: a 422 saying why.
fn bad_input(message: String) -> actix_web::Error {
    ApiError::Invalid(None, format!("The request could not be read: {message}")).into()
}

/// Any address under `/api/v1` no route claims.
async fn unknown(req: HttpRequest) -> HttpResponse {
    actix_web::ResponseError::error_response(&ApiError::NotFound(format!(
        "There is no {} {} in this API; see /api/v1/openapi.json.",
        req.method(),
        req.path()
    )))
}
