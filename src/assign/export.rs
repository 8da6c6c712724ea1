//! The two files the tool writes: `EntraTokens_YYYYMMDD.csv` (assigned tokens, Entra's exact
//! layout) and `CustomerTokens_YYYYMMDD.csv` (the inventory). UTF-8 without BOM, CRLF, no quoting.

use super::inventory::{self, format_date};
use super::table::{AssignError, Assignments};
use super::tokens::ENTRA_HEADER;
use time::Date;
use zeroize::Zeroizing;

/// `YYYYMMDD`, as in the file names.
pub fn compact_date(d: Date) -> String {
    format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day())
}

pub fn entra_file_name(d: Date) -> String {
    format!("EntraTokens_{}.csv", compact_date(d))
}

pub fn inventory_file_name(d: Date) -> String {
    format!("CustomerTokens_{}.csv", compact_date(d))
}

/// The Entra upload: the header, then one line per assigned token (Old and New) in table order.
/// Refused when a user would hold more tokens than Entra allows.
pub fn entra_csv(a: &Assignments) -> Result<Zeroizing<String>, AssignError> {
    a.check()?;
    let mut out = Zeroizing::new(String::new());
    out.push_str(ENTRA_HEADER);
    out.push_str("\r\n");
    for r in a.rows() {
        let Some(upn) = &r.upn else { continue };
        let t = &r.token;
        out.push_str(&format!(
            "{},{},{},{},{},{}\r\n",
            upn,
            t.serial,
            t.secret.expose(),
            t.time_interval,
            t.manufacturer,
            t.model
        ));
    }
    Ok(out)
}

/// How many rows [`entra_csv`] writes.
pub fn entra_count(a: &Assignments) -> usize {
    a.rows().iter().filter(|r| r.upn.is_some()).count()
}

/// The inventory: every token with its user, status and date (layout in [`inventory`]).
pub fn inventory_csv(a: &Assignments) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::new());
    out.push_str(inventory::HEADER);
    out.push_str("\r\n");
    for r in a.rows() {
        let t = &r.token;
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\r\n",
            r.upn.as_ref().map(|u| u.as_str()).unwrap_or(""),
            r.display_name.as_str(),
            r.status.as_str(),
            r.date.map(format_date).unwrap_or_default(),
            t.serial,
            t.secret.expose(),
            t.time_interval,
            t.manufacturer,
            t.model
        ));
    }
    out
}
