//! The customer's choices a writer needs besides the tokens: keys, issuer, custom layout.

use super::custom_csv::CustomCsvSpec;
use crate::vault::{SecretBytes, SecretString};

/// PBKDF2 iterations when the customer does not choose (formats.md §6.2).
pub const DEFAULT_PBKDF2_ITERATIONS: u32 = 100_000;

/// Options for one delivery. `Debug` is safe: the key and passphrase print `[redacted]`.
#[derive(Debug, Clone)]
pub struct FormatOptions {
    /// `pskc-psk`: the 16-byte AES key the customer already holds.
    pub pskc_key: Option<SecretBytes>,
    /// `pskc-passphrase`: the passphrase the AES key is derived from.
    pub pskc_passphrase: Option<SecretString>,
    /// `pskc-passphrase`: PBKDF2-HMAC-SHA1 iteration count.
    pub pbkdf2_iterations: u32,
    /// PSKC `Issuer`; when absent each key names its token's manufacturer.
    pub pskc_issuer: Option<String>,
    /// `custom-csv`: the customer's column layout.
    pub custom_csv: Option<CustomCsvSpec>,
}

impl Default for FormatOptions {
    fn default() -> Self {
        FormatOptions {
            pskc_key: None,
            pskc_passphrase: None,
            pbkdf2_iterations: DEFAULT_PBKDF2_ITERATIONS,
            pskc_issuer: None,
            custom_csv: None,
        }
    }
}
