//! Package bytes at rest: sealed in 256 KiB chunks under the package's own data key, written
//! and read one chunk at a time so neither side ever holds a whole package.

use crate::db::schema::{package_chunks, packages};
use crate::db::{DbConnection, SharedConn, UseConn};
use crate::vault::{DataKey, OpenError, SecretBytes, Vault};
use diesel::prelude::*;
use std::io::{self, Write};

/// Bytes per stored chunk: small enough that 50 concurrent downloads cost a few MiB.
pub const CHUNK_SIZE: usize = 256 * 1024;

/// Associated data of one chunk: package, position, and whether it is the last, so chunks
/// cannot be reordered, moved to another package, or the package silently truncated.
fn chunk_aad(package_id: &str, seq: i32, last: bool) -> Vec<u8> {
    format!(
        "seedport:package:{package_id}:{seq}:{}",
        if last { "last" } else { "more" }
    )
    .into_bytes()
}

/// How many chunks a package of `size` bytes has (an empty package still has one).
pub fn chunk_count(size: u64) -> i32 {
    (size.div_ceil(CHUNK_SIZE as u64).max(1)) as i32
}

/// Streams bytes into `package_chunks`. Call [`ChunkWriter::finish`] to store the last chunk;
/// dropping it without `finish` leaves the partial rows to the surrounding transaction's
/// rollback.
pub struct ChunkWriter<C> {
    conn: C,
    key: DataKey,
    package_id: String,
    buffer: Vec<u8>,
    next_seq: i32,
    written: u64,
    /// Time spent sealing and inserting chunks (for the build's stage timings).
    storing: std::time::Duration,
}

impl<'c> ChunkWriter<&'c mut DbConnection> {
    pub fn new(conn: &'c mut DbConnection, key: DataKey, package_id: &str) -> Self {
        ChunkWriter::on(conn, key, package_id)
    }
}

impl<'s, 'c> ChunkWriter<&'s SharedConn<'c>> {
    /// A writer on a connection the caller also reads from (one connection per use case).
    pub fn shared(conn: &'s SharedConn<'c>, key: DataKey, package_id: &str) -> Self {
        ChunkWriter::on(conn, key, package_id)
    }
}

impl<C: UseConn> ChunkWriter<C> {
    fn on(conn: C, key: DataKey, package_id: &str) -> Self {
        ChunkWriter {
            conn,
            key,
            package_id: package_id.to_string(),
            buffer: Vec::with_capacity(CHUNK_SIZE),
            next_seq: 0,
            written: 0,
            storing: std::time::Duration::ZERO,
        }
    }

    /// Time spent sealing and inserting chunks so far.
    pub fn storing(&self) -> std::time::Duration {
        self.storing
    }

    fn store(&mut self, last: bool) -> io::Result<()> {
        let started = std::time::Instant::now();
        let sealed = self.key.seal(
            &self.buffer,
            &chunk_aad(&self.package_id, self.next_seq, last),
        );
        let (package_id, seq) = (&self.package_id, self.next_seq);
        self.conn
            .use_conn(|conn| {
                diesel::insert_into(package_chunks::table)
                    .values((
                        package_chunks::package_id.eq(package_id),
                        package_chunks::seq.eq(seq),
                        package_chunks::data.eq(sealed),
                    ))
                    .execute(conn)
            })
            .map_err(io::Error::other)?;
        zeroize::Zeroize::zeroize(&mut self.buffer);
        self.buffer.clear();
        self.next_seq += 1;
        self.storing += started.elapsed();
        Ok(())
    }

    /// Stores the final chunk; returns the total plaintext size.
    pub fn finish(mut self) -> io::Result<u64> {
        self.store(true)?;
        Ok(self.written)
    }
}

impl<C: UseConn> Write for ChunkWriter<C> {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let total = data.len();
        while !data.is_empty() {
            // A full buffer is stored only when more bytes arrive, so the last chunk is known.
            if self.buffer.len() == CHUNK_SIZE {
                self.store(false)?;
            }
            let room = CHUNK_SIZE - self.buffer.len();
            let take = room.min(data.len());
            let (head, rest) = data.split_at(take);
            self.buffer.extend_from_slice(head);
            data = rest;
        }
        self.written += total as u64;
        Ok(total)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Why a stored chunk could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the package has been destroyed")]
    Destroyed,
    #[error("chunk {0} of the package is missing")]
    Missing(i32),
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Reads and opens chunk `seq` of a package of `size` bytes.
pub fn read_chunk(
    conn: &mut DbConnection,
    key: &DataKey,
    package_id: &str,
    seq: i32,
    size: u64,
) -> Result<SecretBytes, ReadError> {
    let data: Option<Vec<u8>> = package_chunks::table
        .find((package_id, seq))
        .select(package_chunks::data)
        .first(conn)
        .optional()?;
    let data = data.ok_or(ReadError::Missing(seq))?;
    let last = seq + 1 == chunk_count(size);
    Ok(key.open(&data, &chunk_aad(package_id, seq, last))?)
}

/// The data key of a package that still has one.
pub fn package_key(
    conn: &mut DbConnection,
    vault: &Vault,
    package_id: &str,
) -> Result<DataKey, ReadError> {
    let key_id: Option<Option<String>> = packages::table
        .find(package_id)
        .select(packages::data_key_id)
        .first(conn)
        .optional()?;
    match key_id.flatten() {
        Some(id) => Ok(vault.data_key(conn, &id)?),
        None => Err(ReadError::Destroyed),
    }
}

/// Deletes a package's bytes and its data key (crypto-shredding), and marks the row destroyed.
/// Run it inside the transaction that records why.
pub fn destroy(
    conn: &mut DbConnection,
    package_id: &str,
    now: i64,
) -> Result<(), diesel::result::Error> {
    let key_id: Option<Option<String>> = packages::table
        .find(package_id)
        .select(packages::data_key_id)
        .first(conn)
        .optional()?;
    diesel::delete(package_chunks::table.filter(package_chunks::package_id.eq(package_id)))
        .execute(conn)?;
    diesel::update(packages::table.find(package_id))
        .set((
            packages::data_key_id.eq(None::<String>),
            packages::destroyed_at.eq(now),
        ))
        .execute(conn)?;
    if let Some(id) = key_id.flatten() {
        Vault::destroy_data_key(conn, &id)?;
    }
    Ok(())
}
