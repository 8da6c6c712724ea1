//! Builds one package of a request through the one pipeline ([`crate::pipeline::build`]): the
//! request's tokens are a [`TokenSource`] whose shapes come from the database without any seed,
//! and whose seeds are decrypted a page at a time as each planned file streams into the zip/PGP
//! stack and on into sealed chunks.

use super::submit::SubmitError;
use super::tokens::{self, Placed, TokenReader, PAGE};
use crate::db::schema::packages;
use crate::db::{DbConnection, SharedConn, UseConn};
use crate::formats::{FormatOptions, SeedFormat, TokenShape};
use crate::pipeline::source::{Each, Take, Wanted};
use crate::pipeline::{self, PackError, PackageRequest, Protection, TokenSource};
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

/// A request's tokens: shapes from the database, seeds decrypted a page at a time.
struct Stored<'r, 'v, C> {
    placed: &'r [Placed],
    reader: TokenReader<'v, C>,
    /// Where the last walk stopped.
    position: usize,
}

impl<C: UseConn> TokenSource for Stored<'_, '_, C> {
    fn shapes(&mut self, each: &mut dyn FnMut(&TokenShape)) -> anyhow::Result<()> {
        self.placed.iter().for_each(|p| each(&p.shape));
        Ok(())
    }

    fn tokens(
        &mut self,
        resume: bool,
        wanted: &mut Wanted<'_>,
        each: &mut Each<'_>,
    ) -> anyhow::Result<()> {
        let start = if resume { self.position } else { 0 };
        self.position = self.placed.len();
        let mut page: Vec<&Placed> = Vec::with_capacity(PAGE as usize);
        for (i, p) in self.placed.iter().enumerate().skip(start) {
            match wanted(&p.shape) {
                Take::Yes => page.push(p),
                Take::Skip => {}
                Take::Stop => {
                    self.position = i;
                    break;
                }
            }
            if page.len() == PAGE as usize {
                self.reader.for_each(&page, each)?;
                page.clear();
            }
        }
        self.reader.for_each(&page, each)
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
    let mut placed = Vec::new();
    for (id, _) in &plan.shipments {
        placed.extend(tokens::placed(conn, id)?);
    }
    pipeline::plan_files(format, &plan.name, placed.iter().map(|p| &p.shape))
        .map_err(|e| SubmitError::Invalid(e.to_string()))?;
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
            packages::token_count.eq(placed.len() as i64),
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
    let mut source = Stored {
        placed: &placed,
        reader: TokenReader::new(&shared, vault),
        position: 0,
    };
    let mut sink = Locked(Mutex::new(ChunkWriter::shared(&shared, key, &package_id)));
    let summary = match pipeline::build(&mut sink, &request, &mut source) {
        Ok(built) => built.summary,
        Err(PackError::Format(e)) => return Err(SubmitError::Invalid(e.to_string())),
        Err(e) => return Err(anyhow::Error::from(e).into()),
    };
    let written = sink
        .0
        .into_inner()
        .map_err(|_| anyhow::anyhow!("package writer poisoned"))?
        .finish()
        .map_err(anyhow::Error::from)?;
    drop(source);
    let conn = shared.into_inner();
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
        ))
        .execute(conn)?;
    crate::telemetry::metrics::record_package_built(
        format.id.as_str(),
        started.elapsed().as_secs_f64(),
    );
    Ok(package_id)
}
