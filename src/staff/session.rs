//! Staff sessions: a random id in an HttpOnly cookie, stored only as SHA-256, renewed at
//! sign-in, ended by logout, an idle timeout and an absolute timeout.

use super::account::{self, StaffMember};
use crate::db::schema::staff_sessions;
use crate::db::{write_tx, DbConnection};
use crate::vault::{random_token, token_hash};
use diesel::prelude::*;

/// A session ends after this many seconds without a request.
pub const IDLE_SECONDS: i64 = 30 * 60;
/// And after this many seconds in any case.
pub const ABSOLUTE_SECONDS: i64 = 12 * 60 * 60;

/// The session id as the cookie carries it: shown to the browser once, never stored or logged.
pub struct SessionId(String);

impl SessionId {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionId([redacted])")
    }
}

/// A live session: who, and the CSRF token its forms carry.
#[derive(Debug, Clone)]
pub struct Session {
    pub staff: StaffMember,
    pub csrf: String,
    id_hash: String,
}

impl Session {
    pub fn id_hash(&self) -> &str {
        &self.id_hash
    }
}

/// Starts a new session with a fresh id; the session the browser held before (if any) and this
/// member's expired sessions are deleted, so an old or planted cookie is useless.
pub fn start(
    conn: &mut DbConnection,
    staff_id: &str,
    previous_cookie: Option<&str>,
    now: i64,
) -> Result<SessionId, diesel::result::Error> {
    let id = SessionId(random_token("sp_ss_"));
    write_tx(conn, |conn| {
        if let Some(old) = previous_cookie {
            diesel::delete(staff_sessions::table.find(token_hash(old))).execute(conn)?;
        }
        diesel::delete(
            staff_sessions::table
                .filter(staff_sessions::staff_id.eq(staff_id))
                .filter(
                    staff_sessions::last_seen_at
                        .le(now - IDLE_SECONDS)
                        .or(staff_sessions::created_at.le(now - ABSOLUTE_SECONDS)),
                ),
        )
        .execute(conn)?;
        diesel::insert_into(staff_sessions::table)
            .values((
                staff_sessions::id_hash.eq(token_hash(&id.0)),
                staff_sessions::staff_id.eq(staff_id),
                staff_sessions::csrf_token.eq(random_token("sp_csrf_")),
                staff_sessions::created_at.eq(now),
                staff_sessions::last_seen_at.eq(now),
            ))
            .execute(conn)
    })?;
    Ok(id)
}

/// The live session behind a cookie, touching its last-seen time. One conditional UPDATE
/// decides whether it is still within both timeouts; a disabled account has no session.
pub fn resume(
    conn: &mut DbConnection,
    cookie: &str,
    now: i64,
) -> Result<Option<Session>, diesel::result::Error> {
    let id_hash = token_hash(cookie);
    let alive = diesel::update(
        staff_sessions::table
            .filter(staff_sessions::id_hash.eq(&id_hash))
            .filter(staff_sessions::last_seen_at.gt(now - IDLE_SECONDS))
            .filter(staff_sessions::created_at.gt(now - ABSOLUTE_SECONDS)),
    )
    .set(staff_sessions::last_seen_at.eq(now))
    .execute(conn)?;
    if alive != 1 {
        return Ok(None);
    }
    let row: Option<(String, String)> = staff_sessions::table
        .find(&id_hash)
        .select((staff_sessions::staff_id, staff_sessions::csrf_token))
        .first(conn)
        .optional()?;
    let Some((staff_id, csrf)) = row else {
        return Ok(None);
    };
    Ok(account::by_id(conn, &staff_id)?
        .filter(|m| !m.disabled)
        .map(|staff| Session {
            staff,
            csrf,
            id_hash,
        }))
}

/// Ends a session on the server.
pub fn end(conn: &mut DbConnection, id_hash: &str) -> Result<(), diesel::result::Error> {
    diesel::delete(staff_sessions::table.find(id_hash)).execute(conn)?;
    Ok(())
}
