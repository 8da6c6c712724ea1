//! What reviewers read: the queue of requests by state with counts and flags, one request in
//! full (without its secrets), and the outbox.

use super::outbox;
use crate::clock::format_utc;
use crate::db::schema::{
    audit_log, customer_emails, customers, orders, packages, request_shipments, requests,
    shipments, tokens,
};
use crate::db::DbConnection;
use crate::delivery::format_words::{describe, FormatWords};
use crate::delivery::{self, PackageRow};
use crate::lifecycle::{Event, PackageId, RequestId, State};
use crate::mail::compose::human_size;
use diesel::prelude::*;
use serde::Serialize;

/// A queue filter: one state, or every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    State(State),
    All,
}

impl Filter {
    /// `?state=…` as typed in the URL; anything unknown shows the requests waiting for review.
    pub fn parse(raw: Option<&str>) -> Filter {
        match raw {
            Some("all") => Filter::All,
            Some(s) => State::parse(s).map_or(Filter::State(State::PendingReview), Filter::State),
            None => Filter::State(State::PendingReview),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Filter::State(s) => s.as_str(),
            Filter::All => "all",
        }
    }
}

/// One entry of the queue's filter navigation: a state, its words and how many requests.
#[derive(Debug, Serialize)]
pub struct StateCount {
    pub state: &'static str,
    pub label: &'static str,
    pub count: i64,
}

/// How many requests are in each state (every state listed, zeros included), then "all".
pub fn counts(conn: &mut DbConnection) -> QueryResult<Vec<StateCount>> {
    let rows: Vec<(State, i64)> = requests::table
        .group_by(requests::state)
        .select((requests::state, diesel::dsl::count_star()))
        .load(conn)?;
    let mut out: Vec<StateCount> = State::ALL
        .into_iter()
        .map(|s| StateCount {
            state: s.as_str(),
            label: s.label(),
            count: rows.iter().find(|(r, _)| *r == s).map_or(0, |(_, n)| *n),
        })
        .collect();
    out.push(StateCount {
        state: "all",
        label: "all",
        count: rows.iter().map(|(_, n)| n).sum(),
    });
    Ok(out)
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = requests)]
struct QueueRecord {
    id: RequestId,
    reference: String,
    customer_id: String,
    #[diesel(select_expression = customers::name)]
    customer_name: String,
    #[diesel(select_expression = orders::po_number)]
    po_number: String,
    requester_email: String,
    state: State,
    pgp_fingerprint: Option<String>,
    created_at: i64,
}

/// One line of the queue.
#[derive(Debug, Serialize)]
pub struct QueueRow {
    pub id: RequestId,
    pub reference: String,
    pub customer: String,
    pub po: String,
    pub requester_email: String,
    pub state: State,
    pub state_label: &'static str,
    pub created: String,
    pub age: String,
    pub flags: Flags,
}

/// Requests matching `filter`, oldest first, with their reviewer flags.
pub fn queue(conn: &mut DbConnection, filter: Filter, now: i64) -> QueryResult<Vec<QueueRow>> {
    let mut query = requests::table
        .inner_join(customers::table)
        .inner_join(orders::table)
        .select(QueueRecord::as_select())
        .order((requests::created_at.asc(), requests::id.asc()))
        .limit(500)
        .into_boxed();
    if let Filter::State(s) = filter {
        query = query.filter(requests::state.eq(s));
    }
    let rows: Vec<QueueRecord> = query.load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let flags = flags(
            conn,
            &r.id,
            &r.customer_id,
            &r.requester_email,
            r.pgp_fingerprint.as_deref(),
            r.created_at,
        )?;
        out.push(QueueRow {
            created: format_utc(r.created_at),
            age: age(now - r.created_at),
            state_label: r.state.label(),
            id: r.id,
            reference: r.reference,
            customer: r.customer_name,
            po: r.po_number,
            requester_email: r.requester_email,
            state: r.state,
            flags,
        });
    }
    Ok(out)
}

