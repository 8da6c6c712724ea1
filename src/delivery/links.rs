//! The one-time links: find a package by a link token, tell why a link no longer works, count
//! password attempts, consume downloads and confirm receipt. Every consume and counter is one
//! conditional UPDATE, so concurrent requests cannot double-spend.

use super::records::{self, PackageRow, RequestRow};
use super::sweep::finish_destroy;
use super::{DeliveryError, LinkToken};
use crate::audit::{self, Entry};
use crate::config::Config;
use crate::db::schema::packages;
use crate::db::{write_tx, DbConnection};
use crate::mail::{compose, enqueue};
use diesel::prelude::*;

/// Which of the two links a token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    Download,
    Confirm,
}

/// Why a link no longer works; each has one page and one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gone {
    /// Never issued, mistyped or truncated.
    Unknown,
    /// Every allowed download has been made.
    Used,
    Expired,
    /// Too many wrong passwords.
    Locked,
    /// The customer confirmed receipt; the file is deleted.
    Confirmed,
    /// The request was rejected.
    Withdrawn,
}

impl Gone {
    pub fn status(self) -> u16 {
        match self {
            Gone::Unknown => 404,
            Gone::Locked => 423,
            Gone::Used | Gone::Expired | Gone::Confirmed | Gone::Withdrawn => 410,
        }
    }
}

/// A live link's package and request.
#[derive(Debug, Clone)]
pub struct Found {
    pub request: RequestRow,
    pub package: PackageRow,
}

/// Whether a package can serve a link of `kind` at `now`; `None` means it can.
pub fn classify(kind: LinkKind, package: &PackageRow, now: i64) -> Option<Gone> {
    let expired = package.expires_at.is_none_or(|at| at <= now);
    match package.state.as_str() {
        "released" if expired => Some(Gone::Expired),
        "released" if kind == LinkKind::Download && package.downloads >= package.max_downloads => {
            Some(Gone::Used)
        }
        "released" => None,
        "locked" if kind == LinkKind::Confirm && !expired => None,
        "locked" => Some(Gone::Locked),
        "confirmed" => Some(Gone::Confirmed),
        "destroy_pending" if package.confirmed_at.is_some() => Some(Gone::Confirmed),
        "destroy_pending" | "expired" => Some(Gone::Expired),
        "rejected" => Some(Gone::Withdrawn),
        _ => Some(Gone::Unknown),
    }
}

/// Finds the package a token names; `Err(Gone)` when the link does not work (any more).
pub fn lookup(
    conn: &mut DbConnection,
    kind: LinkKind,
    token: &LinkToken,
    now: i64,
) -> Result<Result<Found, Gone>, DeliveryError> {
    let hash = token.hash();
    let package = match kind {
        LinkKind::Download => packages::table
            .filter(packages::download_hash.eq(hash))
            .select(PackageRow::as_select())
            .first(conn)
            .optional()?,
        LinkKind::Confirm => packages::table
            .filter(packages::confirm_hash.eq(hash))
            .select(PackageRow::as_select())
            .first(conn)
            .optional()?,
    };
    let Some(package) = package else {
        return Ok(Err(Gone::Unknown));
    };
    if let Some(gone) = classify(kind, &package, now) {
        return Ok(Err(gone));
    }
    let request = records::request(conn, &package.request_id)?.ok_or(DeliveryError::NotFound)?;
    Ok(Ok(Found { request, package }))
}

