//! Assembles a delivery package: seed files and `README.txt` in a zip, under the chosen protection.
//!
//! Everything is streamed: seed bytes go from the caller's source through deflate, AES and
//! OpenPGP straight into the output writer, hashed on the way. Memory stays flat whatever the
//! number of tokens.

use super::batch::Batched;
use super::digest::{DigestWriter, StreamDigest};
use super::error::PackageError;
use super::password::ZipPassword;
use super::pgp::{PgpEncryptor, PgpRecipient};
use super::readme::{self, OpeningNotes, ReadmeInput};
use super::zip_stream::ZipStream;
use std::collections::HashSet;
use std::fmt;
use std::io::Write;
use time::OffsetDateTime;

/// Name of the README entry, always written last.
pub const README_NAME: &str = "README.txt";
const MAX_NAME_CHARS: usize = 120;

/// How a package is protected.
#[derive(Debug, Clone)]
pub enum Protection {
    /// AES-256 zip (`NAME.zip`).
    PasswordOnly(ZipPassword),
    /// Plain zip, OpenPGP-encrypted (`NAME.zip.pgp`).
    PgpOnly(PgpRecipient),
    /// AES-256 zip, then OpenPGP-encrypted (`NAME.zip.pgp`).
    Both {
        password: ZipPassword,
        recipient: PgpRecipient,
    },
    /// The one seed file itself, OpenPGP-encrypted and ASCII-armored, no zip and no README
    /// (`FILE.asc`): for importers that decrypt PGP themselves, such as privacyIDEA.
    PgpArmored(PgpRecipient),
}

impl Protection {
    fn password(&self) -> Option<&ZipPassword> {
        match self {
            Protection::PasswordOnly(pw) | Protection::Both { password: pw, .. } => Some(pw),
            Protection::PgpOnly(_) | Protection::PgpArmored(_) => None,
        }
    }

    fn recipient(&self) -> Option<&PgpRecipient> {
        match self {
            Protection::PgpOnly(r)
            | Protection::Both { recipient: r, .. }
            | Protection::PgpArmored(r) => Some(r),
            Protection::PasswordOnly(_) => None,
        }
    }

    /// Whether the package is a zip (every protection but [`Protection::PgpArmored`]).
    pub fn zipped(&self) -> bool {
        !matches!(self, Protection::PgpArmored(_))
    }
}

/// A file name safe on every platform: ASCII letters, digits, `-`, `_`, `.`; 1 to 120
/// characters; not starting with `.` or `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SafeFileName(String);

