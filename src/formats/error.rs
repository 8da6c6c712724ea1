//! The one error type of the format writers, worded for the customer who picked the format.

use std::fmt;

/// How many serials an error names before it says "and N more".
const SERIALS_SHOWN: usize = 5;

/// One rule a set of tokens breaks, with the serials that break it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Customer-readable rule, e.g. "only time-based (TOTP) tokens can be imported".
    pub rule: &'static str,
    /// The first few serials that break the rule.
    pub serials: Vec<String>,
    /// How many tokens break the rule in all.
    pub count: usize,
}

impl Problem {
    pub(crate) fn new(rule: &'static str) -> Self {
        Problem {
            rule,
            serials: Vec::new(),
            count: 0,
        }
    }

    pub(crate) fn add(&mut self, serial: &str) {
        // Keep only a handful: a million-token shipment must not build a million-entry list.
        if self.serials.len() < SERIALS_SHOWN {
            self.serials.push(serial.to_string());
        }
        self.count += 1;
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = if self.count == 1 { "serial" } else { "serials" };
        write!(f, "{} ({word} {}", self.rule, self.serials.join(", "))?;
        if self.count > self.serials.len() {
            write!(f, " and {} more", self.count - self.serials.len())?;
        }
        f.write_str(")")
    }
}

/// Everything that can go wrong choosing, checking or writing a seed file. `Display` is meant
/// for the customer; no variant ever holds a secret.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("{0:?} is not a seed file format this portal offers (known formats: {1})")]
    UnknownFormat(String, String),

    /// Tokens the format cannot represent.
    #[error("{}", incompatible(.format, .problems))]
    Incompatible {
        format: &'static str,
        problems: Vec<Problem>,
    },

    /// The caller put a token into a file whose header was written for other token settings.
    #[error(
        "{format}: token {serial} ({found}) cannot share a file with tokens of group {expected}"
    )]
    WrongFile {
        format: &'static str,
        serial: String,
        expected: String,
        found: String,
    },

    /// The caller put more tokens into one file than the format allows.
    #[error("{format}: a file holds at most {max} tokens; start a new file")]
    FileFull { format: &'static str, max: usize },

    /// A custom CSV layout the customer described cannot be used.
    #[error("Custom CSV layout: {0}")]
    InvalidSpec(String),

    /// An option the format needs is missing or unusable (key, passphrase, layout).
    #[error("{format}: {message}")]
    Options {
        format: &'static str,
        message: String,
    },

    /// The sink (zip, PGP, file) refused the bytes.
    #[error("writing the seed file failed: {0}")]
    Io(#[from] std::io::Error),
}

fn incompatible(format: &str, problems: &[Problem]) -> String {
    let total: usize = problems.iter().map(|p| p.count).sum();
    let rules: Vec<String> = problems.iter().map(ToString::to_string).collect();
    format!(
        "The {format} format cannot carry {total} of the selected tokens: {}.",
        rules.join("; ")
    )
}
