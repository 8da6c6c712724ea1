//! The delivery team: staff accounts, passwords, TOTP, sign-in, sessions and their CLI.

pub mod account;
pub mod cli;
pub mod customers;
pub mod demo;
pub mod login;
pub mod orders;
pub mod outbox;
pub mod password;
pub mod review;
pub mod session;
pub mod totp;

pub use account::{Role, StaffMember};
