//! The one trait every format implements: stream one file, token by token.

use super::FormatError;
use crate::domain::{Token, TokenContext};
use std::io::Write;

/// Writes one seed file. A fresh writer is opened per file (see `SeedFormat::open`); the
/// caller feeds it the tokens of one file group, so no file is ever held in memory.
///
/// Call `begin` once, `write_token` per token, then `finish` once. The sink should be buffered
/// (the zip writer is); writers emit a row or element at a time.
pub trait SeedWriter {
    fn begin(&mut self, out: &mut dyn Write) -> Result<(), FormatError>;
    fn write_token(
        &mut self,
        out: &mut dyn Write,
        token: &Token,
        ctx: &TokenContext,
    ) -> Result<(), FormatError>;
    fn finish(&mut self, out: &mut dyn Write) -> Result<(), FormatError>;
}
