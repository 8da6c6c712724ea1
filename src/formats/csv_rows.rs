//! The streaming writer behind the fixed-layout CSV formats: a header line, then a row a token.

use super::{FormatError, SeedWriter};
use crate::domain::{Token, TokenContext};
use std::io::Write;
use zeroize::Zeroizing;

/// Appends one row (without the line end) for a token that already passed the format's rules.
pub(crate) type RowFn = fn(&Token, &mut String);

/// CRLF, no BOM, no quoting: the rules guarantee no value needs it.
pub(crate) struct CsvRows {
    header: Option<&'static str>,
    row: RowFn,
    /// Reused for every row and wiped on drop, since rows hold encoded seeds.
    line: Zeroizing<String>,
}

impl CsvRows {
    pub(crate) fn new(header: Option<&'static str>, row: RowFn) -> Self {
        CsvRows {
            header,
            row,
            line: Zeroizing::new(String::with_capacity(256)),
        }
    }
}

impl SeedWriter for CsvRows {
    fn begin(&mut self, out: &mut dyn Write) -> Result<(), FormatError> {
        if let Some(h) = self.header {
            out.write_all(h.as_bytes())?;
            out.write_all(b"\r\n")?;
        }
        Ok(())
    }

    fn write_token(
        &mut self,
        out: &mut dyn Write,
        token: &Token,
        _ctx: &TokenContext,
    ) -> Result<(), FormatError> {
        self.line.clear();
        (self.row)(token, &mut self.line);
        self.line.push_str("\r\n");
        out.write_all(self.line.as_bytes())?;
        Ok(())
    }

    fn finish(&mut self, _out: &mut dyn Write) -> Result<(), FormatError> {
        Ok(())
    }
}
