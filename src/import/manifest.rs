//! The import manifest: a small TOML file naming the customer, the order and its shipments.

use super::factory::{FactoryInput, TokenOverrides};
use crate::domain::{BusinessEmail, EmailDomain, OrderNumber};
use anyhow::{bail, Context};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// ```toml
/// [customer]
/// name = "Acme Corporation"
/// emails = ["it-admin@acme.example"]
/// domain = "acme.example"          # optional: any address here counts as registered
///
/// [order]
/// po = "PO-2026-0042"
/// invoice = "INV-10042"
///
/// [[shipments]]
/// number = "SHP-50042-1"
/// date = "2026-11-20"
/// file = "classic.csv"              # relative to the manifest
/// overrides = { time_step = 30 }    # optional: kind, hash, digits, time_step, encoding
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub customer: CustomerSpec,
    pub order: OrderSpec,
    pub shipments: Vec<ShipmentSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerSpec {
    pub name: String,
    #[serde(default)]
    pub emails: Vec<BusinessEmail>,
    pub domain: Option<EmailDomain>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderSpec {
    pub po: OrderNumber,
    pub invoice: OrderNumber,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShipmentSpec {
    pub number: OrderNumber,
    pub date: String,
    pub file: PathBuf,
    #[serde(default)]
    pub overrides: TokenOverrides,
}

impl Manifest {
    pub fn parse(text: &str) -> anyhow::Result<Manifest> {
        let manifest: Manifest =
            toml::from_str(text).map_err(|e| anyhow::anyhow!("{}", toml_problem(text, &e)))?;
        manifest.check()?;
        Ok(manifest)
    }

    fn check(&self) -> anyhow::Result<()> {
        let name = self.customer.name.trim();
        if name.is_empty() || name.len() > 200 {
            bail!("customer.name must be 1 to 200 characters");
        }
        if self.customer.emails.is_empty() && self.customer.domain.is_none() {
            bail!("the customer needs at least one registered email (customer.emails) or a domain (customer.domain)");
        }
        if self.shipments.is_empty() {
            bail!("the manifest names no shipments ([[shipments]])");
        }
        let format = time::macros::format_description!("[year]-[month]-[day]");
        for (i, s) in self.shipments.iter().enumerate() {
            if time::Date::parse(&s.date, &format).is_err() {
                bail!(
                    "shipment {} ({}): date {:?} is not a YYYY-MM-DD date",
                    i + 1,
                    s.number,
                    s.date
                );
            }
            if self.shipments.iter().take(i).any(|o| o.number == s.number) {
                bail!("shipment {} appears twice in the manifest", s.number);
            }
        }
        Ok(())
    }
}

/// The TOML error in words. Some syntax errors (a lone carriage return) carry no message of
/// their own; those still say where the file stops being TOML (found by fuzzing).
fn toml_problem(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim();
    if !message.is_empty() {
        return message.to_string();
    }
    let at = e.span().map_or(0, |s| s.start).min(text.len());
    let before = text.as_bytes().get(..at).unwrap_or_default();
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    format!(
        "the manifest is not valid TOML at line {line} (check for a stray character, such as a \
         carriage return without a line feed, or an unclosed quote)"
    )
}

/// A manifest with its token files found, ready to import.
pub struct ImportInput {
    pub manifest: Manifest,
    /// One entry per shipment, in manifest order: the file's display name and where it is.
    pub files: Vec<(String, TokenFile)>,
}

/// A shipment's token file: uploaded bytes, or a file on disk that is read again for each
/// pass (so `seedport import` never holds a whole file).
#[derive(Debug, Clone)]
pub enum TokenFile {
    Bytes(Vec<u8>),
    Path(PathBuf),
}

impl From<Vec<u8>> for TokenFile {
    fn from(bytes: Vec<u8>) -> TokenFile {
        TokenFile::Bytes(bytes)
    }
}

impl TokenFile {
    /// The file as the factory readers take it.
    pub fn input(&self) -> FactoryInput<'_> {
        match self {
            TokenFile::Bytes(b) => FactoryInput::Bytes(b),
            TokenFile::Path(p) => FactoryInput::Path(p),
        }
    }

    /// Its bytes, streamed to `each` a block at a time.
    pub fn read(&self, each: &mut dyn FnMut(&[u8])) -> std::io::Result<()> {
        use std::io::Read;
        match self {
            TokenFile::Bytes(b) => each(b),
            TokenFile::Path(p) => {
                let mut file = std::fs::File::open(p)?;
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = file.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    each(buf.get(..n).unwrap_or_default());
                }
            }
        }
        Ok(())
    }

    /// Its number of lines (about its number of tokens, for a progress bar).
    pub fn lines(&self) -> std::io::Result<u64> {
        let mut lines = 0u64;
        self.read(&mut |block| lines += block.iter().filter(|&&b| b == b'\n').count() as u64)?;
        Ok(lines)
    }
}

impl ImportInput {
    /// Reads a manifest file and finds the token files it names (relative to the manifest).
    pub fn from_path(path: &Path) -> anyhow::Result<ImportInput> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the manifest {}", path.display()))?;
        let manifest =
            Manifest::parse(&text).with_context(|| format!("manifest {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut files = Vec::with_capacity(manifest.shipments.len());
        for s in &manifest.shipments {
            let file = base.join(&s.file);
            // Opened here only to fail early on a missing file; it is read pass by pass.
            std::fs::File::open(&file).with_context(|| {
                format!(
                    "shipment {}: cannot read the token file {}",
                    s.number,
                    file.display()
                )
            })?;
            files.push((file.display().to_string(), TokenFile::Path(file)));
        }
        Ok(ImportInput { manifest, files })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the manifest fuzz target: a lone carriage return was refused with no words.
    #[test]
    fn every_toml_error_has_a_message() {
        for text in ["\r", "[customer]\r", "a = \"\r", "[[shipments]]\nx = 1\r\r"] {
            let e = Manifest::parse(text).unwrap_err().to_string();
            assert!(e.trim().len() > 10, "{text:?}: {e:?}");
        }
    }
}
