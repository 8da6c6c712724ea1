//! The one response helper: a rendered page (brand in its context, never cached), a `303 See
//! Other`, or the self-contained error page every error turns into.

use crate::web::{AppError, AppState};
use actix_web::body::MessageBody;
use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;

/// Renders `template` with the brand added, as a `200 OK`.
pub fn page(
    state: &AppState,
    template: &str,
    context: tera::Context,
) -> Result<HttpResponse, AppError> {
    page_with(state, template, context, StatusCode::OK)
}

/// Renders `template` with the brand and the guides' addresses added, answering `status`.
pub fn page_with(
    state: &AppState,
    template: &str,
    context: tera::Context,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    Ok(html(status, render(state, template, context)?))
}

/// The HTML of `template` with the brand and the guides' addresses added.
pub fn render(
    state: &AppState,
    template: &str,
    mut context: tera::Context,
) -> Result<String, AppError> {
    context.insert("brand", &state.brand());
    context.insert("guides", &Guides::default());
    Ok(state.tera.render(template, &context)?)
}

/// A `303 See Other` to `location`, never cached.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// The error page: self-contained, so that an error never depends on the template engine
/// working. `back` is the link (address, words) that leads on.
pub fn error_page(status: StatusCode, message: &str, back: (&str, &str)) -> HttpResponse {
    let title = status.canonical_reason().unwrap_or("Error");
    let message = html_escape(message);
    let (href, words) = (html_escape(back.0), html_escape(back.1));
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><link rel=\"stylesheet\" href=\"/static/css/site.css\">\
         <link rel=\"icon\" href=\"/static/favicon.svg\" type=\"image/svg+xml\"></head>\
         <body><header class=\"site\"><div class=\"wrap\"><a class=\"logo\" href=\"/\">\
         Token seed delivery</a></div></header><main id=\"main\" class=\"wrap\"><div class=\"card\"><h1>{title}</h1>\
         <p role=\"alert\">{message}</p><p><a href=\"{href}\">{words}</a></p></div></main></body></html>"
    );
    html(status, body)
}

/// An HTML page answering `status`, never cached.
pub fn html(status: StatusCode, body: impl MessageBody + 'static) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// Minimal HTML escaping for text placed in the self-contained error page.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The customer guides' addresses every page may link to (`{{ guides.pgp_key }}`), from the one
/// place that names them (`crate::guides`), so a template never spells a guide's path itself.
#[derive(serde::Serialize)]
struct Guides {
    pgp_key: &'static str,
    entra: &'static str,
}

impl Default for Guides {
    fn default() -> Self {
        Guides {
            pgp_key: crate::guides::PGP_KEY,
            entra: crate::guides::ENTRA,
        }
    }
}
