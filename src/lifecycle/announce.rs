//! Announcing a request's new state to the vendor's systems: every place a request changes
//! state calls [`entered`] inside the same transaction, so a webhook is queued exactly when the
//! transition commits.

use super::ids::RequestId;
use super::state::State;
use crate::api_keys::webhooks::{self, WebhookEvent};
use crate::db::DbConnection;

/// The request `request_id` has just entered `state`: queue its webhook event, if it has one.
pub fn entered(
    conn: &mut DbConnection,
    request_id: &RequestId,
    state: State,
    now: i64,
) -> Result<(), diesel::result::Error> {
    if let Some(event) = WebhookEvent::on_entering(state) {
        webhooks::enqueue(conn, request_id, event, now)?;
    }
    Ok(())
}
