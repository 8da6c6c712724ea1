//! Reader for plain-text PSKC (RFC 6030) factory files, as Feitian and others ship them.

use super::factory::{build_token, parse_name, Problem, TokenOverrides};
use crate::domain::{HashAlg, OtpKind, Serial, Token};
use crate::vault::SecretBytes;
use base64::Engine;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// What one `KeyPackage` said, before it becomes a token.
#[derive(Default)]
struct KeyPackage {
    line: usize,
    serial: Option<String>,
    manufacturer: Option<String>,
    model: Option<String>,
    algorithm: Option<String>,
    digits: Option<u8>,
    suite: Option<String>,
    secret_b64: Option<String>,
    counter: Option<u64>,
    time_interval: Option<String>,
    encrypted: bool,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn attribute(e: &BytesStart, name: &str) -> Option<String> {
    e.try_get_attribute(name)
        .ok()
        .flatten()
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// Parses every `KeyPackage`; problems name the line where the package starts.
pub fn parse(text: &str, overrides: &TokenOverrides) -> Result<Vec<Token>, Vec<Problem>> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut path: Vec<String> = Vec::new();
    let mut current: Option<KeyPackage> = None;
    let mut tokens = Vec::new();
    let mut problems = Vec::new();
    let mut saw_container = false;
    loop {
        let offset = reader.buffer_position() as usize;
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                problems.push(Problem {
                    line: Some(line_of(text, offset)),
                    reason: format!("not well-formed XML: {e}"),
                });
                return Err(problems);
            }
        };
        match event {
            // After a tag is read the position is its end, which is on the tag's own line;
            // before, it may still be on the previous line (whitespace is trimmed).
            Event::Start(e) => {
                let line = line_of(text, reader.buffer_position() as usize);
                on_open(&e, &mut current, &mut saw_container, line);
                path.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
            }
            Event::Empty(e) => {
                let line = line_of(text, reader.buffer_position() as usize);
                on_open(&e, &mut current, &mut saw_container, line);
            }
            Event::Text(t) => {
                let value = t
                    .unescape()
                    .map(|v| v.trim().to_string())
                    .unwrap_or_default();
                if let Some(p) = current.as_mut() {
                    let tail: Vec<&str> = path.iter().rev().take(2).map(String::as_str).collect();
                    match tail.as_slice() {
                        ["Manufacturer", "DeviceInfo"] => p.manufacturer = Some(value),
                        ["SerialNo", "DeviceInfo"] => p.serial = Some(value),
                        ["Model", "DeviceInfo"] => p.model = Some(value),
                        ["Suite", "AlgorithmParameters"] => p.suite = Some(value),
                        ["PlainValue", "Secret"] => p.secret_b64 = Some(value),
                        ["PlainValue", "Counter"] => p.counter = value.parse().ok(),
                        ["PlainValue", "TimeInterval"] => p.time_interval = Some(value),
                        _ => {}
                    }
                }
            }
            Event::End(e) => {
                path.pop();
                if e.local_name().as_ref() == b"KeyPackage" {
                    if let Some(p) = current.take() {
                        let line = p.line;
                        match finish(p, overrides) {
                            Ok(t) => tokens.push(t),
                            Err(reason) => problems.push(Problem {
                                line: Some(line),
                                reason,
                            }),
                        }
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_container {
        problems.push(Problem {
            line: None,
            reason: "unknown XML layout: expected a PSKC KeyContainer".into(),
        });
    } else if tokens.is_empty() && problems.is_empty() {
        problems.push(Problem {
            line: None,
            reason: "the PSKC file holds no KeyPackage".into(),
        });
    }
    if problems.is_empty() {
        Ok(tokens)
    } else {
        Err(problems)
    }
}

/// Reads what an opening tag carries: a new package, the algorithm, the digits.
fn on_open(
    e: &BytesStart,
    current: &mut Option<KeyPackage>,
    saw_container: &mut bool,
    line: usize,
) {
    match e.local_name().as_ref() {
        b"KeyContainer" => *saw_container = true,
        b"KeyPackage" => {
            *current = Some(KeyPackage {
                line,
                ..Default::default()
            })
        }
        b"Key" => {
            if let Some(p) = current.as_mut() {
                p.algorithm = attribute(e, "Algorithm");
            }
        }
        b"ResponseFormat" => {
            if let Some(p) = current.as_mut() {
                p.digits = attribute(e, "Length").and_then(|l| l.parse().ok());
            }
        }
        b"EncryptedValue" => {
            if let Some(p) = current.as_mut() {
                p.encrypted = true;
            }
        }
        _ => {}
    }
}

fn finish(p: KeyPackage, overrides: &TokenOverrides) -> Result<Token, String> {
    if p.encrypted {
        return Err("the secret is encrypted; import needs a plain-text PSKC file".into());
    }
    let serial = Serial::parse(p.serial.as_deref().unwrap_or(""))
        .map_err(|e| format!("bad SerialNo: {e}"))?;
    let b64 = p
        .secret_b64
        .ok_or_else(|| format!("token {serial} has no Secret/PlainValue"))?;
    let secret = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .map(SecretBytes::new)
        .map_err(|_| format!("token {serial}: the secret is not valid Base64"))?;
    let kind = match p.algorithm.as_deref() {
        Some(a) if a.ends_with(":totp") => OtpKind::Totp,
        Some(a) if a.ends_with(":hotp") => OtpKind::Hotp,
        other => {
            return Err(format!(
                "token {serial}: unsupported algorithm {:?}",
                other.unwrap_or("(none)")
            ))
        }
    };
    let hash = match p.suite.as_deref() {
        None => None,
        Some(s) => Some(
            s.parse::<HashAlg>()
                .map_err(|e| format!("token {serial}: {e}"))?,
        ),
    };
    let manufacturer = parse_name(
        p.manufacturer.as_deref().unwrap_or("Unknown"),
        "manufacturer",
    )?;
    let model = parse_name(p.model.as_deref().unwrap_or("Unknown"), "model")?;
    let merged = TokenOverrides {
        kind: overrides.kind.or(Some(kind)),
        hash: overrides.hash.or(hash),
        digits: overrides.digits.or(p.digits),
        time_step: overrides.time_step,
        encoding: None,
    };
    let mut token = build_token(
        serial,
        secret,
        p.time_interval.as_deref().unwrap_or(""),
        manufacturer,
        model,
        &merged,
    )?;
    token.counter = p.counter.unwrap_or(0);
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIG2: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">
  <KeyPackage>
    <DeviceInfo><Manufacturer>Manufacturer</Manufacturer><SerialNo>987654321</SerialNo></DeviceInfo>
    <CryptoModuleInfo><Id>CM_ID_001</Id></CryptoModuleInfo>
    <Key Id="12345678" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
      <Issuer>Issuer</Issuer>
      <AlgorithmParameters><ResponseFormat Length="8" Encoding="DECIMAL"/></AlgorithmParameters>
      <Data>
        <Secret><PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=</PlainValue></Secret>
        <Counter><PlainValue>0</PlainValue></Counter>
      </Data>
    </Key>
  </KeyPackage>
</KeyContainer>"#;

    #[test]
    fn reads_rfc6030_figure2() {
        let tokens = parse(FIG2, &TokenOverrides::default()).unwrap();
        assert_eq!(tokens.len(), 1);
        let t = &tokens[0];
        assert_eq!(t.serial.as_str(), "987654321");
        assert_eq!(t.secret.expose(), b"12345678901234567890");
        assert_eq!(t.kind, OtpKind::Hotp);
        assert_eq!(t.digits, 8);
    }

    #[test]
    fn refuses_encrypted_and_foreign_xml() {
        let enc = FIG2.replace(
            "<PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=</PlainValue></Secret>",
            "<EncryptedValue><CipherValue>AAAA</CipherValue></EncryptedValue></Secret>",
        );
        let e = parse(&enc, &TokenOverrides::default()).unwrap_err();
        assert!(e[0].reason.contains("encrypted"), "{e:?}");
        assert_eq!(e[0].line, Some(3));
        let e = parse("<html><body/></html>", &TokenOverrides::default()).unwrap_err();
        assert!(e[0].reason.contains("KeyContainer"), "{e:?}");
    }
}
