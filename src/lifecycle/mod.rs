//! The request lifecycle, written once: the states of requests and packages, the events that
//! move them, and the conditional UPDATEs that apply them.
//!
//! ```text
//! pending_review ─approve─► approved ─email sent─► emailed ─download─► downloaded ─confirm─► confirmed
//!   │ reject ─► rejected       │ email given up ─► failed_delivery (re-send ─► approved)
//!   │ no review in time ─► expired   any open package ─expiry─► expired, ─bad passwords─► locked
//!   staff: re-send (new links) ─► approved; re-issue an expired/locked file still held ─► approved;
//!   cancel ─► cancelled; extend keeps the state and moves the expiry.
//! ```
//!
//! Packages carry the state; a request's state follows its packages' ([`State::of_request`]):
//! problems first (failed delivery, then locked), then the least advanced file still in progress,
//! then the outcome once every file is finished. Approve and reject also move the request
//! itself first (one conditional UPDATE from `pending_review`), so two reviewers cannot both win.
//! Every transition writes an audit row; a transition the state does not allow is a typed
//! [`Refused`], never a silent no-op, and queues the request's webhook event ([`announce`]).

pub mod announce;
mod ids;
mod moves;
pub mod report;
mod state;

pub use ids::{PackageId, RequestId};
pub(crate) use moves::move_package;
pub use moves::{action, follow, recorded, MoveError, Refused, Who};
pub use state::{Event, State, EXTENDABLE};
