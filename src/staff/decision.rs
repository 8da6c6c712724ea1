//! Approve and reject as the review pages call them.
//!
//! STAND-IN: the delivery engineer's `seedport::delivery::{approve, reject}` own the real
//! transition (release packages, queue emails, destroy packages). Until that branch is merged,
//! this module performs the state change itself with the same guarantees: one conditional
//! UPDATE on `state = 'pending_review'` decides, and the audit row is written in the same
//! transaction. Replace the bodies of [`approve`] and [`reject`] with calls into `delivery`.

use crate::audit::{self, Entry};
use crate::db::schema::requests;
use crate::db::{write_tx, DbConnection};
use diesel::prelude::*;

/// Longest reject reason accepted (it is emailed to the customer).
pub const MAX_REASON_CHARS: usize = 2000;

/// Who decides, from where.
#[derive(Debug, Clone)]
pub struct Reviewer<'a> {
    /// `staff:<email>`.
    pub actor: &'a str,
    pub client_ip: &'a str,
}

/// How a decision attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// This call made the change.
    Done,
    /// Someone (or something) got there first.
    AlreadyDecided {
        state: String,
        by: Option<String>,
        at: Option<i64>,
    },
    NotFound,
}

/// Approves a pending request.
pub fn approve(
    conn: &mut DbConnection,
    request_id: &str,
    who: &Reviewer<'_>,
    now: i64,
) -> Result<Decision, diesel::result::Error> {
    decide(conn, request_id, who, now, "approved", None)
}

/// Rejects a pending request with a reason the customer will read.
pub fn reject(
    conn: &mut DbConnection,
    request_id: &str,
    who: &Reviewer<'_>,
    reason: &str,
    now: i64,
) -> Result<Decision, diesel::result::Error> {
    decide(conn, request_id, who, now, "rejected", Some(reason))
}

fn decide(
    conn: &mut DbConnection,
    request_id: &str,
    who: &Reviewer<'_>,
    now: i64,
    to: &str,
    reason: Option<&str>,
) -> Result<Decision, diesel::result::Error> {
    write_tx(conn, |conn| {
        let changed = diesel::update(
            requests::table
                .filter(requests::id.eq(request_id))
                .filter(requests::state.eq("pending_review")),
        )
        .set((
            requests::state.eq(to),
            requests::decided_at.eq(now),
            requests::decided_by.eq(who.actor),
            requests::reject_reason.eq(reason),
        ))
        .execute(conn)?;
        let current: Option<(String, String, Option<String>, Option<i64>)> = requests::table
            .find(request_id)
            .select((
                requests::reference,
                requests::state,
                requests::decided_by,
                requests::decided_at,
            ))
            .first(conn)
            .optional()?;
        let Some((reference, state, by, at)) = current else {
            return Ok(Decision::NotFound);
        };
        if changed != 1 {
            return Ok(Decision::AlreadyDecided { state, by, at });
        }
        let details = match reason {
            Some(r) => format!("reason: {r}"),
            None => String::new(),
        };
        audit::record(
            conn,
            &Entry {
                actor: who.actor,
                action: if to == "approved" {
                    "request.approved"
                } else {
                    "request.rejected"
                },
                subject: &format!("request:{reference}"),
                client_ip: who.client_ip,
                details: &details,
            },
            now,
        )?;
        Ok(Decision::Done)
    })
}
