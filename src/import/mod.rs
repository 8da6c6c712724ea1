//! Factory import: a manifest and its token files become a customer, an order, shipments and
//! vault-encrypted tokens, all in one transaction or not at all.

pub mod console;
mod csv_file;
pub mod factory;
pub mod intake;
pub mod manifest;
pub(crate) mod pskc_plain;
mod serial_hashes;

pub use factory::{FactoryFile, FactoryInput, Problem, TokenOverrides};
pub use manifest::{ImportInput, Manifest, TokenFile};

use crate::db::schema::{customer_emails, customers, imports, orders, shipments, tokens};
use crate::db::{write_tx, DbConnection};
use crate::domain::{OrderNumber, Token};
use crate::vault::{token_aad, DataKey, Vault, VaultError};
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serial_hashes::serial_hash;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;

/// Rows per INSERT: well under SQLite's and PostgreSQL's bound-parameter limits.
const BATCH: usize = 500;

/// A problem in one file of the import.
#[derive(Debug, Clone)]
pub struct FileProblem {
    pub file: String,
    pub problem: Problem,
}

impl fmt::Display for FileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.problem)
    }
}

/// Why nothing was imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{}; nothing was imported", crate::plural::count(.0.len() as i64, "problem", "problems"))]
    Invalid(Vec<FileProblem>),
    #[error("{0}; nothing was imported")]
    Conflict(String),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    Imported {
        order_id: String,
        shipments: usize,
        tokens: usize,
    },
    /// The same manifest and files were imported before: nothing to do.
    AlreadyImported { order_id: String },
}

