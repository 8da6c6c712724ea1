//! Email: the outbox table, message building from templates, the sender, and the demo mailbox.

pub mod compose;
pub mod mailbox;
pub mod outbox;
pub mod queue;
pub mod sender;

pub use outbox::{enqueue, OutgoingEmail};
