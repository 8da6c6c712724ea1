//! Reads a request's tokens from the database, streamed a page at a time in one fixed order
//! (shipment by shipment, by serial within each): secret-free shapes for format checks and
//! planning, and decrypted tokens for the package writers. Pages are found by keyset
//! (`shipment_id = ? AND serial > ?`, the `tokens_shipment` index), so nothing per token is
//! held for the whole order and a walk can stop and resume anywhere.

use crate::db::schema::{orders, shipments, tokens};
use crate::db::{DbConnection, UseConn};
use crate::domain::{HashAlg, OtpKind, Serial, Token, TokenContext};
use crate::formats::TokenShape;
use crate::pipeline::source::{Each, Take, Wanted};
use crate::pipeline::TokenSource;
use crate::vault::{token_aad, Sealer, Vault};
use diesel::prelude::*;
use std::time::{Duration, Instant};

/// Tokens read per query while streaming.
pub const PAGE: i64 = 500;

pub(super) type ShapeRow = (String, String, String, i32, i32, i64, i32, String, String);

/// The columns of a [`ShapeRow`].
const SHAPE: (
    tokens::serial,
    tokens::kind,
    tokens::hash,
    tokens::digits,
    tokens::time_step,
    tokens::counter,
    tokens::secret_len,
    tokens::manufacturer,
    tokens::model,
) = (
    tokens::serial,
    tokens::kind,
    tokens::hash,
    tokens::digits,
    tokens::time_step,
    tokens::counter,
    tokens::secret_len,
    tokens::manufacturer,
    tokens::model,
);

/// A token's shape from its stored columns.
pub(super) fn shape(r: ShapeRow) -> anyhow::Result<TokenShape> {
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

/// The next page of one shipment's shapes after the serial `after` (`""` = from the start;
/// serials are never empty).
fn shape_page(
    conn: &mut DbConnection,
    shipment_id: &str,
    after: &str,
) -> QueryResult<Vec<ShapeRow>> {
    tokens::table
        .filter(tokens::shipment_id.eq(shipment_id))
        .filter(tokens::serial.gt(after))
        .order(tokens::serial.asc())
        .limit(PAGE)
        .select(SHAPE)
        .load(conn)
}

type SealedRow = (String, Vec<u8>, ShapeRow);

/// [`shape_page`] with each token's row id and sealed seed.
fn sealed_page(
    conn: &mut DbConnection,
    shipment_id: &str,
    after: &str,
) -> QueryResult<Vec<SealedRow>> {
    tokens::table
        .filter(tokens::shipment_id.eq(shipment_id))
        .filter(tokens::serial.gt(after))
        .order(tokens::serial.asc())
        .limit(PAGE)
        .select((tokens::id, tokens::secret_ct, SHAPE))
        .load(conn)
}

/// Hands every shape of `shipment_ids` to `each`, in walk order, a page at a time.
pub fn for_each_shape(
    conn: &mut impl UseConn,
    shipment_ids: &[String],
    each: &mut dyn FnMut(&TokenShape),
) -> anyhow::Result<()> {
    for shipment_id in shipment_ids {
        let mut after = String::new();
        loop {
            let rows = conn.use_conn(|c| shape_page(c, shipment_id, &after))?;
            let full = rows.len() == PAGE as usize;
            for row in rows {
                let s = shape(row)?;
                each(&s);
                after.clear();
                after.push_str(s.serial.as_str());
            }
            if !full {
                break;
            }
        }
    }
    Ok(())
}

/// Where a package build's reading time went (for the debug log that times each stage).
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadTimes {
    /// The shapes walk (planning and checks).
    pub shapes: Duration,
    /// Token pages read, seeds still sealed.
    pub pages: Duration,
    /// Seeds opened (AES-256-GCM).
    pub open: Duration,
}

/// A point in the walk: the shipment (index) and the serial the next token comes after.
#[derive(Debug, Clone, Default)]
struct Cursor {
    shipment: usize,
    after: String,
}

/// A request's tokens as a [`TokenSource`]: shapes and seeds read from the database a page at
/// a time, seeds opened with each shipment's data key. It borrows its connection one query at
/// a time, so the package writer can share it.
pub struct StoredTokens<'v, C> {
    conn: C,
    vault: &'v Vault,
    shipment_ids: Vec<String>,
    /// Each shipment's data key (its key schedule made once) and order context, read when its
    /// first seed is.
    keys: Vec<Option<(Sealer, TokenContext)>>,
    /// Where the last walk stopped: a resumed walk starts with the token after `after`.
    paused: Cursor,
    times: ReadTimes,
}

