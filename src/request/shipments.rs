//! The shipments of an order as the customer sees them, and serial proof: a serial proves only
//! its own shipment; wrong ones are counted per shipment and lock it at the limit.

use crate::audit;
use crate::db::schema::{orders, shipment_token_groups as groups, shipments, tokens};
use crate::db::{write_tx, DbConnection};
use crate::domain::Serial;
use crate::mail::compose;
use crate::mail::outbox::enqueue;
use diesel::dsl::case_when;
use diesel::prelude::*;
use serde::Serialize;

/// One shipment of the looked-up order.
#[derive(Debug, Clone, Serialize)]
pub struct ShipmentView {
    pub id: String,
    pub number: String,
    pub ship_date: String,
    pub token_count: i64,
    pub models: Vec<String>,
    pub locked: bool,
}

/// A shipment (id, number, date, locked at) with one of its token groups (model, count).
type ShipmentGroupRow = (String, String, String, Option<i64>, Option<(String, i64)>);

/// The order's shipments, in shipment-number order, with their token counts and models read
/// from the shipments' token groups (a few rows each, written with the tokens).
pub fn list(
    conn: &mut DbConnection,
    order_id: &str,
) -> Result<Vec<ShipmentView>, diesel::result::Error> {
    let rows: Vec<ShipmentGroupRow> = shipments::table
        .left_join(groups::table)
        .filter(shipments::order_id.eq(order_id))
        .order((shipments::shipment_number.asc(), groups::seq.asc()))
        .select((
            shipments::id,
            shipments::shipment_number,
            shipments::ship_date,
            shipments::locked_at,
            (groups::model, groups::token_count).nullable(),
        ))
        .load(conn)?;
    let mut out: Vec<ShipmentView> = Vec::new();
    for (id, number, ship_date, locked, group) in rows {
        if out.last().is_none_or(|s| s.id != id) {
            out.push(ShipmentView {
                id,
                number,
                ship_date,
                token_count: 0,
                models: Vec::new(),
                locked: locked.is_some(),
            });
        }
        if let (Some(view), Some((model, count))) = (out.last_mut(), group) {
            view.token_count += count;
            if let Err(at) = view.models.binary_search(&model) {
                view.models.insert(at, model);
            }
        }
    }
    Ok(out)
}

/// A stored serial without dashes, in upper case, written exactly as the expression of the
/// `tokens_serial_compact` index (literals, not bound values, so the planner matches it).
fn compact_serial() -> diesel::expression::SqlLiteral<diesel::sql_types::Text> {
    diesel::dsl::sql::<diesel::sql_types::Text>("upper(replace(tokens.serial, '-', ''))")
}

/// The outcome of one serial typed for one shipment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SerialCheck {
    Proved,
    /// Wrong; this many attempts are left before the shipment locks.
    Wrong {
        left: u32,
    },
    /// Locked for self-service (now or before).
    Locked,
}

/// Who is asking, for the alert and the audit row.
pub struct Asker<'a> {
    pub email: &'a str,
    pub client_ip: &'a str,
    pub alert_to: &'a str,
}

/// Checks `serial` against shipment `shipment_id`. A wrong serial is counted with one
/// conditional UPDATE that also locks the shipment on reaching `limit`; the lock queues an
/// alert to the delivery team and an audit row in the same transaction.
pub fn verify(
    conn: &mut DbConnection,
    shipment_id: &str,
    serial: &Serial,
    limit: u32,
    asker: &Asker<'_>,
    now: i64,
) -> Result<SerialCheck, diesel::result::Error> {
    let limit = i32::try_from(limit.max(1)).unwrap_or(i32::MAX);
    write_tx(conn, |conn| {
        let (number, failures, locked, po): (String, i32, Option<i64>, String) = shipments::table
            .inner_join(orders::table)
            .filter(shipments::id.eq(shipment_id))
            .select((
                shipments::shipment_number,
                shipments::serial_failures,
                shipments::locked_at,
                orders::po_number,
            ))
            .first(conn)?;
        if locked.is_some() || failures >= limit {
            return Ok(SerialCheck::Locked);
        }
        // The typed serial matches when it is the stored one, or the same without dashes and
        // in any case; serials are ASCII letters, digits and '-', so comparing the compact
        // forms covers both, through the index on exactly this expression.
        let matches: i64 = tokens::table
            .filter(tokens::shipment_id.eq(shipment_id))
            .filter(compact_serial().eq(serial.compact()))
            .count()
            .get_result(conn)?;
        if matches > 0 {
            return Ok(SerialCheck::Proved);
        }
        let changed = diesel::update(
            shipments::table
                .filter(shipments::id.eq(shipment_id))
                .filter(shipments::serial_failures.lt(limit))
                .filter(shipments::locked_at.is_null()),
        )
        .set((
            shipments::serial_failures.eq(shipments::serial_failures + 1),
            shipments::locked_at.eq(case_when(
                shipments::serial_failures.ge(limit - 1),
                Some(now).into_sql::<diesel::sql_types::Nullable<diesel::sql_types::BigInt>>(),
            )
            .otherwise(shipments::locked_at)),
        ))
        .execute(conn)?;
        if changed == 0 {
            return Ok(SerialCheck::Locked);
        }
        let used = failures + 1;
        if used < limit {
            return Ok(SerialCheck::Wrong {
                left: (limit - used) as u32,
            });
        }
        alert_locked(conn, &number, &po, used, asker, now)?;
        Ok(SerialCheck::Locked)
    })
}

fn alert_locked(
    conn: &mut DbConnection,
    number: &str,
    po: &str,
    attempts: i32,
    asker: &Asker<'_>,
    now: i64,
) -> Result<(), diesel::result::Error> {
    let email = compose::shipment_locked(&compose::ShipmentLocked {
        to: asker.alert_to,
        number,
        po,
        attempts,
        email: asker.email,
        client_ip: asker.client_ip,
    });
    enqueue(conn, &email, now)?;
    let actor = format!("customer:{}", asker.email);
    let subject = format!("shipment:{number}");
    let details = format!("{attempts} wrong serial numbers; self-service locked");
    audit::record(
        conn,
        &audit::Entry {
            actor: &actor,
            action: "shipment.locked",
            subject: &subject,
            client_ip: asker.client_ip,
            details: &details,
        },
        now,
    )
}
