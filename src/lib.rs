//! seedport: the portal through which a hardware-token vendor delivers OATH token seeds.

pub mod api_keys;
pub mod app;
pub mod assign;
pub mod audit;
pub mod clock;
pub mod config;
pub mod db;
pub mod delivery;
pub mod demo;
pub mod domain;
pub mod formats;
#[doc(hidden)]
pub mod fuzzing;
pub mod guides;
pub mod import;
pub mod jobs;
pub mod lifecycle;
pub mod mail;
pub mod ops;
pub mod pipeline;
pub mod plural;
pub mod request;
pub mod staff;
pub mod storage;
pub mod telemetry;
pub mod vault;
pub mod web;

/// The old name of [`pipeline`], kept while branches written against it are merged.
pub use pipeline as packaging;
