//! The customer's token inventory, `CustomerTokens_YYYYMMDD.csv`: every token with its user,
//! status and date, kept by the customer and loaded again to change assignments later.
//!
//! Layout (UTF-8, no BOM, CRLF, no quoting), one row per token:
//! `upn,display name,status,date,serial number,secret key,time interval,manufacturer,model`
//! - `status`: `Old` or `New` (assigned; both read back as Old), `Unassigned` (an assignment was
//!   removed; the token is free again), `Free` (never assigned). An empty status with a UPN reads
//!   as Old. Setting a row's status to `Unassigned` by hand removes that assignment on the next run.
//! - `date`: `YYYY-MM-DD` of the last change of the assignment, empty for free tokens.
//! - the last five columns are the token, exactly as in the Entra file.

use super::table::{Row, Status};
use super::tokens::AssignToken;
use super::upn::{DisplayName, Upn};
use time::macros::format_description;
use time::Date;

/// The inventory header.
pub const HEADER: &str =
    "upn,display name,status,date,serial number,secret key,time interval,manufacturer,model";

/// `YYYY-MM-DD`, the date column's format.
pub fn format_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Parses a `YYYY-MM-DD` date.
pub fn parse_date(s: &str) -> Result<Date, String> {
    Date::parse(s, format_description!("[year]-[month]-[day]"))
        .map_err(|_| format!("the date {s:?} is not a date like 2025-01-31"))
}

/// Reads the assignment half of an inventory row.
pub fn parse_assignment(
    token: AssignToken,
    upn: &str,
    name: &str,
    status: &str,
    date: &str,
) -> Result<Row, String> {
    let date = if date.is_empty() {
        None
    } else {
        Some(parse_date(date)?)
    };
    let status_l = status.to_ascii_lowercase();
    let status = match status_l.as_str() {
        "old" | "new" | "assigned" => Status::Old,
        "unassigned" => Status::Unassigned,
        "free" => Status::Free,
        "" if upn.is_empty() => Status::Free,
        "" => Status::Old,
        _ => {
            return Err(format!(
                "unknown status {status:?} (use Old, New, Unassigned or Free)"
            ))
        }
    };
    match status {
        Status::Old => {
            if upn.is_empty() {
                return Err(format!(
                    "token {}: status {status_l} needs a UPN",
                    token.serial
                ));
            }
            Ok(Row {
                upn: Some(Upn::parse(upn)?),
                display_name: DisplayName::parse(name)?,
                status,
                date,
                token,
            })
        }
        Status::Free if !upn.is_empty() => Err(format!(
            "token {}: status Free but a UPN is given (use Old, or clear the UPN)",
            token.serial
        )),
        _ => Ok(Row {
            upn: None,
            display_name: DisplayName::default(),
            status,
            date: if status == Status::Free { None } else { date },
            token,
        }),
    }
}
