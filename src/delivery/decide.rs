//! Approve and reject: one conditional UPDATE on the request decides, so of two reviewers acting
//! at once exactly one wins; the links, emails, package destruction and audit rows follow in the
//! same write transaction.

use super::records::{self, RequestRow};
use super::{DeliveryError, LinkToken};
use crate::audit::{self, Entry};
use crate::config::Config;
use crate::db::schema::{packages, requests};
use crate::db::{write_tx, DbConnection};
use crate::mail::{compose, enqueue};
use crate::storage;
use crate::web::AppState;
use actix_web::web;
use diesel::prelude::*;

/// Longest rejection reason accepted, in characters.
pub const MAX_REASON_CHARS: usize = 2000;

/// Who decided a request before this call did, so the losing reviewer sees what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlreadyDecided {
    pub state: String,
    pub by: Option<String>,
    pub at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApproveOutcome {
    /// Approved now; the ids of the packages released (one "download ready" email each).
    Approved {
        packages: Vec<String>,
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

/// Moves `pending_review` to `state`; false when another decision got there first.
fn decide(
    conn: &mut DbConnection,
    request_id: &str,
    state: &str,
    staff_actor: &str,
    reason: Option<&str>,
    now: i64,
) -> Result<bool, DeliveryError> {
    let changed = diesel::update(
        requests::table
            .filter(requests::id.eq(request_id))
            .filter(requests::state.eq("pending_review")),
    )
    .set((
        requests::state.eq(state),
        requests::decided_at.eq(now),
        requests::decided_by.eq(staff_actor),
        requests::reject_reason.eq(reason),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

fn already_decided(
    conn: &mut DbConnection,
    request_id: &str,
) -> Result<AlreadyDecided, DeliveryError> {
    let request = records::request(conn, request_id)?.ok_or(DeliveryError::NotFound)?;
    Ok(AlreadyDecided {
        state: request.state,
        by: request.decided_by,
        at: request.decided_at,
    })
}

fn load(conn: &mut DbConnection, request_id: &str) -> Result<RequestRow, DeliveryError> {
    records::request(conn, request_id)?.ok_or(DeliveryError::NotFound)
}

/// Approves a request under review: releases each held package with a fresh download and
/// confirmation link (stored only as SHA-256), queues one "download ready" email per package
/// and writes the audit rows, all in one write transaction.
pub fn approve(
    conn: &mut DbConnection,
    config: &Config,
    tera: &tera::Tera,
    request_id: &str,
    staff_actor: &str,
    client_ip: &str,
    now: i64,
) -> Result<ApproveOutcome, DeliveryError> {
    write_tx(conn, |conn| {
        if !decide(conn, request_id, "approved", staff_actor, None, now)? {
            return Ok(ApproveOutcome::AlreadyDecided(already_decided(
                conn, request_id,
            )?));
        }
        let request = load(conn, request_id)?;
        let expires_at = now + i64::from(config.link_expiry_days) * 86_400;
        let max_downloads = i32::try_from(config.download_limit).unwrap_or(i32::MAX);
        let mut released = Vec::new();
        for package in records::packages_of(conn, request_id)? {
            if package.state != "held" {
                continue;
            }
            let download = LinkToken::generate("sp_dl_");
            let confirm = LinkToken::generate("sp_cf_");
            diesel::update(
                packages::table
                    .filter(packages::id.eq(&package.id))
                    .filter(packages::state.eq("held")),
            )
            .set((
                packages::state.eq("released"),
                packages::download_hash.eq(download.hash()),
                packages::confirm_hash.eq(confirm.hash()),
                packages::released_at.eq(now),
                packages::expires_at.eq(expires_at),
                packages::max_downloads.eq(max_downloads),
                packages::downloads.eq(0),
                packages::wrong_passwords.eq(0),
            ))
            .execute(conn)?;
            let links = compose::ReleasedLinks {
                download_token: download.expose(),
                confirm_token: confirm.expose(),
                expires_at,
                max_downloads,
            };
            let email = compose::download_ready(tera, config, &request, &package, &links)?;
            enqueue(conn, &email, now)?;
            audit::record(
                conn,
                &Entry {
                    actor: staff_actor,
                    action: "package.released",
                    subject: &format!("package:{}", package.id),
                    client_ip,
                    details: &format!(
                        "request {}; {}; links expire {}; {} downloads allowed",
                        request.reference,
                        package.file_name,
                        crate::clock::format_utc(expires_at),
                        max_downloads
                    ),
                },
                now,
            )?;
            released.push(package.id);
        }
        audit::record(
            conn,
            &Entry {
                actor: staff_actor,
                action: "request.approved",
                subject: &format!("request:{}", request.reference),
                client_ip,
                details: &format!("{} package(s) released", released.len()),
            },
            now,
        )?;
        Ok(ApproveOutcome::Approved { packages: released })
    })
}

/// Checks a rejection reason: required, at most [`MAX_REASON_CHARS`] characters.
fn parse_reason(reason: &str) -> Result<&str, DeliveryError> {
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
    request_id: &str,
    staff_actor: &str,
    client_ip: &str,
    reason: &str,
    now: i64,
) -> Result<RejectOutcome, DeliveryError> {
    let reason = parse_reason(reason)?;
    write_tx(conn, |conn| {
        if !decide(conn, request_id, "rejected", staff_actor, Some(reason), now)? {
            return Ok(RejectOutcome::AlreadyDecided(already_decided(
                conn, request_id,
            )?));
        }
        let request = load(conn, request_id)?;
        let mut destroyed = 0;
        for package in records::packages_of(conn, request_id)? {
            storage::destroy(conn, &package.id, now)?;
            diesel::update(packages::table.find(&package.id))
                .set((
                    packages::state.eq("rejected"),
                    packages::download_hash.eq(None::<String>),
                    packages::confirm_hash.eq(None::<String>),
                ))
                .execute(conn)?;
            destroyed += 1;
        }
        let email = compose::rejected(tera, config, &request, reason)?;
        enqueue(conn, &email, now)?;
        audit::record(
            conn,
            &Entry {
                actor: staff_actor,
                action: "request.rejected",
                subject: &format!("request:{}", request.reference),
                client_ip,
                details: &format!("{destroyed} package(s) destroyed; reason: {reason}"),
            },
            now,
        )?;
        Ok(RejectOutcome::Rejected {
            packages_destroyed: destroyed,
        })
    })
}

/// [`approve`] from a handler: runs on the blocking pool with the app's clock.
pub async fn approve_request(
    state: &web::Data<AppState>,
    request_id: &str,
    staff_actor: &str,
    client_ip: &str,
) -> Result<ApproveOutcome, DeliveryError> {
    let app = state.clone();
    let (id, actor, ip) = (
        request_id.to_string(),
        staff_actor.to_string(),
        client_ip.to_string(),
    );
    let now = state.clock.now();
    state
        .db
        .run(move |conn| approve(conn, &app.config, &app.tera, &id, &actor, &ip, now))
        .await
}

/// [`reject`] from a handler: runs on the blocking pool with the app's clock.
pub async fn reject_request(
    state: &web::Data<AppState>,
    request_id: &str,
    staff_actor: &str,
    client_ip: &str,
    reason: &str,
) -> Result<RejectOutcome, DeliveryError> {
    parse_reason(reason)?;
    let app = state.clone();
    let (id, actor, ip, reason) = (
        request_id.to_string(),
        staff_actor.to_string(),
        client_ip.to_string(),
        reason.to_string(),
    );
    let now = state.clock.now();
    state
        .db
        .run(move |conn| reject(conn, &app.config, &app.tera, &id, &actor, &ip, &reason, now))
        .await
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
