//! Finds an order by PO, invoice or shipment number and checks the requester's business email
//! against the customer's registered addresses and domain. Every miss is the same `None`.

use crate::db::schema::{customer_emails, customers, orders, shipments};
use crate::db::DbConnection;
use crate::domain::{BusinessEmail, OrderNumber, ReferenceKind};
use diesel::prelude::*;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// The order a lookup found, for the email it was made with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub customer_id: String,
    pub order_id: String,
}

/// The order `number` names (case-insensitively), if `email` belongs to its customer; `None`
/// for every kind of miss, so callers cannot tell them apart.
pub fn find_order(
    conn: &mut DbConnection,
    kind: ReferenceKind,
    number: &OrderNumber,
    email: &BusinessEmail,
) -> Result<Option<Found>, diesel::result::Error> {
    let wanted = number.as_str().to_ascii_lowercase();
    let order: Option<(String, String)> = match kind {
        ReferenceKind::Po => orders::table
            .filter(lower(orders::po_number).eq(&wanted))
            .select((orders::id, orders::customer_id))
            .first(conn)
            .optional()?,
        ReferenceKind::Invoice => orders::table
            .filter(lower(orders::invoice_number).eq(&wanted))
            .select((orders::id, orders::customer_id))
            .first(conn)
            .optional()?,
        ReferenceKind::Shipment => shipments::table
            .inner_join(orders::table)
            .filter(lower(shipments::shipment_number).eq(&wanted))
            .select((orders::id, orders::customer_id))
            .first(conn)
            .optional()?,
    };
    let Some((order_id, customer_id)) = order else {
        return Ok(None);
    };
    if email_belongs(conn, &customer_id, email)? {
        Ok(Some(Found {
            customer_id,
            order_id,
        }))
    } else {
        Ok(None)
    }
}

/// Whether `email` is a registered address of the customer or in its registered domain.
pub fn email_belongs(
    conn: &mut DbConnection,
    customer_id: &str,
    email: &BusinessEmail,
) -> Result<bool, diesel::result::Error> {
    let registered: i64 = customer_emails::table
        .filter(customer_emails::customer_id.eq(customer_id))
        .filter(lower(customer_emails::email).eq(email.as_str()))
        .count()
        .get_result(conn)?;
    if registered > 0 {
        return Ok(true);
    }
    let domain: Option<Option<String>> = customers::table
        .find(customer_id)
        .select(customers::email_domain)
        .first(conn)
        .optional()?;
    Ok(domain
        .flatten()
        .is_some_and(|d| d.eq_ignore_ascii_case(email.domain())))
}
