//! The package pipeline: tokens + the customer's choices → planned files → protected package.
//! The portal's submit and `seedport pack` both build through [`build`].
//!
//! - [`choice`]: the one parser for the protection choice and the PSKC key or passphrase.
//! - [`plan`]: the one file planner (names, order, which tokens go where).
//! - [`source`]: where tokens come from, walked once for shapes and once per file.
//! - [`build()`]: plans, checks and streams one package.
//! - [`password`]: the customer's zip password policy and passphrase suggestions.
//! - [`pgp`]: the customer's OpenPGP certificate and streaming encryption to it.
//! - [`zip_stream`]: streaming zip with AES-256 (WinZip AE-2) entries, fed in large pieces
//!   (`batch`).
//! - [`package`]: assembles seed files + README under the chosen [`Protection`].
//! - [`cli`]: `seedport pack`.

mod batch;
mod build;
pub mod choice;
pub mod cli;
mod digest;
mod error;
pub mod package;
pub mod password;
pub mod pgp;
pub mod plan;
mod readme;
pub mod source;
pub mod zip_stream;

pub use build::{build, safe_base, Built, PackError, PackageRequest};
pub use digest::{DigestWriter, StreamDigest};
pub use error::PackageError;
pub use package::{
    build_package, EntrySource, EntrySummary, PackageEntry, PackageSummary, Protection,
    SafeFileName, README_NAME,
};
pub use password::{suggest_passphrase, PasswordError, ZipPassword};
pub use pgp::{PgpEncryptError, PgpEncryptor, PgpKeyError, PgpRecipient};
pub use plan::{plan_files, PlannedFile, Planner};
pub use readme::ReadmeInput;
pub use source::{InMemory, TokenSource};
pub use zip_stream::ZipStream;
