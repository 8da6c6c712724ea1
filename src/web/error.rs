//! The one error type handlers return, mapped once to a status and a page.

use crate::db::DbError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

/// What a handler can fail with. Internal causes are logged, never shown.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("The page you asked for does not exist.")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    #[error("This form has expired or did not come from this site. Go back, reload the page and try again.")]
    Csrf,
    #[error("Too many attempts. Please wait an hour and try again, or contact the delivery team.")]
    TooManyRequests,
    #[error("The service is temporarily unavailable. Please try again in a minute.")]
    Unavailable,
    #[error("Something went wrong on our side. Please try again; if it keeps happening, contact the delivery team.")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    pub fn internal(e: impl Into<anyhow::Error>) -> AppError {
        AppError::Internal(e.into())
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> AppError {
        match e {
            DbError::Unavailable(cause) => {
                tracing::error!(%cause, "database unavailable");
                AppError::Unavailable
            }
            DbError::Query(diesel::result::Error::NotFound) => AppError::NotFound,
            DbError::Query(q) if crate::db::is_transient(&q) => {
                tracing::warn!(error = %q, "database busy or away");
                AppError::Unavailable
            }
            DbError::Query(q) => AppError::Internal(q.into()),
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> AppError {
        AppError::from(DbError::Query(e))
    }
}

impl From<tera::Error> for AppError {
    fn from(e: tera::Error) -> AppError {
        AppError::Internal(anyhow::anyhow!("template: {e:?}"))
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(cause) = self {
            tracing::error!(error = %format!("{cause:#}"), "request failed");
        }
        let status = self.status_code();
        let title = status.canonical_reason().unwrap_or("Error");
        let message = html_escape(&self.to_string());
        // Self-contained so that an error page never depends on the template engine working.
        let body = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title}</title><link rel=\"stylesheet\" href=\"/static/css/site.css\">\
             <link rel=\"icon\" href=\"/static/favicon.svg\" type=\"image/svg+xml\"></head>\
             <body><header class=\"site\"><div class=\"wrap\"><a class=\"logo\" href=\"/\">\
             Token seed delivery</a></div></header><main id=\"main\" class=\"wrap\"><div class=\"card\"><h1>{title}</h1>\
             <p role=\"alert\">{message}</p><p><a href=\"/\">Back to the start page</a></p></div></main></body></html>"
        );
        HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header(("Cache-Control", "no-store"))
            .body(body)
    }
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
