//! The one error type handlers and extractors return, mapped once to a status and a page.

use super::kit::respond;
use crate::db::DbError;
use crate::delivery::DeliveryError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

/// What a handler can fail with. Internal causes are logged, never shown.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("The page you asked for does not exist.")]
    NotFound,
    /// No live staff session: the answer is a redirect to the sign-in page.
    #[error("Sign in first.")]
    SignIn,
    /// Signed in, but the staff member's role does not allow this page.
    #[error("Your role does not allow this page. Ask an administrator if you need it.")]
    Forbidden,
    #[error("{0}")]
    BadRequest(String),
    /// The current state does not allow it; nothing changed.
    #[error("{0}")]
    Conflict(String),
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

impl AppError {
    /// A submit that failed on our side: a database that was busy or went away rolled
    /// everything back, so "try again"; anything else is internal.
    pub fn from_submit(e: anyhow::Error) -> AppError {
        let transient = e
            .downcast_ref::<diesel::result::Error>()
            .is_some_and(crate::db::is_transient)
            || matches!(e.downcast_ref::<DbError>(), Some(DbError::Unavailable(_)));
        if transient {
            tracing::warn!(error = %format!("{e:#}"), "submit hit a busy or missing database");
            return AppError::Unavailable;
        }
        AppError::Internal(e)
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

/// Delivery's errors as HTTP, mapped once here.
impl From<DeliveryError> for AppError {
    fn from(e: DeliveryError) -> AppError {
        match e {
            DeliveryError::NotFound => AppError::NotFound,
            DeliveryError::Invalid(message) => AppError::BadRequest(message),
            e @ (DeliveryError::Refused(_)
            | DeliveryError::FileDestroyed
            | DeliveryError::NotExtendable(_)) => AppError::Conflict(e.to_string()),
            DeliveryError::Unavailable(cause) => AppError::from(DbError::Unavailable(cause)),
            DeliveryError::Db(q) => AppError::from(q),
            other @ DeliveryError::Template(_) => AppError::internal(other),
        }
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
            AppError::SignIn => StatusCode::SEE_OTHER,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
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
        match self {
            AppError::SignIn => respond::see_other("/staff/login"),
            AppError::Forbidden => respond::error_page(
                self.status_code(),
                &self.to_string(),
                ("/staff/requests", "Back to the review queue"),
            ),
            _ => respond::error_page(
                self.status_code(),
                &self.to_string(),
                ("/", "Back to the start page"),
            ),
        }
    }
}
