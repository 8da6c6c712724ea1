//! The `/tools/assign` page (the web side of `crate::assign`). The page only serves HTML: the token file is read, assigned and
//! exported by `static/tools/assign/*.js` in the browser and never sent to the server.

use super::Brand;
use actix_web::{http::header, web, HttpResponse};

/// The page's Content-Security-Policy: scripts and styles from our origin only, no network
/// access from scripts.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; connect-src 'none'";

/// Mounts `GET /tools/assign`. Needs app data `web::Data<tera::Tera>` (with
/// `templates/tools/assign.html`) and `web::Data<Brand>` (the app registers both from its state); `/static` is served by the app.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/tools/assign", web::get().to(page));
}

async fn page(tera: web::Data<tera::Tera>, brand: web::Data<Brand>) -> HttpResponse {
    let mut ctx = tera::Context::new();
    ctx.insert("brand", brand.get_ref());
    match tera.render("tools/assign.html", &ctx) {
        Ok(html) => HttpResponse::Ok()
            .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
            .insert_header((header::REFERRER_POLICY, "no-referrer"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(e) => {
            tracing::error!(error = ?e, "rendering tools/assign.html failed");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("The page could not be shown. Please try again later.")
        }
    }
}
