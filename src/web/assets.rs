//! Templates and static files compiled into the binary (see `build.rs`), and the tera engine.

use actix_web::{http::header, web, HttpResponse};

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// Builds the template engine from the embedded templates. HTML is auto-escaped.
pub fn tera() -> anyhow::Result<tera::Tera> {
    let mut tera = tera::Tera::default();
    tera.add_raw_templates(TEMPLATES.iter().copied())
        .map_err(|e| anyhow::anyhow!("template error: {e:?}"))?;
    tera.autoescape_on(vec![".html"]);
    tera.register_filter("plural", crate::plural::filter);
    Ok(tera)
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("css") => "text/css; charset=utf-8",
        Some("js") | Some("mjs") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// `GET /static/{path}` from the embedded files.
pub async fn static_file(path: web::Path<String>) -> HttpResponse {
    let wanted = path.into_inner();
    match STATIC_FILES.iter().find(|(name, _)| *name == wanted) {
        Some((name, bytes)) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, content_type(name)))
            .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
            .body(*bytes),
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("not found"),
    }
}

/// `GET /favicon.ico`: browsers ask for it whatever the page says; answer with the SVG icon.
pub async fn favicon() -> HttpResponse {
    static_file(web::Path::from("favicon.svg".to_string())).await
}
