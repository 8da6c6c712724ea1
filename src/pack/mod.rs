//! The package pipeline shared by `seedport pack` and the portal: tokens → format writer(s) →
//! zip (AES-256) → OpenPGP, streamed into one output.

use crate::domain::{Token, TokenContext};
use crate::formats::{FormatError, FormatOptions, SeedFormat, TokenShape};
use crate::packaging::{
    build_package, PackageEntry, PackageError, PackageSummary, Protection, ReadmeInput,
    SafeFileName,
};
use std::io::Write;

pub mod cli;

/// Why a package could not be built; every message is fit to show the person who asked.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error("there are no tokens to pack")]
    Empty,
}

/// One file of a delivery: its name and which tokens (indices into the token list) it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    pub name: String,
    pub tokens: Vec<usize>,
}

/// Splits tokens into files: by the format's file group (a header that covers a whole file),
/// then into parts of at most `max_tokens_per_file`. Groups keep the order they first appear in.
pub fn plan_files(format: &SeedFormat, base_name: &str, shapes: &[TokenShape]) -> Vec<PlannedFile> {
    let mut groups: Vec<(Option<String>, Vec<usize>)> = Vec::new();
    for (i, shape) in shapes.iter().enumerate() {
        let group = format.file_group(shape);
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, members)) => members.push(i),
            None => groups.push((group, vec![i])),
        }
    }
    let mut files = Vec::new();
    for (group, members) in groups {
        match format.max_tokens_per_file {
            Some(max) if members.len() > max => {
                for (n, part) in members.chunks(max).enumerate() {
                    files.push(PlannedFile {
                        name: format.file_name(base_name, group.as_deref(), Some(n + 1)),
                        tokens: part.to_vec(),
                    });
                }
            }
            _ => files.push(PlannedFile {
                name: format.file_name(base_name, group.as_deref(), None),
                tokens: members,
            }),
        }
    }
    files
}

/// Checks the tokens and options against the format, then streams the package into `out`.
/// `contexts[i]` is the order context of `tokens[i]` (or one context for all when it has one
/// element). On error the output is incomplete and must be discarded.
#[allow(clippy::too_many_arguments)]
pub fn pack_tokens<W: Write + Send + Sync>(
    out: W,
    base_name: &str,
    tokens: &[Token],
    contexts: &[TokenContext],
    format: &'static SeedFormat,
    options: &FormatOptions,
    protection: &Protection,
    now: time::OffsetDateTime,
) -> Result<PackageSummary, PackError> {
    if tokens.is_empty() {
        return Err(PackError::Empty);
    }
    format.check_options(options)?;
    format.check(&mut tokens.iter().map(TokenShape::from))?;
    let shapes: Vec<TokenShape> = tokens.iter().map(TokenShape::from).collect();
    let files = plan_files(format, base_name, &shapes);
    drop(shapes);
    let default_context = TokenContext::default();
    let context_of = |i: usize| {
        contexts
            .get(i)
            .or(contexts.first())
            .unwrap_or(&default_context)
    };
    let mut entries = Vec::with_capacity(files.len());
    for file in files {
        let name = SafeFileName::parse(&file.name)?;
        let context_of = &context_of;
        entries.push(PackageEntry::new(name, move |w: &mut dyn Write| {
            let mut rng = rand::rngs::OsRng;
            let mut writer = format.open(options, &mut rng)?;
            writer.begin(w)?;
            for &i in &file.tokens {
                // plan_files only names indices of `tokens`.
                let Some(token) = tokens.get(i) else { continue };
                writer.write_token(w, token, context_of(i))?;
            }
            writer.finish(w)?;
            Ok(())
        }));
    }
    let readme = ReadmeInput {
        format_name: format.name.to_string(),
        token_count: tokens.len() as u64,
        how_to_import: format.how_to_import.to_string(),
    };
    let package_name = SafeFileName::parse(&safe_base(base_name))?;
    Ok(build_package(
        out,
        &package_name,
        entries,
        protection,
        &readme,
        now,
    )?)
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
