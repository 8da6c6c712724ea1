//! Errors that point at a file and a line, and never quote a secret.

use std::fmt;

/// One refused line: which file, which line (1-based, 0 for the whole file), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.reason)
        } else {
            write!(f, "{} line {}: {}", self.file, self.line, self.reason)
        }
    }
}

/// Every problem found in one file. A file with any error is refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FileErrors(pub Vec<LineError>);

impl fmt::Display for FileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(f, "{} problem{} found", n, if n == 1 { "" } else { "s" })?;
        for e in self.0.iter().take(50) {
            write!(f, "\n  {e}")?;
        }
        if n > 50 {
            write!(f, "\n  ... and {} more", n - 50)?;
        }
        Ok(())
    }
}

impl FileErrors {
    pub fn one(file: &str, line: usize, reason: impl Into<String>) -> Self {
        FileErrors(vec![LineError {
            file: file.to_string(),
            line,
            reason: reason.into(),
        }])
    }
}
