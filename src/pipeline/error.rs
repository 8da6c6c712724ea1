//! The one error type of the packaging boundary. It never carries a password or key material.

use super::pgp::PgpEncryptError;
use std::io;

/// Why a package could not be built. On any error the output written so far is incomplete and
/// must be discarded.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error(
        "invalid package or file name {0:?}: use letters, digits, '-', '_' and '.', at most 120 \
         characters, not starting with '.' or '-'"
    )]
    InvalidName(String),
    #[error(
        "PGP armored without a zip holds exactly one file, and this format makes {0}: choose a \
         zip protection or a single-file format (PSKC, custom CSV)"
    )]
    NotOneFile(usize),
    #[error("two files in the package would be named {0:?}")]
    DuplicateEntry(String),
    #[error("could not write {name} into the package")]
    Source {
        name: String,
        #[source]
        source: anyhow::Error,
    },
    #[error("writing the zip failed")]
    Zip(#[from] zip::result::ZipError),
    #[error("writing the OpenPGP layer failed")]
    Pgp(#[from] PgpEncryptError),
    #[error("writing the package failed")]
    Io(#[from] io::Error),
    #[error("the package date cannot be recorded in a zip file (years 1980 to 2107 only)")]
    Date,
}
