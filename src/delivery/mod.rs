//! Delivery: approving and rejecting requests, one-time download and confirmation links, and
//! destroying packages once they are confirmed, expire or are rejected.

mod decide;

pub mod links;
mod records;
pub mod sweep;

mod token;

pub use decide::{
    approve, approve_request, reject, reject_request, AlreadyDecided, ApproveOutcome,
    RejectOutcome, MAX_REASON_CHARS,
};
pub use records::{PackageRow, RequestRow};
pub use token::LinkToken;

use crate::db::DbError;
use crate::web::AppError;

/// Why a delivery operation failed. Messages never hold link tokens, passwords or email bodies.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("no such request")]
    NotFound,
    #[error("{0}")]
    Invalid(String),
    #[error("an email template failed: {0}")]
    Template(String),
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

impl From<DbError> for DeliveryError {
    fn from(e: DbError) -> DeliveryError {
        match e {
            DbError::Unavailable(cause) => DeliveryError::Unavailable(cause),
            DbError::Query(q) => DeliveryError::Db(q),
        }
    }
}

impl From<tera::Error> for DeliveryError {
    fn from(e: tera::Error) -> DeliveryError {
        DeliveryError::Template(format!("{e:?}"))
    }
}

impl From<DeliveryError> for AppError {
    fn from(e: DeliveryError) -> AppError {
        match e {
            DeliveryError::NotFound => AppError::NotFound,
            DeliveryError::Invalid(message) => AppError::BadRequest(message),
            DeliveryError::Unavailable(cause) => AppError::from(DbError::Unavailable(cause)),
            DeliveryError::Db(q) => AppError::from(q),
            other @ DeliveryError::Template(_) => AppError::internal(other),
        }
    }
}
