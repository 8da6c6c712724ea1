//! One-time link tokens: shown once in an email, stored only as their SHA-256.

use crate::vault::{random_token, token_hash};

/// A plain link token. `Debug` is redacted so it cannot reach a log line by accident.
pub struct LinkToken(String);

impl LinkToken {
    /// 256 bits from the OS CSPRNG with a recognisable prefix (`sp_dl_`, `sp_cf_`).
    pub fn generate(prefix: &str) -> LinkToken {
        LinkToken(random_token(prefix))
    }

    /// Wraps a token taken from a URL.
    pub fn from_url(raw: String) -> LinkToken {
        LinkToken(raw)
    }

    /// What the database stores and looks up.
    pub fn hash(&self) -> String {
        token_hash(&self.0)
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
