//! Orders, shipments and their factory token files as the vendor's systems send them one at a
//! time (the order API): idempotent by order and shipment number, a conflicting resend named
//! by its field. The rows are written by the same functions `import::run` uses.

use super::{check_database, insert_shipment, write_tokens, FileProblem, ImportError};
use super::{FactoryFile, FactoryInput, TokenOverrides};
use crate::audit::{self, Entry};
use crate::db::schema::{customers, imports, orders, shipments, tokens};
use crate::db::{write_tx, DbConnection};
use crate::domain::OrderNumber;
use crate::vault::{Vault, VaultError};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

/// One shipment of an order: its number and ship date (`YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipmentIntake {
    pub number: OrderNumber,
    pub date: String,
}

/// An order as the vendor's system sends it.
#[derive(Debug, Clone)]
pub struct OrderIntake {
    /// The customer's name, as created with the customer call.
    pub customer: String,
    pub po: OrderNumber,
    pub invoice: OrderNumber,
    pub shipments: Vec<ShipmentIntake>,
}

/// Why an intake changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The input names something that does not exist or cannot be (field, message).
    #[error("{1}")]
    Invalid(String, String),
    /// A resend that disagrees with what is stored (field, message).
    #[error("{1}")]
    Conflict(String, String),
    #[error("no shipment numbered {0}")]
    NoSuchShipment(String),
    /// The token file's problems, each as `seedport import` prints it.
    #[error("{} problem(s) in the token file; nothing was imported", .0.len())]
    File(Vec<FileProblem>),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

impl From<ImportError> for IntakeError {
    fn from(e: ImportError) -> IntakeError {
        match e {
            ImportError::Invalid(problems) => IntakeError::File(problems),
            ImportError::Conflict(message) => IntakeError::Conflict("file".into(), message),
            ImportError::Vault(v) => IntakeError::Vault(v),
            ImportError::Db(d) => IntakeError::Db(d),
        }
    }
}

fn is_date(s: &str) -> bool {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &format).is_ok()
}

/// Whether a call created something or found it all already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Created,
    Unchanged,
}

