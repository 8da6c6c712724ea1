//! The customer's custom CSV layout: columns, header, encoding, delimiter, and its validation.

use super::super::FormatError;
use serde::{Deserialize, Serialize};

pub const MAX_COLUMNS: usize = 64;
pub const MAX_TEXT_LEN: usize = 64;

/// A custom CSV layout, stored with the request as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomCsvSpec {
    pub columns: Vec<CustomColumn>,
    /// Write the labels as the first line.
    #[serde(default = "header_default")]
    pub header: bool,
    #[serde(default)]
    pub secret_encoding: SecretEncoding,
    #[serde(default)]
    pub delimiter: Delimiter,
}

fn header_default() -> bool {
    true
}

/// One column: its header label and what goes in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomColumn {
    pub label: String,
    pub value: ColumnValue,
}

/// `{"fixed": "HQ"}` or `{"property": "serial"}` in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnValue {
    Fixed(String),
    Property(TokenProperty),
}

/// The token facts a column can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenProperty {
    Serial,
    Secret,
    Kind,
    Hash,
    Digits,
    TimeStep,
    Counter,
    Manufacturer,
    Model,
    PoNumber,
    InvoiceNumber,
    ShipmentNumber,
    OtpauthUri,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretEncoding {
    Hex,
    #[default]
    Base32,
    Base64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delimiter {
    #[default]
    Comma,
    Semicolon,
    Tab,
}

impl Delimiter {
    pub fn as_char(self) -> char {
        match self {
            Delimiter::Comma => ',',
            Delimiter::Semicolon => ';',
            Delimiter::Tab => '\t',
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Delimiter::Comma => "the delimiter ','",
            Delimiter::Semicolon => "the delimiter ';'",
            Delimiter::Tab => "a tab (the delimiter)",
        }
    }
}

impl CustomCsvSpec {
    /// Parses a stored or submitted layout and validates it.
    pub fn from_json(json: &str) -> Result<Self, FormatError> {
        let spec: CustomCsvSpec = serde_json::from_str(json)
            .map_err(|e| FormatError::InvalidSpec(format!("the layout cannot be read: {e}")))?;
        spec.validate()?;
        Ok(spec)
    }

    pub fn to_json(&self) -> String {
        // A plain data struct of strings and enums always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// 1 to 64 columns; labels and fixed values short, without formula starts, delimiter,
    /// quotes or line breaks. The message names the column.
    pub fn validate(&self) -> Result<(), FormatError> {
        self.problem()
            .map_or(Ok(()), |m| Err(FormatError::InvalidSpec(m)))
    }

    pub(crate) fn problem(&self) -> Option<String> {
        let n = self.columns.len();
        if n == 0 {
            return Some("add at least one column".into());
        }
        if n > MAX_COLUMNS {
            return Some(format!(
                "a layout may have at most {MAX_COLUMNS} columns, this one has {n}"
            ));
        }
        self.columns.iter().enumerate().find_map(|(i, c)| {
            let name = format!("column {} ({})", i + 1, shown(&c.label));
            if c.label.trim().is_empty() {
                return Some(format!("column {}: the header label is empty", i + 1));
            }
            if let Some(why) = text_problem(&c.label, self.delimiter) {
                return Some(format!("{name}: the header label {why}"));
            }
            match &c.value {
                ColumnValue::Fixed(v) => text_problem(v, self.delimiter)
                    .map(|why| format!("{name}: the fixed value {why}")),
                ColumnValue::Property(_) => None,
            }
        })
    }
}

/// Why a label or fixed value cannot go into the file, if it cannot.
fn text_problem(s: &str, d: Delimiter) -> Option<String> {
    let len = s.chars().count();
    if len > MAX_TEXT_LEN {
        return Some(format!(
            "is {len} characters long; at most {MAX_TEXT_LEN} are allowed"
        ));
    }
    // Spreadsheets skip leading spaces before they look for a formula, so the guard does too.
    if s.trim_start().starts_with(['=', '+', '-', '@']) {
        return Some(
            "may not start with =, +, - or @ (a spreadsheet would run it as a formula)".into(),
        );
    }
    if s.contains(d.as_char()) {
        return Some(format!("may not contain {}", d.describe()));
    }
    if s.contains('"') {
        return Some("may not contain a double quote".into());
    }
    if s.contains(['\r', '\n']) {
        return Some("may not contain a line break".into());
    }
    if s.chars().any(char::is_control) {
        return Some("may not contain control characters".into());
    }
    None
}

/// The label as the message shows it: quoted, cut short, control characters escaped.
fn shown(label: &str) -> String {
    let cut: String = label.chars().take(24).collect();
    let more = if cut.len() < label.len() { "…" } else { "" };
    format!("{:?}{more}", cut)
}
