//! Packaging: turns seed files into the protected file a customer downloads.
//!
//! - [`password`]: the customer's zip password policy and passphrase suggestions.
//! - [`pgp`]: the customer's OpenPGP certificate and streaming encryption to it.
//! - [`zip_stream`]: streaming zip with AES-256 (WinZip AE-2) entries.
//! - [`package`]: assembles seed files + README under the chosen [`Protection`].

mod digest;
mod error;
pub mod package;
pub mod password;
pub mod pgp;
mod readme;
pub mod zip_stream;

pub use digest::{DigestWriter, StreamDigest};
pub use error::PackageError;
pub use package::{
    build_package, EntrySource, EntrySummary, PackageEntry, PackageSummary, Protection,
    SafeFileName, README_NAME,
};
pub use password::{suggest_passphrase, PasswordError, ZipPassword};
pub use pgp::{PgpEncryptError, PgpEncryptor, PgpKeyError, PgpRecipient};
pub use readme::ReadmeInput;
pub use zip_stream::ZipStream;
