//! Expiry sweeper and package destruction: packages past their expiry are destroyed and marked
//! `expired`; deletions that failed earlier (`destroy_pending`) are retried until they succeed.

use super::records;
use super::DeliveryError;
use crate::audit::{self, Entry};
use crate::config::Config;
use crate::db::schema::packages;
use crate::db::{write_tx, DbConnection};
use crate::mail::{compose, enqueue};
use crate::storage;
use diesel::prelude::*;

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub expired: usize,
    pub retried: usize,
    pub failed: usize,
}

/// Destroys a package's bytes and data key, sets its final `state`, writes the audit row and,
/// for `confirmed`, queues the "confirmed" email. Runs inside the caller's transaction.
pub fn finish_destroy(
    conn: &mut DbConnection,
    config: &Config,
    tera: &tera::Tera,
    package_id: &str,
    state: &str,
    client_ip: &str,
    now: i64,
) -> Result<(), DeliveryError> {
    storage::destroy(conn, package_id, now)?;
    diesel::update(packages::table.find(package_id))
        .set(packages::state.eq(state))
        .execute(conn)?;
    let package = records::package(conn, package_id)?.ok_or(DeliveryError::NotFound)?;
    let request = records::request(conn, &package.request_id)?.ok_or(DeliveryError::NotFound)?;
    if state == "confirmed" {
        let at = package.confirmed_at.unwrap_or(now);
        enqueue(
            conn,
            &compose::confirmed(tera, config, &request, &package, at)?,
            now,
        )?;
    }
    let actor = if state == "confirmed" {
        "customer"
    } else {
        "system"
    };
    audit::record(
        conn,
        &Entry {
            actor,
            action: &format!("package.{state}"),
            subject: &format!("package:{package_id}"),
            client_ip,
            details: &format!(
                "request {}; {}; bytes and data key destroyed",
                request.reference, package.file_name
            ),
        },
        now,
    )?;
    Ok(())
}

/// One pass: expire what is due, retry pending deletions. Each package has its own
/// transaction, so one failure does not block the rest (it is retried next pass).
pub fn sweep(
    conn: &mut DbConnection,
    config: &Config,
    tera: &tera::Tera,
    now: i64,
) -> Result<SweepReport, DeliveryError> {
    let mut report = SweepReport::default();
    let due: Vec<String> = packages::table
        .filter(packages::state.eq_any(["held", "released", "locked"]))
        .filter(packages::expires_at.le(now))
        .select(packages::id)
        .load(conn)?;
    for id in due {
        let result = write_tx(conn, |conn| {
            let changed = diesel::update(
                packages::table
                    .filter(packages::id.eq(&id))
                    .filter(packages::state.eq_any(["held", "released", "locked"]))
                    .filter(packages::expires_at.le(now)),
            )
            .set(packages::state.eq("expired"))
            .execute(conn)?;
            if changed == 1 {
                finish_destroy(conn, config, tera, &id, "expired", "-", now)?;
            }
            Ok::<_, DeliveryError>(changed == 1)
        });
        match result {
            Ok(true) => report.expired += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(package = %id, error = %e, "expiring a package failed; will retry");
                report.failed += 1;
            }
        }
    }
    let pending: Vec<(String, Option<i64>, String)> = packages::table
        .filter(packages::state.eq("destroy_pending"))
        .select((packages::id, packages::confirmed_at, packages::request_id))
        .load(conn)?;
    for (id, confirmed_at, request_id) in pending {
        let result = write_tx(conn, |conn| {
            let rejected =
                records::request(conn, &request_id)?.is_some_and(|r| r.state == "rejected");
            let target = match (confirmed_at, rejected) {
                (Some(_), _) => "confirmed",
                (None, true) => "rejected",
                (None, false) => "expired",
            };
            let claimed = diesel::update(
                packages::table
                    .filter(packages::id.eq(&id))
                    .filter(packages::state.eq("destroy_pending")),
            )
            .set(packages::state.eq(target))
            .execute(conn)?;
            if claimed == 1 {
                finish_destroy(conn, config, tera, &id, target, "-", now)?;
            }
            Ok::<_, DeliveryError>(claimed == 1)
        });
        match result {
            Ok(true) => report.retried += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(package = %id, error = %e, "retrying a package deletion failed");
                report.failed += 1;
            }
        }
    }
    Ok(report)
}
