//! The outbox as a work queue: claiming due emails so each is sent by exactly one worker,
//! recording success (scrubbing link-bearing bodies) or failure with exponential back-off, and
//! listing failed emails for the delivery team.

use crate::db::schema::outbox;
use crate::db::DbConnection;
use diesel::prelude::*;

/// First retry delay; each further failure doubles it up to [`MAX_BACKOFF_SECS`].
pub const FIRST_BACKOFF_SECS: i64 = 30;
pub const MAX_BACKOFF_SECS: i64 = 3600;
/// What replaces a sent link-bearing body.
pub const SCRUBBED: &str = "[scrubbed after sending: it held one-time links]";

/// A claimed email. `Debug` leaves the bodies out: they may hold one-time links.
#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = outbox)]
pub struct Claimed {
    pub id: String,
    pub kind: String,
    pub to_addr: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub carries_links: bool,
    pub attempts: i32,
}

impl std::fmt::Debug for Claimed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claimed")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("to", &self.to_addr)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// Claims up to `limit` due emails for `lease_secs`. PostgreSQL picks rows with
/// `FOR UPDATE SKIP LOCKED`, so workers on several instances never wait on or share a row;
/// SQLite claims each row with one conditional UPDATE. Either way a claimed row is invisible to
/// other workers until its lease ends.
pub fn claim_due(
    conn: &mut DbConnection,
    now: i64,
    lease_secs: i64,
    limit: i64,
) -> QueryResult<Vec<Claimed>> {
    let until = now + lease_secs;
    let due = outbox::state
        .eq("pending")
        .and(outbox::next_attempt_at.le(now))
        .and(
            outbox::claimed_until
                .is_null()
                .or(outbox::claimed_until.le(now)),
        );
    let ids: Vec<String> = match conn {
        DbConnection::Pg(pg) => pg.transaction(|pg| {
            let ids: Vec<String> = outbox::table
                .filter(due)
                .order(outbox::next_attempt_at.asc())
                .limit(limit)
                .select(outbox::id)
                .for_update()
                .skip_locked()
                .load(pg)?;
            diesel::update(outbox::table.filter(outbox::id.eq_any(&ids)))
                .set(outbox::claimed_until.eq(until))
                .execute(pg)?;
            Ok::<_, diesel::result::Error>(ids)
        })?,
        DbConnection::Sqlite(_) => {
            let candidates: Vec<String> = outbox::table
                .filter(due)
                .order(outbox::next_attempt_at.asc())
                .limit(limit)
                .select(outbox::id)
                .load(conn)?;
            let mut ids = Vec::new();
            for id in candidates {
                let claimed = diesel::update(outbox::table.filter(outbox::id.eq(&id)).filter(due))
                    .set(outbox::claimed_until.eq(until))
                    .execute(conn)?;
                if claimed == 1 {
                    ids.push(id);
                }
            }
            ids
        }
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    outbox::table
        .filter(outbox::id.eq_any(&ids))
        .select(Claimed::as_select())
        .load(conn)
}

/// Marks an email sent; a body that carried links is scrubbed in the same statement.
pub fn mark_sent(conn: &mut DbConnection, email: &Claimed, now: i64) -> QueryResult<()> {
    let row = outbox::table.filter(outbox::id.eq(&email.id));
    let done = (
        outbox::state.eq("sent"),
        outbox::sent_at.eq(now),
        outbox::claimed_until.eq(None::<i64>),
        outbox::attempts.eq(outbox::attempts + 1),
        outbox::last_error.eq(None::<String>),
    );
    if email.carries_links {
        diesel::update(row)
            .set((
                done,
                outbox::body_text.eq(SCRUBBED),
                outbox::body_html.eq(SCRUBBED),
            ))
            .execute(conn)?;
    } else {
        diesel::update(row).set(done).execute(conn)?;
    }
    Ok(())
}

/// The delay before retry number `attempts` (1-based).
pub fn backoff_secs(attempts: i32) -> i64 {
    let exp = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    FIRST_BACKOFF_SECS
        .saturating_mul(1i64 << exp)
        .min(MAX_BACKOFF_SECS)
}

/// Records a failed attempt: retried after a back-off, or `failed` after `max_attempts`.
pub fn mark_failed(
    conn: &mut DbConnection,
    email: &Claimed,
    error: &str,
    max_attempts: i32,
    now: i64,
) -> QueryResult<bool> {
    let attempts = email.attempts + 1;
    let gave_up = attempts >= max_attempts;
    let error: String = error.chars().take(500).collect();
    diesel::update(outbox::table.filter(outbox::id.eq(&email.id)))
        .set((
            outbox::state.eq(if gave_up { "failed" } else { "pending" }),
            outbox::attempts.eq(attempts),
            outbox::next_attempt_at.eq(now + backoff_secs(attempts)),
            outbox::claimed_until.eq(None::<i64>),
            outbox::last_error.eq(error),
        ))
        .execute(conn)?;
    Ok(gave_up)
}

/// An email the sender gave up on, as the delivery team sees it (no body).
#[derive(Queryable, Selectable, Debug, Clone, serde::Serialize)]
#[diesel(table_name = outbox)]
pub struct FailedEmail {
    pub id: String,
    pub kind: String,
    pub to_addr: String,
    pub subject: String,
    pub request_id: Option<String>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: i64,
}

/// Every email in state `failed`, newest first.
pub fn list_failed(conn: &mut DbConnection) -> QueryResult<Vec<FailedEmail>> {
    outbox::table
        .filter(outbox::state.eq("failed"))
        .order(outbox::created_at.desc())
        .select(FailedEmail::as_select())
        .load(conn)
}

/// Puts a failed email back in the queue (staff action); false when it was not `failed`.
pub fn retry_failed(conn: &mut DbConnection, id: &str, now: i64) -> QueryResult<bool> {
    let changed = diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::state.eq("failed")),
    )
    .set((
        outbox::state.eq("pending"),
        outbox::attempts.eq(0),
        outbox::next_attempt_at.eq(now),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

#[cfg(test)]
mod tests {
    use super::backoff_secs;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff_secs(1), 30);
        assert_eq!(backoff_secs(2), 60);
        assert_eq!(backoff_secs(5), 480);
        assert_eq!(backoff_secs(30), 3600);
    }
}
