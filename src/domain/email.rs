//! Business email addresses and email domains, normalised to lower case.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An email address in the plain `local@domain.tld` form (no comments, no quoted locals).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BusinessEmail(String);

impl BusinessEmail {
    pub fn parse(raw: &str) -> Result<BusinessEmail, String> {
        let s = raw.trim().to_ascii_lowercase();
        if s.is_empty() {
            return Err("enter your business email address".into());
        }
        if s.len() > 254 {
            return Err("the email address is too long".into());
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err("an email address needs an @, like name@company.com".into());
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._+-'".contains(c))
            && !local.starts_with('.')
            && !local.ends_with('.');
        if !local_ok {
            return Err("the part before the @ is not a valid mailbox name".into());
        }
        EmailDomain::parse(domain)
            .map_err(|_| "the part after the @ is not a valid domain".to_string())?;
        Ok(BusinessEmail(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit('@').next().unwrap_or("")
    }
}

impl TryFrom<String> for BusinessEmail {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        BusinessEmail::parse(&s)
    }
}

impl From<BusinessEmail> for String {
    fn from(e: BusinessEmail) -> String {
        e.0
    }
}

impl fmt::Display for BusinessEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A DNS domain such as `acme.example`: lower-case labels of letters, digits and `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailDomain(String);

impl EmailDomain {
    pub fn parse(raw: &str) -> Result<EmailDomain, String> {
        let s = raw.trim().trim_start_matches('@').to_ascii_lowercase();
        let labels: Vec<&str> = s.split('.').collect();
        let ok = s.len() <= 253
            && labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            });
        if ok {
            Ok(EmailDomain(s))
        } else {
            Err(format!("{raw:?} is not a valid email domain"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EmailDomain {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        EmailDomain::parse(&s)
    }
}

impl From<EmailDomain> for String {
    fn from(e: EmailDomain) -> String {
        e.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_rejects() {
        assert_eq!(
            BusinessEmail::parse(" IT-Admin@Acme.Example ")
                .unwrap()
                .as_str(),
            "it-admin@acme.example"
        );
        assert_eq!(BusinessEmail::parse("a@b.co").unwrap().domain(), "b.co");
        for bad in [
            "",
            "nobody",
            "@acme.example",
            "a@acme",
            "a@-acme.example",
            "a b@acme.example",
            "a@acme..example",
        ] {
            assert!(BusinessEmail::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            EmailDomain::parse("@Acme.Example").unwrap().as_str(),
            "acme.example"
        );
    }
}
