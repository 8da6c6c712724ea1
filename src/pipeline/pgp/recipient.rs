//! Parses a customer's OpenPGP certificate and proves it has a live encryption-capable key.

use sequoia_openpgp as openpgp;

use openpgp::cert::prelude::*;
use openpgp::parse::Parse;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::SerializeInto;
use openpgp::types::RevocationStatus;
use std::fmt;
use std::time::SystemTime;

/// Why an uploaded certificate was refused. Messages are meant for the customer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PgpKeyError {
    #[error(
        "This is not an OpenPGP public key. Export it with the command gpg --export --armor YOUR-KEY-ID \
         (or your tool's \"export public key\") and paste or upload the result"
    )]
    NotAKey,
    #[error(
        "This file holds {0} OpenPGP certificates; send exactly one: the public key the file \
         should be encrypted to"
    )]
    SeveralCerts(usize),
    #[error(
        "This is a PRIVATE (secret) key, which must never leave your hands. We did not keep it, \
         but it has now been sent over the network: consider it exposed, revoke it, create a new \
         key pair, and send only the public key (gpg --export --armor YOUR-KEY-ID)"
    )]
    SecretKey,
    #[error("This key has been revoked by its owner; send a current public key")]
    Revoked,
    #[error("This key has expired; extend its expiry date or send a current public key")]
    Expired,
    #[error(
        "This key is not valid under current security rules (for example it relies on SHA-1 \
         signatures, weak algorithms, or a creation date in the future); send a current key"
    )]
    Invalid,
    #[error(
        "This key has no valid, unexpired encryption subkey (it may be a signing-only key); send \
         a public key that can encrypt"
    )]
    NoEncryptionKey,
}

/// A customer's OpenPGP certificate, public parts only, proven (at parse time) to be unrevoked,
/// unexpired, and to have at least one live encryption-capable key under sequoia's
/// `StandardPolicy`.
#[derive(Clone)]
pub struct PgpRecipient {
    cert: Cert,
}

impl PgpRecipient {
    /// Parses an armored or binary certificate, checking it as of now.
    pub fn parse(bytes: &[u8]) -> Result<PgpRecipient, PgpKeyError> {
        Self::parse_at(bytes, crate::clock::Clock::System.system_time())
    }

    /// Parses an armored or binary certificate, checking it as of `now`.
    pub fn parse_at(bytes: &[u8], now: SystemTime) -> Result<PgpRecipient, PgpKeyError> {
        let cert = single_cert(bytes)?;
        if cert.is_tsk() {
            return Err(PgpKeyError::SecretKey);
        }
        let policy = policy();
        if let RevocationStatus::Revoked(_) = cert.revocation_status(policy, now) {
            return Err(PgpKeyError::Revoked);
        }
        let valid = cert
            .with_policy(policy, now)
            .map_err(|_| PgpKeyError::Invalid)?;
        valid.alive().map_err(|_| PgpKeyError::Expired)?;
        if encryption_keys(&valid).next().is_none() {
            return Err(PgpKeyError::NoEncryptionKey);
        }
        Ok(PgpRecipient { cert })
    }

    /// The primary key fingerprint as upper-case hex in groups of four, e.g.
    /// `3E8C 77A1 ...`, to show back to the customer and the delivery team.
    pub fn fingerprint(&self) -> String {
        let hex = self.cert.fingerprint().to_hex();
        let groups: Vec<&str> = hex
            .as_bytes()
            .chunks(4)
            .filter_map(|c| std::str::from_utf8(c).ok())
            .collect();
        groups.join(" ")
    }

    /// The certificate's user ids (valid ones under the policy; all of them if none is).
    pub fn user_ids(&self) -> Vec<String> {
        let policy = policy();
        let from =
            |uid: &openpgp::packet::UserID| String::from_utf8_lossy(uid.value()).into_owned();
        let valid: Vec<String> = match self.cert.with_policy(policy, None) {
            Ok(vc) => vc.userids().map(|ua| from(ua.userid())).collect(),
            Err(_) => Vec::new(),
        };
        if valid.is_empty() {
            self.cert.userids().map(|ua| from(ua.userid())).collect()
        } else {
            valid
        }
    }

    /// The certificate, public parts only, ASCII-armored, for storage.
    pub fn armored_public(&self) -> Result<String, PgpKeyError> {
        let bytes = self
            .cert
            .armored()
            .to_vec()
            .map_err(|_| PgpKeyError::NotAKey)?;
        String::from_utf8(bytes).map_err(|_| PgpKeyError::NotAKey)
    }

    pub(crate) fn cert(&self) -> &Cert {
        &self.cert
    }
}

impl fmt::Debug for PgpRecipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgpRecipient")
            .field("fingerprint", &self.fingerprint())
            .finish()
    }
}

/// The keys a message to this certificate is encrypted to: every supported, live, unrevoked key
/// flagged for transport or storage encryption.
pub(crate) fn encryption_keys<'a>(
    valid: &ValidCert<'a>,
) -> impl Iterator<Item = ValidErasedKeyAmalgamation<'a, openpgp::packet::key::PublicParts>> + 'a {
    valid
        .keys()
        .supported()
        .alive()
        .revoked(false)
        .for_transport_encryption()
        .for_storage_encryption()
}

/// The policy every check and every encryption uses.
static POLICY: StandardPolicy<'static> = StandardPolicy::new();

pub(crate) fn policy() -> &'static StandardPolicy<'static> {
    &POLICY
}

fn single_cert(bytes: &[u8]) -> Result<Cert, PgpKeyError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(PgpKeyError::NotAKey);
    }
    let parser = CertParser::from_bytes(bytes).map_err(|_| PgpKeyError::NotAKey)?;
    let certs: Vec<Cert> = parser
        .collect::<openpgp::Result<Vec<Cert>>>()
        .map_err(|_| PgpKeyError::NotAKey)?;
    let count = certs.len();
    let mut certs = certs.into_iter();
    match (certs.next(), count) {
        (Some(cert), 1) => Ok(cert),
        (None, _) => Err(PgpKeyError::NotAKey),
        _ => Err(PgpKeyError::SeveralCerts(count)),
    }
}
