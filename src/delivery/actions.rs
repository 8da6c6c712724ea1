//! What the delivery team can do to a released package: re-send the download email (new links),
//! re-issue links for an expired or locked file still held, cancel (destroying the file at
//! once) and extend the links' expiry. Each is one conditional UPDATE with its audit row; the
//! fresh authenticator code is checked by the caller on the same connection first.

use super::records::{self, PackageRow, RequestRow};
use super::release::release;
use super::sweep::destroy_file;
use super::DeliveryError;
use crate::audit::{self, Entry};
use crate::clock::format_utc;
use crate::config::Config;
use crate::db::schema::packages;
use crate::db::{write_tx, DbConnection};
use crate::lifecycle::{self, move_package, Event, PackageId, RequestId, State, Who, EXTENDABLE};
use diesel::prelude::*;

/// Longest extension in one step, in days.
pub const MAX_EXTEND_DAYS: u32 = 30;

/// What an action did, for the notice on the request page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionDone {
    pub request_id: RequestId,
    pub message: String,
}

fn load(
    conn: &mut DbConnection,
    package_id: &PackageId,
) -> Result<(PackageRow, RequestRow), DeliveryError> {
    let package = records::package(conn, package_id)?.ok_or(DeliveryError::NotFound)?;
    let request = records::request(conn, &package.request_id)?.ok_or(DeliveryError::NotFound)?;
    Ok((package, request))
}

/// Re-sends the download email with new links; the old links stop working at once.
pub fn resend(
    conn: &mut DbConnection,
    config: &Config,
    tera: &tera::Tera,
    package_id: &PackageId,
    who: Who<'_>,
    now: i64,
) -> Result<ActionDone, DeliveryError> {
    write_tx(conn, |conn| {
        let (package, request) = load(conn, package_id)?;
        if !Event::Resend.allowed_from(package.state) {
            return Err(lifecycle::Refused {
                event: Event::Resend,
                from: package.state,
            }
            .into());
        }
        let request_id = release(
            conn,
            config,
            tera,
            &request,
            &package,
            Event::Resend,
            who,
            now,
        )?;
        Ok(ActionDone {
            request_id,
            message: format!(
                "A new download email for {} is on its way to {}; the old links no longer work.",
                package.file_name, request.requester_email
            ),
        })
    })
}

/// Issues new links for an expired or locked package whose file is still held.
pub fn reissue(
    conn: &mut DbConnection,
    config: &Config,
    tera: &tera::Tera,
    package_id: &PackageId,
    who: Who<'_>,
    now: i64,
) -> Result<ActionDone, DeliveryError> {
    write_tx(conn, |conn| {
        let (package, request) = load(conn, package_id)?;
        if !Event::Reissue.allowed_from(package.state) {
            return Err(lifecycle::Refused {
                event: Event::Reissue,
                from: package.state,
            }
            .into());
        }
        if !package.file_held() {
            return Err(DeliveryError::FileDestroyed);
        }
        let request_id = release(
            conn,
            config,
            tera,
            &request,
            &package,
            Event::Reissue,
            who,
            now,
        )?;
        Ok(ActionDone {
            request_id,
            message: format!(
                "New links for {} were sent to {}.",
                package.file_name, request.requester_email
            ),
        })
    })
}

/// Cancels a released package: both links end and the file is destroyed, in one transaction.
pub fn cancel(
    conn: &mut DbConnection,
    package_id: &PackageId,
    who: Who<'_>,
    now: i64,
) -> Result<ActionDone, DeliveryError> {
    write_tx(conn, |conn| {
        let (package, _) = load(conn, package_id)?;
        let changed = move_package!(conn, package_id, Event::Cancel, filter: [], set: [])?;
        let request_id = lifecycle::recorded(
            conn,
            package_id,
            Event::Cancel,
            changed,
            who,
            &format!("{} cancelled by the delivery team", package.file_name),
            now,
        )?;
        destroy_file(conn, package_id, who.actor, who.client_ip, now)?;
        Ok(ActionDone {
            request_id,
            message: format!(
                "{} is cancelled and destroyed; its links no longer work.",
                package.file_name
            ),
        })
    })
}

/// Moves a live package's expiry `days` later (from now if it already passed).
pub fn extend(
    conn: &mut DbConnection,
    package_id: &PackageId,
    days: u32,
    who: Who<'_>,
    now: i64,
) -> Result<ActionDone, DeliveryError> {
    if days == 0 || days > MAX_EXTEND_DAYS {
        return Err(DeliveryError::Invalid(format!(
            "Extend by 1 to {MAX_EXTEND_DAYS} days."
        )));
    }
    write_tx(conn, |conn| {
        let (package, _) = load(conn, package_id)?;
        let old = package.expires_at.unwrap_or(now);
        let new = old.max(now) + i64::from(days) * 86_400;
        let changed = diesel::update(
            packages::table
                .filter(packages::id.eq(package_id))
                .filter(packages::state.eq_any(EXTENDABLE))
                .filter(packages::destroyed_at.is_null())
                .filter(packages::expires_at.eq(package.expires_at)),
        )
        .set(packages::expires_at.eq(new))
        .execute(conn)?;
        if changed == 0 {
            let state = records::package(conn, package_id)?
                .map(|p| p.state)
                .unwrap_or(package.state);
            return Err(DeliveryError::NotExtendable(state));
        }
        audit::record(
            conn,
            &Entry {
                actor: who.actor,
                action: "package.extended",
                subject: &format!("package:{package_id}"),
                client_ip: who.client_ip,
                details: &format!(
                    "{}; links now expire {} (were {})",
                    package.file_name,
                    format_utc(new),
                    format_utc(old)
                ),
            },
            now,
        )?;
        Ok(ActionDone {
            request_id: package.request_id,
            message: format!(
                "The links of {} now expire {}.",
                package.file_name,
                format_utc(new)
            ),
        })
    })
}

/// Whether a package in `state` can be extended (for the console's buttons).
pub fn can_extend(state: State) -> bool {
    EXTENDABLE.contains(&state)
}
