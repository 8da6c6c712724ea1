//! Finds an order by PO, invoice or shipment number and checks the requester's business email
//! against the customer's registered addresses and domain. Every miss is the same `None`.

use super::rate_limit::{self, HOUR};
use crate::audit::{self, Entry};
use crate::db::schema::{customer_emails, customers, orders, shipments};
use crate::db::{write_tx, DbConnection};
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

/// The lookup limits, per hour.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Lookups from one client IP.
    pub per_ip: u32,
    /// Lookups of one (reference, email) pair.
    pub per_pair: u32,
    /// Failed lookups against one reference, from anyone; successes do not count, so a few
    /// wrong guesses cannot lock the real customer out.
    pub failures_per_reference: u32,
}

impl Limits {
    /// From the configuration: `lookups_per_reference_per_hour` bounds one pair, and five times
    /// it bounds the failures against one reference.
    pub fn from_config(config: &crate::config::Config) -> Limits {
        Limits {
            per_ip: config.lookups_per_ip_per_hour,
            per_pair: config.lookups_per_reference_per_hour,
            failures_per_reference: config.lookups_per_reference_per_hour.saturating_mul(5),
        }
    }
}

/// How a limited lookup ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Limited {
    Found(Found),
    NotFound,
    /// Refused before the lookup ran; names the limit, for the audit log.
    Refused(&'static str),
}

/// The lookup behind its limits: the IP first (a refused request touches no other bucket, so
/// a flood of new references adds no rows), then the reference's failures and the pair, then
/// the lookup; a miss counts against the reference. A refusal is audited once per limit and
/// hour. Expired buckets are purged on the way.
pub fn find_order_limited(
    conn: &mut DbConnection,
    limits: Limits,
    kind: ReferenceKind,
    number: &OrderNumber,
    email: &BusinessEmail,
    client_ip: &str,
    now: i64,
) -> Result<Limited, diesel::result::Error> {
    rate_limit::purge(conn, now)?;
    let (k, n) = (kind.as_str(), number.as_str());
    let failures = rate_limit::reference_failures_bucket(k, n);
    let refusal = if !rate_limit::hit(
        conn,
        &rate_limit::ip_bucket(client_ip),
        limits.per_ip,
        HOUR,
        now,
    )? {
        Some(("ip", "too many lookups from this address"))
    } else if rate_limit::is_full(conn, &failures, limits.failures_per_reference, HOUR, now)? {
        Some(("reference", "too many failed lookups of this reference"))
    } else if !rate_limit::hit(
        conn,
        &rate_limit::pair_bucket(k, n, email.as_str()),
        limits.per_pair,
        HOUR,
        now,
    )? {
        Some(("pair", "too many lookups of this reference with this email"))
    } else {
        None
    };
    if let Some((limit, why)) = refusal {
        let once = match limit {
            "ip" => format!("audit:lookup-refused:ip:{client_ip}"),
            "reference" => format!("audit:lookup-refused:{failures}"),
            _ => format!("audit:lookup-refused:ip:{client_ip}:pair"),
        };
        if rate_limit::hit(conn, &once, 1, HOUR, now)? {
            write_tx(conn, |conn| {
                audit::record(
                    conn,
                    &Entry {
                        actor: &format!("customer:{}", email.as_str()),
                        action: "customer.lookup_refused",
                        subject: &format!("reference:{k}:{n}"),
                        client_ip,
                        details: &format!(
                            "{why}; further refusals of this kind are not logged this hour"
                        ),
                    },
                    now,
                )
            })?;
        }
        return Ok(Limited::Refused(limit));
    }
    match find_order(conn, kind, number, email)? {
        Some(found) => Ok(Limited::Found(found)),
        None => {
            rate_limit::hit(conn, &failures, u32::MAX, HOUR, now)?;
            Ok(Limited::NotFound)
        }
    }
}

/// The order's PO and invoice numbers, as the wizard's pages and emails show them.
pub fn order_numbers(conn: &mut DbConnection, order_id: &str) -> QueryResult<(String, String)> {
    orders::table
        .find(order_id)
        .select((orders::po_number, orders::invoice_number))
        .first(conn)
}

/// What the customer typed on the start page, parsed.
pub struct LookupInput {
    pub kind: ReferenceKind,
    pub number: OrderNumber,
    pub email: BusinessEmail,
}

/// How starting a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// A new draft, by id, owned by the session whose hash was given.
    Draft(String),
    /// Not found, looked up as `kind` (the guessed one when the number's shape names it).
    NotFound {
        kind: ReferenceKind,
    },
    Limited,
}

/// The start page's use case: the lookup behind its limits and, when it finds the order, a new
/// draft owned by `session_hash`. A number whose shape names its kind (INV-…, SHP-…) is looked
/// up as that kind, whatever was chosen.
pub fn start(
    conn: &mut DbConnection,
    limits: Limits,
    input: &LookupInput,
    session_hash: &str,
    client_ip: &str,
    now: i64,
) -> Result<Started, diesel::result::Error> {
    let kind = ReferenceKind::guess(input.number.as_str()).unwrap_or(input.kind);
    let found = match find_order_limited(
        conn,
        limits,
        kind,
        &input.number,
        &input.email,
        client_ip,
        now,
    )? {
        Limited::Found(found) => found,
        Limited::NotFound => return Ok(Started::NotFound { kind }),
        Limited::Refused(_) => return Ok(Started::Limited),
    };
    let id = super::draft::create(
        conn,
        &super::draft::NewDraft {
            session_hash,
            customer_id: &found.customer_id,
            order_id: &found.order_id,
            requester_email: input.email.as_str(),
            client_ip,
        },
        now,
    )?;
    Ok(Started::Draft(id))
}
