//! One-time link tokens: shown once in an email, stored only as their SHA-256.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A plain link token. `Debug` is redacted so it cannot reach a log line by accident.
pub struct LinkToken(String);

impl LinkToken {
    /// 256 bits from the OS CSPRNG with a recognisable prefix (`sp_dl_`, `sp_cf_`).
    pub fn generate(prefix: &str) -> LinkToken {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = format!(
            "{prefix}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        );
        zeroize::Zeroize::zeroize(&mut bytes);
        LinkToken(token)
    }

    /// Wraps a token taken from a URL.
    pub fn from_url(raw: String) -> LinkToken {
        LinkToken(raw)
    }

    /// What the database stores and looks up.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// The plain value, for the one email that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkToken([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted_and_hash_is_stable() {
        let t = LinkToken::generate("sp_dl_");
        assert!(!format!("{t:?}").contains(t.expose()));
        assert_eq!(t.hash(), LinkToken::from_url(t.expose().into()).hash());
    }
}
