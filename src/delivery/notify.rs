//! The mail follower: moves packages to `emailed` when their download email was accepted and to
//! `failed_delivery` when it was given up, alerts the delivery team once about every email
//! given up after the retry cap, and once about every request waiting for review. Each "once" is
//! a conditional UPDATE on a marker column, so several instances never alert twice.

use super::records;
use super::DeliveryError;
use crate::config::Config;
use crate::db::schema::{customers, outbox, packages, requests};
use crate::db::{write_tx, DbConnection};
use crate::lifecycle::{self, move_package, Event, MoveError, PackageId, RequestId, State, Who};
use crate::mail::{compose, enqueue};
use diesel::prelude::*;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotifyReport {
    pub emailed: usize,
    pub failed_delivery: usize,
    pub failure_alerts: usize,
    pub review_alerts: usize,
}

/// Outbox kinds that are themselves alerts: a failed alert does not raise another.
fn is_alert(kind: &str) -> bool {
    kind.ends_with("_alert")
}

/// One pass of the follower.
pub fn follow_mail(
    conn: &mut DbConnection,
    config: &Config,
    tera: &tera::Tera,
    now: i64,
) -> Result<NotifyReport, DeliveryError> {
    let mut report = NotifyReport::default();
    let waiting: Vec<(PackageId, Option<String>, String)> = packages::table
        .inner_join(outbox::table.on(packages::email_id.eq(outbox::id.nullable())))
        .filter(packages::state.eq(State::Approved))
        .filter(outbox::state.eq("sent"))
        .select((packages::id, packages::email_id, outbox::to_addr))
        .limit(500)
        .load(conn)?;
    for (id, email_id, to) in waiting {
        let moved = write_tx(conn, |conn| {
            use crate::db::schema::packages as p;
            let changed = move_package!(conn, &id, Event::EmailSent,
                filter: [p::email_id.eq(&email_id)],
                set: [],
            )?;
            if changed == 0 {
                return Ok(false);
            }
            lifecycle::recorded(
                conn,
                &id,
                Event::EmailSent,
                changed,
                Who::SYSTEM,
                &format!("download email accepted by the mail relay for {to}"),
                now,
            )?;
            Ok::<_, DeliveryError>(true)
        })?;
        if moved {
            report.emailed += 1;
        }
    }
    // A webhook given up is the vendor's receiver's problem, listed in the outbox, not an
    // undelivered email to alert about.
    let given_up: Vec<FailedRow> = outbox::table
        .filter(outbox::state.eq("failed"))
        .filter(outbox::kind.ne(crate::mail::queue::WEBHOOK_KIND))
        .filter(outbox::alerted_at.is_null())
        .select(FailedRow::as_select())
        .limit(200)
        .load(conn)?;
    for row in given_up {
        let (alerted, moved) = write_tx(conn, |conn| alert_failed(conn, config, tera, &row, now))?;
        report.failure_alerts += usize::from(alerted);
        report.failed_delivery += usize::from(moved);
    }
    let unreviewed: Vec<(RequestId, String)> = requests::table
        .inner_join(customers::table)
        .filter(requests::state.eq(State::PendingReview))
        .filter(requests::review_alerted_at.is_null())
        .select((requests::id, customers::name))
        .limit(200)
        .load(conn)?;
    for (id, customer) in unreviewed {
        let sent = write_tx(conn, |conn| {
            let changed = diesel::update(
                requests::table
                    .find(&id)
                    .filter(requests::review_alerted_at.is_null()),
            )
            .set(requests::review_alerted_at.eq(now))
            .execute(conn)?;
            if changed == 0 {
                return Ok(false);
            }
            let request = records::request(conn, &id)?.ok_or(DeliveryError::NotFound)?;
            enqueue(
                conn,
                &compose::review_waiting(tera, config, &request, &customer)?,
                now,
            )?;
            Ok::<_, DeliveryError>(true)
        })?;
        report.review_alerts += usize::from(sent);
    }
    Ok(report)
}

