//! The outbox: emails are rows written in the same transaction as the change that causes them.

use crate::db::schema::outbox;
use crate::db::DbConnection;
use diesel::prelude::*;

/// An email to send. `carries_links` marks bodies holding one-time links: they are scrubbed
/// from the table once sent.
#[derive(Clone)]
pub struct OutgoingEmail {
    pub kind: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub carries_links: bool,
    pub request_id: Option<String>,
}

impl std::fmt::Debug for OutgoingEmail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Bodies may hold one-time links: never print them.
        f.debug_struct("OutgoingEmail")
            .field("kind", &self.kind)
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("carries_links", &self.carries_links)
            .finish_non_exhaustive()
    }
}

/// Queues an email; the sender worker picks it up. Returns the row id.
pub fn enqueue(
    conn: &mut DbConnection,
    email: &OutgoingEmail,
    now: i64,
) -> Result<String, diesel::result::Error> {
    let id = uuid::Uuid::new_v4().to_string();
    diesel::insert_into(outbox::table)
        .values((
            outbox::id.eq(&id),
            outbox::kind.eq(&email.kind),
            outbox::to_addr.eq(&email.to),
            outbox::subject.eq(&email.subject),
            outbox::body_text.eq(&email.text),
            outbox::body_html.eq(&email.html),
            outbox::carries_links.eq(email.carries_links),
            outbox::request_id.eq(&email.request_id),
            outbox::state.eq("pending"),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now),
            outbox::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}
