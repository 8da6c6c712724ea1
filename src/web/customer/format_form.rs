//! The custom CSV builder as plain form fields: `columns` rows of label / source / property /
//! fixed value, plus header, encoding and delimiter; and the row edits its buttons ask for.

use super::fields::Fields;
use crate::formats::{
    ColumnValue, CustomColumn, CustomCsvSpec, Delimiter, SecretEncoding, TokenProperty,
};
use serde::Serialize;

/// Most rows the form may post (the spec itself allows fewer columns).
const MAX_ROWS: usize = 80;

/// Token properties offered, with their form value and label.
pub const PROPERTIES: &[(&str, &str)] = &[
    ("serial", "Serial number"),
    ("secret", "Secret (seed)"),
    ("kind", "Kind (TOTP/HOTP)"),
    ("hash", "Hash algorithm"),
    ("digits", "Digits"),
    ("time_step", "Time step"),
    ("counter", "Counter"),
    ("manufacturer", "Manufacturer"),
    ("model", "Model"),
    ("po_number", "PO number"),
    ("invoice_number", "Invoice number"),
    ("shipment_number", "Shipment number"),
    ("otpauth_uri", "otpauth:// URI"),
];

/// One row of the builder as the page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RowView {
    pub label: String,
    pub source: String,
    pub property: String,
    pub fixed: String,
}

/// The builder's state as the page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct BuilderView {
    pub rows: Vec<RowView>,
    pub header: bool,
    pub encoding: String,
    pub delimiter: String,
}

fn enum_str<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|j| j.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn parse_enum<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

impl BuilderView {
    /// The starting layout: serial and secret.
    pub fn from_spec(spec: Option<&CustomCsvSpec>) -> BuilderView {
        let Some(spec) = spec else {
            return BuilderView {
                rows: vec![
                    row("serial", "property", "serial", ""),
                    row("secret", "property", "secret", ""),
                ],
                header: true,
                encoding: "base32".into(),
                delimiter: "comma".into(),
            };
        };
        BuilderView {
            rows: spec
                .columns
                .iter()
                .map(|c| match &c.value {
                    ColumnValue::Fixed(v) => row(&c.label, "fixed", "serial", v),
                    ColumnValue::Property(p) => row(&c.label, "property", &enum_str(p), ""),
                })
                .collect(),
            header: spec.header,
            encoding: enum_str(&spec.secret_encoding),
            delimiter: enum_str(&spec.delimiter),
        }
    }

    /// The builder as posted; rows left completely blank are dropped.
    pub fn from_form(form: &Fields) -> BuilderView {
        let count: usize = form.text("columns").parse().unwrap_or(0).min(MAX_ROWS);
        let rows = (0..count)
            .map(|i| RowView {
                label: form.text(&format!("col-{i}-label")).to_string(),
                source: form.text(&format!("col-{i}-source")).to_string(),
                property: form.text(&format!("col-{i}-property")).to_string(),
                fixed: form
                    .get(&format!("col-{i}-fixed"))
                    .unwrap_or("")
                    .to_string(),
            })
            .filter(|r| !(r.label.is_empty() && r.fixed.is_empty() && r.source == "fixed"))
            .collect();
        BuilderView {
            rows,
            header: form.checked("csv_header"),
            encoding: form.text("csv_encoding").to_string(),
            delimiter: form.text("csv_delimiter").to_string(),
        }
    }

    /// Applies a builder button (`add`, `remove-N`, `up-N`, `down-N`); `false` if `action` is
    /// not one of them.
    pub fn apply(&mut self, action: &str) -> bool {
        let index = |prefix: &str| {
            action
                .strip_prefix(prefix)
                .and_then(|n| n.parse::<usize>().ok())
        };
        if action == "add" {
            if self.rows.len() < MAX_ROWS {
                self.rows.push(row("", "property", "serial", ""));
            }
        } else if let Some(i) = index("remove-") {
            if i < self.rows.len() {
                self.rows.remove(i);
            }
        } else if let Some(i) = index("up-") {
            if i > 0 && i < self.rows.len() {
                self.rows.swap(i - 1, i);
            }
        } else if let Some(i) = index("down-") {
            if i + 1 < self.rows.len() {
                self.rows.swap(i, i + 1);
            }
        } else {
            return false;
        }
        true
    }

    /// The layout as a validated spec, or the message to show.
    pub fn to_spec(&self) -> Result<CustomCsvSpec, String> {
        let mut columns = Vec::new();
        for (i, r) in self.rows.iter().enumerate() {
            let value = if r.source == "fixed" {
                ColumnValue::Fixed(r.fixed.clone())
            } else {
                let p: TokenProperty = parse_enum(&r.property)
                    .ok_or_else(|| format!("Column {}: choose a token property.", i + 1))?;
                ColumnValue::Property(p)
            };
            columns.push(CustomColumn {
                label: r.label.clone(),
                value,
            });
        }
        let spec = CustomCsvSpec {
            columns,
            header: self.header,
            secret_encoding: parse_enum::<SecretEncoding>(&self.encoding)
                .ok_or("Choose how the secret is encoded.")?,
            delimiter: parse_enum::<Delimiter>(&self.delimiter).ok_or("Choose the delimiter.")?,
        };
        spec.validate().map_err(|e| format!("{e}."))?;
        Ok(spec)
    }
}

fn row(label: &str, source: &str, property: &str, fixed: &str) -> RowView {
    RowView {
        label: label.into(),
        source: source.into(),
        property: property.into(),
        fixed: fixed.into(),
    }
}
