//! The web layer's kit: extractors that check the session, the role, the draft's step and the
//! form's CSRF token before a handler runs, and the one response helper. A handler takes what
//! these give it, calls one domain function and renders.

pub mod client;
pub mod draft;
pub mod form;
pub mod respond;
pub mod staff;

pub use client::ClientIp;
pub use draft::{CustomerSession, DraftAt};
pub use form::{CsrfForm, CsrfMultipart, CsrfSource, UploadLimits};
pub use respond::{page, page_with, see_other};
pub use staff::{AdminSession, StaffSession};

use crate::web::{AppError, AppState};
use actix_web::{web, HttpRequest};

/// The application state from a request; only missing in a misconfigured test harness.
pub fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, AppError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("the app state is not registered")))
}
