//! Each shipment's tokens summarised when they are written: the tokens grouped by shape
//! (everything but the serial and the seed), with a count and the first serials of each group.
//! The pages that show a shipment's token count and models, or check which formats can carry
//! its tokens, read these few rows instead of every token of the shipment.

use crate::db::schema::{shipment_token_groups as groups, tokens};
use crate::db::DbConnection;
use crate::formats::{FormatError, Problem, SeedFormat, TokenShape};
use diesel::prelude::*;
use std::collections::HashMap;

/// Serials kept per group: as many as a format error names before it says "and N more".
pub const SERIALS_KEPT: usize = 5;

/// Token rows read per query while a summary is recomputed (memory stays bounded).
const PAGE: i64 = 5_000;

/// Group rows inserted per statement.
const BATCH: usize = 500;

/// A group's shape columns: kind, hash, digits, time step, counter, seed length,
/// manufacturer, model.
type ShapeKey = (String, String, i32, i32, i64, i32, String, String);

struct Tally {
    count: i64,
    /// The group's first serials in byte order, at most [`SERIALS_KEPT`].
    first: Vec<String>,
}

/// A shipment's tokens counted into groups, one token at a time in any order.
#[derive(Default)]
struct Tallies(HashMap<ShapeKey, Tally>);

impl Tallies {
    fn add(&mut self, serial: String, key: ShapeKey) {
        let tally = self.0.entry(key).or_insert(Tally {
            count: 0,
            first: Vec::new(),
        });
        tally.count += 1;
        let at = tally
            .first
            .partition_point(|s| s.as_str() < serial.as_str());
        if at < SERIALS_KEPT {
            tally.first.insert(at, serial);
            tally.first.truncate(SERIALS_KEPT);
        }
    }

    /// The rows to store, numbered in the order of each group's first serial.
    fn into_rows(self, shipment_id: &str) -> Vec<NewGroup> {
        let mut found: Vec<(ShapeKey, Tally)> = self.0.into_iter().collect();
        found.sort_by(|a, b| a.1.first.cmp(&b.1.first));
        found
            .into_iter()
            .enumerate()
            .map(|(seq, (key, tally))| NewGroup {
                shipment_id: shipment_id.to_string(),
                seq: i32::try_from(seq).unwrap_or(i32::MAX),
                kind: key.0,
                hash: key.1,
                digits: key.2,
                time_step: key.3,
                counter: key.4,
                secret_len: key.5,
                manufacturer: key.6,
                model: key.7,
                token_count: tally.count,
                first_serials: tally.first.join(" "),
            })
            .collect()
    }
}

/// One `shipment_token_groups` row to insert.
#[derive(Insertable, Clone)]
#[diesel(table_name = groups)]
struct NewGroup {
    shipment_id: String,
    seq: i32,
    kind: String,
    hash: String,
    digits: i32,
    time_step: i32,
    counter: i64,
    secret_len: i32,
    manufacturer: String,
    model: String,
    token_count: i64,
    first_serials: String,
}

