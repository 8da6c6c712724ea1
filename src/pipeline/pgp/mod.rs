//! OpenPGP: the customer's certificate ([`PgpRecipient`]) and streaming encryption to it.

mod encrypt;
mod recipient;

pub use encrypt::{PgpEncryptError, PgpEncryptor};
pub use recipient::{PgpKeyError, PgpRecipient};
