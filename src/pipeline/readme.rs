//! Writes the `README.txt` that closes every package: what is inside and how to open it.

use super::digest::StreamDigest;
use std::fmt::Write as _;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// What the caller (the format layer) tells the README about the seed files.
#[derive(Debug, Clone)]
pub struct ReadmeInput {
    /// Human name of the file format, e.g. `PSKC 1.0 (RFC 6030)`.
    pub format_name: String,
    /// Number of tokens in the package.
    pub token_count: u64,
    /// How to import the files into the customer's authentication server (plain text).
    pub how_to_import: String,
}

/// How the package the README sits in is protected (no secrets, only what to say).
pub(crate) struct OpeningNotes<'a> {
    pub zip_name: &'a str,
    pub aes: bool,
    /// Fingerprint of the recipient certificate when there is a PGP layer.
    pub pgp_fingerprint: Option<String>,
}

pub(crate) fn render(
    input: &ReadmeInput,
    files: &[(String, StreamDigest)],
    notes: &OpeningNotes<'_>,
    now: OffsetDateTime,
) -> String {
    let date = now
        .to_offset(UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_default();
    let mut out = String::new();
    // Writing to a String cannot fail; the results are ignored on purpose.
    let _ = writeln!(out, "Token seed delivery");
    let _ = writeln!(out, "===================");
    let _ = writeln!(out);
    let _ = writeln!(out, "Package: {}", notes.zip_name);
    let _ = writeln!(out, "Created: {date}");
    let _ = writeln!(out, "Format:  {}", input.format_name);
    let _ = writeln!(out, "Tokens:  {}", input.token_count);
    let _ = writeln!(out);
    let _ = writeln!(out, "Files");
    let _ = writeln!(out, "-----");
    for (name, digest) in files {
        let _ = writeln!(out, "{name}");
        let _ = writeln!(out, "  Size:    {} bytes", digest.size);
        let _ = writeln!(out, "  SHA-256: {}", digest.sha256_hex());
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Check a file: `sha256sum FILE` (Linux), `shasum -a 256 FILE` (macOS) or\n\
         `certutil -hashfile FILE SHA256` (Windows) must print the SHA-256 above."
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "How to open this package");
    let _ = writeln!(out, "------------------------");
    if let Some(fingerprint) = &notes.pgp_fingerprint {
        let _ = writeln!(
            out,
            "The zip was encrypted with OpenPGP to your key\n  {fingerprint}\n\
             Decrypt it with your private key, for example:\n  \
             gpg --output {zip} --decrypt {zip}.pgp",
            zip = notes.zip_name
        );
        let _ = writeln!(out);
    }
    if notes.aes {
        let _ = writeln!(
            out,
            "The files in the zip are encrypted with AES-256 (WinZip AE-2) under the password\n\
             you chose on the portal. Open it with 7-Zip (Windows), WinZip, or on Linux/macOS:\n  \
             7z x {zip}\n\
             Windows Explorer's built-in zip support cannot open AES-encrypted zips.",
            zip = notes.zip_name
        );
    } else {
        let _ = writeln!(
            out,
            "The zip itself has no password; any zip tool opens it once decrypted."
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "How to import");
    let _ = writeln!(out, "-------------");
    let _ = writeln!(out, "{}", input.how_to_import.trim_end());
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Once the seeds are imported, delete this package and every extracted copy, and confirm\n\
         receipt with the link in the delivery email so the vendor destroys its copy."
    );
    out
}
