//! Staff passwords: Argon2id hashes, generated passwords, and a dummy hash so unknown accounts
//! cost the same time as wrong passwords.

use crate::vault::SecretString;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::seq::SliceRandom;
use std::sync::OnceLock;

/// Shortest password the CLI accepts from a file.
pub const MIN_LENGTH: usize = 12;

/// Why a password cannot be set.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must be at least {MIN_LENGTH} characters")]
    TooShort,
    #[error("the password could not be hashed")]
    Hash,
}

/// Hashes a password with Argon2id (the crate's recommended parameters) and a random salt.
pub fn hash(password: &SecretString) -> Result<String, PasswordError> {
    if password.expose().chars().count() < MIN_LENGTH {
        return Err(PasswordError::TooShort);
    }
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| PasswordError::Hash)
}

/// Checks a password against a stored hash. A damaged hash is a plain "no".
pub fn verify(password: &SecretString, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.expose().as_bytes(), &parsed)
        .is_ok()
}

/// Verifies against a hash of a random password nobody knows: same cost as a real check,
/// always false. Used when the email names no account.
pub fn verify_dummy(password: &SecretString) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let stored = DUMMY.get_or_init(|| {
        hash(&generate()).unwrap_or_else(|_| {
            // Cannot happen with a generated password; an unparsable hash still costs nothing
            // worse than a fast "no".
            String::new()
        })
    });
    let _ = std::hint::black_box(verify(password, stored));
    false
}

/// How many Argon2 checks run at once; the rest wait their turn without holding anything.
pub const MAX_CONCURRENT_HASHES: usize = 2;

static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_CONCURRENT_HASHES);

/// Checks `password` against `stored` (or the dummy when `None`) on the blocking pool, at most
/// [`MAX_CONCURRENT_HASHES`] at a time, so a flood of sign-ins cannot take every core or any
/// database connection. Call it with no connection held.
pub async fn verify_bounded(password: SecretString, stored: Option<String>) -> bool {
    let Ok(_permit) = HASHING.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || match stored {
        Some(hash) => verify(&password, &hash),
        None => verify_dummy(&password),
    })
    .await
    .unwrap_or(false)
}

/// A strong random password: 24 characters from an unambiguous alphabet (about 140 bits).
pub fn generate() -> SecretString {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    let raw: String = (0..24)
        .map(|i| {
            let c = char::from(*ALPHABET.choose(&mut rng).unwrap_or(&b'a'));
            if i > 0 && i % 6 == 0 {
                format!("-{c}")
            } else {
                c.to_string()
            }
        })
        .collect();
    SecretString::new(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let p = generate();
        assert_eq!(p.expose().len(), 27);
        let h = hash(&p).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify(&p, &h));
        assert!(!verify(&SecretString::new("wrong password!".into()), &h));
        assert!(!verify_dummy(&p));
        assert!(matches!(
            hash(&SecretString::new("short".into())),
            Err(PasswordError::TooShort)
        ));
    }
}
