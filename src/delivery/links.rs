//! The one-time links: find a package by a link token, tell why a link no longer works, count
//! password attempts, consume downloads and confirm receipt. Every consume and counter is one
//! conditional UPDATE, so concurrent requests cannot double-spend.

use super::records::{self, PackageRow, RequestRow};
use super::sweep::destroy_file;
use super::{DeliveryError, LinkToken};
use crate::audit::{self, Entry};
use crate::config::Config;
use crate::db::schema::{packages, requests};
use crate::db::{write_tx, DbConnection};
use crate::lifecycle::{self, move_package, Event, PackageId, State, Who};
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
    /// Never issued, mistyped, truncated, or replaced by a newer email.
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
    /// The delivery team cancelled the file.
    Cancelled,
}

impl Gone {
    pub fn status(self) -> u16 {
        match self {
            Gone::Unknown => 404,
            Gone::Locked => 423,
            Gone::Used | Gone::Expired | Gone::Confirmed | Gone::Withdrawn | Gone::Cancelled => 410,
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
    let live = match kind {
        LinkKind::Download => Event::Download.allowed_from(package.state),
        LinkKind::Confirm => Event::Confirm.allowed_from(package.state),
    };
    match package.state {
        _ if live && expired => Some(Gone::Expired),
        _ if live && kind == LinkKind::Download && package.downloads >= package.max_downloads => {
            Some(Gone::Used)
        }
        _ if live => None,
        State::Locked => Some(Gone::Locked),
        State::Confirmed => Some(Gone::Confirmed),
        State::Expired => Some(Gone::Expired),
        State::Rejected => Some(Gone::Withdrawn),
        State::Cancelled => Some(Gone::Cancelled),
        _ => Some(Gone::Unknown),
    }
}

pub(super) fn by_token(
    conn: &mut DbConnection,
    kind: LinkKind,
    token: &LinkToken,
) -> QueryResult<Option<PackageRow>> {
    let hash = token.hash();
    match kind {
        LinkKind::Download => packages::table
            .filter(packages::download_hash.eq(hash))
            .select(PackageRow::as_select())
            .first(conn)
            .optional(),
        LinkKind::Confirm => packages::table
            .filter(packages::confirm_hash.eq(hash))
            .select(PackageRow::as_select())
            .first(conn)
            .optional(),
    }
}

/// The package a token names with its request, in one query (a link page is one round trip).
pub(super) fn found_by_token(
    conn: &mut DbConnection,
    kind: LinkKind,
    token: &LinkToken,
) -> QueryResult<Option<Found>> {
    let hash = token.hash();
    let both = packages::table
        .inner_join(requests::table)
        .select((PackageRow::as_select(), RequestRow::as_select()));
    let row: Option<(PackageRow, RequestRow)> = match kind {
        LinkKind::Download => both
            .filter(packages::download_hash.eq(hash))
            .first(conn)
            .optional()?,
        LinkKind::Confirm => both
            .filter(packages::confirm_hash.eq(hash))
            .first(conn)
            .optional()?,
    };
    Ok(row.map(|(package, request)| Found { request, package }))
}

/// Finds the package a token names; `Err(Gone)` when the link does not work (any more).
pub fn lookup(
    conn: &mut DbConnection,
    kind: LinkKind,
    token: &LinkToken,
    now: i64,
) -> Result<Result<Found, Gone>, DeliveryError> {
    let Some(found) = found_by_token(conn, kind, token)? else {
        return Ok(Err(Gone::Unknown));
    };
    if let Some(gone) = classify(kind, &found.package, now) {
        return Ok(Err(gone));
    }
    Ok(Ok(found))
}

/// How often a reused link of one package alerts the delivery team, at most.
pub const REUSE_ALERT_EVERY_SECS: i64 = 3600;

/// A used-up, expired or confirmed link was opened again: audited, and the
/// delivery team alerted at most once per package per [`REUSE_ALERT_EVERY_SECS`] (one
/// conditional UPDATE on the package's marker decides). True when this call alerted.
#[allow(clippy::too_many_arguments)]
pub fn note_reuse(
    conn: &mut DbConnection,
    config: &Config,
    tera: &tera::Tera,
    kind: LinkKind,
    token: &LinkToken,
    gone: Gone,
    client_ip: &str,
    now: i64,
) -> Result<bool, DeliveryError> {
    // Locks alert on their own; unknown tokens name no package.
    if !matches!(gone, Gone::Used | Gone::Expired | Gone::Confirmed) {
        return Ok(false);
    }
    write_tx(conn, |conn| {
        let Some(package) = by_token(conn, kind, token)? else {
            return Ok(false);
        };
        let alert = diesel::update(
            packages::table.find(&package.id).filter(
                packages::reuse_alerted_at
                    .is_null()
                    .or(packages::reuse_alerted_at.le(now - REUSE_ALERT_EVERY_SECS)),
            ),
        )
        .set(packages::reuse_alerted_at.eq(now))
        .execute(conn)?
            == 1;
        let request =
            records::request(conn, &package.request_id)?.ok_or(DeliveryError::NotFound)?;
        if alert {
            let email =
                compose::link_reused(tera, config, &request, &package, gone_words(gone), now)?;
            enqueue(conn, &email, now)?;
        }
        audit::record(
            conn,
            &Entry {
                actor: "customer",
                action: "package.link_reused",
                subject: &format!("package:{}", package.id),
                client_ip,
                details: &format!(
                    "request {}; {} link opened after it {}{}",
                    request.reference,
                    match kind {
                        LinkKind::Download => "download",
                        LinkKind::Confirm => "confirmation",
                    },
                    gone_words(gone),
                    if alert { "; delivery team alerted" } else { "" }
                ),
            },
            now,
        )?;
        Ok(alert)
    })
}

fn gone_words(gone: Gone) -> &'static str {
    match gone {
        Gone::Unknown => "was replaced",
        Gone::Used => "was used up",
        Gone::Expired => "expired",
        Gone::Locked => "was locked",
        Gone::Confirmed => "was confirmed",
        Gone::Withdrawn => "was rejected",
        Gone::Cancelled => "was cancelled",
    }
}

/// Reserves one password attempt, counted as wrong until [`consume_download`] refunds it, so
/// concurrent guesses can never exceed the limit. False when no attempt is left.
pub fn reserve_attempt(
    conn: &mut DbConnection,
    package_id: &PackageId,
    limit: u32,
) -> Result<bool, DeliveryError> {
    let limit = i32::try_from(limit).unwrap_or(i32::MAX);
    let changed = diesel::update(
        packages::table
            .filter(packages::id.eq(package_id))
            .filter(packages::state.eq_any(Event::Download.leaves()))
            .filter(packages::wrong_passwords.lt(limit)),
    )
    .set(packages::wrong_passwords.eq(packages::wrong_passwords + 1))
    .execute(conn)?;
    Ok(changed == 1)
}

/// How long after a spend the same browser's second press of the same download form is served
/// again without spending (see `delivery::download`).
pub const AGAIN_WINDOW_SECS: i64 = 30;

/// What one press of "Download" got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spent {
    /// One download spent; the id names this spend for its give-back.
    Spent(String),
    /// The same browser's second press of the form it pressed within the window: serve the
    /// file again, spending nothing (the first press's spend can no longer be given back).
    Again,
    /// Nothing to spend: used up, expired, no longer downloadable, or the form was out of date.
    No,
}

