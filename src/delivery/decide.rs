//! Approve and reject: one conditional UPDATE on the request decides, so of two reviewers acting
//! at once exactly one wins; the links, emails, package destruction and audit rows follow in the
//! same write transaction.

use super::records::{self, RequestRow};
use super::release::release;
use super::DeliveryError;
use crate::audit::{self, Entry};
use crate::config::Config;
use crate::db::schema::{customers, requests};
use crate::db::{write_tx, DbConnection};
use crate::lifecycle::{self, move_package, Event, RequestId, State, Who};
use crate::mail::{compose, enqueue};
use crate::storage;
use diesel::prelude::*;

/// Longest rejection reason accepted, in characters.
pub const MAX_REASON_CHARS: usize = 2000;

/// Who decided a request before this call did, so the losing reviewer sees what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlreadyDecided {
    pub state: State,
    pub by: Option<String>,
    pub at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApproveOutcome {
    /// Approved now; how many packages were released (one "download ready" email each).
    Approved {
        packages: usize,
    },
    AlreadyDecided(AlreadyDecided),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectOutcome {
    /// Rejected now; how many packages were destroyed.
    Rejected {
        packages_destroyed: usize,
    },
    AlreadyDecided(AlreadyDecided),
}

/// Moves the request itself by `event` (approve or reject) from `pending_review`; false when
/// another decision (or the review expiry) got there first.
fn decide(
    conn: &mut DbConnection,
    request_id: &RequestId,
    event: Event,
    staff_actor: &str,
    reason: Option<&str>,
    now: i64,
) -> Result<bool, DeliveryError> {
    let changed = diesel::update(
        requests::table
            .filter(requests::id.eq(request_id))
            .filter(requests::state.eq_any(event.leaves())),
    )
    .set((
        requests::state.eq(event.enters()),
        requests::decided_at.eq(now),
        requests::decided_by.eq(staff_actor),
        requests::reject_reason.eq(reason),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

fn already_decided(
    conn: &mut DbConnection,
    request_id: &RequestId,
) -> Result<AlreadyDecided, DeliveryError> {
    let request = load(conn, request_id)?;
    Ok(AlreadyDecided {
        state: request.state,
        by: request.decided_by,
        at: request.decided_at,
    })
}

fn load(conn: &mut DbConnection, request_id: &RequestId) -> Result<RequestRow, DeliveryError> {
    records::request(conn, request_id)?.ok_or(DeliveryError::NotFound)
}

/// Approves a request under review: releases each held package with fresh links, queues one
/// "download ready" email per package, saves the customer's PGP key for this requester, and
/// writes the audit rows, all in one write transaction.
pub fn approve(
    conn: &mut DbConnection,
    config: &Config,
    tera: &tera::Tera,
    request_id: &RequestId,
    who: Who<'_>,
    now: i64,
) -> Result<ApproveOutcome, DeliveryError> {
    write_tx(conn, |conn| {
        if !decide(conn, request_id, Event::Approve, who.actor, None, now)? {
            return Ok(ApproveOutcome::AlreadyDecided(already_decided(
                conn, request_id,
            )?));
        }
        let request = load(conn, request_id)?;
        let packages = records::packages_of(conn, request_id)?;
        for package in &packages {
            release(
                conn,
                config,
                tera,
                &request,
                package,
                Event::Approve,
                who,
                now,
            )?;
        }
        save_pgp_key(conn, &request)?;
        audit::record(
            conn,
            &Entry {
                actor: who.actor,
                action: "request.approved",
                subject: &format!("request:{}", request.reference),
                client_ip: who.client_ip,
                details: &format!(
                    "{} released",
                    crate::plural::count(packages.len() as i64, "package", "packages")
                ),
            },
            now,
        )?;
        Ok(ApproveOutcome::Approved {
            packages: packages.len(),
        })
    })
}

/// The request's PGP key becomes the customer's saved key, remembered with the requester's
/// address: it is offered again only to that address.
fn save_pgp_key(conn: &mut DbConnection, request: &RequestRow) -> Result<(), DeliveryError> {
    let key: Option<(Option<String>, Option<String>)> = requests::table
        .find(&request.id)
        .select((requests::pgp_key, requests::pgp_fingerprint))
        .first(conn)
        .optional()?;
    if let Some((Some(armored), Some(fingerprint))) = key {
        diesel::update(customers::table.find(&request.customer_id))
            .set((
                customers::saved_pgp_key.eq(armored),
                customers::saved_pgp_fingerprint.eq(fingerprint),
                customers::saved_pgp_email.eq(&request.requester_email),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Checks a rejection reason: required, at most [`MAX_REASON_CHARS`] characters.
pub fn parse_reason(reason: &str) -> Result<&str, DeliveryError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(DeliveryError::Invalid(
            "A reason is required: the customer receives it by email.".into(),
        ));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(DeliveryError::Invalid(format!(
            "The reason is too long (at most {MAX_REASON_CHARS} characters)."
        )));
    }
    Ok(reason)
}

/// Rejects a request under review: destroys its packages (bytes and data keys), emails the
/// customer the reason and writes the audit rows, in one write transaction: if a deletion
/// fails nothing changes and the error is returned.
#[allow(clippy::too_many_arguments)]
pub fn reject(
    conn: &mut DbConnection,
    config: &Config,
    tera: &tera::Tera,
    request_id: &RequestId,
    who: Who<'_>,
    reason: &str,
    now: i64,
) -> Result<RejectOutcome, DeliveryError> {
    let reason = parse_reason(reason)?;
    write_tx(conn, |conn| {
        if !decide(
            conn,
            request_id,
            Event::Reject,
            who.actor,
            Some(reason),
            now,
        )? {
            return Ok(RejectOutcome::AlreadyDecided(already_decided(
                conn, request_id,
            )?));
        }
        let request = load(conn, request_id)?;
        let mut destroyed = 0;
        for package in records::packages_of(conn, request_id)? {
            use crate::db::schema::packages as p;
            let changed = move_package!(conn, &package.id, Event::Reject,
                filter: [],
                set: [
                    p::download_hash.eq(None::<String>),
                    p::confirm_hash.eq(None::<String>),
                ],
            )?;
            storage::destroy(conn, package.id.as_str(), now)?;
            lifecycle::recorded(
                conn,
                &package.id,
                Event::Reject,
                changed,
                who,
                &format!("{}; bytes and data key destroyed", package.file_name),
                now,
            )?;
            destroyed += 1;
        }
        let email = compose::rejected(tera, config, &request, reason)?;
        enqueue(conn, &email, now)?;
        audit::record(
            conn,
            &Entry {
                actor: who.actor,
                action: "request.rejected",
                subject: &format!("request:{}", request.reference),
                client_ip: who.client_ip,
                details: &format!(
                    "{} destroyed; reason: {reason}",
                    crate::plural::count(destroyed as i64, "package", "packages")
                ),
            },
            now,
        )?;
        Ok(RejectOutcome::Rejected {
            packages_destroyed: destroyed,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_required_and_bounded() {
        assert!(parse_reason("  ").is_err());
        assert!(parse_reason(&"x".repeat(MAX_REASON_CHARS + 1)).is_err());
        assert_eq!(parse_reason(" order mismatch ").unwrap(), "order mismatch");
    }
}