/// Checks every file, then writes everything in one transaction. The token files are streamed
/// pass by pass (check, duplicate checks, insert), never held: memory stays flat however many
/// tokens come. `progress` is called with the number of tokens written so far.
pub fn run(
    conn: &mut DbConnection,
    vault: &Vault,
    input: &ImportInput,
    now: i64,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportOutcome, ImportError> {
    let fingerprint = fingerprint(input)?;
    let mut checked: Vec<Option<FactoryFile<'_>>> = Vec::with_capacity(input.files.len());
    let mut problems = Vec::new();
    for (spec, (file, data)) in input.manifest.shipments.iter().zip(&input.files) {
        match FactoryFile::check(data.input(), &spec.overrides) {
            Ok(tokens) => checked.push(Some(tokens)),
            Err(found) => {
                problems.extend(found.into_iter().map(|problem| FileProblem {
                    file: file.clone(),
                    problem,
                }));
                checked.push(None);
            }
        }
    }
    cross_file_duplicates(input, &checked, &mut problems)?;
    if !problems.is_empty() {
        return Err(ImportError::Invalid(problems));
    }
    let files: Vec<(&str, &FactoryFile<'_>)> = input
        .files
        .iter()
        .zip(&checked)
        .filter_map(|((name, _), f)| Some((name.as_str(), f.as_ref()?)))
        .collect();
    write_tx(conn, |conn| {
        if let Some(order_id) = imports::table
            .filter(imports::manifest_sha256.eq(&fingerprint))
            .select(imports::order_id)
            .first::<String>(conn)
            .optional()?
        {
            return Ok(ImportOutcome::AlreadyImported { order_id });
        }
        check_files(conn, input, &files)?;
        let customer_id = upsert_customer(conn, input, now)?;
        let order_id = upsert_order(conn, input, &customer_id, now)?;
        let mut written = 0u64;
        let mut total = 0usize;
        for (spec, (name, tokens)) in input.manifest.shipments.iter().zip(&files) {
            let (shipment_id, key) =
                insert_shipment(conn, vault, &order_id, &spec.number, &spec.date, now)?;
            total += write_tokens(conn, &key, &shipment_id, name, tokens, &mut |n| {
                written += n;
                progress(written);
            })?;
        }
        diesel::insert_into(imports::table)
            .values((
                imports::id.eq(uuid::Uuid::new_v4().to_string()),
                imports::manifest_sha256.eq(&fingerprint),
                imports::order_id.eq(&order_id),
                imports::token_count.eq(total as i64),
                imports::imported_at.eq(now),
            ))
            .execute(conn)?;
        Ok(ImportOutcome::Imported {
            order_id,
            shipments: files.len(),
            tokens: total,
        })
    })
}

/// A token pass over a file its check pass accepted failed (the file changed in between):
/// nothing is imported, and the message names the file.
fn unreadable(file: &str, e: anyhow::Error) -> ImportError {
    ImportError::Invalid(vec![FileProblem {
        file: file.to_string(),
        problem: Problem {
            line: None,
            reason: e.to_string(),
        },
    }])
}

/// Streams a checked file's tokens to `each` in batches of [`BATCH`], in file order.
fn for_each_batch(
    name: &str,
    tokens: &FactoryFile<'_>,
    each: &mut dyn FnMut(&[Token]) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let mut batch = Vec::with_capacity(BATCH);
    for token in tokens.tokens().map_err(|e| unreadable(name, e))? {
        batch.push(token.map_err(|e| unreadable(name, e))?);
        if batch.len() == BATCH {
            each(&batch)?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        each(&batch)?;
    }
    Ok(())
}

/// Inserts an order row; returns its id. The one way an order is created (import and API).
pub(crate) fn insert_order(
    conn: &mut DbConnection,
    customer_id: &str,
    po: &OrderNumber,
    invoice: &OrderNumber,
    now: i64,
) -> Result<String, diesel::result::Error> {
    let id = uuid::Uuid::new_v4().to_string();
    diesel::insert_into(orders::table)
        .values((
            orders::id.eq(&id),
            orders::customer_id.eq(customer_id),
            orders::po_number.eq(po.as_str()),
            orders::invoice_number.eq(invoice.as_str()),
            orders::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Inserts a shipment with its own data key (its tokens are sealed under it); returns the
/// shipment id and the key. The one way a shipment is created (import and API).
pub(crate) fn insert_shipment(
    conn: &mut DbConnection,
    vault: &Vault,
    order_id: &str,
    number: &OrderNumber,
    date: &str,
    now: i64,
) -> Result<(String, DataKey), VaultError> {
    let key = vault.new_data_key(conn, "shipment-tokens", now)?;
    let shipment_id = uuid::Uuid::new_v4().to_string();
    diesel::insert_into(shipments::table)
        .values((
            shipments::id.eq(&shipment_id),
            shipments::order_id.eq(order_id),
            shipments::shipment_number.eq(number.as_str()),
            shipments::ship_date.eq(date),
            shipments::data_key_id.eq(&key.id),
            shipments::serial_failures.eq(0),
            shipments::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok((shipment_id, key))
}

/// Seals and inserts a shipment's tokens (streamed from its checked file) in batches;
/// `progress` gets each batch's size. Returns how many were written.
pub(crate) fn write_tokens(
    conn: &mut DbConnection,
    key: &DataKey,
    shipment_id: &str,
    name: &str,
    tokens: &FactoryFile<'_>,
    progress: &mut dyn FnMut(u64),
) -> Result<usize, ImportError> {
    // One key schedule and one seeded CSPRNG (nonces, row ids) for the whole file, instead of
    // a key setup and two system calls per token.
    let mut sealer = key.sealer();
    let mut ids = StdRng::from_entropy();
    let mut written = 0;
    for_each_batch(name, tokens, &mut |chunk| {
        let rows: Vec<NewToken> = chunk
            .iter()
            .map(|t| {
                let id = uuid::Builder::from_random_bytes(ids.gen())
                    .into_uuid()
                    .to_string();
                let secret_ct = sealer.seal(t.secret.expose(), &token_aad(&id, t.serial.as_str()));
                NewToken {
                    id,
                    shipment_id: shipment_id.to_string(),
                    serial: t.serial.as_str().to_string(),
                    secret_ct,
                    kind: t.kind.as_str(),
                    hash: t.hash.as_str(),
                    digits: i32::from(t.digits),
                    time_step: t.time_step as i32,
                    counter: t.counter as i64,
                    secret_len: t.secret.len() as i32,
                    manufacturer: t.manufacturer.clone(),
                    model: t.model.clone(),
                }
            })
            .collect();
        insert_tokens(conn, &rows)?;
        written += chunk.len();
        progress(chunk.len() as u64);
        Ok(())
    })?;
    crate::request::summary::refresh(conn, shipment_id)?;
    Ok(written)
}

/// One `tokens` row to insert.
#[derive(Insertable)]
#[diesel(table_name = tokens)]
struct NewToken {
    id: String,
    shipment_id: String,
    serial: String,
    secret_ct: Vec<u8>,
    kind: &'static str,
    hash: &'static str,
    digits: i32,
    time_step: i32,
    counter: i64,
    secret_len: i32,
    manufacturer: String,
    model: String,
}

/// Multi-row INSERT needs the concrete backend: diesel's multi-connection cannot batch.
fn insert_tokens(
    conn: &mut DbConnection,
    rows: &[NewToken],
) -> Result<usize, diesel::result::Error> {
    match conn {
        DbConnection::Sqlite(c) => diesel::insert_into(tokens::table).values(rows).execute(c),
        DbConnection::Pg(c) => diesel::insert_into(tokens::table).values(rows).execute(c),
    }
}

/// SHA-256 over the manifest's meaning and every file's bytes: the same import twice is a no-op.
fn fingerprint(input: &ImportInput) -> Result<String, ImportError> {
    let mut h = Sha256::new();
    let m = &input.manifest;
    h.update(format!(
        "{}\n{}\n{}\n",
        m.customer.name, m.order.po, m.order.invoice
    ));
    for (spec, (name, file)) in m.shipments.iter().zip(&input.files) {
        h.update(format!(
            "{}\n{}\n{:?}\n",
            spec.number, spec.date, spec.overrides
        ));
        let mut digest = Sha256::new();
        file.read(&mut |block| digest.update(block)).map_err(|e| {
            ImportError::Invalid(vec![FileProblem {
                file: name.clone(),
                problem: Problem {
                    line: None,
                    reason: format!("cannot read the file: {e}"),
                },
            }])
        })?;
        h.update(digest.finalize());
    }
    Ok(hex::encode(h.finalize()))
}

/// A serial in more than one file is a problem of each later file, naming the last file
/// before it that has it. Memory is 12 bytes per token: the serials' 8-byte hashes find the
/// few serials that may repeat, and only those are compared in full, in a second pass.
fn cross_file_duplicates(
    input: &ImportInput,
    checked: &[Option<FactoryFile<'_>>],
    problems: &mut Vec<FileProblem>,
) -> Result<(), ImportError> {
    if checked.iter().flatten().count() < 2 {
        return Ok(());
    }
    let mut hashes: Vec<(u64, u32)> = Vec::new();
    for (index, ((name, _), tokens)) in input.files.iter().zip(checked).enumerate() {
        let Some(tokens) = tokens else { continue };
        let index = u32::try_from(index).unwrap_or(u32::MAX);
        for_each_batch(name, tokens, &mut |batch| {
            hashes.extend(
                batch
                    .iter()
                    .map(|t| (serial_hash(t.serial.as_str()), index)),
            );
            Ok(())
        })?;
    }
    // Within a file every serial is unique (its check said so): a hash seen twice here is in
    // two files, or two serials that share a hash.
    let repeated = serial_hashes::repeated(hashes, |h| h.0);
    if repeated.is_empty() {
        return Ok(());
    }
    let mut seen: HashMap<String, &str> = HashMap::new();
    for ((file, _), tokens) in input.files.iter().zip(checked) {
        let Some(tokens) = tokens else { continue };
        for_each_batch(file, tokens, &mut |batch| {
            for t in batch {
                let serial = t.serial.as_str();
                if !repeated.contains(&serial_hash(serial)) {
                    continue;
                }
                if let Some(first) = seen.insert(serial.to_string(), file.as_str()) {
                    if first != file {
                        problems.push(FileProblem {
                            file: file.clone(),
                            problem: Problem {
                                line: None,
                                reason: format!("serial {serial} is also in {first}"),
                            },
                        });
                    }
                }
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// Serials and shipment numbers already in the database are conflicts, listed together.
fn check_files(
    conn: &mut DbConnection,
    input: &ImportInput,
    files: &[(&str, &FactoryFile<'_>)],
) -> Result<(), ImportError> {
    let mut problems = Vec::new();
    for (spec, (name, tokens)) in input.manifest.shipments.iter().zip(files) {
        check_database(conn, name, Some(&spec.number), tokens, &mut problems)?;
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ImportError::Invalid(problems))
    }
}

/// Adds a problem for `shipment` when it is already imported (if given) and for every serial
/// of `tokens` already in the database, looked up a batch at a time.
pub(crate) fn check_database(
    conn: &mut DbConnection,
    file: &str,
    shipment: Option<&OrderNumber>,
    tokens: &FactoryFile<'_>,
    problems: &mut Vec<FileProblem>,
) -> Result<(), ImportError> {
    if let Some(number) = shipment {
        let exists: i64 = shipments::table
            .filter(shipments::shipment_number.eq(number.as_str()))
            .count()
            .get_result(conn)?;
        if exists > 0 {
            problems.push(FileProblem {
                file: file.to_string(),
                problem: Problem {
                    line: None,
                    reason: format!("shipment {number} is already imported"),
                },
            });
        }
    }
    for_each_batch(file, tokens, &mut |chunk| {
        let serials: Vec<&str> = chunk.iter().map(|t| t.serial.as_str()).collect();
        let taken: Vec<String> = tokens::table
            .filter(tokens::serial.eq_any(&serials))
            .select(tokens::serial)
            .load(conn)?;
        problems.extend(taken.into_iter().map(|s| FileProblem {
            file: file.to_string(),
            problem: Problem {
                line: None,
                reason: format!("serial {s} is already in the database"),
            },
        }));
        Ok(())
    })
}

fn upsert_customer(
    conn: &mut DbConnection,
    input: &ImportInput,
    now: i64,
) -> Result<String, ImportError> {
    let spec = &input.manifest.customer;
    let emails: Vec<&str> = spec.emails.iter().map(|e| e.as_str()).collect();
    let owners: Vec<(String, String)> = customer_emails::table
        .filter(customer_emails::email.eq_any(&emails))
        .select((customer_emails::email, customer_emails::customer_id))
        .load(conn)?;
    let by_invoice: Option<String> = orders::table
        .filter(orders::invoice_number.eq(input.manifest.order.invoice.as_str()))
        .select(orders::customer_id)
        .first(conn)
        .optional()?;
    let by_name: Option<String> = customers::table
        .filter(customers::name.eq(spec.name.trim()))
        .select(customers::id)
        .first(conn)
        .optional()?;
    let customer_id = match by_invoice
        .or_else(|| owners.first().map(|o| o.1.clone()))
        .or(by_name)
    {
        Some(id) => id,
        None => {
            let id = uuid::Uuid::new_v4().to_string();
            diesel::insert_into(customers::table)
                .values((
                    customers::id.eq(&id),
                    customers::name.eq(spec.name.trim()),
                    customers::email_domain.eq(spec.domain.as_ref().map(|d| d.as_str())),
                    customers::created_at.eq(now),
                ))
                .execute(conn)?;
            id
        }
    };
    if let Some((email, _)) = owners.iter().find(|(_, owner)| owner != &customer_id) {
        return Err(ImportError::Conflict(format!(
            "the email {email} is registered to another customer"
        )));
    }
    if let Some(domain) = &spec.domain {
        diesel::update(customers::table.find(&customer_id))
            .set(customers::email_domain.eq(domain.as_str()))
            .execute(conn)?;
    }
    for email in emails
        .iter()
        .filter(|e| !owners.iter().any(|(o, _)| o == *e))
    {
        diesel::insert_into(customer_emails::table)
            .values((
                customer_emails::email.eq(*email),
                customer_emails::customer_id.eq(&customer_id),
            ))
            .execute(conn)?;
    }
    Ok(customer_id)
}

fn upsert_order(
    conn: &mut DbConnection,
    input: &ImportInput,
    customer_id: &str,
    now: i64,
) -> Result<String, ImportError> {
    let spec = &input.manifest.order;
    let existing: Option<(String, String, String)> = orders::table
        .filter(orders::invoice_number.eq(spec.invoice.as_str()))
        .select((orders::id, orders::customer_id, orders::po_number))
        .first(conn)
        .optional()?;
    match existing {
        Some((id, owner, po)) => {
            if owner != customer_id || po != spec.po.as_str() {
                return Err(ImportError::Conflict(format!(
                    "invoice {} already belongs to order {po} of another customer or PO",
                    spec.invoice
                )));
            }
            Ok(id)
        }
        None => Ok(insert_order(
            conn,
            customer_id,
            &spec.po,
            &spec.invoice,
            now,
        )?),
    }
}
