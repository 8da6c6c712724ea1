//! The outbox as the delivery team sees it: each email's state (queued, sent, retrying with the
//! last error, failed), never its body.

use crate::clock::format_utc;
use crate::db::schema::outbox;
use crate::db::DbConnection;
use crate::lifecycle::RequestId;
use diesel::prelude::*;
use serde::Serialize;

/// An email about the request, as the console shows it: never its body.
#[derive(Debug, Serialize)]
pub struct EmailLine {
    pub id: String,
    pub kind: String,
    pub to: String,
    pub subject: String,
    pub status: &'static str,
    pub last_error: Option<String>,
    pub attempts: i32,
    pub created: String,
    pub sent: Option<String>,
    /// Failed and safe to send again as it is (it carries no one-time links).
    pub can_retry: bool,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = outbox)]
struct OutboxRecord {
    id: String,
    kind: String,
    to_addr: String,
    subject: String,
    carries_links: bool,
    state: String,
    attempts: i32,
    last_error: Option<String>,
    created_at: i64,
    sent_at: Option<i64>,
}

impl EmailLine {
    fn from_record(r: OutboxRecord) -> EmailLine {
        let status = match (r.state.as_str(), r.attempts) {
            ("sent", _) => "sent",
            ("failed", _) => "failed",
            (_, 0) => "queued",
            _ => "retrying",
        };
        EmailLine {
            can_retry: status == "failed" && !r.carries_links,
            id: r.id,
            kind: r.kind.replace('_', " "),
            to: r.to_addr,
            subject: r.subject,
            status,
            last_error: r.last_error.filter(|_| status != "sent"),
            attempts: r.attempts,
            created: format_utc(r.created_at),
            sent: r.sent_at.map(format_utc),
        }
    }
}

/// Emails in the outbox, newest first: those of one request, or (None) all of them.
pub fn emails(
    conn: &mut DbConnection,
    request_id: Option<&RequestId>,
    state: Option<&str>,
) -> QueryResult<Vec<EmailLine>> {
    let mut query = outbox::table
        .select(OutboxRecord::as_select())
        .order((outbox::created_at.desc(), outbox::id.asc()))
        .limit(500)
        .into_boxed();
    if let Some(id) = request_id {
        query = query.filter(outbox::request_id.eq(id.as_str().to_string()));
    }
    match state {
        Some("queued") => {
            query = query
                .filter(outbox::state.eq("pending"))
                .filter(outbox::attempts.eq(0))
        }
        Some("retrying") => {
            query = query
                .filter(outbox::state.eq("pending"))
                .filter(outbox::attempts.gt(0))
        }
        Some(s @ ("sent" | "failed")) => query = query.filter(outbox::state.eq(s.to_string())),
        _ => {}
    }
    Ok(query
        .load(conn)?
        .into_iter()
        .map(EmailLine::from_record)
        .collect())
}
