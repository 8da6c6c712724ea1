//! seedport: the portal through which a hardware-token vendor delivers OATH token seeds.

pub mod assign;
pub mod domain;
pub mod vault;
