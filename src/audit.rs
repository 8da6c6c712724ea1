//! The audit log: append-only rows, each hash-chained to the one before it.

use crate::db::schema::audit_log;
use crate::db::DbConnection;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

/// The hash before the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One thing that happened. `details` is free text for people and must never hold a secret
/// (no passwords, link tokens, seeds or keys).
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// `staff:<email>`, `customer:<email>` or `system`.
    pub actor: &'a str,
    /// A dotted verb such as `request.submitted`, `package.downloaded`.
    pub action: &'a str,
    /// What it happened to, e.g. `request:SP-7K3M-9Q2X`.
    pub subject: &'a str,
    pub client_ip: &'a str,
    pub details: &'a str,
}

/// The canonical text a row's hash covers; unambiguous because every field is length-prefixed.
pub fn canonical(
    seq: i64,
    at: i64,
    actor: &str,
    action: &str,
    subject: &str,
    client_ip: &str,
    details: &str,
) -> String {
    let mut s = format!("{seq}\n{at}\n");
    for field in [actor, action, subject, client_ip, details] {
        s.push_str(&format!("{}:{field}\n", field.len()));
    }
    s
}

/// `SHA-256(prev_hash || canonical row)`, hex.
pub fn chain_hash(prev_hash: &str, canonical_row: &str) -> String {
    hex::encode(
        Sha256::new()
            .chain_update(prev_hash)
            .chain_update(canonical_row)
            .finalize(),
    )
}

/// Appends a row. Call it inside the transaction of the change it records (SQLite write
/// transactions are already serialised; PostgreSQL takes a transaction-scoped advisory lock),
/// so the chain never forks.
pub fn record(
    conn: &mut DbConnection,
    entry: &Entry<'_>,
    now: i64,
) -> Result<(), diesel::result::Error> {
    if let DbConnection::Pg(pg) = conn {
        // Serialises appenders until the surrounding transaction ends, so concurrent requests
        // on several instances queue instead of failing on the primary key.
        use diesel::connection::SimpleConnection;
        pg.batch_execute("SELECT pg_advisory_xact_lock(7242002)")?;
    }
    let last: Option<(i64, String)> = audit_log::table
        .order(audit_log::seq.desc())
        .select((audit_log::seq, audit_log::hash))
        .first(conn)
        .optional()?;
    let (seq, prev_hash) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_string()),
    };
    let row = canonical(
        seq,
        now,
        entry.actor,
        entry.action,
        entry.subject,
        entry.client_ip,
        entry.details,
    );
    let hash = chain_hash(&prev_hash, &row);
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::seq.eq(seq),
            audit_log::at.eq(now),
            audit_log::actor.eq(entry.actor),
            audit_log::action.eq(entry.action),
            audit_log::subject.eq(entry.subject),
            audit_log::client_ip.eq(entry.client_ip),
            audit_log::details.eq(entry.details),
            audit_log::prev_hash.eq(&prev_hash),
            audit_log::hash.eq(&hash),
        ))
        .execute(conn)?;
    Ok(())
}

/// Where the chain first breaks, if it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    pub seq: i64,
    pub reason: String,
}

/// Walks the whole log in order and checks every link; returns the number of rows checked.
pub fn verify(conn: &mut DbConnection) -> Result<Result<i64, Break>, diesel::result::Error> {
    type Row = (
        i64,
        i64,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
    );
    let mut prev = GENESIS.to_string();
    let mut expected_seq = 1i64;
    let mut after = 0i64;
    loop {
        let rows: Vec<Row> = audit_log::table
            .filter(audit_log::seq.gt(after))
            .order(audit_log::seq.asc())
            .limit(1000)
            .load(conn)?;
        if rows.is_empty() {
            return Ok(Ok(expected_seq - 1));
        }
        for (seq, at, actor, action, subject, ip, details, prev_hash, hash) in rows {
            if seq != expected_seq {
                return Ok(Err(Break {
                    seq,
                    reason: format!("row {expected_seq} is missing"),
                }));
            }
            if prev_hash != prev {
                return Ok(Err(Break {
                    seq,
                    reason: "its prev_hash does not match the previous row".into(),
                }));
            }
            let computed = chain_hash(
                &prev,
                &canonical(seq, at, &actor, &action, &subject, &ip, &details),
            );
            if computed != hash {
                return Ok(Err(Break {
                    seq,
                    reason: "its content does not match its hash (the row was altered)".into(),
                }));
            }
            prev = hash;
            expected_seq += 1;
            after = seq;
        }
    }
}
