//! The integration suite, one test binary so a cold `cargo test` links once. Each module is one
//! area of the product; `support` is the shared harness (databases, the running app, outside
//! tools).
// Tests state their expectations with unwrap, expect, panics and indexing, and some outside
// tools (gpg) need wall-clock times.
#![allow(
    clippy::disallowed_methods,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;
mod wizard_helpers;

mod api;
mod assign_browser;
mod assign_cli;
mod browser_wizard;
mod delivery;
mod experience;
mod experience_assign;
mod experience_js_off;
mod experience_pages;
mod formats;
mod foundation;
mod hardening;
mod import;
mod lifecycle;
mod operations;
mod pack;
mod packaging;
mod pgp_armored;
mod pipeline_same;
mod properties;
mod reliability;
mod staff;
mod webkit;
mod wizard;
mod wizard_flow;
mod wizard_shipments;
