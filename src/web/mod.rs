//! The HTTP side: application state, routes, middleware and the server.

pub mod access;
pub mod api;
pub mod assets;
pub mod assign;
pub mod csrf;
pub mod customer;
pub mod error;
pub mod guides;
pub mod head;
pub mod kit;
pub mod links;
pub mod mailbox;
pub mod metrics;
pub mod multipart;
pub mod ops;
pub mod security;
pub mod staff;

use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::vault::Vault;
use actix_web::{web, App, HttpResponse, HttpServer};
pub use error::AppError;
use serde::Serialize;
use std::net::TcpListener;

/// Everything a handler needs, shared across workers.
pub struct AppState {
    pub config: Config,
    pub db: Db,
    pub vault: Vault,
    pub tera: tera::Tera,
    pub clock: Clock,
    /// Downloads streaming now; shutdown waits for them (and for any give-back) to end.
    pub downloads: links::counted::InFlight,
}

/// Vendor name, logo text and contact address, as every page shows them.
#[derive(Debug, Clone, Serialize)]
pub struct Brand {
    pub vendor_name: String,
    pub logo_text: String,
    pub delivery_email: String,
    pub demo: bool,
}

impl AppState {
    pub fn brand(&self) -> Brand {
        Brand {
            vendor_name: self.config.vendor_name.clone(),
            logo_text: self.config.logo_text.clone(),
            delivery_email: self.config.delivery_email.clone(),
            demo: self.config.is_demo(),
        }
    }
}

/// Registers every route. Feature areas add their own `configure` here.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(customer::routes)
        .route("/healthz", web::get().to(ops::healthz))
        .route("/readyz", web::get().to(ops::readyz))
        .route("/static/{path:.*}", web::get().to(assets::static_file))
        .route("/favicon.ico", web::get().to(assets::favicon))
        .configure(guides::routes)
        .configure(assign::configure)
        .configure(staff::configure)
        .configure(links::routes)
        .configure(mailbox::routes)
        .configure(api::configure);
}

/// Starts the HTTP server on `listener` and returns it running (await it to serve).
pub fn serve(state: AppState, listener: TcpListener) -> anyhow::Result<actix_web::dev::Server> {
    let workers = match state.config.workers {
        0 => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2),
        n => n,
    };
    // The assignment tool's page takes the engine and brand directly, so it can be mounted
    // without the rest of the state.
    let grace = u64::from(state.config.shutdown_grace_seconds);
    let tera = web::Data::new(state.tera.clone());
    let brand = web::Data::new(state.brand());
    let start = web::Data::new(customer::StartPage::render(&state)?);
    let production = !state.config.is_demo();
    let state = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(tera.clone())
            .app_data(brand.clone())
            .app_data(start.clone())
            .app_data(web::FormConfig::default().limit(256 * 1024))
            .wrap(security::headers(production))
            .wrap(actix_web::middleware::from_fn(head::as_get))
            // Outermost, so the access line and metrics see every request as it came in.
            .wrap(actix_web::middleware::from_fn(access::log_and_measure))
            .configure(routes)
            .default_service(web::to(not_found))
    })
    .workers(workers)
    // `app::serve` handles SIGTERM and SIGINT itself: stop accepting, let in-flight requests
    // finish within the grace period, stop the jobs, then exit.
    .disable_signals()
    .shutdown_timeout(grace)
    .listen(listener)?
    .run();
    Ok(server)
}

/// Any address no route claims: the branded "not found" page.
async fn not_found(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    kit::page_with(
        &state,
        "not_found.html",
        tera::Context::new(),
        actix_web::http::StatusCode::NOT_FOUND,
    )
}