impl<'v, C: UseConn> StoredTokens<'v, C> {
    /// The tokens of `shipment_ids`, shipment by shipment in this order.
    pub fn new(conn: C, vault: &'v Vault, shipment_ids: Vec<String>) -> StoredTokens<'v, C> {
        let keys = shipment_ids.iter().map(|_| None).collect();
        StoredTokens {
            conn,
            vault,
            shipment_ids,
            keys,
            paused: Cursor::default(),
            times: ReadTimes::default(),
        }
    }

    /// Time spent reading so far.
    pub fn times(&self) -> ReadTimes {
        self.times
    }

    fn key(&mut self, index: usize) -> anyhow::Result<&(Sealer, TokenContext)> {
        let (Some(slot), Some(shipment_id)) =
            (self.keys.get_mut(index), self.shipment_ids.get(index))
        else {
            anyhow::bail!("no shipment {index} in this request");
        };
        if slot.is_none() {
            let vault = self.vault;
            let (key, number, po, invoice) = self.conn.use_conn(|conn| {
                let (key_id, number, po, invoice): (String, String, String, String) =
                    shipments::table
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
            let context = TokenContext {
                po_number: po,
                invoice_number: invoice,
                shipment_number: number,
            };
            *slot = Some((key.sealer(), context));
        }
        slot.as_ref()
            .ok_or_else(|| anyhow::anyhow!("shipment key missing"))
    }
}

impl<C: UseConn> TokenSource for StoredTokens<'_, C> {
    fn shapes(&mut self, each: &mut dyn FnMut(&TokenShape)) -> anyhow::Result<()> {
        let started = Instant::now();
        let walked = for_each_shape(&mut self.conn, &self.shipment_ids, each);
        self.times.shapes += started.elapsed();
        walked
    }

    fn tokens(
        &mut self,
        resume: bool,
        wanted: &mut Wanted<'_>,
        each: &mut Each<'_>,
    ) -> anyhow::Result<()> {
        let mut at = if resume {
            std::mem::take(&mut self.paused)
        } else {
            Cursor::default()
        };
        // A walk that runs to the end leaves nothing to resume.
        self.paused = Cursor {
            shipment: self.shipment_ids.len(),
            after: String::new(),
        };
        while let Some(shipment_id) = self.shipment_ids.get(at.shipment) {
            let started = Instant::now();
            let rows = self
                .conn
                .use_conn(|c| sealed_page(c, shipment_id, &at.after))?;
            self.times.pages += started.elapsed();
            let full = rows.len() == PAGE as usize;
            for (id, sealed, row) in rows {
                let s = shape(row)?;
                match wanted(&s) {
                    Take::Yes => {
                        let started = Instant::now();
                        let (key, context) = self.key(at.shipment)?;
                        let secret = key.open(&sealed, &token_aad(&id, s.serial.as_str()))?;
                        let opened = started.elapsed();
                        let token = Token {
                            serial: s.serial,
                            secret,
                            kind: s.kind,
                            hash: s.hash,
                            digits: s.digits,
                            time_step: s.time_step,
                            counter: s.counter,
                            manufacturer: s.manufacturer,
                            model: s.model,
                        };
                        each(&token, context)?;
                        self.times.open += opened;
                        at.after.clear();
                        at.after.push_str(token.serial.as_str());
                    }
                    Take::Skip => {
                        at.after.clear();
                        at.after.push_str(s.serial.as_str());
                    }
                    Take::Stop => {
                        self.paused = at;
                        return Ok(());
                    }
                }
            }
            if !full {
                at = Cursor {
                    shipment: at.shipment + 1,
                    after: String::new(),
                };
            }
        }
        Ok(())
    }
}
