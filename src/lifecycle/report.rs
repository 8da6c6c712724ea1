//! Reading the lifecycle back: one request's state, files and history (its audit rows), and
//! requests listed by state and time. Nothing here carries a secret: no seed, link or hash.

use super::ids::RequestId;
use super::state::State;
use crate::db::schema::{audit_log, customers, orders, packages, requests};
use crate::db::DbConnection;
use diesel::prelude::*;

/// Most requests one listing returns.
pub const MAX_LIST: i64 = 500;

/// A request as the vendor's systems see it.
#[derive(Debug, Clone)]
pub struct RequestSummary {
    pub reference: String,
    pub state: State,
    pub customer: String,
    pub po: String,
    pub invoice: String,
    pub requester_email: String,
    pub created_at: i64,
    pub decided_at: Option<i64>,
}

/// One file of a request (its state, size and digest; never its bytes or links).
#[derive(Debug, Clone, Queryable)]
pub struct PackageSummary {
    pub file_name: String,
    pub state: State,
    pub size: i64,
    pub sha256: String,
    pub token_count: i64,
    pub shipment_numbers: String,
    pub downloads: i32,
    pub expires_at: Option<i64>,
}

/// One step of a request's history, from the audit log.
#[derive(Debug, Clone, Queryable)]
pub struct HistoryEntry {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub details: String,
}

/// A request with its files and history.
#[derive(Debug, Clone)]
pub struct RequestReport {
    pub summary: RequestSummary,
    pub packages: Vec<PackageSummary>,
    pub history: Vec<HistoryEntry>,
}

type SummaryRow = (
    String,
    String,
    State,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
);

fn summary(
    (_, reference, state, customer, po, invoice, requester_email, created_at, decided_at): SummaryRow,
) -> RequestSummary {
    RequestSummary {
        reference,
        state,
        customer,
        po,
        invoice,
        requester_email,
        created_at,
        decided_at,
    }
}

/// The request with this reference, its files and its history, oldest step first.
pub fn report(conn: &mut DbConnection, reference: &str) -> QueryResult<Option<RequestReport>> {
    let row: Option<SummaryRow> = requests::table
        .inner_join(orders::table)
        .inner_join(customers::table.on(customers::id.eq(requests::customer_id)))
        .filter(requests::reference.eq(reference))
        .select((
            requests::id,
            requests::reference,
            requests::state,
            customers::name,
            orders::po_number,
            orders::invoice_number,
            requests::requester_email,
            requests::created_at,
            requests::decided_at,
        ))
        .first(conn)
        .optional()?;
    let Some(row) = row else { return Ok(None) };
    let id = RequestId::from_raw(row.0.clone());
    let packages: Vec<PackageSummary> = packages::table
        .filter(packages::request_id.eq(&id))
        .order((packages::created_at.asc(), packages::file_name.asc()))
        .select((
            packages::file_name,
            packages::state,
            packages::size,
            packages::sha256,
            packages::token_count,
            packages::shipment_numbers,
            packages::downloads,
            packages::expires_at,
        ))
        .load(conn)?;
    let package_ids: Vec<String> = packages::table
        .filter(packages::request_id.eq(&id))
        .select(packages::id)
        .load(conn)?;
    let mut subjects: Vec<String> = package_ids.iter().map(|p| format!("package:{p}")).collect();
    subjects.push(format!("request:{reference}"));
    let history: Vec<HistoryEntry> = audit_log::table
        .filter(audit_log::subject.eq_any(&subjects))
        .order(audit_log::seq.asc())
        .select((
            audit_log::at,
            audit_log::actor,
            audit_log::action,
            audit_log::details,
        ))
        .limit(1000)
        .load(conn)?;
    Ok(Some(RequestReport {
        summary: summary(row),
        packages,
        history,
    }))
}

/// Requests in `state` (any when None) created in `[since, until)`, newest first, at most
/// `limit` (capped at [`MAX_LIST`]).
pub fn list(
    conn: &mut DbConnection,
    state: Option<State>,
    since: Option<i64>,
    until: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<RequestSummary>> {
    let mut query = requests::table
        .inner_join(orders::table)
        .inner_join(customers::table.on(customers::id.eq(requests::customer_id)))
        .select((
            requests::id,
            requests::reference,
            requests::state,
            customers::name,
            orders::po_number,
            orders::invoice_number,
            requests::requester_email,
            requests::created_at,
            requests::decided_at,
        ))
        .order((requests::created_at.desc(), requests::reference.asc()))
        .limit(limit.clamp(1, MAX_LIST))
        .into_boxed();
    if let Some(state) = state {
        query = query.filter(requests::state.eq(state));
    }
    if let Some(since) = since {
        query = query.filter(requests::created_at.ge(since));
    }
    if let Some(until) = until {
        query = query.filter(requests::created_at.lt(until));
    }
    Ok(query
        .load::<SummaryRow>(conn)?
        .into_iter()
        .map(summary)
        .collect())
}