/// What a reviewer should look at twice.
#[derive(Debug, Serialize, Default)]
pub struct Flags {
    /// The requester's address is not registered; it only matched the company's domain.
    pub domain_only: bool,
    /// Earlier approved requests that delivered some of the same shipments (reference, id).
    pub redelivery_of: Vec<(String, RequestId)>,
    /// A PGP key this customer has not used in an approved request before.
    pub new_pgp_key: bool,
}

impl Flags {
    pub fn any(&self) -> bool {
        self.domain_only || !self.redelivery_of.is_empty() || self.new_pgp_key
    }
}

fn flags(
    conn: &mut DbConnection,
    id: &RequestId,
    customer_id: &str,
    email: &str,
    fingerprint: Option<&str>,
    created_at: i64,
) -> QueryResult<Flags> {
    let registered: i64 = customer_emails::table
        .filter(customer_emails::customer_id.eq(customer_id))
        .filter(customer_emails::email.eq(email.to_lowercase()))
        .count()
        .get_result(conn)?;
    let mine: Vec<String> = request_shipments::table
        .filter(request_shipments::request_id.eq(id))
        .select(request_shipments::shipment_id)
        .load(conn)?;
    let delivered = [
        State::Approved,
        State::Emailed,
        State::Downloaded,
        State::Confirmed,
        State::Locked,
        State::FailedDelivery,
        State::Cancelled,
        State::Expired,
    ];
    let mut redelivery_of: Vec<(String, RequestId)> = requests::table
        .inner_join(request_shipments::table)
        .filter(request_shipments::shipment_id.eq_any(&mine))
        .filter(requests::id.ne(id))
        .filter(requests::created_at.le(created_at))
        .filter(requests::decided_at.is_not_null())
        .filter(requests::state.eq_any(delivered))
        .select((requests::reference, requests::id))
        .distinct()
        .load(conn)?;
    redelivery_of.sort();
    let new_pgp_key = match fingerprint {
        None => false,
        Some(fp) => {
            let used: i64 = requests::table
                .filter(requests::customer_id.eq(customer_id))
                .filter(requests::id.ne(id))
                .filter(requests::pgp_fingerprint.eq(fp))
                .filter(requests::decided_at.is_not_null())
                .filter(requests::state.ne(State::Rejected))
                .count()
                .get_result(conn)?;
            used == 0
        }
    };
    Ok(Flags {
        domain_only: registered == 0,
        redelivery_of,
        new_pgp_key,
    })
}

/// "2 d 3 h", "3 h 12 min", "5 min".
pub fn age(seconds: i64) -> String {
    let s = seconds.max(0);
    let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m} min")
    } else {
        format!("{m} min")
    }
}

/// A shipment in a request, with what the customer proved.
#[derive(Debug, Serialize)]
pub struct ShipmentLine {
    pub number: String,
    pub ship_date: String,
    pub token_count: i64,
    pub models: String,
    pub proved_serial: String,
}

/// A package as the reviewer sees it (no keys, no link hashes), with what can be done to it.
#[derive(Debug, Serialize)]
pub struct PackageLine {
    pub id: PackageId,
    pub file_name: String,
    pub size: String,
    pub sha256: String,
    pub token_count: i64,
    pub shipment_numbers: String,
    pub state: State,
    pub state_label: &'static str,
    pub downloads: i32,
    pub downloads_left: i32,
    pub max_downloads: i32,
    pub expires: Option<String>,
    pub file_held: bool,
    pub can_resend: bool,
    pub can_reissue: bool,
    pub can_cancel: bool,
    pub can_extend: bool,
    /// Expired or locked, but the file is gone: only a new request can help.
    pub needs_new_request: bool,
}

impl PackageLine {
    fn from_row(p: PackageRow) -> PackageLine {
        let held = p.file_held();
        let reissuable = Event::Reissue.allowed_from(p.state);
        PackageLine {
            file_name: p.file_name.clone(),
            size: human_size(p.size),
            sha256: p.sha256.clone(),
            token_count: p.token_count,
            shipment_numbers: p.shipment_numbers.clone(),
            state: p.state,
            state_label: p.state.label(),
            downloads: p.downloads,
            downloads_left: (p.max_downloads - p.downloads).max(0),
            max_downloads: p.max_downloads,
            expires: p.expires_at.map(format_utc),
            file_held: held,
            can_resend: held && Event::Resend.allowed_from(p.state),
            can_reissue: held && reissuable,
            can_cancel: held && Event::Cancel.allowed_from(p.state),
            can_extend: held && delivery::can_extend(p.state),
            needs_new_request: reissuable && !held,
            id: p.id,
        }
    }
}