/// The form a press came from: the downloads it showed, and the browser it was pressed in.
#[derive(Debug, Clone, Copy)]
pub struct Press<'a> {
    /// `downloads` as the page was rendered; `None` for a form without it (then any
    /// download left may be spent, and a second press is never re-served).
    pub seen: Option<i32>,
    /// The browser (a hash of its link cookie), when it has one.
    pub browser: Option<&'a str>,
}

/// Refunds the reserved password attempt when `refund`; then spends one download with one
/// conditional UPDATE (the page's `seen` must still be the count), or takes over the same
/// browser's spend of a moment ago with another (see [`Spent::Again`]).
pub fn consume_download(
    conn: &mut DbConnection,
    package_id: &PackageId,
    refund: bool,
    press: Press<'_>,
    client_ip: &str,
    now: i64,
) -> Result<Spent, DeliveryError> {
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
        use crate::db::schema::packages as p;
        let spend = crate::vault::random_token("sp_sp_");
        let changed = match press.seen {
            Some(seen) => move_package!(conn, package_id, Event::Download,
                filter: [p::downloads.lt(p::max_downloads), p::expires_at.gt(now), p::downloads.eq(seen)],
                set: [p::downloads.eq(p::downloads + 1), p::last_download_at.eq(now),
                      p::download_spend.eq(&spend), p::download_spent_by.eq(press.browser)],
            )?,
            None => move_package!(conn, package_id, Event::Download,
                filter: [p::downloads.lt(p::max_downloads), p::expires_at.gt(now)],
                set: [p::downloads.eq(p::downloads + 1), p::last_download_at.eq(now),
                      p::download_spend.eq(&spend), p::download_spent_by.eq(press.browser)],
            )?,
        };
        if changed == 0 {
            return take_over(conn, package_id, press, client_ip, now);
        }
        let (downloads, max): (i32, i32) = packages::table
            .find(package_id)
            .select((packages::downloads, packages::max_downloads))
            .first(conn)?;
        lifecycle::recorded(
            conn,
            package_id,
            Event::Download,
            changed,
            Who {
                actor: "customer",
                client_ip,
            },
            &format!("download {downloads} of {max}"),
            now,
        )?;
        Ok(Spent::Spent(spend))
    })
}

