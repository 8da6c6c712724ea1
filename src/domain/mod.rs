//! Types that parse, don't validate: everything the rest of the code holds is already valid.

pub mod email;
pub mod reference;
pub mod token;

pub use email::{BusinessEmail, EmailDomain};
pub use reference::{OrderNumber, ReferenceKind};
pub use token::{model_defaults, HashAlg, ModelDefaults, OtpKind, Serial, Token, TokenContext};
