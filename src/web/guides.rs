//! The guides the vendor's customers are promised: how to create a PGP key, and how to upload
//! and activate the tokens in Microsoft Entra ID. Static pages, linked from the protection step,
//! the download page and the emails (their addresses are in `crate::guides`).

use super::kit::respond;
use super::{AppError, AppState};
pub use crate::guides::{ENTRA, PGP_KEY};
use actix_web::{web, HttpResponse};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(PGP_KEY, web::get().to(pgp_key))
        .route(ENTRA, web::get().to(entra));
}

async fn pgp_key(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    respond::page(&state, "guides/pgp_key.html", tera::Context::new())
}

async fn entra(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    respond::page(&state, "guides/entra.html", tera::Context::new())
}