impl SafeFileName {
    pub fn parse(name: &str) -> Result<SafeFileName, PackageError> {
        let ok_chars = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        let ok = !name.is_empty()
            && name.len() <= MAX_NAME_CHARS
            && ok_chars
            && !name.starts_with(['.', '-'])
            && !name.contains("..");
        if ok {
            Ok(SafeFileName(name.to_owned()))
        } else {
            Err(PackageError::InvalidName(
                name.chars().take(MAX_NAME_CHARS).collect(),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SafeFileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Streams one file's bytes into the zip entry it is given.
pub type EntrySource<'a> = Box<dyn FnOnce(&mut dyn Write) -> anyhow::Result<()> + 'a>;

/// One seed file of a package: its name in the zip and the code that streams its bytes.
pub struct PackageEntry<'a> {
    name: SafeFileName,
    source: EntrySource<'a>,
}

impl<'a> PackageEntry<'a> {
    pub fn new<F>(name: SafeFileName, source: F) -> PackageEntry<'a>
    where
        F: FnOnce(&mut dyn Write) -> anyhow::Result<()> + 'a,
    {
        PackageEntry {
            name,
            source: Box::new(source),
        }
    }
}

impl fmt::Debug for PackageEntry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PackageEntry")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Size and SHA-256 of one file inside the zip (before compression and encryption).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntrySummary {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

/// What was built: shown to the delivery team and stored with the request. No secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageSummary {
    /// `NAME.zip` or `NAME.zip.pgp`.
    pub file_name: String,
    /// Bytes written to the output.
    pub size: u64,
    /// SHA-256 (lower-case hex) of the bytes written to the output.
    pub sha256: String,
    /// The seed files, in order (the README is not listed).
    pub entries: Vec<EntrySummary>,
}

impl PackageSummary {
    /// The download's media type, from its name.
    pub fn content_type(&self) -> &'static str {
        if self.file_name.ends_with(".pgp") || self.file_name.ends_with(".asc") {
            "application/pgp-encrypted"
        } else {
            "application/zip"
        }
    }
}

/// Builds the package `name` (`NAME.zip` / `NAME.zip.pgp`) into `out`: each entry, then
/// `README.txt`, in a zip protected as `protection` says. `now` dates the entries and the README
/// and is the time at which the PGP certificate must still be valid.
///
/// On error the output is incomplete and must be discarded.
pub fn build_package<W>(
    out: W,
    name: &SafeFileName,
    entries: Vec<PackageEntry<'_>>,
    protection: &Protection,
    readme: &ReadmeInput,
    now: OffsetDateTime,
) -> Result<PackageSummary, PackageError>
where
    W: Write + Send + Sync,
{
    check_names(&entries)?;
    if let Protection::PgpArmored(recipient) = protection {
        return armored_file(out, entries, recipient, now);
    }
    let zip_name = format!("{name}.zip");
    let mut counted = DigestWriter::new(out);
    let notes = OpeningNotes {
        zip_name: &zip_name,
        aes: protection.password().is_some(),
        pgp_fingerprint: protection.recipient().map(PgpRecipient::fingerprint),
    };
    let files = match protection.recipient() {
        None => write_zip(
            &mut counted,
            entries,
            protection.password(),
            readme,
            &notes,
            now,
        )?,
        Some(recipient) => {
            let mut pgp = PgpEncryptor::new(&mut counted, recipient, &zip_name, now.into())?;
            let files = write_zip(
                &mut pgp,
                entries,
                protection.password(),
                readme,
                &notes,
                now,
            )?;
            pgp.finish()?;
            files
        }
    };
    counted.flush()?;
    let (_, digest) = counted.finish();
    let file_name = match protection.recipient() {
        Some(_) => format!("{zip_name}.pgp"),
        None => zip_name,
    };
    Ok(PackageSummary {
        file_name,
        size: digest.size,
        sha256: digest.sha256_hex(),
        entries: files
            .into_iter()
            .map(|(name, d)| EntrySummary {
                name,
                size: d.size,
                sha256: d.sha256_hex(),
            })
            .collect(),
    })
}

/// The single entry, encrypted to `recipient` and armored, as `FILE.asc`.
fn armored_file<W: Write + Send + Sync>(
    out: W,
    entries: Vec<PackageEntry<'_>>,
    recipient: &PgpRecipient,
    now: OffsetDateTime,
) -> Result<PackageSummary, PackageError> {
    let count = entries.len();
    let Some(entry) = entries.into_iter().next().filter(|_| count == 1) else {
        return Err(PackageError::NotOneFile(count));
    };
    let mut counted = DigestWriter::new(out);
    let name = entry.name.0;
    let mut pgp = PgpEncryptor::with_armor(&mut counted, recipient, &name, now.into(), true)?;
    let mut plain = DigestWriter::new(&mut pgp);
    let mut batched = Batched::new(&mut plain);
    let written = (entry.source)(&mut batched).and_then(|()| Ok(batched.finish().map(drop)?));
    written.map_err(|source| PackageError::Source {
        name: name.clone(),
        source,
    })?;
    let (_, file_digest) = plain.finish();
    pgp.finish()?;
    counted.flush()?;
    let (_, digest) = counted.finish();
    Ok(PackageSummary {
        file_name: format!("{name}.asc"),
        size: digest.size,
        sha256: digest.sha256_hex(),
        entries: vec![EntrySummary {
            name,
            size: file_digest.size,
            sha256: file_digest.sha256_hex(),
        }],
    })
}

fn check_names(entries: &[PackageEntry<'_>]) -> Result<(), PackageError> {
    let mut seen = HashSet::new();
    for entry in entries {
        let lower = entry.name.as_str().to_ascii_lowercase();
        if lower == README_NAME.to_ascii_lowercase() || !seen.insert(lower) {
            return Err(PackageError::DuplicateEntry(entry.name.to_string()));
        }
    }
    Ok(())
}

fn write_zip<O: Write>(
    out: O,
    entries: Vec<PackageEntry<'_>>,
    password: Option<&ZipPassword>,
    readme_input: &ReadmeInput,
    notes: &OpeningNotes<'_>,
    now: OffsetDateTime,
) -> Result<Vec<(String, StreamDigest)>, PackageError> {
    let mut zip = ZipStream::new(out, password, now)?;
    let mut files = Vec::with_capacity(entries.len());
    for entry in entries {
        let digest = zip.add_entry(entry.name.as_str(), true, entry.source)?;
        files.push((entry.name.0, digest));
    }
    let text = readme::render(readme_input, &files, notes, now);
    zip.add_entry(README_NAME, false, |w| Ok(w.write_all(text.as_bytes())?))?;
    let mut out = zip.finish()?;
    out.flush()?;
    Ok(files)
}
