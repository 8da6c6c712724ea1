//! The console's import as one use case: an upload's manifest matched with its token files
//! (every missing piece listed), the import run through the shared importer, and its outcome
//! audited, in words for the admin who uploaded it.

use super::{run, ImportError, ImportInput, ImportOutcome, Manifest};
use crate::audit::{self, Entry};
use crate::db::{write_tx, DbConnection};
use crate::plural::count;
use crate::vault::Vault;

/// What the admin uploaded: the manifest (a file or pasted text) and the token files by name.
pub struct Upload {
    pub manifest: Option<String>,
    /// (file name as the browser sent it, bytes).
    pub files: Vec<(String, Vec<u8>)>,
}

/// How the import ended, as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reported {
    /// Imported, or imported before: the sentence to show.
    Done(String),
    /// Nothing imported: every problem, with its file and line.
    Problems(Vec<String>),
}

/// Browsers may send a path; only the last component counts.
fn base_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

/// The manifest and, for each shipment, the uploaded file its `file` entry names.
fn input(upload: Upload) -> Result<ImportInput, Vec<String>> {
    let Some(text) = upload.manifest else {
        return Err(vec!["Upload the manifest (TOML) or paste it.".into()]);
    };
    let manifest = Manifest::parse(&text).map_err(|e| vec![format!("manifest: {e}")])?;
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for spec in &manifest.shipments {
        let wanted = spec
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match upload
            .files
            .iter()
            .find(|(name, _)| base_name(name) == wanted.as_str())
        {
            Some((_, data)) => files.push((wanted.clone(), data.clone().into())),
            None => problems.push(format!(
                "manifest: shipment {} names the file {wanted}, which was not uploaded",
                spec.number
            )),
        }
    }
    if problems.is_empty() {
        Ok(ImportInput { manifest, files })
    } else {
        Err(problems)
    }
}

/// Checks the upload, imports it and writes the audit row of the outcome.
pub fn import_upload(
    conn: &mut DbConnection,
    vault: &Vault,
    upload: Upload,
    actor: &str,
    client_ip: &str,
    now: i64,
) -> Result<Reported, ImportError> {
    let input = match input(upload) {
        Ok(input) => input,
        Err(problems) => return Ok(Reported::Problems(problems)),
    };
    let subject = format!("order:{}", input.manifest.order.po);
    let outcome = run(conn, vault, &input, now, &mut |_| {});
    let (action, details) = match &outcome {
        Ok(ImportOutcome::Imported {
            shipments, tokens, ..
        }) => (
            "import.completed",
            format!(
                "{}, {}",
                count(*shipments as i64, "shipment", "shipments"),
                count(*tokens as i64, "token", "tokens")
            ),
        ),
        Ok(ImportOutcome::AlreadyImported { .. }) => (
            "import.repeated",
            "already imported; nothing changed".into(),
        ),
        Err(ImportError::Invalid(p)) => (
            "import.rejected",
            count(p.len() as i64, "problem", "problems"),
        ),
        Err(ImportError::Conflict(c)) => ("import.rejected", c.clone()),
        Err(_) => ("import.failed", String::new()),
    };
    write_tx(conn, |conn| {
        audit::record(
            conn,
            &Entry {
                actor,
                action,
                subject: &subject,
                client_ip,
                details: &details,
            },
            now,
        )
    })?;
    match outcome {
        Ok(ImportOutcome::Imported {
            shipments, tokens, ..
        }) => Ok(Reported::Done(format!(
            "Imported {} with {}.",
            count(shipments as i64, "shipment", "shipments"),
            count(tokens as i64, "token", "tokens")
        ))),
        Ok(ImportOutcome::AlreadyImported { .. }) => Ok(Reported::Done(
            "This manifest and these files were imported before; nothing changed.".into(),
        )),
        Err(ImportError::Invalid(problems)) => Ok(Reported::Problems(
            problems.iter().map(|p| p.to_string()).collect(),
        )),
        Err(ImportError::Conflict(c)) => Ok(Reported::Problems(vec![c])),
        Err(e) => Err(e),
    }
}
