//! Writes a zip archive as a pure stream: deflate, optionally AES-256 (WinZip AE-2) per entry.
//!
//! zip 9's `ZipWriter::new_stream` needs only `Write`: every entry gets a data descriptor
//! (sizes and CRC after the data) instead of a patched local header, and AES entries stay AE-2
//! (no CRC leak, which is what WinZip recommends). So neither a temp file nor a buffer is
//! needed: memory stays flat however large an entry is. Entries are marked zip64 when the caller
//! says they may be large, so a seed file beyond 4 GiB still works.

use super::batch::Batched;
use super::digest::{DigestWriter, StreamDigest};
use super::error::PackageError;
use super::password::ZipPassword;
use std::io::Write;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};
use zip::write::{SimpleFileOptions, StreamWriter};
use zip::{AesMode, CompressionMethod, ZipWriter};

/// Unix mode of the extracted files: seed files are for their owner only.
const FILE_MODE: u32 = 0o600;
/// Deflate level. Seed files are repetitive XML and CSV: level 1 keeps most of the size gain
/// at a fraction of level 6's time, which was the largest cost of a PSKC package (bench/NOTES.md).
const DEFLATE_LEVEL: i64 = 1;

/// A zip being streamed into `W`.
pub struct ZipStream<'p, W: Write> {
    zip: ZipWriter<StreamWriter<W>>,
    password: Option<&'p ZipPassword>,
    modified: zip::DateTime,
}

impl<'p, W: Write> ZipStream<'p, W> {
    /// Starts a zip into `out`. With a password every entry is AES-256 encrypted; without one the
    /// zip is plain deflate. Entries are dated `now` (as UTC).
    pub fn new(
        out: W,
        password: Option<&'p ZipPassword>,
        now: OffsetDateTime,
    ) -> Result<ZipStream<'p, W>, PackageError> {
        let utc = now.to_offset(UtcOffset::UTC);
        let modified = zip::DateTime::try_from(PrimitiveDateTime::new(utc.date(), utc.time()))
            .map_err(|_| PackageError::Date)?;
        Ok(ZipStream {
            zip: ZipWriter::new_stream(out),
            password,
            modified,
        })
    }

    /// Adds the entry `name`, whose bytes `source` streams in; returns their size and SHA-256.
    /// Set `large` for entries that might exceed 4 GiB (adds zip64 fields).
    pub fn add_entry<F>(
        &mut self,
        name: &str,
        large: bool,
        source: F,
    ) -> Result<StreamDigest, PackageError>
    where
        F: FnOnce(&mut dyn Write) -> anyhow::Result<()>,
    {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(DEFLATE_LEVEL))
            .last_modified_time(self.modified)
            .unix_permissions(FILE_MODE)
            .large_file(large);
        let options = match self.password {
            Some(pw) => options.with_aes_encryption(AesMode::Aes256, pw.expose()),
            None => options,
        };
        self.zip.start_file(name, options)?;
        let mut digest = DigestWriter::new(&mut self.zip);
        let mut batched = Batched::new(&mut digest);
        let written = source(&mut batched).and_then(|()| Ok(batched.finish().map(drop)?));
        written.map_err(|source| PackageError::Source {
            name: name.to_owned(),
            source,
        })?;
        let (_, digest) = digest.finish();
        Ok(digest)
    }

    /// Writes the central directory and returns the output writer.
    pub fn finish(self) -> Result<W, PackageError> {
        Ok(self.zip.finish()?.into_inner())
    }
}
