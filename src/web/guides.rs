//! The guides the vendor's customers are promised: how to create a PGP key, and how to upload
//! and activate the tokens in Microsoft Entra ID. Static pages, linked from the protection step,
//! the download page and the emails.

use super::{AppError, AppState};
use actix_web::{web, HttpResponse};

/// Address of the PGP key guide.
pub const PGP_KEY: &str = "/guides/pgp-key";
/// Address of the Entra ID upload and activation guide.
pub const ENTRA: &str = "/guides/entra";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(PGP_KEY, web::get().to(pgp_key))
        .route(ENTRA, web::get().to(entra));
}

async fn pgp_key(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    state.render("guides/pgp_key.html", tera::Context::new())
}

async fn entra(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    state.render("guides/entra.html", tera::Context::new())
}
