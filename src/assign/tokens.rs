//! Token files: the Entra MFA CSV, the Deepnet factory CSV and the customer inventory, told apart
//! by their header, each row checked against what Entra can take.

use super::error::{FileErrors, LineError};
use super::inventory;
use super::table::{Row, Status};
use super::text::{cells, csv_unsafe, lines};
use super::upn::Upn;
use crate::domain::{model_defaults, OtpKind, Serial};
use crate::vault::SecretString;
use std::collections::HashMap;

/// Header of the Entra MFA CSV (formats.md section 1).
pub const ENTRA_HEADER: &str = "upn,serial number,secret key,time interval,manufacturer,model";
/// Header of the Deepnet factory CSV (formats.md section 10).
pub const DEEPNET_HEADER: &str = "serial number,secret key,time interval,manufacturer,model";
/// Longest Base32 secret Entra accepts.
pub const MAX_SECRET_LEN: usize = 128;

/// Which layout a token file had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFileKind {
    Entra,
    Deepnet,
    Inventory,
}

/// A token Entra can take: TOTP, SHA-1, 6 digits, 30 or 60 s, Base32 secret of at most 128
/// characters. `Debug` never shows the secret.
#[derive(Debug, Clone)]
pub struct AssignToken {
    pub serial: Serial,
    /// Upper-case Base32 without `=` padding.
    pub secret: SecretString,
    pub time_interval: u32,
    pub manufacturer: String,
    pub model: String,
}

impl AssignToken {
    /// Checks the five token cells (serial, secret, interval, manufacturer, model). The reason
    /// never contains the secret.
    pub fn parse(
        serial: &str,
        secret: &str,
        interval: &str,
        manufacturer: &str,
        model: &str,
    ) -> Result<AssignToken, String> {
        let serial = Serial::parse(serial)?;
        let secret = parse_base32_secret(secret).map_err(|e| format!("token {serial}: {e}"))?;
        let time_interval = match interval.trim() {
            "30" => 30,
            "60" => 60,
            other => {
                return Err(format!(
                    "token {serial}: time interval {other:?} cannot go to Entra (only 30 or 60 seconds)"
                ))
            }
        };
        for (what, v) in [("manufacturer", manufacturer), ("model", model)] {
            if v.is_empty() {
                return Err(format!("token {serial}: the {what} is empty"));
            }
            if v.chars().count() > 64 {
                return Err(format!(
                    "token {serial}: the {what} is longer than 64 characters"
                ));
            }
            if let Some(why) = csv_unsafe(v) {
                return Err(format!("token {serial}: the {what} {why}"));
            }
        }
        if model_defaults(model).is_some_and(|d| d.kind == OtpKind::Hotp) {
            return Err(format!(
                "token {serial}: model {model} is event-based (HOTP); Entra takes only time-based (TOTP) tokens"
            ));
        }
        Ok(AssignToken {
            serial,
            secret,
            time_interval,
            manufacturer: manufacturer.to_string(),
            model: model.to_string(),
        })
    }

    /// Same token data (used when a token file and an inventory both list a serial).
    pub fn same_as(&self, other: &AssignToken) -> bool {
        self.serial == other.serial
            && self.secret.expose() == other.secret.expose()
            && self.time_interval == other.time_interval
    }
}

/// Normalises a Base32 secret (upper case, `=` padding dropped) and checks it.
fn parse_base32_secret(raw: &str) -> Result<SecretString, String> {
    let s = raw.trim().trim_end_matches('=').to_ascii_uppercase();
    if s.is_empty() {
        return Err("the secret key is empty".into());
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c))
    {
        return Err(
            "the secret key is not Base32 (only A-Z and 2-7; Entra cannot take hex secrets)".into(),
        );
    }
    if s.len() > MAX_SECRET_LEN {
        return Err(format!(
            "the secret key is longer than {MAX_SECRET_LEN} characters, Entra's limit"
        ));
    }
    if matches!(s.len() % 8, 1 | 3 | 6) {
        return Err("the secret key has a length no Base32 value can have".into());
    }
    Ok(SecretString::new(s))
}

