//! The start page: where a customer begins asking for their seed file.

use super::{AppError, AppState};
use actix_web::{web, HttpResponse};

pub async fn start_page(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    state.render("start.html", tera::Context::new())
}