/// One audit row, ready to show.
#[derive(Debug, Serialize)]
pub struct HistoryLine {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub client_ip: String,
    pub details: String,
}

/// A request in full, minus secrets.
#[derive(Debug, Serialize)]
pub struct Detail {
    pub id: RequestId,
    pub reference: String,
    pub state: State,
    pub state_label: &'static str,
    pub customer: String,
    pub po: String,
    pub invoice: String,
    pub requester_email: String,
    pub client_ip: String,
    pub created: String,
    pub age: String,
    pub format: FormatWords,
    pub bundling: &'static str,
    pub protection: &'static str,
    pub pgp_fingerprint: Option<String>,
    pub pgp_user_ids: Vec<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub reject_reason: Option<String>,
    pub flags: Flags,
    pub shipments: Vec<ShipmentLine>,
    pub packages: Vec<PackageLine>,
    pub emails: Vec<outbox::EmailLine>,
    pub history: Vec<HistoryLine>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = requests)]
struct DetailRecord {
    id: RequestId,
    reference: String,
    customer_id: String,
    #[diesel(select_expression = customers::name)]
    customer_name: String,
    #[diesel(select_expression = orders::po_number)]
    po_number: String,
    #[diesel(select_expression = orders::invoice_number)]
    invoice_number: String,
    state: State,
    requester_email: String,
    client_ip: String,
    format_id: String,
    format_summary: String,
    bundling: String,
    protection: String,
    pgp_fingerprint: Option<String>,
    pgp_user_ids: Option<String>,
    created_at: i64,
    decided_at: Option<i64>,
    decided_by: Option<String>,
    reject_reason: Option<String>,
}

fn bundling_words(raw: &str) -> &'static str {
    match raw {
        "per_shipment" => "one file (and one email) per shipment",
        _ => "one file for all shipments",
    }
}

fn protection_words(raw: &str) -> &'static str {
    match raw {
        "password" => "AES-256 zip with the customer's password",
        "pgp" => "encrypted to the customer's PGP key",
        "both" => "AES-256 zip with the customer's password, inside PGP encryption to their key",
        "pgp_armored" => {
            "the one seed file encrypted to the customer's PGP key, ASCII-armored, no zip"
        }
        _ => "unknown",
    }
}

/// The request `id`, or `None`.
pub fn detail(conn: &mut DbConnection, id: &RequestId, now: i64) -> QueryResult<Option<Detail>> {
    let row: Option<DetailRecord> = requests::table
        .inner_join(customers::table)
        .inner_join(orders::table)
        .filter(requests::id.eq(id))
        .select(DetailRecord::as_select())
        .first(conn)
        .optional()?;
    let Some(r) = row else {
        return Ok(None);
    };
    let flags = flags(
        conn,
        &r.id,
        &r.customer_id,
        &r.requester_email,
        r.pgp_fingerprint.as_deref(),
        r.created_at,
    )?;
    let shipments = shipment_lines(conn, &r.id)?;
    let packages = delivery::packages_of(conn, &r.id)?
        .into_iter()
        .map(PackageLine::from_row)
        .collect();
    let emails = outbox::emails(conn, Some(&r.id), None)?;
    let history = history(conn, &r.reference, &r.id)?;
    Ok(Some(Detail {
        state_label: r.state.label(),
        format: describe(&r.format_id, &r.format_summary),
        bundling: bundling_words(&r.bundling),
        protection: protection_words(&r.protection),
        pgp_user_ids: user_ids(r.pgp_user_ids.as_deref()),
        created: format_utc(r.created_at),
        age: age(now - r.created_at),
        decided_at: r.decided_at.map(format_utc),
        id: r.id,
        reference: r.reference,
        state: r.state,
        customer: r.customer_name,
        po: r.po_number,
        invoice: r.invoice_number,
        requester_email: r.requester_email,
        client_ip: r.client_ip,
        pgp_fingerprint: r.pgp_fingerprint,
        decided_by: r.decided_by,
        reject_reason: r.reject_reason,
        flags,
        shipments,
        packages,
        emails,
        history,
    }))
}