/// Creates the order and any shipment it does not have yet, in one transaction, audited.
/// Sending the same order again changes nothing; a different PO or customer for the invoice,
/// a shipment number of another order or a different ship date is a conflict naming its field.
pub fn put_order(
    conn: &mut DbConnection,
    vault: &Vault,
    intake: &OrderIntake,
    actor: &str,
    client_ip: &str,
    now: i64,
) -> Result<(String, Written), IntakeError> {
    for (i, s) in intake.shipments.iter().enumerate() {
        if !is_date(&s.date) {
            return Err(IntakeError::Invalid(
                format!("shipments[{i}].date"),
                format!("the ship date {:?} is not a YYYY-MM-DD date", s.date),
            ));
        }
        if intake
            .shipments
            .iter()
            .take(i)
            .any(|o| o.number == s.number)
        {
            return Err(IntakeError::Invalid(
                format!("shipments[{i}].number"),
                format!("shipment {} appears twice in the order", s.number),
            ));
        }
    }
    write_tx(conn, |conn| {
        let customer_id: String = customers::table
            .filter(customers::name.eq(intake.customer.trim()))
            .select(customers::id)
            .first(conn)
            .optional()?
            .ok_or_else(|| {
                IntakeError::Invalid(
                    "customer".into(),
                    format!(
                        "no customer is named {:?}; create it first (PUT /api/v1/customers)",
                        intake.customer.trim()
                    ),
                )
            })?;
        let existing: Option<(String, String, String)> = orders::table
            .filter(orders::invoice_number.eq(intake.invoice.as_str()))
            .select((orders::id, orders::customer_id, orders::po_number))
            .first(conn)
            .optional()?;
        let mut created = false;
        let order_id = match existing {
            Some((id, owner, po)) => {
                if owner != customer_id {
                    return Err(IntakeError::Conflict(
                        "customer".into(),
                        format!(
                            "invoice {} already belongs to another customer",
                            intake.invoice
                        ),
                    ));
                }
                if po != intake.po.as_str() {
                    return Err(IntakeError::Conflict(
                        "po".into(),
                        format!("invoice {} already has PO {po}", intake.invoice),
                    ));
                }
                id
            }
            None => {
                created = true;
                super::insert_order(conn, &customer_id, &intake.po, &intake.invoice, now)?
            }
        };
        for (i, s) in intake.shipments.iter().enumerate() {
            let stored: Option<(String, String)> = shipments::table
                .filter(shipments::shipment_number.eq(s.number.as_str()))
                .select((shipments::order_id, shipments::ship_date))
                .first(conn)
                .optional()?;
            match stored {
                Some((owner, _)) if owner != order_id => {
                    return Err(IntakeError::Conflict(
                        format!("shipments[{i}].number"),
                        format!("shipment {} belongs to another order", s.number),
                    ))
                }
                Some((_, date)) if date != s.date => {
                    return Err(IntakeError::Conflict(
                        format!("shipments[{i}].date"),
                        format!("shipment {} already has the ship date {date}", s.number),
                    ))
                }
                Some(_) => {}
                None => {
                    insert_shipment(conn, vault, &order_id, &s.number, &s.date, now)?;
                    created = true;
                }
            }
        }
        if created {
            audit::record(
                conn,
                &Entry {
                    actor,
                    action: "order.saved",
                    subject: &format!("order:{}", intake.invoice),
                    client_ip,
                    details: &format!(
                        "PO {}; shipments: {}",
                        intake.po,
                        intake
                            .shipments
                            .iter()
                            .map(|s| s.number.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                },
                now,
            )?;
        }
        Ok((
            order_id,
            if created {
                Written::Created
            } else {
                Written::Unchanged
            },
        ))
    })
}

/// What attaching a token file did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attached {
    pub tokens: usize,
    pub written: Written,
}

/// Parses a shipment's factory file (CSV or PSKC) with the import's rules and messages and
/// stores its tokens, all or nothing, audited. The same file again changes nothing; another
/// file for a shipment that has its tokens is a conflict.
#[allow(clippy::too_many_arguments)]
pub fn attach_tokens(
    conn: &mut DbConnection,
    vault: &Vault,
    shipment_number: &str,
    bytes: &[u8],
    overrides: &TokenOverrides,
    actor: &str,
    client_ip: &str,
    now: i64,
) -> Result<Attached, IntakeError> {
    let file = format!("the token file of shipment {shipment_number}");
    let fingerprint = {
        let mut h = Sha256::new();
        h.update(format!("shipment:{shipment_number}\n{overrides:?}\n"));
        h.update(Sha256::digest(bytes));
        hex::encode(h.finalize())
    };
    let parsed = FactoryFile::check(FactoryInput::Bytes(bytes), overrides).map_err(|found| {
        found
            .into_iter()
            .map(|problem| FileProblem {
                file: file.clone(),
                problem,
            })
            .collect::<Vec<_>>()
    });
    write_tx(conn, |conn| {
        let (shipment_id, order_id, data_key_id): (String, String, String) = shipments::table
            .filter(shipments::shipment_number.eq(shipment_number))
            .select((shipments::id, shipments::order_id, shipments::data_key_id))
            .first(conn)
            .optional()?
            .ok_or_else(|| IntakeError::NoSuchShipment(shipment_number.to_string()))?;
        if let Some(count) = imports::table
            .filter(imports::manifest_sha256.eq(&fingerprint))
            .select(imports::token_count)
            .first::<i64>(conn)
            .optional()?
        {
            return Ok(Attached {
                tokens: usize::try_from(count).unwrap_or(0),
                written: Written::Unchanged,
            });
        }
        let held: i64 = tokens::table
            .filter(tokens::shipment_id.eq(&shipment_id))
            .count()
            .get_result(conn)?;
        if held > 0 {
            return Err(IntakeError::Conflict(
                "file".into(),
                format!(
                    "shipment {shipment_number} already has a different token file ({held} tokens); nothing was imported"
                ),
            ));
        }
        let parsed = match &parsed {
            Ok(tokens) => tokens,
            Err(problems) => return Err(IntakeError::File(problems.clone())),
        };
        let mut problems = Vec::new();
        check_database(conn, &file, None, parsed, &mut problems)?;
        if !problems.is_empty() {
            return Err(IntakeError::File(problems));
        }
        let key = vault.data_key(conn, &data_key_id)?;
        write_tokens(conn, &key, &shipment_id, &file, parsed, &mut |_| {})?;
        diesel::insert_into(imports::table)
            .values((
                imports::id.eq(uuid::Uuid::new_v4().to_string()),
                imports::manifest_sha256.eq(&fingerprint),
                imports::order_id.eq(&order_id),
                imports::token_count.eq(parsed.len() as i64),
                imports::imported_at.eq(now),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            &Entry {
                actor,
                action: "shipment.tokens_imported",
                subject: &format!("shipment:{shipment_number}"),
                client_ip,
                details: &format!("{} token(s)", parsed.len()),
            },
            now,
        )?;
        Ok(Attached {
            tokens: parsed.len(),
            written: Written::Created,
        })
    })
}

/// A problem list as one line per problem, exactly as `seedport import` prints them.
pub fn problem_lines(problems: &[FileProblem]) -> Vec<String> {
    problems.iter().map(|p| p.to_string()).collect()
}
