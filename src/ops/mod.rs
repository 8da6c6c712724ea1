//! Operator commands beside `serve`: `seedport doctor` checks a deployment, `seedport backup`
//! copies the database.

pub mod backup;
pub mod doctor;
