//! A secret-free view of a token: what format checks and file grouping need, without the seed.

use crate::domain::{HashAlg, OtpKind, Serial, Token};

/// Everything about a token except its seed, so the web wizard can check a format against a
/// shipment without decrypting anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenShape {
    pub serial: Serial,
    pub kind: OtpKind,
    pub hash: HashAlg,
    pub digits: u8,
    /// Seconds; meaningful for TOTP only.
    pub time_step: u32,
    /// HOTP moving factor; meaningful for HOTP only.
    pub counter: u64,
    /// Seed length in bytes.
    pub secret_len: usize,
    pub manufacturer: String,
    pub model: String,
}

impl From<&Token> for TokenShape {
    fn from(t: &Token) -> Self {
        TokenShape {
            serial: t.serial.clone(),
            kind: t.kind,
            hash: t.hash,
            digits: t.digits,
            time_step: t.time_step,
            counter: t.counter,
            secret_len: t.secret.len(),
            manufacturer: t.manufacturer.clone(),
            model: t.model.clone(),
        }
    }
}

impl TokenShape {
    /// Becomes the shape of `t`, reusing this shape's allocations: for code that looks at the
    /// shape of each token of a stream in turn.
    pub fn refill(&mut self, t: &Token) {
        self.serial.clone_from(&t.serial);
        self.kind = t.kind;
        self.hash = t.hash;
        self.digits = t.digits;
        self.time_step = t.time_step;
        self.counter = t.counter;
        self.secret_len = t.secret.len();
        self.manufacturer.clone_from(&t.manufacturer);
        self.model.clone_from(&t.model);
    }
}
