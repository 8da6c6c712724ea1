//! The streaming reader for plain-text PSKC (RFC 6030) factory files, as Feitian and others
//! ship them. A check pass reads every `KeyPackage` (every problem, with its line; all or
//! nothing); each later pass re-reads the input and hands the tokens over one at a time, so no
//! pass holds more than one package.

use super::factory::TokenOverrides;
use super::factory::{build_token, changed, parse_name, FactoryInput, Problem, ShapeCounts};
use super::serial_hashes::{self, serial_hash};
use crate::domain::{HashAlg, OtpKind, Serial, Token};
use crate::vault::SecretBytes;
use base64::Engine;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use std::collections::{HashMap, HashSet};
use std::io::{BufReader, Read};

fn problem(line: Option<usize>, reason: impl Into<String>) -> Problem {
    Problem {
        line,
        reason: reason.into(),
    }
}

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

fn attribute(e: &BytesStart, name: &str) -> Option<String> {
    e.try_get_attribute(name)
        .ok()
        .flatten()
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// What a pass yields for each `KeyPackage`: the line it starts on, and its token or the
/// reason it is not one.
type Package = (usize, Result<Token, String>);

/// One pass over the input, pulling one `KeyPackage` at a time.
struct Packages<'i> {
    reader: Reader<BufReader<Box<dyn Read + 'i>>>,
    buf: Vec<u8>,
    /// Local names of the open elements.
    path: Vec<Vec<u8>>,
    /// The line the reader is on: text is not trimmed, so every line break is in some event.
    line: usize,
    saw_container: bool,
}

impl<'i> Packages<'i> {
    fn open(input: &'i FactoryInput<'_>) -> Result<Packages<'i>, Problem> {
        let text = input
            .open_text()
            .map_err(|e| problem(None, format!("cannot read the file: {e}")))?;
        Ok(Packages {
            reader: Reader::from_reader(BufReader::with_capacity(64 * 1024, text)),
            buf: Vec::with_capacity(1024),
            path: Vec::new(),
            line: 1,
            saw_container: false,
        })
    }

    /// The next `KeyPackage`, `None` at the end of the input; an error when the XML is not
    /// well-formed or not UTF-8 (nothing after it can be read).
    fn next(&mut self, overrides: &TokenOverrides) -> Result<Option<Package>, Problem> {
        let mut current: Option<KeyPackage> = None;
        loop {
            self.buf.clear();
            let event = match self.reader.read_event_into(&mut self.buf) {
                Ok(e) => e,
                Err(e) => {
                    return Err(problem(
                        Some(self.line),
                        format!("not well-formed XML: {e}"),
                    ))
                }
            };
            // After a tag is read the reader is at its end, which is on the tag's own line.
            let raw: &[u8] = match &event {
                Event::Start(e) | Event::Empty(e) => e,
                Event::End(e) => e,
                Event::Text(e) => e,
                Event::CData(e) => e,
                Event::Comment(e) | Event::DocType(e) => e,
                Event::Decl(e) => e,
                Event::PI(e) => e,
                Event::Eof => b"",
            };
            if std::str::from_utf8(raw).is_err() {
                return Err(problem(
                    None,
                    "the file is not UTF-8 text or cannot be read: \
                     stream did not contain valid UTF-8",
                ));
            }
            self.line += raw.iter().filter(|&&b| b == b'\n').count();
            match event {
                Event::Start(e) => {
                    on_open(&e, &mut current, &mut self.saw_container, self.line);
                    self.path.push(e.local_name().as_ref().to_vec());
                }
                Event::Empty(e) => on_open(&e, &mut current, &mut self.saw_container, self.line),
                Event::Text(t) => {
                    let value = t
                        .unescape()
                        .map(|v| v.trim().to_string())
                        .unwrap_or_default();
                    if let (Some(p), false) = (current.as_mut(), value.is_empty()) {
                        on_text(p, &self.path, value);
                    }
                }
                Event::End(e) => {
                    self.path.pop();
                    if e.local_name().as_ref() == b"KeyPackage" {
                        if let Some(p) = current.take() {
                            let line = p.line;
                            return Ok(Some((line, finish(p, overrides))));
                        }
                    }
                }
                Event::Eof => return Ok(None),
                _ => {}
            }
        }
    }
}

