//! A request's file format in words, for the console and the customer's emails: the format's
//! human name, its options as label/value pairs, and its import steps. No ids, no JSON.

use crate::formats::{
    self as registry, ColumnValue, CustomCsvSpec, Delimiter, SecretEncoding, TokenProperty,
};
use serde::Serialize;

/// The format as people read it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FormatWords {
    pub name: String,
    pub options: Vec<(String, String)>,
    pub how_to_import: String,
}

/// Describes the stored `format_id` and `format_summary` of a request.
pub fn describe(format_id: &str, format_summary: &str) -> FormatWords {
    let Ok(format) = registry::find(format_id) else {
        return FormatWords {
            name: if format_id.is_empty() {
                "not chosen".into()
            } else {
                format!("unknown format ({format_id})")
            },
            options: Vec::new(),
            how_to_import: String::new(),
        };
    };
    let summary: serde_json::Value = serde_json::from_str(format_summary).unwrap_or_default();
    let spec = summary
        .get("custom_csv")
        .filter(|v| !v.is_null())
        .and_then(|v| serde_json::from_value::<CustomCsvSpec>(v.clone()).ok());
    FormatWords {
        name: format.name.to_string(),
        options: spec.map(|s| custom_csv_words(&s)).unwrap_or_default(),
        how_to_import: format.how_to_import.to_string(),
    }
}

fn custom_csv_words(spec: &CustomCsvSpec) -> Vec<(String, String)> {
    let columns = spec
        .columns
        .iter()
        .map(|c| match &c.value {
            ColumnValue::Fixed(text) => format!("{} (always “{}”)", c.label, text),
            ColumnValue::Property(p) => format!("{} ({})", c.label, property_words(*p)),
        })
        .collect::<Vec<_>>()
        .join("; ");
    vec![
        ("Columns".into(), columns),
        (
            "Header line".into(),
            if spec.header { "yes" } else { "no" }.into(),
        ),
        (
            "Secrets written as".into(),
            match spec.secret_encoding {
                SecretEncoding::Hex => "hexadecimal",
                SecretEncoding::Base32 => "Base32",
                SecretEncoding::Base64 => "Base64",
            }
            .into(),
        ),
        (
            "Separator".into(),
            match spec.delimiter {
                Delimiter::Comma => "comma",
                Delimiter::Semicolon => "semicolon",
                Delimiter::Tab => "tab",
            }
            .into(),
        ),
    ]
}

fn property_words(p: TokenProperty) -> &'static str {
    match p {
        TokenProperty::Serial => "serial number",
        TokenProperty::Secret => "secret",
        TokenProperty::Kind => "TOTP or HOTP",
        TokenProperty::Hash => "hash algorithm",
        TokenProperty::Digits => "digits",
        TokenProperty::TimeStep => "time step",
        TokenProperty::Counter => "counter",
        TokenProperty::Manufacturer => "manufacturer",
        TokenProperty::Model => "model",
        TokenProperty::PoNumber => "PO number",
        TokenProperty::InvoiceNumber => "invoice number",
        TokenProperty::ShipmentNumber => "shipment number",
        TokenProperty::OtpauthUri => "otpauth:// URI",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_options_in_words() {
        let w = describe("entra-csv", "{\"format\":\"entra-csv\"}");
        assert!(!w.name.contains("entra-csv"));
        assert!(w.options.is_empty());
        let summary = r#"{"format":"custom-csv","custom_csv":{"columns":[{"label":"SN","value":{"property":"serial"}},{"label":"Site","value":{"fixed":"HQ"}}],"header":true,"secret_encoding":"hex","delimiter":"semicolon"}}"#;
        let w = describe("custom-csv", summary);
        let text = format!("{:?}", w.options);
        assert!(text.contains("SN (serial number)"), "{text}");
        assert!(text.contains("always “HQ”"), "{text}");
        assert!(text.contains("semicolon") && text.contains("hexadecimal"));
        assert!(!text.contains('{'));
    }
}
