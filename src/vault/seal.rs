//! AES-256-GCM sealing with associated data: `nonce || ciphertext+tag`.

use super::SecretBytes;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;

const NONCE_LEN: usize = 12;

/// A ciphertext did not open: wrong key, wrong row (associated data), or tampered bytes.
/// Deliberately says nothing more.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a stored secret could not be decrypted (wrong key, moved or damaged ciphertext)")]
pub struct OpenError;

/// Encrypts `plaintext` under a 32-byte `key`, binding it to `aad`.
pub fn seal(key: &SecretBytes, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let cipher = match Aes256Gcm::new_from_slice(key.expose()) {
        Ok(c) => c,
        // Keys are made by this module's callers as 32 bytes; anything else is a bug upstream.
        Err(_) => unreachable!("AES-256 key must be 32 bytes"),
    };
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + 16);
    out.extend_from_slice(&nonce);
    match cipher.encrypt(
        Nonce::from_slice(&nonce),
        Payload {
            msg: plaintext,
            aad,
        },
    ) {
        Ok(ct) => out.extend_from_slice(&ct),
        Err(_) => unreachable!("AES-GCM encryption cannot fail for in-memory input"),
    }
    out
}

/// Decrypts what [`seal`] produced, checking it was sealed with the same `aad`.
pub fn open(key: &SecretBytes, sealed: &[u8], aad: &[u8]) -> Result<SecretBytes, OpenError> {
    if sealed.len() < NONCE_LEN + 16 {
        return Err(OpenError);
    }
    let cipher = Aes256Gcm::new_from_slice(key.expose()).map_err(|_| OpenError)?;
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
        .map(SecretBytes::new)
        .map_err(|_| OpenError)
}

/// Seals or opens many values under one key: the AES key schedule is made once, and nonces
/// come from a ChaCha CSPRNG seeded once by the OS (one system call, not one per value; a
/// 96-bit random nonce is as unlikely to repeat either way). For imports and package builds,
/// where a key seals or opens hundreds of thousands of seeds.
pub struct Sealer {
    cipher: Aes256Gcm,
    rng: rand::rngs::StdRng,
}

impl Sealer {
    pub fn new(key: &SecretBytes) -> Sealer {
        use rand::SeedableRng;
        let cipher = match Aes256Gcm::new_from_slice(key.expose()) {
            Ok(c) => c,
            Err(_) => unreachable!("AES-256 key must be 32 bytes"),
        };
        Sealer {
            cipher,
            rng: rand::rngs::StdRng::from_entropy(),
        }
    }

    /// What [`seal`] makes, under this sealer's key.
    pub fn seal(&mut self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill_bytes(&mut nonce);
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + 16);
        out.extend_from_slice(&nonce);
        match self.cipher.encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        ) {
            Ok(ct) => out.extend_from_slice(&ct),
            Err(_) => unreachable!("AES-GCM encryption cannot fail for in-memory input"),
        }
        out
    }

    /// [`open`] under this sealer's key.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<SecretBytes, OpenError> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(OpenError);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
            .map(SecretBytes::new)
            .map_err(|_| OpenError)
    }
}

/// 32 fresh random bytes from the OS.
pub fn random_key() -> SecretBytes {
    let mut key = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    SecretBytes::new(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let key = random_key();
        let sealed = seal(&key, b"seed", b"token:1:100");
        assert_eq!(
            open(&key, &sealed, b"token:1:100").unwrap().expose(),
            b"seed"
        );
        assert_eq!(open(&key, &sealed, b"token:2:100"), Err(OpenError));
        assert_eq!(open(&random_key(), &sealed, b"token:1:100"), Err(OpenError));
        let mut sealer = Sealer::new(&key);
        let many = sealer.seal(b"seed", b"token:1:100");
        assert_ne!(many, sealer.seal(b"seed", b"token:1:100"));
        assert_eq!(open(&key, &many, b"token:1:100").unwrap().expose(), b"seed");
        assert_eq!(
            sealer.open(&sealed, b"token:1:100").unwrap().expose(),
            b"seed"
        );
        assert_eq!(sealer.open(&sealed, b"token:2:100"), Err(OpenError));
        let mut tampered = sealed.clone();
        tampered[20] ^= 1;
        assert_eq!(open(&key, &tampered, b"token:1:100"), Err(OpenError));
        assert_eq!(open(&key, &[1, 2, 3], b""), Err(OpenError));
    }
}
