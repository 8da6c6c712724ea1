//! The list of formats the portal offers, by stable id, with what each can carry.

use super::rules::Rule;
use super::{
    custom_csv, dualshield, duo_csv, entra_csv, entra_json, okta_csv, pskc, safeid_csv,
    salesforce_csv, FormatError, FormatOptions, Problem, SeedWriter, TokenShape,
};
use crate::domain::{Token, TokenContext};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::Write;
use std::str::FromStr;

/// Stable format id used by `seedport pack --format`, the request form and stored requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FormatId {
    EntraCsv,
    EntraJson,
    Dualshield,
    DuoCsv,
    OktaCsv,
    PskcPlain,
    PskcPsk,
    PskcPassphrase,
    SafeidCsv,
    SalesforceCsv,
    CustomCsv,
}

impl FormatId {
    pub const ALL: [FormatId; 11] = [
        FormatId::EntraCsv,
        FormatId::EntraJson,
        FormatId::Dualshield,
        FormatId::DuoCsv,
        FormatId::OktaCsv,
        FormatId::PskcPlain,
        FormatId::PskcPsk,
        FormatId::PskcPassphrase,
        FormatId::SafeidCsv,
        FormatId::SalesforceCsv,
        FormatId::CustomCsv,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FormatId::EntraCsv => "entra-csv",
            FormatId::EntraJson => "entra-json",
            FormatId::Dualshield => "dualshield",
            FormatId::DuoCsv => "duo-csv",
            FormatId::OktaCsv => "okta-csv",
            FormatId::PskcPlain => "pskc-plain",
            FormatId::PskcPsk => "pskc-psk",
            FormatId::PskcPassphrase => "pskc-passphrase",
            FormatId::SafeidCsv => "safeid-csv",
            FormatId::SalesforceCsv => "salesforce-csv",
            FormatId::CustomCsv => "custom-csv",
        }
    }

    /// Whether Microsoft Entra ID imports this format (its tokens must be assigned to users).
    pub fn is_entra(self) -> bool {
        matches!(self, FormatId::EntraCsv | FormatId::EntraJson)
    }

    /// The registry entry for this id.
    pub fn format(self) -> &'static SeedFormat {
        get(self)
    }
}

impl fmt::Display for FormatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FormatId {
    type Err = FormatError;
    fn from_str(s: &str) -> Result<Self, FormatError> {
        let wanted = s.trim().to_ascii_lowercase();
        FormatId::ALL
            .into_iter()
            .find(|id| id.as_str() == wanted)
            .ok_or_else(|| {
                let known: Vec<&str> = FormatId::ALL.iter().map(|id| id.as_str()).collect();
                FormatError::UnknownFormat(s.to_string(), known.join(", "))
            })
    }
}

/// Opens a per-file writer; the writer may borrow the caller's RNG for IVs, keys and salts.
pub(crate) type OpenFn = for<'a> fn(
    &FormatOptions,
    &'a mut dyn RngCore,
) -> Result<Box<dyn SeedWriter + 'a>, FormatError>;

/// One entry of the registry: what the wizard shows and the packager calls.
pub struct SeedFormat {
    pub id: FormatId,
    /// Display name, e.g. "Microsoft Entra ID (CSV)".
    pub name: &'static str,
    /// One line for the format picker.
    pub help: &'static str,
    /// A short paragraph for README.txt and the delivery email.
    pub how_to_import: &'static str,
    /// Which tokens the format can carry, in words.
    pub carries: &'static str,
    /// File extension without the leading dot (`csv.txt` for Sales Force).
    pub extension: &'static str,
    /// Split a file group into parts of at most this many tokens.
    pub max_tokens_per_file: Option<usize>,
    pub(crate) rules: fn(&TokenShape) -> Rule,
    pub(crate) group: fn(&TokenShape) -> Option<String>,
    pub(crate) options: fn(&FormatOptions) -> Result<(), String>,
    pub(crate) open: OpenFn,
}

impl fmt::Debug for SeedFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeedFormat").field("id", &self.id).finish()
    }
}

static FORMATS: [SeedFormat; 11] = [
    entra_csv::FORMAT,
    entra_json::FORMAT,
    dualshield::FORMAT,
    duo_csv::FORMAT,
    okta_csv::FORMAT,
    pskc::PLAIN,
    pskc::PSK,
    pskc::PASSPHRASE,
    safeid_csv::FORMAT,
    salesforce_csv::FORMAT,
    custom_csv::FORMAT,
];

/// Every format, in the order the wizard lists them.
pub fn all() -> &'static [SeedFormat] {
    &FORMATS
}

/// The entry for an id.
pub fn get(id: FormatId) -> &'static SeedFormat {
    // FORMATS is in FormatId order and has one entry per id; a unit test keeps it so.
    #[allow(clippy::indexing_slicing)]
    &FORMATS[id as usize]
}

/// The entry for an id as typed on the command line or stored in a request.
pub fn find(id: &str) -> Result<&'static SeedFormat, FormatError> {
    id.parse::<FormatId>().map(get)
}

/// For formats without file groups.
pub(crate) fn one_group(_: &TokenShape) -> Option<String> {
    None
}

/// For formats without options.
pub(crate) fn no_options(_: &FormatOptions) -> Result<(), String> {
    Ok(())
}

