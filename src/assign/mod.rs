//! The token assignment tool for Microsoft Entra ID: give tokens to users, export the Entra upload.
//!
//! The same rules run in two places: here (the `seedport assign` CLI) and in the browser page
//! `/tools/assign` (`static/tools/assign/model.js`), which never uploads the token file.
//! Keep both in step when a rule changes.
//!
//! Files:
//! - token file: the Entra MFA CSV (`upn,serial number,...`), the Deepnet factory CSV
//!   (`serial number,...`) or a customer inventory (see [`inventory`]).
//! - user file: one UPN a line, optionally `,Display Name`.

pub mod cli;
pub mod error;
pub mod export;
pub mod inventory;
pub mod table;
pub mod text;
pub mod tokens;
pub mod upn;
pub mod users;

pub use cli::{run, run_on, AssignArgs};
pub use error::{FileErrors, LineError};
pub use table::{ApplyReport, AssignError, Assignments, Row, Status, MAX_TOKENS_PER_USER};
pub use tokens::{parse_token_file, AssignToken, TokenFileKind};
pub use upn::{DisplayName, Upn};
pub use users::{parse_users, UserEntry};
