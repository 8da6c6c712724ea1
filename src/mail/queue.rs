//! The outbox as a work queue: claiming one due email at a time for one sender with a short,
//! renewable lease, so each is sent by exactly one worker; recording success (scrubbing link-bearing bodies) or failure with exponential back-off, and
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

/// The outbox kind of a webhook delivery: sent by the webhook sender, never as an email.
pub const WEBHOOK_KIND: &str = "webhook";

/// Which worker a row belongs to: emails go to the mail relay, webhooks to a key's URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Webhook,
}

/// The filter for a row of `channel` a sender may claim at `now`: pending, due, and not claimed
/// by a live lease.
#[diesel::dsl::auto_type]
fn due(now: i64, webhook: bool) -> _ {
    let pending: &'static str = "pending";
    let webhook_kind: &'static str = WEBHOOK_KIND;
    outbox::state
        .eq(pending)
        .and(outbox::kind.eq(webhook_kind).eq(webhook))
        .and(outbox::next_attempt_at.le(now))
        .and(
            outbox::claimed_until
                .is_null()
                .or(outbox::claimed_until.le(now)),
        )
}

/// Claims the next due email for `owner` until `now + lease_secs`. PostgreSQL picks the row
/// with `FOR UPDATE SKIP LOCKED`, so senders on several instances never wait on or share a
/// row; SQLite claims it with one conditional UPDATE. A claim whose owner stops renewing it
/// (crash, `kill -9`) ends with its lease and the email is claimable again.
pub fn claim_next(
    conn: &mut DbConnection,
    owner: &str,
    now: i64,
    lease_secs: i64,
) -> QueryResult<Option<Claimed>> {
    claim_next_on(conn, Channel::Email, owner, now, lease_secs)
}

/// [`claim_next`] for the rows of one channel.
pub fn claim_next_on(
    conn: &mut DbConnection,
    channel: Channel,
    owner: &str,
    now: i64,
    lease_secs: i64,
) -> QueryResult<Option<Claimed>> {
    let until = now + lease_secs;
    let webhook = channel == Channel::Webhook;
    let claimed = match conn {
        DbConnection::Pg(pg) => pg.transaction(|pg| {
            let id: Option<String> = outbox::table
                .filter(due(now, webhook))
                .order(outbox::next_attempt_at.asc())
                .select(outbox::id)
                .for_update()
                .skip_locked()
                .first(pg)
                .optional()?;
            if let Some(id) = &id {
                diesel::update(outbox::table.find(id))
                    .set((
                        outbox::claimed_until.eq(until),
                        outbox::claimed_by.eq(owner),
                    ))
                    .execute(pg)?;
            }
            Ok::<_, diesel::result::Error>(id)
        })?,
        DbConnection::Sqlite(_) => {
            let mut won = None;
            // Another instance may win a candidate between the read and the UPDATE: try the
            // next one a few times.
            for _ in 0..5 {
                let Some(id): Option<String> = outbox::table
                    .filter(due(now, webhook))
                    .order(outbox::next_attempt_at.asc())
                    .select(outbox::id)
                    .first(conn)
                    .optional()?
                else {
                    break;
                };
                let changed = diesel::update(outbox::table.find(&id).filter(due(now, webhook)))
                    .set((
                        outbox::claimed_until.eq(until),
                        outbox::claimed_by.eq(owner),
                    ))
                    .execute(conn)?;
                if changed == 1 {
                    won = Some(id);
                    break;
                }
            }
            won
        }
    };
    match claimed {
        None => Ok(None),
        Some(id) => outbox::table
            .find(id)
            .select(Claimed::as_select())
            .first(conn)
            .optional(),
    }
}