/// Recomputes the summary of one shipment from its stored tokens. Call it, in the same
/// transaction, wherever a shipment's tokens are inserted or removed.
pub fn refresh(conn: &mut DbConnection, shipment_id: &str) -> QueryResult<()> {
    let mut tallies = Tallies::default();
    let mut after = String::new();
    loop {
        // Keyset pages in serial order: every serial is non-empty, so `> ""` starts at the first.
        let rows: Vec<(String, ShapeKey)> = tokens::table
            .filter(tokens::shipment_id.eq(shipment_id))
            .filter(tokens::serial.gt(&after))
            .order(tokens::serial.asc())
            .limit(PAGE)
            .select((
                tokens::serial,
                (
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
        let full = rows.len() as i64 == PAGE;
        for (serial, key) in rows {
            after.clone_from(&serial);
            tallies.add(serial, key);
        }
        if !full {
            break;
        }
    }
    let rows = tallies.into_rows(shipment_id);
    diesel::delete(groups::table.filter(groups::shipment_id.eq(shipment_id))).execute(conn)?;
    for chunk in rows.chunks(BATCH) {
        // Multi-row INSERT needs the concrete backend: diesel's multi-connection cannot batch.
        match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(groups::table).values(chunk).execute(c),
            DbConnection::Pg(c) => diesel::insert_into(groups::table).values(chunk).execute(c),
        }?;
    }
    Ok(())
}

/// One group of a shipment's tokens: their shape (with the group's first serial), how many
/// tokens have it, and the first serials.
#[derive(Debug, Clone)]
pub struct TokenGroup {
    pub shipment_id: String,
    pub shape: TokenShape,
    pub count: i64,
    pub first_serials: Vec<String>,
}

type GroupRow = (String, ShapeKey, i64, String);

fn group(row: GroupRow) -> anyhow::Result<TokenGroup> {
    let (shipment_id, k, count, first) = row;
    let first_serials: Vec<String> = first.split_whitespace().map(str::to_string).collect();
    let serial = first_serials
        .first()
        .ok_or_else(|| anyhow::anyhow!("a token group of shipment {shipment_id} has no serial"))?;
    let shape = super::tokens::shape((serial.clone(), k.0, k.1, k.2, k.3, k.4, k.5, k.6, k.7))?;
    Ok(TokenGroup {
        shape,
        shipment_id,
        count,
        first_serials,
    })
}

/// The token groups of `shipment_ids`, by shipment id, then each group's first serial.
pub fn of(conn: &mut DbConnection, shipment_ids: &[String]) -> anyhow::Result<Vec<TokenGroup>> {
    let rows: Vec<GroupRow> = groups::table
        .filter(groups::shipment_id.eq_any(shipment_ids))
        .order((groups::shipment_id.asc(), groups::seq.asc()))
        .select((
            groups::shipment_id,
            (
                groups::kind,
                groups::hash,
                groups::digits,
                groups::time_step,
                groups::counter,
                groups::secret_len,
                groups::manufacturer,
                groups::model,
            ),
            groups::token_count,
            groups::first_serials,
        ))
        .load(conn)?;
    let mut found = rows
        .into_iter()
        .map(group)
        .collect::<anyhow::Result<Vec<_>>>()?;
    // Byte order, whatever the database's collation: the order the first serials were kept in.
    found.sort_by(|a, b| {
        (&a.shipment_id, &a.first_serials).cmp(&(&b.shipment_id, &b.first_serials))
    });
    Ok(found)
}

/// [`SeedFormat::check`] over the groups instead of every token: the same rules, counts and
/// first serials (in shipment, then serial order), from one check per group.
pub fn check(format: &SeedFormat, groups: &[TokenGroup]) -> Result<(), FormatError> {
    // Per rule broken: tokens breaking it, and (shipment, serial) of the first ones.
    type Broken<'g> = (&'static str, usize, Vec<(&'g str, &'g str)>);
    let mut broken: Vec<Broken<'_>> = Vec::new();
    for g in groups {
        let Err(rule) = format.check_token(&g.shape) else {
            continue;
        };
        let index = match broken.iter().position(|b| b.0 == rule) {
            Some(i) => i,
            None => {
                broken.push((rule, 0, Vec::new()));
                broken.len() - 1
            }
        };
        if let Some(entry) = broken.get_mut(index) {
            entry.1 += usize::try_from(g.count).unwrap_or(0);
            entry.2.extend(
                g.first_serials
                    .iter()
                    .map(|s| (g.shipment_id.as_str(), s.as_str())),
            );
        }
    }
    if broken.is_empty() {
        return Ok(());
    }
    for b in &mut broken {
        b.2.sort_unstable();
        b.2.truncate(SERIALS_KEPT);
    }
    // Rules in the order a token-by-token check meets them: by the first token breaking each.
    broken.sort_by(|a, b| a.2.first().cmp(&b.2.first()));
    let problems = broken
        .into_iter()
        .map(|(rule, count, first)| Problem {
            rule,
            serials: first.into_iter().map(|(_, s)| s.to_string()).collect(),
            count,
        })
        .collect();
    Err(FormatError::Incompatible {
        format: format.name,
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{HashAlg, OtpKind, Serial};

    fn shape(serial: &str, kind: OtpKind, digits: u8, model: &str) -> TokenShape {
        TokenShape {
            serial: Serial::parse(serial).unwrap(),
            kind,
            hash: HashAlg::Sha1,
            digits,
            time_step: 30,
            counter: 0,
            secret_len: 20,
            manufacturer: "Deepnet Security".into(),
            model: model.into(),
        }
    }

    /// Groups `shapes` as `refresh` stores them and reads them back as `of` does.
    fn grouped(shipments: &[(&str, Vec<TokenShape>)]) -> Vec<TokenGroup> {
        let mut out = Vec::new();
        for (id, shapes) in shipments {
            let mut tallies = Tallies::default();
            for s in shapes.iter().rev() {
                let key = (
                    s.kind.as_str().to_string(),
                    s.hash.as_str().to_string(),
                    i32::from(s.digits),
                    s.time_step as i32,
                    s.counter as i64,
                    s.secret_len as i32,
                    s.manufacturer.clone(),
                    s.model.clone(),
                );
                tallies.add(s.serial.to_string(), key);
            }
            for r in tallies.into_rows(id) {
                let key = (
                    r.kind,
                    r.hash,
                    r.digits,
                    r.time_step,
                    r.counter,
                    r.secret_len,
                    r.manufacturer,
                    r.model,
                );
                out.push(group((r.shipment_id, key, r.token_count, r.first_serials)).unwrap());
            }
        }
        out.sort_by(|a, b| {
            (&a.shipment_id, &a.first_serials).cmp(&(&b.shipment_id, &b.first_serials))
        });
        out
    }

    #[test]
    fn the_check_over_groups_says_what_the_check_over_every_token_says() {
        // Two shipments, TOTP and HOTP, 6 and 8 digits, two models, serials not in order.
        let mut first = Vec::new();
        let mut second = Vec::new();
        for i in 0..40u32 {
            let kind = if i % 3 == 0 {
                OtpKind::Hotp
            } else {
                OtpKind::Totp
            };
            let digits = if i % 7 == 0 { 8 } else { 6 };
            let model = if i % 2 == 0 {
                "SafeID/Classic"
            } else {
                "SafeID/Eco"
            };
            first.push(shape(&format!("{}", 5000 - i * 13), kind, digits, model));
            second.push(shape(&format!("A-{}", 900 + i * 7), kind, 6, model));
        }
        let shipments = [("s-a", first.clone()), ("s-b", second.clone())];
        let groups = grouped(&shipments);
        assert!(groups.len() < 20, "{} groups for 80 tokens", groups.len());
        assert_eq!(groups.iter().map(|g| g.count).sum::<i64>(), 80);
        let mut every: Vec<(&str, &TokenShape)> = Vec::new();
        for (id, shapes) in &shipments {
            every.extend(shapes.iter().map(|s| (*id, s)));
        }
        every.sort_by(|a, b| (a.0, a.1.serial.as_str()).cmp(&(b.0, b.1.serial.as_str())));
        let mut refused = 0;
        for format in crate::formats::all() {
            let by_token = format
                .check(&mut every.iter().map(|(_, s)| (*s).clone()))
                .map_err(|e| e.to_string());
            let by_group = check(format, &groups).map_err(|e| e.to_string());
            assert_eq!(by_group, by_token, "{}", format.name);
            refused += usize::from(by_token.is_err());
        }
        assert!(refused > 0, "some format refuses HOTP or 8-digit tokens");
    }
}
