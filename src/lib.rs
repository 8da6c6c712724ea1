//! seedport: the portal through which a hardware-token vendor delivers OATH token seeds.

pub mod domain;
pub mod packaging;
pub mod vault;
