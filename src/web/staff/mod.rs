//! The delivery team's console: its routes. The signed-in session, the admin role and the
//! CSRF-checked forms come from the kit's extractors (`web::kit::staff`, `web::kit::form`).

mod audit;
mod customers;
mod emails;
mod import;
mod login;
mod orders;
mod requests;

use super::kit::see_other;
use actix_web::web;

pub use super::kit::staff::COOKIE;

/// Registers `/staff/...`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/staff",
        web::get().to(|| async { see_other("/staff/requests") }),
    )
    .route("/staff/login", web::get().to(login::form))
    .route("/staff/login", web::post().to(login::submit))
    .route("/staff/logout", web::post().to(login::logout))
    .route("/staff/requests", web::get().to(requests::queue))
    .route("/staff/requests/{id}", web::get().to(requests::detail))
    .route(
        "/staff/requests/{id}/approve",
        web::post().to(requests::approve),
    )
    .route(
        "/staff/requests/{id}/reject",
        web::post().to(requests::reject),
    )
    .route(
        "/staff/packages/{id}/{action}",
        web::post().to(requests::package_action),
    )
    .route("/staff/emails", web::get().to(emails::page))
    .route("/staff/emails/{id}/retry", web::post().to(emails::retry))
    .route("/staff/customers", web::get().to(customers::page))
    .route("/staff/customers/{id}", web::post().to(customers::save))
    .route("/staff/orders", web::get().to(orders::page))
    .route("/staff/import", web::get().to(import::form))
    .route("/staff/import", web::post().to(import::submit))
    .route("/staff/audit", web::get().to(audit::page));
}
