//! Builds one package of a request through the one pipeline ([`crate::pipeline::build`]): the
//! request's tokens are a [`TokenSource`] whose shapes come from the database without any seed,
//! and whose seeds are decrypted a page at a time as each planned file streams into the zip/PGP
//! stack and on into sealed chunks.

use super::submit::SubmitError;
use super::tokens::StoredTokens;
use crate::db::schema::packages;
use crate::db::{DbConnection, SharedConn};
use crate::formats::{FormatOptions, SeedFormat};
use crate::pipeline::{self, PackError, PackageRequest, Protection};
use crate::storage::ChunkWriter;
use crate::vault::Vault;
use diesel::prelude::*;
use std::io::{self, Write};
use std::sync::Mutex;

/// One package to build: its base name and its shipments (id, number).
#[derive(Debug, Clone)]
pub struct PackagePlan {
    pub name: String,
    pub shipments: Vec<(String, String)>,
}

/// `build_package` wants a `Send + Sync` sink; the chunk writer holds a connection, so it sits
/// behind a mutex that is only ever taken by this one thread.
struct Locked<W>(Mutex<W>);

impl<W: Write> Write for Locked<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .get_mut()
            .map_err(|_| io::Error::other("poisoned"))?
            .write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0
            .get_mut()
            .map_err(|_| io::Error::other("poisoned"))?
            .flush()
    }
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
    let package_id = uuid::Uuid::new_v4().to_string();
    let key = vault
        .new_data_key(conn, "package", now)
        .map_err(anyhow::Error::from)?;
    let started = std::time::Instant::now();
    let numbers: Vec<&str> = plan.shipments.iter().map(|(_, n)| n.as_str()).collect();
    diesel::insert_into(packages::table)
        .values((
            packages::id.eq(&package_id),
            packages::request_id.eq(request_id),
            packages::file_name.eq(""),
            packages::content_type.eq(""),
            packages::size.eq(0i64),
            packages::sha256.eq(""),
            packages::token_count.eq(0i64),
            packages::shipment_numbers.eq(numbers.join(", ")),
            packages::data_key_id.eq(&key.id),
            packages::state.eq(crate::lifecycle::State::PendingReview),
            packages::max_downloads.eq(i32::try_from(max_downloads).unwrap_or(i32::MAX)),
            packages::created_at.eq(now),
        ))
        .execute(conn)?;
    let at = time::OffsetDateTime::from_unix_timestamp(now).map_err(anyhow::Error::from)?;
    let request = PackageRequest {
        base_name: &plan.name,
        format,
        options,
        protection,
        now: at,
    };
    // One connection for the whole build: the token reader and the chunk writer share it, so a
    // submit never waits on the pool while holding a connection.
    let shared = SharedConn::new(conn);
    let shipment_ids = plan.shipments.iter().map(|(id, _)| id.clone()).collect();
    let mut source = StoredTokens::new(&shared, vault, shipment_ids);
    let mut sink = Locked(Mutex::new(ChunkWriter::shared(&shared, key, &package_id)));
    let built = match pipeline::build(&mut sink, &request, &mut source) {
        Ok(built) => built,
        Err(PackError::Format(e)) => return Err(SubmitError::Invalid(e.to_string())),
        Err(e) => return Err(anyhow::Error::from(e).into()),
    };
    let built_in = started.elapsed();
    let writer = sink
        .0
        .into_inner()
        .map_err(|_| anyhow::anyhow!("package writer poisoned"))?;
    let storing = writer.storing();
    let written = writer.finish().map_err(anyhow::Error::from)?;
    let read = source.times();
    drop(source);
    tracing::debug!(
        tokens = built.token_count,
        bytes = written,
        total_ms = built_in.as_millis() as u64,
        shapes_ms = read.shapes.as_millis() as u64,
        token_pages_ms = read.pages.as_millis() as u64,
        open_seeds_ms = read.open.as_millis() as u64,
        store_chunks_ms = storing.as_millis() as u64,
        "package built (the rest of total_ms is the format writer, zip and PGP)"
    );
    let conn = shared.into_inner();
    let summary = built.summary;
    if written != summary.size {
        return Err(anyhow::anyhow!("package size mismatch: {written} != {}", summary.size).into());
    }
    let content_type = summary.content_type();
    diesel::update(packages::table.find(&package_id))
        .set((
            packages::file_name.eq(&summary.file_name),
            packages::content_type.eq(content_type),
            packages::size.eq(summary.size as i64),
            packages::sha256.eq(&summary.sha256),
            packages::token_count.eq(i64::try_from(built.token_count).unwrap_or(i64::MAX)),
        ))
        .execute(conn)?;
    crate::telemetry::metrics::record_package_built(
        format.id.as_str(),
        started.elapsed().as_secs_f64(),
    );
    Ok(package_id)
}
