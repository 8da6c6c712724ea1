//! Builds one package of a request: groups the tokens into files (no seed read yet), then
//! streams each file's tokens page by page through the format writer into the zip/PGP stack
//! and on into sealed chunks. Memory stays flat: a page of tokens and a chunk at a time.

use super::submit::SubmitError;
use super::tokens::{self, Placed, TokenReader};
use crate::db::schema::packages;
use crate::db::{DbConnection, SharedConn};
use crate::formats::{FormatOptions, SeedFormat};
use crate::packaging::{build_package, PackageEntry, Protection, ReadmeInput, SafeFileName};
use crate::storage::ChunkWriter;
use crate::vault::Vault;
use diesel::prelude::*;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;

/// One package to build: its base name and its shipments (id, number).
#[derive(Debug, Clone)]
pub struct PackagePlan {
    pub name: String,
    pub shipments: Vec<(String, String)>,
}

/// Files of a package: (group, part) → tokens, in first-seen order of groups.
fn files<'p>(
    format: &SeedFormat,
    placed: &'p [Placed],
) -> Vec<(Option<String>, Option<usize>, Vec<&'p Placed>)> {
    let mut groups: BTreeMap<Option<String>, Vec<&Placed>> = BTreeMap::new();
    for p in placed {
        groups
            .entry(format.file_group(&p.shape))
            .or_default()
            .push(p);
    }
    let mut out = Vec::new();
    for (group, list) in groups {
        match format.max_tokens_per_file {
            Some(max) if max > 0 && list.len() > max => {
                for (i, chunk) in list.chunks(max).enumerate() {
                    out.push((group.clone(), Some(i + 1), chunk.to_vec()));
                }
            }
            _ => out.push((group, None, list)),
        }
    }
    out
}

/// Builds and stores one package on the caller's one connection (the token reader and the
/// chunk writer take turns on it); returns its id.
#[allow(clippy::too_many_arguments)]
pub fn build(
    conn: &mut DbConnection,
    vault: &Vault,
    request_id: &str,
    plan: &PackagePlan,
    format: &'static SeedFormat,
    options: &FormatOptions,
    protection: &Protection,
    max_downloads: u32,
    now: i64,
) -> Result<String, SubmitError> {
    let mut placed = Vec::new();
    for (id, _) in &plan.shipments {
        placed.extend(tokens::placed(conn, id)?);
    }
    format
        .check(&mut placed.iter().map(|p| p.shape.clone()))
        .map_err(|e| SubmitError::Invalid(e.to_string()))?;
    let package_id = uuid::Uuid::new_v4().to_string();
    let key = vault
        .new_data_key(conn, "package", now)
        .map_err(anyhow::Error::from)?;
    let numbers: Vec<&str> = plan.shipments.iter().map(|(_, n)| n.as_str()).collect();
    diesel::insert_into(packages::table)
        .values((
            packages::id.eq(&package_id),
            packages::request_id.eq(request_id),
            packages::file_name.eq(""),
            packages::content_type.eq(""),
            packages::size.eq(0i64),
            packages::sha256.eq(""),
            packages::token_count.eq(placed.len() as i64),
            packages::shipment_numbers.eq(numbers.join(", ")),
            packages::data_key_id.eq(&key.id),
            packages::state.eq("held"),
            packages::max_downloads.eq(i32::try_from(max_downloads).unwrap_or(i32::MAX)),
            packages::created_at.eq(now),
        ))
        .execute(conn)?;
    let shared = SharedConn::new(conn);
    let token_reader = RefCell::new(TokenReader::new(&shared, vault));
    let mut entries = Vec::new();
    for (group, part, list) in files(format, &placed) {
        let name = SafeFileName::parse(&format.file_name(&plan.name, group.as_deref(), part))
            .map_err(anyhow::Error::from)?;
        let reader = &token_reader;
        entries.push(PackageEntry::new(name, move |out: &mut dyn Write| {
            let mut rng = rand::rngs::OsRng;
            let mut writer = format.open(options, &mut rng)?;
            writer.begin(out)?;
            reader.borrow_mut().for_each(&list, &mut |token, ctx| {
                writer.write_token(out, token, ctx)?;
                Ok(())
            })?;
            writer.finish(out)?;
            Ok(())
        }));
    }
    let readme = ReadmeInput {
        format_name: format.name.to_string(),
        token_count: placed.len() as u64,
        how_to_import: format.how_to_import.to_string(),
    };
    let name = SafeFileName::parse(&plan.name).map_err(anyhow::Error::from)?;
    let at = time::OffsetDateTime::from_unix_timestamp(now).map_err(anyhow::Error::from)?;
    let mut sink = ChunkWriter::shared(&shared, key, &package_id);
    let summary = build_package(&mut sink, &name, entries, protection, &readme, at)
        .map_err(anyhow::Error::from)?;
    let written = sink.finish().map_err(anyhow::Error::from)?;
    drop(token_reader);
    let conn = shared.into_inner();
    if written != summary.size {
        return Err(anyhow::anyhow!("package size mismatch: {written} != {}", summary.size).into());
    }
    let content_type = if summary.file_name.ends_with(".pgp") {
        "application/pgp-encrypted"
    } else {
        "application/zip"
    };
    diesel::update(packages::table.find(&package_id))
        .set((
            packages::file_name.eq(&summary.file_name),
            packages::content_type.eq(content_type),
            packages::size.eq(summary.size as i64),
            packages::sha256.eq(&summary.sha256),
        ))
        .execute(conn)?;
    Ok(package_id)
}