/// Keeps the text of the elements a token needs (the last two names of the path say which).
fn on_text(p: &mut KeyPackage, path: &[Vec<u8>], value: String) {
    let mut tail = path.iter().rev().map(Vec::as_slice);
    match (tail.next(), tail.next()) {
        (Some(b"Manufacturer"), Some(b"DeviceInfo")) => p.manufacturer = Some(value),
        (Some(b"SerialNo"), Some(b"DeviceInfo")) => p.serial = Some(value),
        (Some(b"Model"), Some(b"DeviceInfo")) => p.model = Some(value),
        (Some(b"Suite"), Some(b"AlgorithmParameters")) => p.suite = Some(value),
        (Some(b"PlainValue"), Some(b"Secret")) => p.secret_b64 = Some(value),
        (Some(b"PlainValue"), Some(b"Counter")) => p.counter = value.parse().ok(),
        (Some(b"PlainValue"), Some(b"TimeInterval")) => p.time_interval = Some(value),
        _ => {}
    }
}

/// A checked PSKC factory file: every package is a valid token and every serial unique.
#[derive(Debug, Clone, Copy)]
pub(super) struct CheckedPskc {
    pub count: usize,
}

/// Checks every `KeyPackage` without keeping any token: memory is one package plus 8 bytes per
/// serial for the duplicate check. Problems name the line where their package starts. Counts
/// the tokens of each shape into `shapes`.
pub(super) fn check(
    input: &FactoryInput<'_>,
    overrides: &TokenOverrides,
    shapes: &mut ShapeCounts,
) -> Result<CheckedPskc, Vec<Problem>> {
    let mut packages = Packages::open(input).map_err(|p| vec![p])?;
    let mut problems = Vec::new();
    let mut hashes: Vec<u64> = Vec::new();
    loop {
        match packages.next(overrides) {
            Ok(Some((_, Ok(token)))) => {
                hashes.push(serial_hash(token.serial.as_str()));
                shapes.add(&token);
            }
            Ok(Some((line, Err(reason)))) => problems.push(problem(Some(line), reason)),
            Ok(None) => break,
            Err(p) => {
                problems.push(p);
                return Err(problems);
            }
        }
    }
    if !packages.saw_container {
        problems.push(problem(
            None,
            "unknown XML layout: expected a PSKC KeyContainer",
        ));
    } else if hashes.is_empty() && problems.is_empty() {
        problems.push(problem(None, "the PSKC file holds no KeyPackage"));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let count = hashes.len();
    let repeated = serial_hashes::repeated(hashes, |h| *h);
    if !repeated.is_empty() {
        duplicates(input, overrides, &repeated)?;
    }
    Ok(CheckedPskc { count })
}

/// Checks and reads a whole PSKC text held in memory (the fuzz target): the same passes as a
/// file, all or nothing.
pub(crate) fn parse(text: &str, overrides: &TokenOverrides) -> Result<Vec<Token>, Vec<Problem>> {
    let input = FactoryInput::Bytes(text.as_bytes());
    let checked = check(&input, overrides, &mut ShapeCounts::default())?;
    let unreadable = |e: anyhow::Error| vec![problem(None, e.to_string())];
    let tokens = PskcTokens::open(&input, checked, overrides)
        .map_err(unreadable)?
        .collect::<anyhow::Result<Vec<Token>>>();
    tokens.map_err(unreadable)
}

/// Names every repeated serial among the (few) whose hashes repeat, with the ordinals of the
/// token it repeats and of itself.
fn duplicates(
    input: &FactoryInput<'_>,
    overrides: &TokenOverrides,
    repeated: &HashSet<u64>,
) -> Result<(), Vec<Problem>> {
    let mut packages = Packages::open(input).map_err(|p| vec![p])?;
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut problems = Vec::new();
    let mut ordinal = 0usize;
    while let Some((_, token)) = packages.next(overrides).map_err(|p| vec![p])? {
        let Ok(token) = token else {
            continue;
        };
        let serial = token.serial.as_str();
        if repeated.contains(&serial_hash(serial)) {
            if let Some(first) = seen.insert(serial.to_string(), ordinal) {
                problems.push(problem(
                    None,
                    format!(
                        "serial {serial} appears twice (tokens {} and {})",
                        first + 1,
                        ordinal + 1
                    ),
                ));
            }
        }
        ordinal += 1;
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// The tokens of a checked file, in file order, one pass over the input.
pub struct PskcTokens<'i> {
    packages: Packages<'i>,
    checked: CheckedPskc,
    overrides: &'i TokenOverrides,
    seen: usize,
}

impl<'i> PskcTokens<'i> {
    pub(super) fn open(
        input: &'i FactoryInput<'_>,
        checked: CheckedPskc,
        overrides: &'i TokenOverrides,
    ) -> anyhow::Result<PskcTokens<'i>> {
        Ok(PskcTokens {
            packages: Packages::open(input).map_err(|_| changed())?,
            checked,
            overrides,
            seen: 0,
        })
    }
}

impl Iterator for PskcTokens<'_> {
    type Item = anyhow::Result<Token>;

    fn next(&mut self) -> Option<anyhow::Result<Token>> {
        if self.checked.count == usize::MAX {
            return None;
        }
        match self.packages.next(self.overrides) {
            Ok(Some((_, Ok(token)))) if self.seen < self.checked.count => {
                self.seen += 1;
                Some(Ok(token))
            }
            Ok(None) if self.seen == self.checked.count => None,
            _ => {
                // Report once, then end.
                self.checked.count = usize::MAX;
                Some(Err(changed()))
            }
        }
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
    use crate::import::{FactoryFile, FactoryInput};

    fn parse(text: &str, overrides: &TokenOverrides) -> Result<Vec<Token>, Vec<Problem>> {
        super::super::factory::parse(text.as_bytes(), overrides)
    }

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

    /// A container of `n` TOTP packages (serials from 30000000, one package every 13 lines
    /// from line 3); `bad` packages get a secret that is not Base64.
    fn container(n: usize, bad: &[usize]) -> String {
        let mut text = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <KeyContainer Version=\"1.0\" xmlns=\"urn:ietf:params:xml:ns:keyprov:pskc\">\n",
        );
        for i in 0..n {
            let secret = if bad.contains(&i) {
                "not base64!"
            } else {
                "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA="
            };
            text.push_str(&format!(
                "  <KeyPackage>\n    <DeviceInfo>\n      \
                 <Manufacturer>Feitian</Manufacturer>\n      <SerialNo>{}</SerialNo>\n    \
                 </DeviceInfo>\n    \
                 <Key Id=\"{i}\" Algorithm=\"urn:ietf:params:xml:ns:keyprov:pskc:totp\">\n      \
                 <AlgorithmParameters><ResponseFormat Length=\"6\" Encoding=\"DECIMAL\"/>\
                 </AlgorithmParameters>\n      <Data>\n        \
                 <Secret><PlainValue>{secret}</PlainValue></Secret>\n        \
                 <TimeInterval><PlainValue>30</PlainValue></TimeInterval>\n      \
                 </Data>\n    </Key>\n  \
                 </KeyPackage>\n",
                30_000_000 + i
            ));
        }
        text.push_str("</KeyContainer>\n");
        text
    }

    #[test]
    fn streams_a_large_file_from_disk_in_order_and_lists_every_problem_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.xml");
        std::fs::write(&path, container(20_000, &[])).unwrap();
        let o = TokenOverrides::default();
        let file = FactoryFile::check(FactoryInput::Path(&path), &o).unwrap();
        assert_eq!(file.len(), 20_000);
        let mut next = 30_000_000u32;
        file.for_each(&mut |t| {
            assert_eq!(t.serial.as_str(), next.to_string());
            assert_eq!(t.secret.expose(), b"12345678901234567890");
            assert_eq!(t.time_step, 30);
            next += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(next, 30_020_000);

        std::fs::write(&path, container(20_000, &[0, 12_345])).unwrap();
        let Err(e) = FactoryFile::check(FactoryInput::Path(&path), &o) else {
            panic!("bad secrets accepted");
        };
        let text: Vec<String> = e.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            text,
            [
                "line 3: token 30000000: the secret is not valid Base64",
                "line 160488: token 30012345: the secret is not valid Base64",
            ]
        );
    }

    #[test]
    fn duplicates_broken_xml_and_changed_files_are_named() {
        let o = TokenOverrides::default();
        let twice = container(3, &[]).replace("30000002", "30000000");
        let e = parse(&twice, &o).unwrap_err();
        assert_eq!(
            e[0].to_string(),
            "serial 30000000 appears twice (tokens 1 and 3)"
        );
        let broken = container(2, &[]).replace("</Model>", "").replace(
            "<SerialNo>30000001</SerialNo>\n    </DeviceInfo>",
            "<SerialNo>30000001</SerialNo>\n    </Devicelnfo>",
        );
        let e = parse(&broken, &o).unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].line, Some(20), "{e:?}");
        assert!(e[0].reason.starts_with("not well-formed XML: "), "{e:?}");
        let e = parse(&container(0, &[]), &o).unwrap_err();
        assert_eq!(e[0].reason, "the PSKC file holds no KeyPackage");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.xml");
        std::fs::write(&path, container(3, &[])).unwrap();
        let file = FactoryFile::check(FactoryInput::Path(&path), &o).unwrap();
        std::fs::write(&path, container(2, &[])).unwrap();
        let results: Vec<bool> = file.tokens().unwrap().map(|t| t.is_ok()).collect();
        assert_eq!(results, [true, true, false]);
    }
}
