//! The import manifest: a small TOML file naming the customer, the order and its shipments.

use super::factory::TokenOverrides;
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

/// A manifest with its token files read, ready to import.
pub struct ImportInput {
    pub manifest: Manifest,
    /// One entry per shipment, in manifest order: the file's display name and bytes.
    pub files: Vec<(String, Vec<u8>)>,
}

impl ImportInput {
    /// Reads a manifest file and the token files it names (relative to the manifest).
    pub fn from_path(path: &Path) -> anyhow::Result<ImportInput> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the manifest {}", path.display()))?;
        let manifest =
            Manifest::parse(&text).with_context(|| format!("manifest {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut files = Vec::with_capacity(manifest.shipments.len());
        for s in &manifest.shipments {
            let file = base.join(&s.file);
            let bytes = std::fs::read(&file).with_context(|| {
                format!(
                    "shipment {}: cannot read the token file {}",
                    s.number,
                    file.display()
                )
            })?;
            files.push((file.display().to_string(), bytes));
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
