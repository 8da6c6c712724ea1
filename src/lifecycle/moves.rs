//! Writing transitions: the conditional UPDATE of a package (a macro, so each caller adds its
//! own columns and guards), the typed refusal when it changed nothing, the audit row, and the
//! request following its packages.

use super::ids::{PackageId, RequestId};
use super::state::{Event, State};
use crate::audit::{self, Entry};
use crate::db::schema::{packages, requests};
use crate::db::DbConnection;
use diesel::prelude::*;

/// A transition the current state does not allow. Nothing was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Nothing changed: you cannot {} a file that is {}.", .event.verb(), .from.label())]
pub struct Refused {
    pub event: Event,
    pub from: State,
}

/// Why a transition did not happen.
#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error("no such package")]
    NotFound,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Who caused a transition, for its audit row.
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    /// `staff:<email>`, `customer` or `system`.
    pub actor: &'a str,
    pub client_ip: &'a str,
}

impl Who<'static> {
    /// The sweeper, the mail follower and other background work.
    pub const SYSTEM: Who<'static> = Who {
        actor: "system",
        client_ip: "-",
    };
}

/// One conditional UPDATE moving package `$id` by `$event`: `WHERE id = $id AND state IN
/// (event.leaves()) [AND guards…]`, `SET state = event.enters() [, columns…]`. Evaluates to
/// the diesel result with the number of rows changed (0 or 1); pass it to [`recorded`].
macro_rules! move_package {
    ($conn:expr, $id:expr, $event:expr, filter: [$($f:expr),* $(,)?], set: [$($s:expr),* $(,)?] $(,)?) => {{
        use $crate::db::schema::packages;
        let query = packages::table
            .filter(packages::id.eq($id))
            .filter(packages::state.eq_any($event.leaves()));
        $(let query = query.filter($f);)*
        diesel::update(query)
            .set((packages::state.eq($event.enters()), $($s,)*))
            .execute($conn)
    }};
}
pub(crate) use move_package;

/// The audit action of a package event.
pub fn action(event: Event) -> &'static str {
    match event {
        Event::Approve => "package.released",
        Event::Reject => "package.rejected",
        Event::EmailSent => "package.emailed",
        Event::EmailFailed => "package.email_failed",
        Event::Download => "package.downloaded",
        Event::Confirm => "package.confirmed",
        Event::Lock => "package.locked",
        Event::Expire => "package.expired",
        Event::Cancel => "package.cancelled",
        Event::Resend => "package.resent",
        Event::Reissue => "package.reissued",
    }
}

/// After [`move_package!`]: a typed [`Refused`] when it changed nothing, else the audit row and
/// the request brought in line with its packages. Returns the package's request.
pub fn recorded(
    conn: &mut DbConnection,
    id: &PackageId,
    event: Event,
    changed: usize,
    who: Who<'_>,
    details: &str,
    now: i64,
) -> Result<RequestId, MoveError> {
    let (request_id, state): (RequestId, State) = packages::table
        .find(id)
        .select((packages::request_id, packages::state))
        .first(conn)
        .optional()?
        .ok_or(MoveError::NotFound)?;
    if changed == 0 {
        return Err(Refused { event, from: state }.into());
    }
    audit::record(
        conn,
        &Entry {
            actor: who.actor,
            action: action(event),
            subject: &format!("package:{id}"),
            client_ip: who.client_ip,
            details,
        },
        now,
    )?;
    follow(conn, &request_id, who, now)?;
    Ok(request_id)
}

/// Brings a request's state in line with its packages' ([`State::of_request`]) with one
/// conditional UPDATE naming the state it leaves (retried if another transition got there
/// first), audits the change, and erases the download-password hash once no package is open.
pub fn follow(
    conn: &mut DbConnection,
    request_id: &RequestId,
    who: Who<'_>,
    now: i64,
) -> Result<State, MoveError> {
    for _ in 0..5 {
        let (current, reference): (State, String) = requests::table
            .find(request_id)
            .select((requests::state, requests::reference))
            .first(conn)?;
        let states: Vec<State> = packages::table
            .filter(packages::request_id.eq(request_id))
            .select(packages::state)
            .load(conn)?;
        if !states.is_empty() && !states.iter().any(|s| s.is_open()) {
            diesel::update(
                requests::table
                    .find(request_id)
                    .filter(requests::password_hash.is_not_null()),
            )
            .set(requests::password_hash.eq(None::<String>))
            .execute(conn)?;
        }
        let target = State::of_request(current, &states);
        if target == current {
            return Ok(current);
        }
        let changed = diesel::update(
            requests::table
                .find(request_id)
                .filter(requests::state.eq(current)),
        )
        .set(requests::state.eq(target))
        .execute(conn)?;
        if changed == 1 {
            super::announce::entered(conn, request_id, target, now)?;
            audit::record(
                conn,
                &Entry {
                    actor: who.actor,
                    action: &format!("request.{target}"),
                    subject: &format!("request:{reference}"),
                    client_ip: who.client_ip,
                    details: &format!("{} → {}", current.label(), target.label()),
                },
                now,
            )?;
            return Ok(target);
        }
    }
    Err(MoveError::Db(diesel::result::Error::RollbackTransaction))
}