/// A shipment a request covers, with the serial the customer proved it with.
#[derive(Queryable, Selectable)]
#[diesel(table_name = shipments)]
struct CoveredShipment {
    id: String,
    shipment_number: String,
    ship_date: String,
    #[diesel(select_expression = request_shipments::proved_serial)]
    proved_serial: String,
}

fn shipment_lines(
    conn: &mut DbConnection,
    request_id: &RequestId,
) -> Result<Vec<ShipmentLine>, diesel::result::Error> {
    let rows: Vec<CoveredShipment> = request_shipments::table
        .inner_join(shipments::table)
        .filter(request_shipments::request_id.eq(request_id))
        .select(CoveredShipment::as_select())
        .order(shipments::shipment_number.asc())
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let (token_count, models) = token_summary(conn, &row.id)?;
        out.push(ShipmentLine {
            number: row.shipment_number,
            ship_date: row.ship_date,
            token_count,
            models,
            proved_serial: row.proved_serial,
        });
    }
    Ok(out)
}

/// How many tokens a shipment holds and of which models ("SafeID/Classic ×25").
pub fn token_summary(
    conn: &mut DbConnection,
    shipment_id: &str,
) -> Result<(i64, String), diesel::result::Error> {
    let models: Vec<(String, i64)> = tokens::table
        .filter(tokens::shipment_id.eq(shipment_id))
        .group_by(tokens::model)
        .select((tokens::model, diesel::dsl::count_star()))
        .order(tokens::model.asc())
        .load(conn)?;
    let total = models.iter().map(|(_, n)| n).sum();
    let text = models
        .iter()
        .map(|(m, n)| format!("{m} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ");
    Ok((total, text))
}

/// The audit rows about a request (by reference or id) and its packages, oldest first.
fn history(
    conn: &mut DbConnection,
    reference: &str,
    id: &RequestId,
) -> Result<Vec<HistoryLine>, diesel::result::Error> {
    let mut subjects = vec![format!("request:{reference}"), format!("request:{id}")];
    let package_ids: Vec<PackageId> = packages::table
        .filter(packages::request_id.eq(id))
        .select(packages::id)
        .load(conn)?;
    subjects.extend(package_ids.into_iter().map(|p| format!("package:{p}")));
    let rows: Vec<AuditRecord> = audit_log::table
        .filter(audit_log::subject.eq_any(&subjects))
        .order(audit_log::seq.asc())
        .select(AuditRecord::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(HistoryLine::from).collect())
}

/// An audit row as the history shows it.
#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub client_ip: String,
    pub details: String,
}

impl From<AuditRecord> for HistoryLine {
    fn from(r: AuditRecord) -> HistoryLine {
        HistoryLine {
            seq: r.seq,
            at: format_utc(r.at),
            actor: r.actor,
            action: r.action,
            subject: r.subject,
            client_ip: r.client_ip,
            details: r.details,
        }
    }
}

/// Shapes an audit row read as a tuple (the audit page's query) for a page.
pub fn history_line(
    (seq, at, actor, action, subject, client_ip, details): (
        i64,
        i64,
        String,
        String,
        String,
        String,
        String,
    ),
) -> HistoryLine {
    HistoryLine::from(AuditRecord {
        seq,
        at,
        actor,
        action,
        subject,
        client_ip,
        details,
    })
}

/// PGP user ids are stored as a JSON array or one per line.
fn user_ids(raw: Option<&str>) -> Vec<String> {
    let Some(raw) = raw else {
        return Vec::new();
    };
    serde_json::from_str::<Vec<String>>(raw).unwrap_or_else(|_| {
        raw.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect()
    })
}
