//! seedport: the portal through which a hardware-token vendor delivers OATH token seeds.

pub mod app;
pub mod assign;
pub mod audit;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod formats;
pub mod import;
pub mod mail;
<<<<<<< HEAD
pub mod staff;
=======
pub mod pack;
pub mod packaging;
>>>>>>> main
pub mod storage;
pub mod vault;
pub mod web;