/// Reserves one password attempt, counted as wrong until [`consume_download`] refunds it, so
/// concurrent guesses can never exceed the limit. False when no attempt is left.
pub fn reserve_attempt(
    conn: &mut DbConnection,
    package_id: &str,
    limit: u32,
) -> Result<bool, DeliveryError> {
    let limit = i32::try_from(limit).unwrap_or(i32::MAX);
    let changed = diesel::update(
        packages::table
            .filter(packages::id.eq(package_id))
            .filter(packages::state.eq("released"))
            .filter(packages::wrong_passwords.lt(limit)),
    )
    .set(packages::wrong_passwords.eq(packages::wrong_passwords + 1))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Consumes one download (refunding a reserved password attempt first when `refund`); false
/// when the link is used up, expired or no longer released.
pub fn consume_download(
    conn: &mut DbConnection,
    package_id: &str,
    refund: bool,
    client_ip: &str,
    now: i64,
) -> Result<bool, DeliveryError> {
    write_tx(conn, |conn| {
        if refund {
            diesel::update(
                packages::table
                    .filter(packages::id.eq(package_id))
                    .filter(packages::wrong_passwords.gt(0)),
            )
            .set(packages::wrong_passwords.eq(packages::wrong_passwords - 1))
            .execute(conn)?;
        }
        let changed = diesel::update(
            packages::table
                .filter(packages::id.eq(package_id))
                .filter(packages::state.eq("released"))
                .filter(packages::downloads.lt(packages::max_downloads))
                .filter(packages::expires_at.gt(now)),
        )
        .set((
            packages::downloads.eq(packages::downloads + 1),
            packages::last_download_at.eq(now),
        ))
        .execute(conn)?;
        if changed == 1 {
            let downloads: i32 = packages::table
                .find(package_id)
                .select(packages::downloads)
                .first(conn)?;
            audit::record(
                conn,
                &Entry {
                    actor: "customer",
                    action: "package.downloaded",
                    subject: &format!("package:{package_id}"),
                    client_ip,
                    details: &format!("download {downloads}"),
                },
                now,
            )?;
        }
        Ok(changed == 1)
    })
}

/// Gives back the download [`consume_download`] counted when its stream was cut short (client
/// gone, shutdown past the grace period, a chunk that could not be read): one conditional
/// UPDATE, audited. False when there was nothing to give back.
pub fn give_back_download(
    conn: &mut DbConnection,
    package_id: &str,
    sent: u64,
    size: u64,
    client_ip: &str,
    now: i64,
) -> Result<bool, DeliveryError> {
    write_tx(conn, |conn| {
        let changed = diesel::update(
            packages::table
                .filter(packages::id.eq(package_id))
                .filter(packages::downloads.gt(0)),
        )
        .set(packages::downloads.eq(packages::downloads - 1))
        .execute(conn)?;
        if changed == 1 {
            audit::record(
                conn,
                &Entry {
                    actor: "system",
                    action: "package.download_incomplete",
                    subject: &format!("package:{package_id}"),
                    client_ip,
                    details: &format!(
                        "download cut short after {sent} of {size} bytes; the download was given back"
                    ),
                },
                now,
            )?;
        }
        Ok(changed == 1)
    })
}

/// After a wrong password: how many attempts remain, and whether this one locked the package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrongPassword {
    pub remaining: u32,
    pub locked: bool,
}

