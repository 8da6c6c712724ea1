//! Readers for the factory token files the vendor receives: Deepnet CSV (Base32 or hex secrets)
//! and plain PSKC. Every problem is collected with its line, so one run lists them all.

use crate::domain::{model_defaults, HashAlg, OtpKind, Serial, Token};
use crate::vault::SecretBytes;
use std::collections::HashMap;
use std::fmt;

/// The header of the Deepnet layout (and of its hex variant).
pub const DEEPNET_HEADER: &str = "serial number,secret key,time interval,manufacturer,model";

/// Settings a manifest can force on every token of a file (for models not in the table, or
/// programmable tokens).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenOverrides {
    pub kind: Option<OtpKind>,
    pub hash: Option<HashAlg>,
    pub digits: Option<u8>,
    pub time_step: Option<u32>,
    /// `base32`, `hex` or `auto` (default) for CSV secrets.
    pub encoding: Option<SecretEncoding>,
}

/// How a CSV file writes its secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretEncoding {
    Auto,
    Base32,
    Hex,
}

/// One thing wrong with a file: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: Option<usize>,
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

fn problem(line: Option<usize>, reason: impl Into<String>) -> Problem {
    Problem {
        line,
        reason: reason.into(),
    }
}

/// Parses a factory file's bytes. All or nothing: any problem means no tokens.
pub fn parse(bytes: &[u8], overrides: &TokenOverrides) -> Result<Vec<Token>, Vec<Problem>> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(vec![problem(None, "the file is empty")]);
    }
    if let Some(pos) = bytes.iter().position(|&b| b == 0) {
        return Err(vec![problem(
            None,
            format!("the file is not text: binary data at byte {pos}"),
        )]);
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            return Err(vec![problem(
                None,
                format!(
                    "the file is not UTF-8 text: invalid byte at position {}",
                    e.valid_up_to()
                ),
            )])
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let tokens = if text.trim_start().starts_with('<') {
        super::pskc_plain::parse(text, overrides)?
    } else {
        parse_csv(text, overrides)?
    };
    check_unique(&tokens)?;
    Ok(tokens)
}

