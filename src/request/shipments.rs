//! The shipments of an order as the customer sees them, and serial proof: a serial proves only
//! its own shipment; wrong ones are counted per shipment and lock it at the limit.

use crate::audit;
use crate::db::schema::{orders, shipments, tokens};
use crate::db::{write_tx, DbConnection};
use crate::domain::Serial;
use crate::mail::outbox::{enqueue, OutgoingEmail};
use diesel::dsl::case_when;
use diesel::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;

diesel::define_sql_function!(fn upper(x: diesel::sql_types::Text) -> diesel::sql_types::Text);
diesel::define_sql_function!(
    fn replace(
        x: diesel::sql_types::Text,
        from: diesel::sql_types::Text,
        to: diesel::sql_types::Text,
    ) -> diesel::sql_types::Text
);

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

/// The order's shipments, in shipment-number order.
pub fn list(
    conn: &mut DbConnection,
    order_id: &str,
) -> Result<Vec<ShipmentView>, diesel::result::Error> {
    let rows: Vec<(String, String, String, Option<i64>)> = shipments::table
        .filter(shipments::order_id.eq(order_id))
        .order(shipments::shipment_number.asc())
        .select((
            shipments::id,
            shipments::shipment_number,
            shipments::ship_date,
            shipments::locked_at,
        ))
        .load(conn)?;
    let ids: Vec<&String> = rows.iter().map(|r| &r.0).collect();
    let counts: Vec<(String, String, i64)> = tokens::table
        .filter(tokens::shipment_id.eq_any(&ids))
        .group_by((tokens::shipment_id, tokens::model))
        .select((
            tokens::shipment_id,
            tokens::model,
            diesel::dsl::count_star(),
        ))
        .load(conn)?;
    let mut per: BTreeMap<&str, (i64, Vec<String>)> = BTreeMap::new();
    for (sid, model, n) in &counts {
        let e = per.entry(sid.as_str()).or_default();
        e.0 += n;
        e.1.push(model.clone());
    }
    Ok(rows
        .iter()
        .map(|(id, number, date, locked)| {
            let (count, models) = per.get(id.as_str()).cloned().unwrap_or_default();
            ShipmentView {
                id: id.clone(),
                number: number.clone(),
                ship_date: date.clone(),
                token_count: count,
                models,
                locked: locked.is_some(),
            }
        })
        .collect())
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
        let matches: i64 = tokens::table
            .filter(tokens::shipment_id.eq(shipment_id))
            .filter(
                tokens::serial
                    .eq(serial.as_str())
                    .or(upper(replace(tokens::serial, "-", "")).eq(serial.compact())),
            )
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
    let text = format!(
        "Shipment {number} (PO {po}) has been locked for self-service after {attempts} wrong \
         serial numbers.\n\nLast attempt by: {}\nClient IP: {}\n\nIf the customer contacts you, \
         check who they are, then unlock the shipment or deliver the seed file yourself.\n",
        asker.email, asker.client_ip
    );
    let html = format!(
        "<p>Shipment <strong>{}</strong> (PO {}) has been locked for self-service after {attempts} \
         wrong serial numbers.</p><p>Last attempt by: {}<br>Client IP: {}</p>\
         <p>If the customer contacts you, check who they are, then unlock the shipment or \
         deliver the seed file yourself.</p>",
        crate::web::error::html_escape(number),
        crate::web::error::html_escape(po),
        crate::web::error::html_escape(asker.email),
        crate::web::error::html_escape(asker.client_ip),
    );
    enqueue(
        conn,
        &OutgoingEmail {
            kind: "shipment_locked".into(),
            to: asker.alert_to.to_string(),
            subject: format!("Shipment {number} locked after {attempts} wrong serials"),
            text,
            html,
            carries_links: false,
            request_id: None,
        },
        now,
    )?;
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