/// Reads a token file of any of the three layouts into rows: tokens without a user are
/// [`Status::Free`]; an Entra file's filled `upn` and an inventory's assignments are
/// [`Status::Old`]. Every problem is reported; a file with any problem is refused.
pub fn parse_token_file(file: &str, text: &str) -> Result<(TokenFileKind, Vec<Row>), FileErrors> {
    let all = lines(text);
    let Some(((hline, header), body)) = all.split_first() else {
        return Err(FileErrors::one(file, 0, "the file is empty"));
    };
    let normalized = cells(&header.to_ascii_lowercase()).join(",");
    let kind = match normalized.as_str() {
        ENTRA_HEADER => TokenFileKind::Entra,
        DEEPNET_HEADER => TokenFileKind::Deepnet,
        h if h == inventory::HEADER => TokenFileKind::Inventory,
        _ => {
            return Err(FileErrors::one(
                file,
                *hline,
                format!(
                    "unknown header; expected one of:\n    {ENTRA_HEADER}  (Entra MFA CSV)\n    {DEEPNET_HEADER}  (token file)\n    {}  (CustomerTokens inventory)",
                    inventory::HEADER
                ),
            ))
        }
    };
    let width = normalized.split(',').count();
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    let mut seen: HashMap<Serial, usize> = HashMap::new();
    for (n, line) in body {
        let c = cells(line);
        let err = |reason: String| LineError {
            file: file.to_string(),
            line: *n,
            reason,
        };
        if c.len() != width {
            errors.push(err(format!(
                "expected {width} comma-separated values, found {} (values may not contain commas)",
                c.len()
            )));
            continue;
        }
        let row = match (kind, c.as_slice()) {
            (TokenFileKind::Deepnet, [serial, secret, interval, maker, model]) => {
                AssignToken::parse(serial, secret, interval, maker, model).map(Row::free)
            }
            (TokenFileKind::Entra, [upn, serial, secret, interval, maker, model]) => {
                AssignToken::parse(serial, secret, interval, maker, model).and_then(|t| {
                    if upn.is_empty() {
                        Ok(Row::free(t))
                    } else {
                        let upn = Upn::parse(upn)?;
                        Ok(Row {
                            upn: Some(upn),
                            status: Status::Old,
                            ..Row::free(t)
                        })
                    }
                })
            }
            (TokenFileKind::Inventory, [a, b, c2, d, serial, secret, interval, maker, model]) => {
                AssignToken::parse(serial, secret, interval, maker, model)
                    .and_then(|t| inventory::parse_assignment(t, a, b, c2, d))
            }
            // The width was checked above.
            _ => continue,
        };
        match row {
            Ok(row) => {
                if let Some(first) = seen.get(&row.token.serial) {
                    errors.push(err(format!(
                        "token {} is listed twice (first on line {first})",
                        row.token.serial
                    )));
                } else {
                    seen.insert(row.token.serial.clone(), *n);
                    rows.push(row);
                }
            }
            Err(reason) => errors.push(err(reason)),
        }
    }
    if !errors.is_empty() {
        return Err(FileErrors(errors));
    }
    if rows.is_empty() {
        return Err(FileErrors::one(
            file,
            0,
            "the file has a header but no tokens",
        ));
    }
    Ok((kind, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_checked_without_being_quoted() {
        let e = AssignToken::parse("1", "0123456789abcdef0123", "30", "M", "X").unwrap_err();
        assert!(e.contains("not Base32"));
        assert!(!e.contains("0123456789"));
        assert!(AssignToken::parse("1", &"A".repeat(136), "30", "M", "X").is_err());
        assert!(AssignToken::parse("1", "JBSWY3DPEHPK3PXP", "45", "M", "X").is_err());
        assert!(AssignToken::parse("1", "JBSWY3DPEHPK3PXP", "60", "M", "SafeID/Eco").is_err());
        let t = AssignToken::parse("1", "jbswy3dpehpk3pxp====", "60", "M", "X").unwrap();
        assert_eq!(t.secret.expose(), "JBSWY3DPEHPK3PXP");
    }
}
