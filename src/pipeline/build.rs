//! Builds one package: plans the files from the source's shapes, then streams each file's
//! tokens through the format writer into the zip / OpenPGP stack and on into `out`.

use super::package::{build_package, PackageEntry, PackageSummary, Protection, SafeFileName};
use super::plan::Planner;
use super::readme::ReadmeInput;
use super::source::TokenSource;
use super::PackageError;
use crate::formats::{FormatError, FormatOptions, SeedFormat};
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;

/// Why a package could not be built; every message is fit to show the person who asked.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error("there are no tokens to pack")]
    Empty,
    #[error("reading the tokens failed")]
    Source(#[source] anyhow::Error),
}

/// The customer's choices for one package (the tokens come from a [`TokenSource`]).
#[derive(Debug)]
pub struct PackageRequest<'a> {
    /// Base name of the package and its files, e.g. the request reference.
    pub base_name: &'a str,
    pub format: &'static SeedFormat,
    pub options: &'a FormatOptions,
    pub protection: &'a Protection,
    /// Dates the entries and README; the PGP certificate must be valid then.
    pub now: time::OffsetDateTime,
}

/// What [`build`] made: the package summary and the number of tokens in it.
#[derive(Debug, Clone)]
pub struct Built {
    pub summary: PackageSummary,
    pub token_count: u64,
}

/// Checks the options and every token against the format, then streams the package into
/// `out`. On error the output is incomplete and must be discarded.
pub fn build<W: Write + Send + Sync>(
    out: W,
    request: &PackageRequest<'_>,
    source: &mut dyn TokenSource,
) -> Result<Built, PackError> {
    let format = request.format;
    format.check_options(request.options)?;
    let mut planner = Planner::new(format);
    source
        .shapes(&mut |shape| planner.add(shape))
        .map_err(PackError::Source)?;
    let token_count = planner.total();
    if token_count == 0 {
        return Err(PackError::Empty);
    }
    let files = planner.finish(request.base_name)?;
    let source = RefCell::new(source);
    let mut entries = Vec::with_capacity(files.len());
    for file in files {
        let name = SafeFileName::parse(&file.name)?;
        let source = &source;
        let options = request.options;
        entries.push(PackageEntry::new(name, move |w: &mut dyn Write| {
            let mut rng = rand::rngs::OsRng;
            let mut writer = format.open(options, &mut rng)?;
            writer.begin(w)?;
            let mut ordinals: HashMap<Option<String>, usize> = HashMap::new();
            let mut wanted = |shape: &crate::formats::TokenShape| {
                let group = format.file_group(shape);
                let n = ordinals.entry(group.clone()).or_default();
                let ordinal = *n;
                *n += 1;
                file.holds(&group, ordinal)
            };
            source.borrow_mut().tokens(&mut wanted, &mut |token, ctx| {
                writer.write_token(w, token, ctx)?;
                Ok(())
            })?;
            writer.finish(w)?;
            Ok(())
        }));
    }
    let readme = ReadmeInput {
        format_name: format.name.to_string(),
        token_count,
        how_to_import: format.how_to_import.to_string(),
    };
    let package_name = SafeFileName::parse(&safe_base(request.base_name))?;
    let summary = build_package(
        out,
        &package_name,
        entries,
        request.protection,
        &readme,
        request.now,
    )?;
    Ok(Built {
        summary,
        token_count,
    })
}

/// A package base name reduced to the characters every file system accepts.
pub fn safe_base(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let trimmed = cleaned.trim_start_matches(['_', '-']);
    if trimmed.is_empty() {
        "seeds".to_string()
    } else {
        trimmed.to_string()
    }
}
