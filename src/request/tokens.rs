//! Reads a request's tokens from the database: secret-free shapes for format checks, and
//! decrypted tokens a page at a time for the package writers.

use crate::db::schema::{orders, shipments, tokens};
use crate::db::{DbConnection, UseConn};
use crate::domain::{HashAlg, OtpKind, Serial, Token, TokenContext};
use crate::formats::TokenShape;
use crate::vault::{token_aad, DataKey, Vault};
use diesel::prelude::*;
use std::collections::HashMap;

/// Tokens decrypted per query while streaming.
pub const PAGE: i64 = 500;

type ShapeRow = (String, String, String, i32, i32, i64, i32, String, String);

fn shape(r: ShapeRow) -> anyhow::Result<TokenShape> {
    Ok(TokenShape {
        serial: Serial::parse(&r.0).map_err(anyhow::Error::msg)?,
        kind: r.1.parse::<OtpKind>().map_err(anyhow::Error::msg)?,
        hash: r.2.parse::<HashAlg>().map_err(anyhow::Error::msg)?,
        digits: u8::try_from(r.3)?,
        time_step: u32::try_from(r.4)?,
        counter: u64::try_from(r.5)?,
        secret_len: usize::try_from(r.6)?,
        manufacturer: r.7,
        model: r.8,
    })
}

/// The shapes (everything but the seed) of every token in `shipment_ids`, by serial.
pub fn shapes(conn: &mut DbConnection, shipment_ids: &[String]) -> anyhow::Result<Vec<TokenShape>> {
    let rows: Vec<ShapeRow> = tokens::table
        .filter(tokens::shipment_id.eq_any(shipment_ids))
        .order((tokens::shipment_id.asc(), tokens::serial.asc()))
        .select((
            tokens::serial,
            tokens::kind,
            tokens::hash,
            tokens::digits,
            tokens::time_step,
            tokens::counter,
            tokens::secret_len,
            tokens::manufacturer,
            tokens::model,
        ))
        .load(conn)?;
    rows.into_iter().map(shape).collect()
}

/// A token's id with its shape, for grouping tokens into files before any seed is read.
pub struct Placed {
    pub id: String,
    pub shipment_id: String,
    pub shape: TokenShape,
}

/// Ids and shapes of one shipment's tokens, in serial order.
pub fn placed(conn: &mut DbConnection, shipment_id: &str) -> anyhow::Result<Vec<Placed>> {
    let rows: Vec<(String, ShapeRow)> = tokens::table
        .filter(tokens::shipment_id.eq(shipment_id))
        .order(tokens::serial.asc())
        .select((
            tokens::id,
            (
                tokens::serial,
                tokens::kind,
                tokens::hash,
                tokens::digits,
                tokens::time_step,
                tokens::counter,
                tokens::secret_len,
                tokens::manufacturer,
                tokens::model,
            ),
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(id, r)| {
            Ok(Placed {
                id,
                shipment_id: shipment_id.to_string(),
                shape: shape(r)?,
            })
        })
        .collect()
}

/// Decrypts tokens by id, a page at a time, with each shipment's data key and order context.
/// It borrows its connection one query at a time, so the package writer can share it.
pub struct TokenReader<'v, C = &'v mut DbConnection> {
    conn: C,
    vault: &'v Vault,
    keys: HashMap<String, (DataKey, TokenContext)>,
}

type SecretRow = (String, String, String, Vec<u8>);

impl<'v, C: UseConn> TokenReader<'v, C> {
    pub fn new(conn: C, vault: &'v Vault) -> TokenReader<'v, C> {
        TokenReader {
            conn,
            vault,
            keys: HashMap::new(),
        }
    }

    fn key(&mut self, shipment_id: &str) -> anyhow::Result<(DataKey, TokenContext)> {
        if let Some(k) = self.keys.get(shipment_id) {
            return Ok(k.clone());
        }
        let vault = self.vault;
        let (key, number, po, invoice) = self.conn.use_conn(|conn| {
            let (key_id, number, po, invoice): (String, String, String, String) = shipments::table
                .inner_join(orders::table)
                .filter(shipments::id.eq(shipment_id))
                .select((
                    shipments::data_key_id,
                    shipments::shipment_number,
                    orders::po_number,
                    orders::invoice_number,
                ))
                .first(conn)?;
            let key = vault.data_key(conn, &key_id)?;
            Ok::<_, anyhow::Error>((key, number, po, invoice))
        })?;
        let ctx = TokenContext {
            po_number: po,
            invoice_number: invoice,
            shipment_number: number,
        };
        self.keys
            .insert(shipment_id.to_string(), (key.clone(), ctx.clone()));
        Ok((key, ctx))
    }

    /// Decrypts the tokens `ids` (one page at most [`PAGE`] long is loaded at a time) and hands
    /// each to `each` in the order of `placed`.
    pub fn for_each(
        &mut self,
        placed: &[&Placed],
        each: &mut dyn FnMut(&Token, &TokenContext) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        for page in placed.chunks(PAGE as usize) {
            let ids: Vec<&str> = page.iter().map(|p| p.id.as_str()).collect();
            let rows: Vec<SecretRow> = self.conn.use_conn(|conn| {
                tokens::table
                    .filter(tokens::id.eq_any(&ids))
                    .select((
                        tokens::id,
                        tokens::shipment_id,
                        tokens::serial,
                        tokens::secret_ct,
                    ))
                    .load(conn)
            })?;
            let mut by_id: HashMap<String, SecretRow> =
                rows.into_iter().map(|r| (r.0.clone(), r)).collect();
            for p in page {
                let Some((id, shipment_id, serial, sealed)) = by_id.remove(&p.id) else {
                    anyhow::bail!("token {} disappeared while packaging", p.shape.serial);
                };
                let (key, ctx) = self.key(&shipment_id)?;
                let secret = key.open(&sealed, &token_aad(&id, &serial))?;
                let s = &p.shape;
                let token = Token {
                    serial: s.serial.clone(),
                    secret,
                    kind: s.kind,
                    hash: s.hash,
                    digits: s.digits,
                    time_step: s.time_step,
                    counter: s.counter,
                    manufacturer: s.manufacturer.clone(),
                    model: s.model.clone(),
                };
                each(&token, &ctx)?;
            }
        }
        Ok(())
    }
}
