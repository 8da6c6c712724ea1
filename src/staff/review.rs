//! What reviewers read: the queue of requests and one request in full, without its secrets.

use crate::clock::format_utc;
use crate::db::schema::{
    audit_log, customers, orders, packages, request_shipments, requests, shipments, tokens,
};
use crate::db::DbConnection;
use diesel::prelude::*;
use serde::Serialize;

/// States a reviewer can filter the queue by; `all` shows every request.
pub const STATES: &[&str] = &[
    "pending_review",
    "approved",
    "rejected",
    "downloaded",
    "confirmed",
    "expired",
    "locked",
    "all",
];

/// One line of the queue.
#[derive(Debug, Serialize)]
pub struct QueueRow {
    pub id: String,
    pub reference: String,
    pub customer: String,
    pub po: String,
    pub requester_email: String,
    pub state: String,
    pub created: String,
    pub age: String,
}

/// Requests in `state` (or all), oldest first.
pub fn queue(
    conn: &mut DbConnection,
    state: &str,
    now: i64,
) -> Result<Vec<QueueRow>, diesel::result::Error> {
    let mut query = requests::table
        .inner_join(customers::table)
        .inner_join(orders::table)
        .select((
            requests::id,
            requests::reference,
            customers::name,
            orders::po_number,
            requests::requester_email,
            requests::state,
            requests::created_at,
        ))
        .order((requests::created_at.asc(), requests::id.asc()))
        .limit(500)
        .into_boxed();
    if state != "all" {
        query = query.filter(requests::state.eq(state.to_string()));
    }
    let rows: Vec<(String, String, String, String, String, String, i64)> = query.load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, reference, customer, po, requester_email, state, created_at)| QueueRow {
                id,
                reference,
                customer,
                po,
                requester_email,
                state,
                created: format_utc(created_at),
                age: age(now - created_at),
            },
        )
        .collect())
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

/// A package as the reviewer sees it (no keys, no link hashes).
#[derive(Debug, Serialize)]
pub struct PackageLine {
    pub file_name: String,
    pub size: i64,
    pub sha256: String,
    pub token_count: i64,
    pub shipment_numbers: String,
    pub state: String,
    pub downloads: i32,
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
    pub id: String,
    pub reference: String,
    pub state: String,
    pub customer: String,
    pub po: String,
    pub invoice: String,
    pub requester_email: String,
    pub client_ip: String,
    pub created: String,
    pub age: String,
    pub format_id: String,
    pub format_options: Vec<(String, String)>,
    pub bundling: String,
    pub protection: String,
    pub pgp_fingerprint: Option<String>,
    pub pgp_user_ids: Vec<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub reject_reason: Option<String>,
    pub shipments: Vec<ShipmentLine>,
    pub packages: Vec<PackageLine>,
    pub history: Vec<HistoryLine>,
}

type RequestRow = (
    (String, String, String, String, String),
    (String, String, String, String),
    (
        Option<String>,
        Option<String>,
        i64,
        Option<i64>,
        Option<String>,
    ),
    Option<String>,
    (String, String, String),
);

/// The request `id`, or `None`.
pub fn detail(
    conn: &mut DbConnection,
    id: &str,
    now: i64,
) -> Result<Option<Detail>, diesel::result::Error> {
    let row: Option<RequestRow> = requests::table
        .inner_join(customers::table)
        .inner_join(orders::table)
        .filter(requests::id.eq(id))
        .select((
            (
                requests::id,
                requests::reference,
                requests::state,
                requests::requester_email,
                requests::client_ip,
            ),
            (
                requests::format_id,
                requests::format_summary,
                requests::bundling,
                requests::protection,
            ),
            (
                requests::pgp_fingerprint,
                requests::pgp_user_ids,
                requests::created_at,
                requests::decided_at,
                requests::decided_by,
            ),
            requests::reject_reason,
            (customers::name, orders::po_number, orders::invoice_number),
        ))
        .first(conn)
        .optional()?;
    let Some((
        (id, reference, state, requester_email, client_ip),
        (format_id, format_summary, bundling, protection),
        (pgp_fingerprint, pgp_user_ids, created_at, decided_at, decided_by),
        reject_reason,
        (customer, po, invoice),
    )) = row
    else {
        return Ok(None);
    };
    let shipments = shipment_lines(conn, &id)?;
    let packages = package_lines(conn, &id)?;
    let history = history(conn, &reference, &id)?;
    Ok(Some(Detail {
        id,
        reference,
        state,
        customer,
        po,
        invoice,
        requester_email,
        client_ip,
        created: format_utc(created_at),
        age: age(now - created_at),
        format_id,
        format_options: summary_pairs(&format_summary),
        bundling,
        protection,
        pgp_fingerprint,
        pgp_user_ids: user_ids(pgp_user_ids.as_deref()),
        decided_by,
        decided_at: decided_at.map(format_utc),
        reject_reason,
        shipments,
        packages,
        history,
    }))
}

