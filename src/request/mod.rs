//! The customer's request: order lookup, rate limits, wizard drafts, shipment proof, the
//! tokens a request covers, and submit (building the encrypted packages).

pub mod draft;
pub mod format_choice;
pub mod lookup;
pub mod package;
pub mod proof;
pub mod protection;
pub mod rate_limit;
pub mod shipments;
pub mod submit;
pub mod summary;
pub mod tokens;

pub use draft::{Bundling, Choices, Draft, DraftSecrets, PgpChoice, ProtectionKind, Step};