#[derive(Queryable, Selectable, Debug)]
#[diesel(table_name = outbox)]
struct FailedRow {
    id: String,
    kind: String,
    to_addr: String,
    subject: String,
    request_id: Option<String>,
    attempts: i32,
    last_error: Option<String>,
}

/// Marks a given-up email alerted (once), alerts the team unless it was an alert itself, and
/// moves the package it was the download email of to `failed_delivery`.
fn alert_failed(
    conn: &mut DbConnection,
    config: &Config,
    tera: &tera::Tera,
    row: &FailedRow,
    now: i64,
) -> Result<(bool, bool), DeliveryError> {
    let claimed = diesel::update(
        outbox::table
            .find(&row.id)
            .filter(outbox::alerted_at.is_null()),
    )
    .set(outbox::alerted_at.eq(now))
    .execute(conn)?;
    if claimed == 0 || is_alert(&row.kind) {
        return Ok((false, false));
    }
    let Some(request_id) = row.request_id.as_deref().map(RequestId::from_raw) else {
        return Ok((false, false));
    };
    let Some(request) = records::request(conn, &request_id)? else {
        return Ok((false, false));
    };
    let mut moved = false;
    let package: Option<PackageId> = packages::table
        .filter(packages::email_id.eq(&row.id))
        .select(packages::id)
        .first(conn)
        .optional()?;
    if let Some(pid) = package {
        use crate::db::schema::packages as p;
        let changed = move_package!(conn, &pid, Event::EmailFailed,
            filter: [p::email_id.eq(&row.id)],
            set: [],
        )?;
        match lifecycle::recorded(
            conn,
            &pid,
            Event::EmailFailed,
            changed,
            Who::SYSTEM,
            &format!(
                "download email to {} given up after {} attempts",
                row.to_addr, row.attempts
            ),
            now,
        ) {
            Ok(_) => moved = true,
            // Already downloaded, confirmed or re-sent: the alert still goes out.
            Err(MoveError::Refused(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let failed = compose::FailedMail {
        to: &row.to_addr,
        subject: &row.subject,
        attempts: row.attempts,
        last_error: row.last_error.as_deref().unwrap_or("unknown"),
    };
    enqueue(
        conn,
        &compose::email_failed(tera, config, &request, &failed)?,
        now,
    )?;
    crate::audit::record(
        conn,
        &crate::audit::Entry {
            actor: "system",
            action: "email.given_up",
            subject: &format!("request:{}", request.reference),
            client_ip: "-",
            details: &format!(
                "{} to {} given up after {} attempts; delivery team alerted",
                row.kind, row.to_addr, row.attempts
            ),
        },
        now,
    )?;
    Ok((true, moved))
}

/// "Retry now" on a failed email without one-time links (those are re-sent with new links from
/// the request page instead): back in the queue with a fresh retry budget and alert marker, in
/// one conditional UPDATE, audited. False when it was not such a failed email.
pub fn retry_failed(
    conn: &mut DbConnection,
    email_id: &str,
    who: Who<'_>,
    now: i64,
) -> Result<bool, DeliveryError> {
    write_tx(conn, |conn| {
        let changed = diesel::update(
            outbox::table
                .filter(outbox::id.eq(email_id))
                .filter(outbox::state.eq("failed"))
                .filter(outbox::carries_links.eq(false)),
        )
        .set((
            outbox::state.eq("pending"),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now),
            outbox::alerted_at.eq(None::<i64>),
        ))
        .execute(conn)?;
        if changed == 0 {
            return Ok(false);
        }
        crate::audit::record(
            conn,
            &crate::audit::Entry {
                actor: who.actor,
                action: "email.retried",
                subject: &format!("email:{email_id}"),
                client_ip: who.client_ip,
                details: "failed email queued again by the delivery team",
            },
            now,
        )?;
        Ok(true)
    })
}
