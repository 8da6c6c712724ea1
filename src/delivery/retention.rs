//! Retention: what the sweeper deletes because it is no longer needed. Expired drafts (with
//! their sealed secrets' keys), the link-bearing bodies of emails given up for good, and
//! rate-limit rows of past windows. (Packages and password hashes follow the lifecycle:
//! [`super::sweep`] and [`crate::lifecycle::follow`].)

use crate::db::schema::{outbox, rate_limits};
use crate::db::{write_tx, DbConnection};
use crate::mail::queue::SCRUBBED;
use crate::request::{draft, rate_limit};
use diesel::prelude::*;

/// What one pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub drafts: usize,
    pub bodies: usize,
    pub rate_limits: usize,
}

/// One pass at `now`.
pub fn purge(conn: &mut DbConnection, now: i64) -> Result<RetentionReport, diesel::result::Error> {
    let drafts = write_tx(conn, |conn| draft::purge_expired(conn, now))?;
    let bodies = diesel::update(
        outbox::table
            .filter(outbox::state.eq("failed"))
            .filter(outbox::carries_links.eq(true))
            .filter(outbox::body_text.ne(SCRUBBED)),
    )
    .set((
        outbox::body_text.eq(SCRUBBED),
        outbox::body_html.eq(SCRUBBED),
    ))
    .execute(conn)?;
    let rate_limits = diesel::delete(
        rate_limits::table.filter(rate_limits::window_start.le(now - rate_limit::HOUR)),
    )
    .execute(conn)?;
    Ok(RetentionReport {
        drafts,
        bodies,
        rate_limits,
    })
}
