//! The integration suite, one test binary so a cold `cargo test` links once. Each module is one
//! area of the product; `support` is the shared harness (databases, the running app, outside
//! tools).

mod support;
mod wizard_helpers;

mod assign_browser;
mod assign_cli;
mod browser_wizard;
mod delivery;
mod formats;
mod foundation;
mod import;
mod pack;
mod packaging;
mod pgp_armored;
mod pipeline_same;
mod staff;
mod wizard;
mod wizard_flow;
