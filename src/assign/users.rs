//! The user file: one UPN a line, optionally followed by `,Display Name`.

use super::error::{FileErrors, LineError};
use super::text::lines;
use super::upn::{DisplayName, Upn};
use std::collections::HashMap;

/// One listed user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEntry {
    pub upn: Upn,
    pub display_name: DisplayName,
    /// Line in the user file, for messages.
    pub line: usize,
}

/// Parses a user list. Blank lines, a BOM, CRLF and a first line `upn` or `upn,display name`
/// are tolerated; invalid UPNs, unsafe names and users listed twice are errors.
pub fn parse_users(file: &str, text: &str) -> Result<Vec<UserEntry>, FileErrors> {
    let mut errors = Vec::new();
    let mut users = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, (n, line)) in lines(text).into_iter().enumerate() {
        let (upn, name) = line.split_once(',').unwrap_or((line, ""));
        let (upn, name) = (upn.trim(), name.trim());
        if i == 0 && upn.eq_ignore_ascii_case("upn") {
            continue;
        }
        let err = |reason: String| LineError {
            file: file.to_string(),
            line: n,
            reason,
        };
        let parsed = Upn::parse(upn).and_then(|u| Ok((u, DisplayName::parse(name)?)));
        match parsed {
            Ok((upn, display_name)) => {
                if let Some(first) = seen.get(&upn.key()) {
                    errors.push(err(format!(
                        "user {upn} is listed twice (first on line {first})"
                    )));
                } else {
                    seen.insert(upn.key(), n);
                    users.push(UserEntry {
                        upn,
                        display_name,
                        line: n,
                    });
                }
            }
            Err(reason) => errors.push(err(reason)),
        }
    }
    if errors.is_empty() {
        Ok(users)
    } else {
        Err(FileErrors(errors))
    }
}