impl SeedFormat {
    /// The rule a single token breaks, if any.
    pub fn check_token(&self, shape: &TokenShape) -> Result<(), &'static str> {
        (self.rules)(shape)
    }

    /// Checks a whole selection before any byte is written; the error names every rule broken
    /// and the first serials breaking each. Memory stays bounded however many tokens come.
    pub fn check(&self, shapes: &mut dyn Iterator<Item = TokenShape>) -> Result<(), FormatError> {
        let mut problems: Vec<Problem> = Vec::new();
        for shape in shapes {
            if let Err(rule) = self.check_token(&shape) {
                match problems.iter_mut().find(|p| p.rule == rule) {
                    Some(p) => p.add(shape.serial.as_str()),
                    None => {
                        let mut p = Problem::new(rule);
                        p.add(shape.serial.as_str());
                        problems.push(p);
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(FormatError::Incompatible {
                format: self.name,
                problems,
            })
        }
    }

    /// Checks the customer's options (keys, passphrase, custom layout) for this format.
    pub fn check_options(&self, options: &FormatOptions) -> Result<(), FormatError> {
        (self.options)(options).map_err(|message| FormatError::Options {
            format: self.name,
            message,
        })
    }

    /// The file-name suffix of the file this token goes into, for formats whose header or
    /// import settings cover a whole file (e.g. `duo_TOTP6_60s`); `None` = one file.
    pub fn file_group(&self, shape: &TokenShape) -> Option<String> {
        (self.group)(shape)
    }

    /// `{base}[_{group}][_part{NNN}].{extension}`; `part` is 1-based and only given when a group
    /// is split by `max_tokens_per_file`. The base is reduced to safe file-name characters.
    pub fn file_name(&self, base: &str, group: Option<&str>, part: Option<usize>) -> String {
        let mut name: String = base
            .trim()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if name.is_empty() {
            name.push_str("seeds");
        }
        if let Some(g) = group {
            name.push('_');
            name.push_str(g);
        }
        if let Some(n) = part {
            name.push_str(&format!("_part{n:03}"));
        }
        name.push('.');
        name.push_str(self.extension);
        name
    }

    /// Opens a writer for one file. Options are checked here; every token written is checked
    /// again against the rules, the file's group and the per-file limit, so a caller that
    /// skipped `check` still cannot produce a wrong file.
    pub fn open<'a>(
        &'static self,
        options: &FormatOptions,
        rng: &'a mut dyn RngCore,
    ) -> Result<Box<dyn SeedWriter + 'a>, FormatError> {
        self.check_options(options)?;
        let inner = (self.open)(options, rng)?;
        Ok(Box::new(Checked {
            format: self,
            inner,
            group: None,
            count: 0,
            shape: None,
        }))
    }
}

/// Wraps every format's writer with the checks that must hold whatever the caller does.
struct Checked<'a> {
    format: &'static SeedFormat,
    inner: Box<dyn SeedWriter + 'a>,
    /// The first token's group: every later token must share it.
    group: Option<Option<String>>,
    count: usize,
    /// The last token's shape, refilled for each token (no allocation per token).
    shape: Option<TokenShape>,
}

impl SeedWriter for Checked<'_> {
    fn begin(&mut self, out: &mut dyn Write) -> Result<(), FormatError> {
        self.inner.begin(out)
    }

    fn write_token(
        &mut self,
        out: &mut dyn Write,
        token: &Token,
        ctx: &TokenContext,
    ) -> Result<(), FormatError> {
        let f = self.format;
        let shape: &TokenShape = match &mut self.shape {
            Some(shape) => {
                shape.refill(token);
                shape
            }
            None => self.shape.insert(TokenShape::from(token)),
        };
        if let Err(rule) = f.check_token(shape) {
            let mut problem = Problem::new(rule);
            problem.add(shape.serial.as_str());
            return Err(FormatError::Incompatible {
                format: f.name,
                problems: vec![problem],
            });
        }
        let group = f.file_group(shape);
        match &self.group {
            None => self.group = Some(group),
            Some(expected) if *expected != group => {
                return Err(FormatError::WrongFile {
                    format: f.name,
                    serial: shape.serial.to_string(),
                    expected: expected.clone().unwrap_or_default(),
                    found: group.unwrap_or_default(),
                })
            }
            Some(_) => {}
        }
        if let Some(max) = f.max_tokens_per_file {
            if self.count >= max {
                return Err(FormatError::FileFull {
                    format: f.name,
                    max,
                });
            }
        }
        self.count += 1;
        self.inner.write_token(out, token, ctx)
    }

    fn finish(&mut self, out: &mut dyn Write) -> Result<(), FormatError> {
        self.inner.finish(out)?;
        out.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_in_id_order_and_ids_round_trip() {
        for id in FormatId::ALL {
            assert_eq!(get(id).id, id);
            assert_eq!(id.as_str().parse::<FormatId>().unwrap(), id);
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(json, format!("\"{}\"", id.as_str()));
        }
        assert_eq!(all().len(), FormatId::ALL.len());
    }

    #[test]
    fn unknown_id_lists_known_ones() {
        let e = find("excel").unwrap_err().to_string();
        assert!(e.contains("\"excel\"") && e.contains("entra-csv"), "{e}");
    }

    #[test]
    fn file_names() {
        let duo = get(FormatId::DuoCsv);
        assert_eq!(
            duo.file_name("PO1234", Some("duo_TOTP6_60s"), None),
            "PO1234_duo_TOTP6_60s.csv"
        );
        let sf = get(FormatId::SalesforceCsv);
        assert_eq!(sf.file_name("PO 12/34", None, None), "PO_12_34.csv.txt");
        let json = get(FormatId::EntraJson);
        assert_eq!(json.file_name("PO1", None, Some(2)), "PO1_part002.json");
    }
}
