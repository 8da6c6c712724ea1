//! Email: the outbox table, message building from templates, and the sender worker.

pub mod outbox;

pub use outbox::{enqueue, OutgoingEmail};
