//! Delivery: approving and rejecting requests, one-time download and confirmation links, the
//! delivery team's actions on released packages, the mail follower and the retention sweeps.

mod actions;
mod decide;
pub mod download;
pub mod format_words;
pub mod links;
pub mod notify;
mod records;
mod release;
pub mod retention;
pub mod sweep;
mod token;

pub use actions::{can_extend, cancel, extend, reissue, resend, ActionDone, MAX_EXTEND_DAYS};
pub use decide::{
    approve, parse_reason, reject, AlreadyDecided, ApproveOutcome, RejectOutcome, MAX_REASON_CHARS,
};
pub use records::{package, packages_of, request, PackageRow, RequestRow};
pub use token::LinkToken;

use crate::db::DbError;
use crate::lifecycle::{MoveError, Refused};

/// Why a delivery operation failed. Messages never hold link tokens, passwords or email bodies.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("no such request")]
    NotFound,
    #[error("{0}")]
    Invalid(String),
    /// The state does not allow it; nothing changed.
    #[error(transparent)]
    Refused(#[from] Refused),
    /// A re-issue asked for a file that is already destroyed.
    #[error("The file is already destroyed, so no new link can be issued: the customer must make a new request.")]
    FileDestroyed,
    /// Extending a link of a package in a state without live links.
    #[error("Nothing changed: the links of a file that is {} cannot be extended.", .0.label())]
    NotExtendable(crate::lifecycle::State),
    #[error("an email template failed: {0}")]
    Template(String),
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

impl From<MoveError> for DeliveryError {
    fn from(e: MoveError) -> DeliveryError {
        match e {
            MoveError::Refused(r) => DeliveryError::Refused(r),
            MoveError::NotFound => DeliveryError::NotFound,
            MoveError::Db(q) => DeliveryError::Db(q),
        }
    }
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