/// The second press: the package was downloaded just now (`seen + 1`), by this browser, within
/// [`AGAIN_WINDOW_SECS`], and its file is still held. One conditional UPDATE clears the spend's
/// id, so the first press's give-back (its stream cut by the second press) cannot refund it.
fn take_over(
    conn: &mut DbConnection,
    package_id: &PackageId,
    press: Press<'_>,
    client_ip: &str,
    now: i64,
) -> Result<Spent, DeliveryError> {
    let (Some(seen), Some(browser)) = (press.seen, press.browser) else {
        return Ok(Spent::No);
    };
    let changed = diesel::update(
        packages::table
            .filter(packages::id.eq(package_id))
            .filter(packages::state.eq(State::Downloaded))
            .filter(packages::downloads.eq(seen + 1))
            .filter(packages::download_spent_by.eq(browser))
            .filter(packages::last_download_at.ge(now - AGAIN_WINDOW_SECS))
            .filter(packages::expires_at.gt(now)),
    )
    .set(packages::download_spend.eq(None::<String>))
    .execute(conn)?;
    if changed == 0 {
        return Ok(Spent::No);
    }
    audit::record(
        conn,
        &Entry {
            actor: "customer",
            action: "package.download_repeated",
            subject: &format!("package:{package_id}"),
            client_ip,
            details: "the same browser pressed Download again on the same page; served again \
                      without counting a download",
        },
        now,
    )?;
    Ok(Spent::Again)
}

/// Gives back the download [`consume_download`] counted when its stream was cut short (client
/// gone, shutdown past the grace period, a chunk that could not be read): one conditional
/// UPDATE, audited, that names the spend: one taken over by a second press (see
/// [`consume_download`]) is not given back. False when there was nothing to give back.
pub fn give_back_download(
    conn: &mut DbConnection,
    package_id: &str,
    spend: &str,
    sent: u64,
    size: u64,
    client_ip: &str,
    now: i64,
) -> Result<bool, DeliveryError> {
    write_tx(conn, |conn| {
        let changed = diesel::update(
            packages::table
                .filter(packages::id.eq(package_id))
                .filter(packages::download_spend.eq(spend))
                .filter(packages::downloads.gt(0)),
        )
        .set((
            packages::downloads.eq(packages::downloads - 1),
            packages::download_spend.eq(None::<String>),
        ))
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
    package_id: &PackageId,
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
        use crate::db::schema::packages as p;
        let changed = move_package!(conn, package_id, Event::Lock,
            filter: [p::wrong_passwords.ge(limit)],
            set: [],
        )?;
        let locked = changed == 1;
        if locked {
            let request =
                records::request(conn, &package.request_id)?.ok_or(DeliveryError::NotFound)?;
            for email in compose::locked(tera, config, &request, &package, now)? {
                enqueue(conn, &email, now)?;
            }
            lifecycle::recorded(
                conn,
                package_id,
                Event::Lock,
                changed,
                Who {
                    actor: "system",
                    client_ip,
                },
                &format!(
                    "request {}; {limit} wrong passwords; customer and delivery team emailed",
                    request.reference
                ),
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
    /// The links are dead but deleting the bytes failed: the sweeper retries.
    Pending,
    Gone(Gone),
}

/// Confirms receipt: one conditional UPDATE moves the package to `confirmed` and kills both
/// links, then its bytes and data key are destroyed and a "confirmed" email is queued, in one
/// transaction. When destroying fails, the package is still confirmed (links dead) and the
/// sweeper destroys the file later.
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
    let who = Who {
        actor: "customer",
        client_ip,
    };
    let confirmed = write_tx(conn, |conn| {
        if !mark_confirmed(conn, &id, who, now)? {
            return Ok(false);
        }
        let request = &found.request;
        enqueue(
            conn,
            &compose::confirmed(tera, config, request, &found.package, now)?,
            now,
        )?;
        Ok::<_, DeliveryError>(true)
    })?;
    if !confirmed {
        return Ok(ConfirmOutcome::Gone(
            lookup(conn, LinkKind::Confirm, token, now)?
                .err()
                .unwrap_or(Gone::Confirmed),
        ));
    }
    match write_tx(conn, |conn| {
        destroy_file(conn, &id, "customer", client_ip, now)
    }) {
        Ok(()) => Ok(ConfirmOutcome::Confirmed),
        Err(e) => {
            tracing::warn!(package = %id, error = %e, "destroying a confirmed package failed; the sweeper will retry");
            Ok(ConfirmOutcome::Pending)
        }
    }
}

/// The conditional UPDATE that confirms a live package and ends both links.
fn mark_confirmed(
    conn: &mut DbConnection,
    package_id: &PackageId,
    who: Who<'_>,
    now: i64,
) -> Result<bool, DeliveryError> {
    use crate::db::schema::packages as p;
    let changed = move_package!(conn, package_id, Event::Confirm,
        filter: [p::expires_at.gt(now)],
        set: [p::confirmed_at.eq(now)],
    )?;
    if changed == 0 {
        return Ok(false);
    }
    lifecycle::recorded(
        conn,
        package_id,
        Event::Confirm,
        changed,
        who,
        "receipt confirmed; links ended",
        now,
    )?;
    Ok(true)
}
