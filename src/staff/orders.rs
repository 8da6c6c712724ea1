//! The orders view: customers, orders, shipments and what was delivered to whom and when,
//! searchable by PO, invoice or shipment number prefix, token serial or email.

use super::review::token_summary;
use crate::clock::format_utc;
use crate::db::schema::{
    customer_emails, customers, orders, packages, request_shipments, requests, shipments, tokens,
};
use crate::db::DbConnection;
use diesel::prelude::*;
use serde::Serialize;

/// Most orders one page shows.
const LIMIT: i64 = 50;

/// One order with its shipments.
#[derive(Debug, Serialize)]
pub struct OrderView {
    pub customer: String,
    pub customer_emails: Vec<String>,
    pub po: String,
    pub invoice: String,
    pub imported: String,
    pub shipments: Vec<ShipmentView>,
}

/// One shipment and every request that covered it.
#[derive(Debug, Serialize)]
pub struct ShipmentView {
    pub number: String,
    pub ship_date: String,
    pub token_count: i64,
    pub models: String,
    pub locked: bool,
    pub deliveries: Vec<Delivery>,
}

/// What happened to one request for a shipment.
#[derive(Debug, Serialize)]
pub struct Delivery {
    pub request_id: String,
    pub reference: String,
    pub state: String,
    pub requester_email: String,
    pub requested: String,
    pub decided: Option<String>,
    pub decided_by: Option<String>,
    pub downloaded: Option<String>,
    pub confirmed: Option<String>,
}

