//! Secrets at rest: the master key, data keys, AES-256-GCM sealing, and secret types.

mod secret;

pub use secret::{SecretBytes, SecretString};
