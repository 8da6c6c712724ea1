//! User principal names and display names, checked once at the border.

use super::text::csv_unsafe;
use std::fmt;

/// Longest UPN Entra accepts (64 characters before the `@`, 48 after, plus the `@`).
pub const MAX_UPN_LEN: usize = 113;
/// Longest display name we keep.
pub const MAX_DISPLAY_NAME_LEN: usize = 256;

/// A user principal name such as `user1@acme.com`. Kept as typed; compared case-insensitively.
#[derive(Debug, Clone)]
pub struct Upn(String);

impl Upn {
    /// Checks the syntax Entra allows: `A-Z a-z 0-9 ' . - _ ! # ^ ~` before the `@`, a DNS
    /// domain after it.
    pub fn parse(raw: &str) -> Result<Upn, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("the UPN is empty".into());
        }
        if s.chars().count() > MAX_UPN_LEN {
            return Err(format!("the UPN is longer than {MAX_UPN_LEN} characters"));
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err(format!(
                "{s:?} is not a UPN: it has no @ (expected name@domain)"
            ));
        };
        if domain.contains('@') {
            return Err(format!("{s:?} is not a UPN: it has more than one @"));
        }
        if local.is_empty() || local.len() > 64 {
            return Err(format!(
                "{s:?}: the part before @ must have 1 to 64 characters"
            ));
        }
        if let Some(c) = local
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "'._!#^~-".contains(*c)))
        {
            return Err(format!(
                "{s:?}: the character {c:?} is not allowed in a UPN (use letters, digits and ' . - _ ! # ^ ~)"
            ));
        }
        if local.starts_with(['.', '-']) || local.ends_with('.') || local.contains("..") {
            return Err(format!(
                "{s:?}: the part before @ may not start with . or -, end with . or hold .."
            ));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if domain.len() > 48
            || labels.len() < 2
            || !labels.iter().all(label_ok)
            || labels
                .last()
                .is_some_and(|t| t.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(format!(
                "{s:?}: the domain after @ is not valid (expected e.g. acme.com)"
            ));
        }
        Ok(Upn(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The comparison key: UPNs are case-insensitive.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl PartialEq for Upn {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}
impl Eq for Upn {}

impl fmt::Display for Upn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user's display name (free text, possibly empty) that is safe to write into a CSV file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<DisplayName, String> {
        let s = raw.trim();
        if s.chars().count() > MAX_DISPLAY_NAME_LEN {
            return Err(format!(
                "the display name is longer than {MAX_DISPLAY_NAME_LEN} characters"
            ));
        }
        if let Some(why) = csv_unsafe(s) {
            return Err(format!("the display name {s:?} {why}"));
        }
        Ok(DisplayName(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upn_syntax() {
        for ok in [
            "user1@acme.com",
            "John.O'Neil@sub.acme.co.uk",
            "a_b-c@x-y.io",
        ] {
            assert!(Upn::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "user1",
            "user1@",
            "@acme.com",
            "a@b@acme.com",
            "a b@acme.com",
            "a@acme",
            "a..b@acme.com",
            ".a@acme.com",
            "-a@acme.com",
            "a@-acme.com",
            "a@acme.123",
            "a,b@acme.com",
        ] {
            assert!(Upn::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Upn::parse("User1@ACME.com").unwrap(),
            Upn::parse("user1@acme.com").unwrap()
        );
    }

    #[test]
    fn display_names() {
        assert!(DisplayName::parse("John Smith").is_ok());
        assert!(DisplayName::parse("Smith, John").is_err());
        assert!(DisplayName::parse("=cmd()").is_err());
    }
}
