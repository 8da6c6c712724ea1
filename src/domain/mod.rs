//! Types that parse, don't validate: everything the rest of the code holds is already valid.

pub mod token;

pub use token::{model_defaults, HashAlg, ModelDefaults, OtpKind, Serial, Token, TokenContext};
