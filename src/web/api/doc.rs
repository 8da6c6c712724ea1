//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` and the types'
//! `ToSchema`, served at `GET /api/v1/openapi.json`.

use super::{customers, orders, problem, requests};
use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The order API's description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "seedport order API",
        description = "Customers, orders and factory token files in; requests' state and history out. \
                       Authenticate with `Authorization: Bearer <key>` (`seedport api-key create`). \
                       Every error is RFC 9457 application/problem+json.",
    ),
    paths(
        customers::put_customer,
        orders::put_order,
        orders::put_tokens,
        requests::get_request,
        requests::list_requests,
    ),
    components(schemas(problem::Problem)),
    modifiers(&BearerKeys),
    tags(
        (name = "orders", description = "Customers, orders and token files (scope orders:write)"),
        (name = "requests", description = "Requests' state and history (scope requests:read)"),
    )
)]
pub struct ApiDoc;

/// Declares the bearer-key scheme the paths' `security` refers to.
struct BearerKeys;

impl Modify for BearerKeys {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("sp_live_…")
                    .description(Some("An API key from `seedport api-key create`"))
                    .build(),
            ),
        );
    }
}

/// `GET /api/v1/openapi.json` (no key needed: it holds no data).
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(ApiDoc::openapi().to_json().unwrap_or_default())
}
