//! Streams bytes into a binary OpenPGP message encrypted to a [`PgpRecipient`].
//!
//! Writer stack: `Message` → `Encryptor` (every live encryption-capable key of the certificate)
//! → `LiteralWriter` (binary, with the inner file's name). Memory use is constant: sequoia
//! encrypts and emits in fixed-size chunks.

use super::recipient::{encryption_keys, policy, PgpRecipient};
use sequoia_openpgp as openpgp;

use openpgp::serialize::stream::{Armorer, Encryptor, LiteralWriter, Message};
use openpgp::types::DataFormat;
use std::io::{self, Write};
use std::time::SystemTime;

/// Why the OpenPGP layer could not be written. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum PgpEncryptError {
    #[error("the recipient's certificate has no usable encryption key any more")]
    NoEncryptionKey,
    #[error("OpenPGP encryption failed")]
    Openpgp(#[source] anyhow::Error),
}

/// A [`Write`] that encrypts everything written to it; call [`PgpEncryptor::finish`] to write
/// the final packets (dropping it without finishing leaves a truncated message).
pub struct PgpEncryptor<'a> {
    literal: Message<'a>,
}

impl<'a> PgpEncryptor<'a> {
    /// Starts a binary message to `recipient` into `out`, whose literal data packet is named
    /// `inner_file_name` (what `gpg --decrypt` reports as the original file name).
    pub fn new<W>(
        out: W,
        recipient: &'a PgpRecipient,
        inner_file_name: &str,
        now: SystemTime,
    ) -> Result<PgpEncryptor<'a>, PgpEncryptError>
    where
        W: Write + Send + Sync + 'a,
    {
        Self::with_armor(out, recipient, inner_file_name, now, false)
    }

    /// As [`PgpEncryptor::new`], ASCII-armored when `armored` (`-----BEGIN PGP MESSAGE-----`),
    /// which importers that decrypt PGP themselves (privacyIDEA) read directly.
    pub fn with_armor<W>(
        out: W,
        recipient: &'a PgpRecipient,
        inner_file_name: &str,
        now: SystemTime,
        armored: bool,
    ) -> Result<PgpEncryptor<'a>, PgpEncryptError>
    where
        W: Write + Send + Sync + 'a,
    {
        let policy = policy();
        let valid = recipient
            .cert()
            .with_policy(policy, now)
            .map_err(|_| PgpEncryptError::NoEncryptionKey)?;
        let keys: Vec<_> = encryption_keys(&valid).collect();
        if keys.is_empty() {
            return Err(PgpEncryptError::NoEncryptionKey);
        }
        let mut message = Message::new(out);
        if armored {
            message = Armorer::new(message)
                .kind(openpgp::armor::Kind::Message)
                .build()
                .map_err(PgpEncryptError::Openpgp)?;
        }
        let encrypted = Encryptor::for_recipients(message, keys)
            .build()
            .map_err(PgpEncryptError::Openpgp)?;
        let literal = LiteralWriter::new(encrypted)
            .format(DataFormat::Binary)
            .filename(inner_file_name)
            .map_err(PgpEncryptError::Openpgp)?
            .build()
            .map_err(PgpEncryptError::Openpgp)?;
        Ok(PgpEncryptor { literal })
    }

    /// Writes the closing packets (literal data end, MDC/AEAD tag) and flushes.
    pub fn finish(self) -> Result<(), PgpEncryptError> {
        self.literal.finalize().map_err(PgpEncryptError::Openpgp)
    }
}

impl Write for PgpEncryptor<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.literal.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.literal.flush()
    }
}
