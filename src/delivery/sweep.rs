//! Expiry sweeper and file destruction: packages past their expiry (including requests nobody
//! reviewed in time) move to `expired`; every package in a state that destroys its file has its
//! bytes and data key destroyed, retried each pass until it succeeds.

use super::DeliveryError;
use crate::audit::{self, Entry};
use crate::db::schema::packages;
use crate::db::{write_tx, DbConnection};
use crate::lifecycle::{self, move_package, Event, PackageId, State, Who};
use crate::storage;
use diesel::prelude::*;

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub expired: usize,
    pub destroyed: usize,
    pub failed: usize,
}

/// Destroys a package's bytes and data key and audits it. Runs inside the caller's transaction.
pub fn destroy_file(
    conn: &mut DbConnection,
    package_id: &PackageId,
    actor: &str,
    client_ip: &str,
    now: i64,
) -> Result<(), DeliveryError> {
    storage::destroy(conn, package_id.as_str(), now)?;
    audit::record(
        conn,
        &Entry {
            actor,
            action: "package.destroyed",
            subject: &format!("package:{package_id}"),
            client_ip,
            details: "bytes and data key destroyed",
        },
        now,
    )?;
    Ok(())
}

/// One pass: expire what is due, then destroy every file whose state says it must go. Each
/// package has its own transaction, so one failure does not block the rest (it is retried next
/// pass).
pub fn sweep(conn: &mut DbConnection, now: i64) -> Result<SweepReport, DeliveryError> {
    let mut report = SweepReport::default();
    let due: Vec<PackageId> = packages::table
        .filter(packages::state.eq_any(Event::Expire.leaves()))
        .filter(packages::expires_at.le(now))
        .select(packages::id)
        .limit(500)
        .load(conn)?;
    for id in due {
        let result = write_tx(conn, |conn| {
            use crate::db::schema::packages as p;
            let changed = move_package!(conn, &id, Event::Expire,
                filter: [p::expires_at.le(now)],
                set: [],
            )?;
            if changed == 0 {
                return Ok(false);
            }
            lifecycle::recorded(
                conn,
                &id,
                Event::Expire,
                changed,
                Who::SYSTEM,
                "expiry reached",
                now,
            )?;
            Ok::<_, DeliveryError>(true)
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
    let doomed: Vec<State> = State::ALL
        .into_iter()
        .filter(|s| s.destroys_file())
        .collect();
    let pending: Vec<PackageId> = packages::table
        .filter(packages::state.eq_any(doomed))
        .filter(packages::destroyed_at.is_null())
        .select(packages::id)
        .limit(500)
        .load(conn)?;
    for id in pending {
        match write_tx(conn, |conn| destroy_file(conn, &id, "system", "-", now)) {
            Ok(()) => report.destroyed += 1,
            Err(e) => {
                tracing::warn!(package = %id, error = %e, "destroying a package failed; will retry");
                report.failed += 1;
            }
        }
    }
    Ok(report)
}
