//! The order API's one error type, mapped once to RFC 9457 `application/problem+json`.

use crate::api_keys::AuthError;
use crate::db::DbError;
use crate::import::intake::{problem_lines, IntakeError};
use crate::staff::customers::EditError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of every error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem detail.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`about:blank` when the status says it all).
    #[serde(rename = "type")]
    pub kind: String,
    /// The status in words.
    pub title: String,
    pub status: u16,
    /// What went wrong and what to fix, for people.
    pub detail: String,
    /// The request field at fault (e.g. `po`, `shipments[0].date`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every problem found in an uploaded file, one line each, as `seedport import` prints them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<String>>,
}

/// What an API call can fail with. Internal causes are logged, never shown.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Send a live API key as `Authorization: Bearer <key>`.")]
    Unauthorized,
    #[error("This key lacks the scope {0}.")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(String),
    /// A field that cannot be accepted (field, message).
    #[error("{1}")]
    Invalid(Option<String>, String),
    /// A file with problems: each as the import prints it.
    #[error("{} in the token file; nothing was imported.", crate::plural::count(i64::try_from(.0.len()).unwrap_or(i64::MAX), "problem", "problems"))]
    File(Vec<String>),
    /// A resend that disagrees with what is stored (field, message).
    #[error("{1}")]
    Conflict(String, String),
    #[error("Too many calls with this key; retry in {0} seconds.")]
    TooManyRequests(i64),
    #[error("The service is temporarily unavailable; retry in a minute.")]
    Unavailable,
    #[error("Something went wrong on our side; retry, and tell the vendor if it keeps happening.")]
    Internal(#[source] anyhow::Error),
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> ApiError {
        match e {
            DbError::Unavailable(cause) => {
                tracing::error!(%cause, "database unavailable");
                ApiError::Unavailable
            }
            DbError::Query(q) if crate::db::is_transient(&q) => {
                tracing::warn!(error = %q, "database busy or away");
                ApiError::Unavailable
            }
            DbError::Query(q) => ApiError::Internal(q.into()),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> ApiError {
        ApiError::from(DbError::Query(e))
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> ApiError {
        match e {
            AuthError::Unauthenticated => ApiError::Unauthorized,
            AuthError::RateLimited { retry_after } => ApiError::TooManyRequests(retry_after),
            AuthError::Db(d) => d.into(),
        }
    }
}

impl From<EditError> for ApiError {
    fn from(e: EditError) -> ApiError {
        match e {
            EditError::NotFound => ApiError::NotFound("No such customer.".into()),
            EditError::Invalid(m) => ApiError::Invalid(Some("name".into()), m),
            e @ EditError::Taken(_) => ApiError::Conflict("emails".into(), e.to_string()),
            EditError::Db(d) => d.into(),
        }
    }
}

impl From<IntakeError> for ApiError {
    fn from(e: IntakeError) -> ApiError {
        match e {
            IntakeError::Invalid(field, m) => ApiError::Invalid(Some(field), m),
            IntakeError::Conflict(field, m) => ApiError::Conflict(field, m),
            e @ IntakeError::NoSuchShipment(_) => ApiError::NotFound(e.to_string()),
            IntakeError::File(problems) => ApiError::File(problem_lines(&problems)),
            IntakeError::Vault(v) => ApiError::Internal(v.into()),
            IntakeError::Db(d) => d.into(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Invalid(..) | ApiError::File(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict(..) => StatusCode::CONFLICT,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(error = %format!("{cause:#}"), "API call failed");
        }
        let status = self.status_code();
        let (field, errors) = match self {
            ApiError::Invalid(field, _) => (field.clone(), None),
            ApiError::Conflict(field, _) => (Some(field.clone()), None),
            ApiError::File(lines) => (Some("file".into()), Some(lines.clone())),
            _ => (None, None),
        };
        let body = Problem {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: self.to_string(),
            field,
            errors,
        };
        let mut response = HttpResponse::build(status);
        response
            .content_type(PROBLEM_JSON)
            .insert_header(("Cache-Control", "no-store"));
        match self {
            ApiError::Unauthorized => {
                response.insert_header(("WWW-Authenticate", "Bearer realm=\"seedport\""));
            }
            ApiError::TooManyRequests(seconds) => {
                response.insert_header(("Retry-After", seconds.to_string()));
            }
            _ => {}
        }
        response.body(serde_json::to_string(&body).unwrap_or_default())
    }
}
