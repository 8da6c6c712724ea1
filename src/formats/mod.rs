//! Seed file format writers: one module per format, one streaming trait, one registry.
//!
//! The web wizard checks a selection with [`SeedFormat::check`] on secret-free
//! [`TokenShape`]s; the packager groups tokens with [`SeedFormat::file_group`] (and
//! `max_tokens_per_file`), names each file with [`SeedFormat::file_name`], and streams each file
//! through a [`SeedWriter`] from [`SeedFormat::open`]. No writer ever holds a whole file.

mod csv_rows;
pub mod custom_csv;
mod dualshield;
mod duo_csv;
mod encode;
mod entra_csv;
mod entra_json;
mod error;
mod okta_csv;
mod options;
mod pskc;
mod registry;
mod rules;
mod safeid_csv;
mod salesforce_csv;
mod shape;
mod writer;

pub use custom_csv::{
    ColumnValue, CustomColumn, CustomCsvSpec, Delimiter, SecretEncoding, TokenProperty,
};
pub use error::{FormatError, Problem};
pub use options::{FormatOptions, DEFAULT_PBKDF2_ITERATIONS};
pub use registry::{all, find, get, FormatId, SeedFormat};
pub use shape::TokenShape;
pub use writer::SeedWriter;
