//! Order references a customer types: PO, invoice or shipment number.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Which number the customer looks their order up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReferenceKind {
    Po,
    Invoice,
    Shipment,
}

impl ReferenceKind {
    pub fn parse(raw: &str) -> Result<ReferenceKind, String> {
        match raw.trim() {
            "po" => Ok(ReferenceKind::Po),
            "invoice" => Ok(ReferenceKind::Invoice),
            "shipment" => Ok(ReferenceKind::Shipment),
            _ => Err("choose whether you have a PO, invoice or shipment number".into()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ReferenceKind::Po => "po",
            ReferenceKind::Invoice => "invoice",
            ReferenceKind::Shipment => "shipment",
        }
    }

    /// The kind a number's shape names: the vendor writes invoice numbers as `INV-` and digits
    /// and shipment numbers as `SHP-` and digits; anything else (a customer's own PO numbering)
    /// says nothing.
    pub fn guess(number: &str) -> Option<ReferenceKind> {
        let upper = number.trim().to_ascii_uppercase();
        let after = |prefix: &str| {
            upper
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        };
        if after("INV-") {
            Some(ReferenceKind::Invoice)
        } else if after("SHP-") {
            Some(ReferenceKind::Shipment)
        } else {
            None
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ReferenceKind::Po => "purchase order number",
            ReferenceKind::Invoice => "invoice number",
            ReferenceKind::Shipment => "shipment number",
        }
    }
}

/// A PO, invoice or shipment number: 1 to 64 characters of letters, digits and `- / . _`,
/// case and spacing kept as the vendor's systems wrote them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrderNumber(String);

impl OrderNumber {
    pub fn parse(raw: &str) -> Result<OrderNumber, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("enter the number".into());
        }
        if s.len() > 64 {
            return Err("the number is longer than 64 characters".into());
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-/._".contains(c))
        {
            return Err("the number may contain only letters, digits and - / . _".into());
        }
        if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err("the number must start with a letter or digit".into());
        }
        Ok(OrderNumber(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OrderNumber {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        OrderNumber::parse(&s)
    }
}

impl From<OrderNumber> for String {
    fn from(n: OrderNumber) -> String {
        n.0
    }
}

impl fmt::Display for OrderNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_only_the_vendors_shapes() {
        assert_eq!(
            ReferenceKind::guess("INV-10042"),
            Some(ReferenceKind::Invoice)
        );
        assert_eq!(
            ReferenceKind::guess(" inv-7 "),
            Some(ReferenceKind::Invoice)
        );
        assert_eq!(
            ReferenceKind::guess("SHP-50042-1"),
            Some(ReferenceKind::Shipment)
        );
        for other in ["PO-2026-0042", "4500012345", "INVOICE-1", "INV-", "SHP-A1"] {
            assert_eq!(ReferenceKind::guess(other), None, "{other}");
        }
    }

    #[test]
    fn parses_numbers() {
        assert_eq!(
            OrderNumber::parse(" PO-2026/0042 ").unwrap().as_str(),
            "PO-2026/0042"
        );
        assert!(OrderNumber::parse("").is_err());
        assert!(OrderNumber::parse("=cmd").is_err());
        assert!(OrderNumber::parse("a b").is_err());
        assert_eq!(
            ReferenceKind::parse("invoice").unwrap(),
            ReferenceKind::Invoice
        );
        assert!(ReferenceKind::parse("x").is_err());
    }
}