/// The heartbeat: extends `owner`'s claim to `now + lease_secs`. False when the claim is no
/// longer `owner`'s (it expired and another sender took it, or the email is already recorded
/// sent): the caller must stop sending it.
pub fn renew(
    conn: &mut DbConnection,
    id: &str,
    owner: &str,
    now: i64,
    lease_secs: i64,
) -> QueryResult<bool> {
    let changed = diesel::update(
        outbox::table
            .find(id)
            .filter(outbox::state.eq("pending"))
            .filter(outbox::claimed_by.eq(owner)),
    )
    .set(outbox::claimed_until.eq(now + lease_secs))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Gives back every claim `owner` still holds (a sender stopping); returns how many.
pub fn release(conn: &mut DbConnection, owner: &str) -> QueryResult<usize> {
    diesel::update(
        outbox::table
            .filter(outbox::state.eq("pending"))
            .filter(outbox::claimed_by.eq(owner)),
    )
    .set((
        outbox::claimed_until.eq(None::<i64>),
        outbox::claimed_by.eq(None::<String>),
    ))
    .execute(conn)
}

/// Marks an email sent, whoever holds its claim now: the relay accepted it, so it must never be
/// sent again (a sender that took it over sees its heartbeat fail and stops). A body that
/// carried links is scrubbed in the same statement. False when it was already recorded.
pub fn mark_sent(conn: &mut DbConnection, email: &Claimed, now: i64) -> QueryResult<bool> {
    let row = outbox::table
        .filter(outbox::id.eq(&email.id))
        .filter(outbox::state.eq("pending"));
    let done = (
        outbox::state.eq("sent"),
        outbox::sent_at.eq(now),
        outbox::claimed_until.eq(None::<i64>),
        outbox::claimed_by.eq(None::<String>),
        outbox::attempts.eq(outbox::attempts + 1),
        outbox::last_error.eq(None::<String>),
    );
    let changed = if email.carries_links {
        diesel::update(row)
            .set((
                done,
                outbox::body_text.eq(SCRUBBED),
                outbox::body_html.eq(SCRUBBED),
            ))
            .execute(conn)?
    } else {
        diesel::update(row).set(done).execute(conn)?
    };
    Ok(changed == 1)
}

/// How many emails wait for a retry after a failed attempt (what `/readyz` reports).
pub fn waiting_for_retry(conn: &mut DbConnection) -> QueryResult<i64> {
    outbox::table
        .filter(outbox::state.eq("pending"))
        .filter(outbox::attempts.gt(0))
        .count()
        .get_result(conn)
}

/// The delay before retry number `attempts` (1-based) with the default first delay.
pub fn backoff_secs(attempts: i32) -> i64 {
    backoff_from(FIRST_BACKOFF_SECS, attempts)
}

/// The delay before retry number `attempts` (1-based) when the first retry waits `first` seconds.
pub fn backoff_from(first: i64, attempts: i32) -> i64 {
    let exp = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    first
        .max(1)
        .saturating_mul(1i64 << exp)
        .min(MAX_BACKOFF_SECS.max(first))
}

/// What a failed attempt did to the email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// It waits for another attempt after the back-off.
    WillRetry,
    /// The retry cap was reached: it is `failed` now.
    GaveUp,
    /// The claim was no longer `owner`'s: nothing recorded.
    NotOurs,
}

/// Records a failed attempt by `owner`: retried after a back-off starting at `first_backoff`
/// seconds, or `failed` after `max_attempts`. One conditional UPDATE on the owner's claim.
pub fn mark_failed(
    conn: &mut DbConnection,
    email: &Claimed,
    owner: &str,
    error: &str,
    (max_attempts, first_backoff): (i32, i64),
    now: i64,
) -> QueryResult<Failure> {
    let attempts = email.attempts + 1;
    let gave_up = attempts >= max_attempts;
    let error: String = error.chars().take(500).collect();
    let changed = diesel::update(
        outbox::table
            .filter(outbox::id.eq(&email.id))
            .filter(outbox::state.eq("pending"))
            .filter(outbox::claimed_by.eq(owner)),
    )
    .set((
        outbox::state.eq(if gave_up { "failed" } else { "pending" }),
        outbox::attempts.eq(attempts),
        outbox::next_attempt_at.eq(now + backoff_from(first_backoff, attempts)),
        outbox::claimed_until.eq(None::<i64>),
        outbox::claimed_by.eq(None::<String>),
        outbox::last_error.eq(error),
    ))
    .execute(conn)?;
    Ok(match (changed, gave_up) {
        (0, _) => Failure::NotOurs,
        (_, true) => Failure::GaveUp,
        (_, false) => Failure::WillRetry,
    })
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
        assert_eq!(super::backoff_from(1, 3), 4);
    }
}