fn check_unique(tokens: &[Token]) -> Result<(), Vec<Problem>> {
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(tokens.len());
    let mut problems = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if let Some(first) = seen.insert(t.serial.as_str(), i) {
            problems.push(problem(
                None,
                format!(
                    "serial {} appears twice (tokens {} and {})",
                    t.serial,
                    first + 1,
                    i + 1
                ),
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn parse_csv(text: &str, overrides: &TokenOverrides) -> Result<Vec<Token>, Vec<Problem>> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((header_index, header)) = lines.next() else {
        return Err(vec![problem(None, "the file is empty")]);
    };
    let normalized: Vec<String> = header
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    if normalized.join(",") != DEEPNET_HEADER {
        return Err(vec![problem(
            Some(header_index + 1),
            format!("unknown column layout {:?}: expected the header \"{DEEPNET_HEADER}\" or a PSKC file", header.trim()),
        )]);
    }
    let rows: Vec<(usize, &str)> = lines.map(|(i, l)| (i + 1, l)).collect();
    if rows.is_empty() {
        return Err(vec![problem(None, "the file has a header but no tokens")]);
    }
    let encoding = match overrides.encoding.unwrap_or(SecretEncoding::Auto) {
        SecretEncoding::Auto => detect_encoding(&rows),
        chosen => chosen,
    };
    let mut tokens = Vec::with_capacity(rows.len());
    let mut problems = Vec::new();
    let mut serial_lines: HashMap<String, usize> = HashMap::with_capacity(rows.len());
    for (line, row) in rows {
        match parse_row(row, encoding, overrides) {
            Ok(token) => {
                if let Some(first) = serial_lines.insert(token.serial.as_str().to_string(), line) {
                    problems.push(problem(
                        Some(line),
                        format!("serial {} already appears on line {first}", token.serial),
                    ));
                } else {
                    tokens.push(token);
                }
            }
            Err(reason) => problems.push(problem(Some(line), reason)),
        }
    }
    if problems.is_empty() {
        Ok(tokens)
    } else {
        Err(problems)
    }
}

/// Hex when every secret looks like hex: all hex digits, and either a length Base32 never has
/// for a seed (40, 64, 128) or a digit Base32 never uses (0, 1, 8, 9). Base32 otherwise.
fn detect_encoding(rows: &[(usize, &str)]) -> SecretEncoding {
    let looks_hex = |secret: &str| {
        secret.len().is_multiple_of(2)
            && secret.bytes().all(|b| b.is_ascii_hexdigit())
            && (matches!(secret.len(), 40 | 64 | 128)
                || secret
                    .bytes()
                    .any(|b| matches!(b, b'0' | b'1' | b'8' | b'9')))
    };
    let all_hex = rows
        .iter()
        .all(|(_, row)| looks_hex(row.split(',').nth(1).unwrap_or("").trim()));
    if all_hex {
        SecretEncoding::Hex
    } else {
        SecretEncoding::Base32
    }
}

fn parse_row(
    row: &str,
    encoding: SecretEncoding,
    overrides: &TokenOverrides,
) -> Result<Token, String> {
    let fields: Vec<&str> = row.split(',').map(str::trim).collect();
    let [serial, secret, interval, manufacturer, model] = fields.as_slice() else {
        return Err(format!("expected 5 columns, found {}", fields.len()));
    };
    let serial = Serial::parse(serial).map_err(|e| format!("bad serial: {e}"))?;
    let secret = decode_secret(secret, encoding)?;
    let manufacturer = parse_name(manufacturer, "manufacturer")?;
    let model = parse_name(model, "model")?;
    let interval = *interval;
    build_token(serial, secret, interval, manufacturer, model, overrides)
}

/// Applies model defaults and overrides, then checks the result is a token we can deliver.
pub(super) fn build_token(
    serial: Serial,
    secret: SecretBytes,
    interval: &str,
    manufacturer: String,
    model: String,
    overrides: &TokenOverrides,
) -> Result<Token, String> {
    let defaults = model_defaults(&model);
    let kind = overrides
        .kind
        .or(defaults.map(|d| d.kind))
        .unwrap_or(OtpKind::Totp);
    let hash = overrides
        .hash
        .or(defaults.map(|d| d.hash))
        .unwrap_or(HashAlg::Sha1);
    let digits = overrides.digits.or(defaults.map(|d| d.digits)).unwrap_or(6);
    if digits != 6 && digits != 8 {
        return Err(format!("digits must be 6 or 8, not {digits}"));
    }
    let time_step = match kind {
        OtpKind::Hotp => 0,
        OtpKind::Totp => {
            let from_file =
                match interval {
                    "" => None,
                    text => Some(text.parse::<u32>().map_err(|_| {
                        format!("time interval {text:?} is not a number of seconds")
                    })?),
                };
            let step = overrides
                .time_step
                .or(from_file)
                .or(defaults.map(|d| d.time_step))
                .ok_or("time interval is missing for a time-based token")?;
            if !matches!(step, 30 | 60) {
                return Err(format!(
                    "time interval must be 30 or 60 seconds, not {step}"
                ));
            }
            step
        }
    };
    if !(16..=64).contains(&secret.len()) {
        return Err(format!(
            "the secret is {} bytes; a seed must be 16 to 64 bytes",
            secret.len()
        ));
    }
    Ok(Token {
        serial,
        secret,
        kind,
        hash,
        digits,
        time_step,
        counter: 0,
        manufacturer,
        model,
    })
}

fn decode_secret(text: &str, encoding: SecretEncoding) -> Result<SecretBytes, String> {
    if text.is_empty() {
        return Err("the secret key is empty".into());
    }
    match encoding {
        SecretEncoding::Hex => hex::decode(text)
            .map(SecretBytes::new)
            .map_err(|_| "the secret key is not valid hex".to_string()),
        _ => {
            let cleaned: String = text.trim_end_matches('=').to_ascii_uppercase();
            data_encoding::BASE32_NOPAD
                .decode(cleaned.as_bytes())
                .map(SecretBytes::new)
                .map_err(|_| {
                    "the secret key is not valid Base32 (letters A-Z and digits 2-7)".to_string()
                })
        }
    }
}

/// Manufacturer and model names: printable, no delimiters, at most 64 characters.
pub(super) fn parse_name(text: &str, what: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err(format!("the {what} is empty"));
    }
    if text.len() > 64 {
        return Err(format!("the {what} is longer than 64 characters"));
    }
    if !text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || " ./_-()".contains(c))
        || text.starts_with(['-', ' '])
    {
        return Err(format!(
            "the {what} {text:?} has characters outside letters, digits, space and . / _ - ( )"
        ));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "serial number,secret key,time interval,manufacturer,model\r\n\
        10001001,234567ABCDEFGHIJKLMNOPQRSTUVWXYZ,60,Deepnet Security,SafeID/Classic\r\n\
        10001002,ZYXWVUTSRQPONMLKJIHGFEDCBA765432,60,Deepnet Security,SafeID/Classic\r\n";

    #[test]
    fn reads_deepnet_base32() {
        let tokens = parse(GOOD.as_bytes(), &TokenOverrides::default()).unwrap();
        assert_eq!(tokens.len(), 2);
        assert_eq!(tokens[0].serial.as_str(), "10001001");
        assert_eq!(tokens[0].secret.len(), 20);
        assert_eq!(tokens[0].time_step, 60);
        assert_eq!(tokens[0].kind, OtpKind::Totp);
    }

    #[test]
    fn reads_hex_and_eco_hotp() {
        let text = "serial number,secret key,time interval,manufacturer,model\n\
            20000001,3132333435363738393031323334353637383930,0,Deepnet Security,SafeID/Eco\n";
        let tokens = parse(text.as_bytes(), &TokenOverrides::default()).unwrap();
        assert_eq!(tokens[0].secret.expose(), b"12345678901234567890");
        assert_eq!(tokens[0].kind, OtpKind::Hotp);
    }

    #[test]
    fn lists_every_problem_with_its_line() {
        let text = "serial number,secret key,time interval,manufacturer,model\n\
            1,!!!!,60,Deepnet Security,SafeID/Classic\n\
            2,GEZDGNBV,60,Deepnet Security,SafeID/Classic\n\
            3,234567ABCDEFGHIJKLMNOPQRSTUVWXYZ,45,Deepnet Security,SafeID/Mini\n\
            3,234567ABCDEFGHIJKLMNOPQRSTUVWXYZ,60,Deepnet Security,SafeID/Mini\n\
            4,234567ABCDEFGHIJKLMNOPQRSTUVWXYZ,60\n";
        let problems = parse(
            text.as_bytes(),
            &TokenOverrides {
                time_step: None,
                ..Default::default()
            },
        )
        .unwrap_err();
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert!(
            text[0].starts_with("line 2: ") && text[0].contains("Base32"),
            "{text:?}"
        );
        assert!(
            text[1].starts_with("line 3: ") && text[1].contains("16 to 64 bytes"),
            "{text:?}"
        );
        assert!(
            text[2].starts_with("line 4: ") && text[2].contains("30 or 60"),
            "{text:?}"
        );
        assert!(
            text[3].starts_with("line 6: ") && text[3].contains("5 columns"),
            "{text:?}"
        );
        assert_eq!(problems.len(), 4);
    }

    #[test]
    fn refuses_empty_garbage_and_unknown_layouts() {
        let o = TokenOverrides::default();
        assert!(parse(b"", &o).unwrap_err()[0].reason.contains("empty"));
        assert!(parse(b"\x00\x01\x02binary", &o).unwrap_err()[0]
            .reason
            .contains("not text"));
        assert!(parse(b"\xff\xfe\xfd", &o).unwrap_err()[0]
            .reason
            .contains("UTF-8"));
        let e = parse(b"serial,seed\n1,AAAA\n", &o).unwrap_err();
        assert!(e[0].reason.contains("unknown column layout"), "{e:?}");
        let e = parse(format!("{DEEPNET_HEADER}\n").as_bytes(), &o).unwrap_err();
        assert!(e[0].reason.contains("no tokens"), "{e:?}");
    }

    #[test]
    fn duplicate_serials_name_both_lines() {
        let text = format!("{DEEPNET_HEADER}\n7,234567ABCDEFGHIJKLMNOPQRSTUVWXYZ,60,Deepnet Security,SafeID/Classic\n7,234567ABCDEFGHIJKLMNOPQRSTUVWXYZ,60,Deepnet Security,SafeID/Classic\n");
        let e = parse(text.as_bytes(), &TokenOverrides::default()).unwrap_err();
        assert_eq!(
            e[0].to_string(),
            "line 3: serial 7 already appears on line 2"
        );
    }
}