/// Orders matching `q` (PO, invoice and shipment numbers by prefix, any case; token serials and
/// emails exactly), or the newest orders when `q` is empty.
pub fn search(conn: &mut DbConnection, q: &str) -> Result<Vec<OrderView>, diesel::result::Error> {
    let q = q.trim();
    let ids: Vec<String> = if q.is_empty() {
        orders::table
            .order(orders::created_at.desc())
            .select(orders::id)
            .limit(LIMIT)
            .load(conn)?
    } else {
        matching_order_ids(conn, q)?
    };
    let mut out = Vec::with_capacity(ids.len());
    for id in ids.iter().take(LIMIT as usize) {
        out.push(order_view(conn, id)?);
    }
    Ok(out)
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// `q` as a case-insensitive prefix pattern for `lower(column) LIKE … ESCAPE '\'`.
fn prefix_pattern(q: &str) -> String {
    let mut pattern = String::with_capacity(q.len() + 1);
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

fn matching_order_ids(
    conn: &mut DbConnection,
    q: &str,
) -> Result<Vec<String>, diesel::result::Error> {
    let forms = vec![q.to_string(), q.to_uppercase(), q.to_lowercase()];
    let prefix = prefix_pattern(q);
    let mut ids: Vec<String> = orders::table
        .filter(
            lower(orders::po_number)
                .like(&prefix)
                .escape('\\')
                .or(lower(orders::invoice_number).like(&prefix).escape('\\')),
        )
        .order(orders::created_at.desc())
        .select(orders::id)
        .limit(LIMIT)
        .load(conn)?;
    ids.extend(
        shipments::table
            .filter(lower(shipments::shipment_number).like(&prefix).escape('\\'))
            .select(shipments::order_id)
            .limit(LIMIT)
            .load::<String>(conn)?,
    );
    ids.extend(
        tokens::table
            .inner_join(shipments::table)
            .filter(tokens::serial.eq_any(&forms))
            .select(shipments::order_id)
            .load::<String>(conn)?,
    );
    let email = q.to_lowercase();
    ids.extend(
        customer_emails::table
            .inner_join(customers::table.inner_join(orders::table))
            .filter(customer_emails::email.eq(&email))
            .select(orders::id)
            .load::<String>(conn)?,
    );
    ids.extend(
        requests::table
            .filter(requests::requester_email.eq(&email))
            .select(requests::order_id)
            .load::<String>(conn)?,
    );
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    Ok(ids)
}

/// An order with its customer's name, as the orders view reads it.
#[derive(Queryable, Selectable)]
#[diesel(table_name = orders)]
struct OrderRecord {
    customer_id: String,
    #[diesel(select_expression = customers::name)]
    customer_name: String,
    po_number: String,
    invoice_number: String,
    created_at: i64,
}

/// A shipment of the order.
#[derive(Queryable, Selectable)]
#[diesel(table_name = shipments)]
struct ShipmentRecord {
    id: String,
    shipment_number: String,
    ship_date: String,
    locked_at: Option<i64>,
}

fn order_view(conn: &mut DbConnection, order_id: &str) -> Result<OrderView, diesel::result::Error> {
    let order: OrderRecord = orders::table
        .inner_join(customers::table)
        .filter(orders::id.eq(order_id))
        .select(OrderRecord::as_select())
        .first(conn)?;
    let emails: Vec<String> = customer_emails::table
        .filter(customer_emails::customer_id.eq(&order.customer_id))
        .order(customer_emails::email.asc())
        .select(customer_emails::email)
        .load(conn)?;
    let rows: Vec<ShipmentRecord> = shipments::table
        .filter(shipments::order_id.eq(order_id))
        .order(shipments::shipment_number.asc())
        .select(ShipmentRecord::as_select())
        .load(conn)?;
    let mut views = Vec::with_capacity(rows.len());
    for row in rows {
        let (token_count, models) = token_summary(conn, &row.id)?;
        let deliveries = deliveries(conn, &row.id, &row.shipment_number)?;
        views.push(ShipmentView {
            number: row.shipment_number,
            ship_date: row.ship_date,
            token_count,
            models,
            locked: row.locked_at.is_some(),
            deliveries,
        });
    }
    Ok(OrderView {
        customer: order.customer_name,
        customer_emails: emails,
        po: order.po_number,
        invoice: order.invoice_number,
        imported: format_utc(order.created_at),
        shipments: views,
    })
}

/// A request that covered the shipment.
#[derive(Queryable, Selectable)]
#[diesel(table_name = requests)]
struct RequestRecord {
    id: String,
    reference: String,
    state: String,
    requester_email: String,
    created_at: i64,
    decided_at: Option<i64>,
    decided_by: Option<String>,
}

/// What one package of that request says about delivery.
#[derive(Queryable, Selectable)]
#[diesel(table_name = packages)]
struct PackageRecord {
    shipment_numbers: String,
    last_download_at: Option<i64>,
    confirmed_at: Option<i64>,
}

fn deliveries(
    conn: &mut DbConnection,
    shipment_id: &str,
    number: &str,
) -> Result<Vec<Delivery>, diesel::result::Error> {
    let rows: Vec<RequestRecord> = request_shipments::table
        .inner_join(requests::table)
        .filter(request_shipments::shipment_id.eq(shipment_id))
        .order(requests::created_at.asc())
        .select(RequestRecord::as_select())
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let packs: Vec<PackageRecord> = packages::table
            .filter(packages::request_id.eq(&r.id))
            .select(PackageRecord::as_select())
            .load(conn)?;
        // A package covers this shipment when its list names it (or names nothing).
        let covering = packs
            .iter()
            .filter(|p| p.shipment_numbers.is_empty() || p.shipment_numbers.contains(number));
        let downloaded = covering.clone().filter_map(|p| p.last_download_at).max();
        let confirmed = covering.filter_map(|p| p.confirmed_at).max();
        out.push(Delivery {
            request_id: r.id,
            reference: r.reference,
            state: r.state,
            requester_email: r.requester_email,
            requested: format_utc(r.created_at),
            decided: r.decided_at.map(format_utc),
            decided_by: r.decided_by,
            downloaded: downloaded.map(format_utc),
            confirmed: confirmed.map(format_utc),
        });
    }
    Ok(out)
}