/// Records a wrong password (its reserved attempt stays counted). At the limit one conditional
/// UPDATE locks the package, and the customer and the delivery team are emailed.
pub fn wrong_password(
    conn: &mut DbConnection,
    config: &Config,
    tera: &tera::Tera,
    package_id: &str,
    client_ip: &str,
    now: i64,
) -> Result<WrongPassword, DeliveryError> {
    let limit = i32::try_from(config.wrong_password_limit).unwrap_or(i32::MAX);
    write_tx(conn, |conn| {
        let package = records::package(conn, package_id)?.ok_or(DeliveryError::NotFound)?;
        audit::record(
            conn,
            &Entry {
                actor: "customer",
                action: "package.wrong_password",
                subject: &format!("package:{package_id}"),
                client_ip,
                details: &format!("attempt {} of {limit}", package.wrong_passwords),
            },
            now,
        )?;
        let remaining = u32::try_from(limit - package.wrong_passwords).unwrap_or(0);
        if remaining > 0 {
            return Ok(WrongPassword {
                remaining,
                locked: false,
            });
        }
        let locked = diesel::update(
            packages::table
                .filter(packages::id.eq(package_id))
                .filter(packages::state.eq("released"))
                .filter(packages::wrong_passwords.ge(limit)),
        )
        .set(packages::state.eq("locked"))
        .execute(conn)?
            == 1;
        if locked {
            let request =
                records::request(conn, &package.request_id)?.ok_or(DeliveryError::NotFound)?;
            for email in compose::locked(tera, config, &request, &package, now)? {
                enqueue(conn, &email, now)?;
            }
            audit::record(
                conn,
                &Entry {
                    actor: "system",
                    action: "package.locked",
                    subject: &format!("package:{package_id}"),
                    client_ip,
                    details: &format!(
                        "request {}; {limit} wrong passwords; customer and delivery team emailed",
                        request.reference
                    ),
                },
                now,
            )?;
        }
        Ok(WrongPassword {
            remaining: 0,
            locked,
        })
    })
}

/// What confirming receipt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmOutcome {
    /// The package is destroyed and both links are dead.
    Confirmed,
    /// The links are dead but deleting the bytes failed: the sweeper retries
    /// (`destroy_pending`).
    Pending,
    Gone(Gone),
}

/// Confirms receipt: one conditional UPDATE kills both links, then the package's bytes and
/// data key are destroyed and a "confirmed" email is queued, in one transaction. When that
/// fails, the package is left `destroy_pending` for the sweeper instead.
pub fn confirm(
    conn: &mut DbConnection,
    config: &Config,
    tera: &tera::Tera,
    token: &LinkToken,
    client_ip: &str,
    now: i64,
) -> Result<ConfirmOutcome, DeliveryError> {
    let found = match lookup(conn, LinkKind::Confirm, token, now)? {
        Ok(found) => found,
        Err(gone) => return Ok(ConfirmOutcome::Gone(gone)),
    };
    let id = found.package.id.clone();
    let attempt = write_tx(conn, |conn| {
        if !mark_confirmed(conn, &id, "confirmed", now)? {
            return Ok(None);
        }
        finish_destroy(conn, config, tera, &id, "confirmed", client_ip, now)?;
        Ok::<_, DeliveryError>(Some(ConfirmOutcome::Confirmed))
    });
    match attempt {
        Ok(Some(outcome)) => Ok(outcome),
        Ok(None) => Ok(ConfirmOutcome::Gone(
            lookup(conn, LinkKind::Confirm, token, now)?
                .err()
                .unwrap_or(Gone::Confirmed),
        )),
        Err(e) => {
            tracing::warn!(package = %id, error = %e, "destroying a confirmed package failed; the sweeper will retry");
            write_tx(conn, |conn| {
                if !mark_confirmed(conn, &id, "destroy_pending", now)? {
                    return Ok(ConfirmOutcome::Gone(Gone::Confirmed));
                }
                audit::record(
                    conn,
                    &Entry {
                        actor: "customer",
                        action: "package.destroy_pending",
                        subject: &format!("package:{id}"),
                        client_ip,
                        details: "receipt confirmed; deletion failed and will be retried",
                    },
                    now,
                )?;
                Ok(ConfirmOutcome::Pending)
            })
        }
    }
}

/// The conditional UPDATE that ends both links of a live package.
fn mark_confirmed(
    conn: &mut DbConnection,
    package_id: &str,
    state: &str,
    now: i64,
) -> Result<bool, DeliveryError> {
    let changed = diesel::update(
        packages::table
            .filter(packages::id.eq(package_id))
            .filter(packages::state.eq_any(["released", "locked"]))
            .filter(packages::expires_at.gt(now)),
    )
    .set((packages::state.eq(state), packages::confirmed_at.eq(now)))
    .execute(conn)?;
    Ok(changed == 1)
}