fn shipment_lines(
    conn: &mut DbConnection,
    request_id: &str,
) -> Result<Vec<ShipmentLine>, diesel::result::Error> {
    let rows: Vec<(String, String, String, String)> = request_shipments::table
        .inner_join(shipments::table)
        .filter(request_shipments::request_id.eq(request_id))
        .select((
            shipments::id,
            shipments::shipment_number,
            shipments::ship_date,
            request_shipments::proved_serial,
        ))
        .order(shipments::shipment_number.asc())
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for (shipment_id, number, ship_date, proved_serial) in rows {
        let (token_count, models) = token_summary(conn, &shipment_id)?;
        out.push(ShipmentLine {
            number,
            ship_date,
            token_count,
            models,
            proved_serial,
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

fn package_lines(
    conn: &mut DbConnection,
    request_id: &str,
) -> Result<Vec<PackageLine>, diesel::result::Error> {
    let rows: Vec<(String, i64, String, i64, String, String, i32)> = packages::table
        .filter(packages::request_id.eq(request_id))
        .order((packages::created_at.asc(), packages::file_name.asc()))
        .select((
            packages::file_name,
            packages::size,
            packages::sha256,
            packages::token_count,
            packages::shipment_numbers,
            packages::state,
            packages::downloads,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(file_name, size, sha256, token_count, shipment_numbers, state, downloads)| {
                PackageLine {
                    file_name,
                    size,
                    sha256,
                    token_count,
                    shipment_numbers,
                    state,
                    downloads,
                }
            },
        )
        .collect())
}

/// The audit rows about a request (by reference or id) and its packages, oldest first.
fn history(
    conn: &mut DbConnection,
    reference: &str,
    id: &str,
) -> Result<Vec<HistoryLine>, diesel::result::Error> {
    let mut subjects = vec![format!("request:{reference}"), format!("request:{id}")];
    let package_ids: Vec<String> = packages::table
        .filter(packages::request_id.eq(id))
        .select(packages::id)
        .load(conn)?;
    subjects.extend(package_ids.into_iter().map(|p| format!("package:{p}")));
    let rows: Vec<(i64, i64, String, String, String, String, String)> = audit_log::table
        .filter(audit_log::subject.eq_any(&subjects))
        .order(audit_log::seq.asc())
        .select((
            audit_log::seq,
            audit_log::at,
            audit_log::actor,
            audit_log::action,
            audit_log::subject,
            audit_log::client_ip,
            audit_log::details,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(history_line).collect())
}

/// Shapes an audit row for a page.
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
    HistoryLine {
        seq,
        at: format_utc(at),
        actor,
        action,
        subject,
        client_ip,
        details,
    }
}

/// `format_summary` is JSON without secrets; shown as key/value pairs (arrays joined).
fn summary_pairs(json: &str) -> Vec<(String, String)> {
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::Object(map)) => map
            .into_iter()
            .map(|(k, v)| (k.replace('_', " "), plain(&v)))
            .collect(),
        Ok(other) => vec![("summary".into(), plain(&other))],
        Err(_) if json.trim().is_empty() => Vec::new(),
        Err(_) => vec![("summary".into(), json.to_string())],
    }
}

fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(", "),
        serde_json::Value::Null => "—".into(),
        other => other.to_string(),
    }
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
