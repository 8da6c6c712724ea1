//! Readers for the factory token files the vendor receives: Deepnet CSV (Base32 or hex secrets)
//! and plain PSKC. Every problem is collected with its line, so one run lists them all; both
//! kinds are checked, then streamed ([`FactoryFile`]), never held whole.

use super::{csv_file, pskc_plain};
use crate::domain::{model_defaults, HashAlg, OtpKind, Serial, Token};
use crate::formats::TokenShape;
use crate::vault::SecretBytes;
use std::fmt;
use std::io::{self, Read};
use std::path::Path;

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

/// Why a token pass stopped on a file its check pass accepted: the file changed in between
/// (both readers re-read the input for each pass instead of holding its tokens).
pub(super) fn changed() -> anyhow::Error {
    anyhow::anyhow!("the token file changed while it was read")
}

/// Where a factory file's bytes come from. A file on disk is opened again for each pass, so
/// its tokens are never all in memory.
#[derive(Debug, Clone, Copy)]
pub enum FactoryInput<'a> {
    Bytes(&'a [u8]),
    Path(&'a Path),
}

/// Bytes looked at before deciding what kind of file this is.
const SNIFF: usize = 8 * 1024;

impl FactoryInput<'_> {
    fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        Ok(match self {
            FactoryInput::Bytes(b) => Box::new(*b),
            FactoryInput::Path(p) => Box::new(std::fs::File::open(p)?),
        })
    }

    /// The text without its UTF-8 byte order mark.
    pub(super) fn open_text(&self) -> io::Result<Box<dyn Read + '_>> {
        let mut r = self.open()?;
        let mut head = Vec::with_capacity(3);
        (&mut r).take(3).read_to_end(&mut head)?;
        if head == b"\xef\xbb\xbf" {
            head.clear();
        }
        Ok(Box::new(io::Cursor::new(head).chain(r)))
    }

    fn head(&self) -> io::Result<Vec<u8>> {
        let mut head = Vec::with_capacity(SNIFF);
        self.open_text()?
            .take(SNIFF as u64)
            .read_to_end(&mut head)?;
        Ok(head)
    }
}

/// How many tokens of a checked file share each shape (everything but the serial and the
/// seed), in order of first appearance. That is all a file planner needs, so the check pass
/// gathers it and planning takes no pass of its own. Factory files hold one model or a few; a
/// file with more than [`ShapeCounts::MAX`] shapes keeps none (memory stays bounded) and is
/// walked instead.
#[derive(Debug, Clone, Default)]
pub struct ShapeCounts {
    /// Each shape (with the serial of its first token) and its number of tokens.
    counts: Vec<(TokenShape, u64)>,
    overflowed: bool,
}

impl ShapeCounts {
    pub const MAX: usize = 16;

    /// Counts one more token.
    pub(super) fn add(&mut self, t: &Token) {
        if self.overflowed {
            return;
        }
        // Files are mostly one shape: the last one seen is the likely match.
        if let Some((_, n)) = self.counts.iter_mut().rev().find(|(s, _)| alike(s, t)) {
            *n += 1;
        } else if self.counts.len() < Self::MAX {
            self.counts.push((TokenShape::from(t), 1));
        } else {
            self.overflowed = true;
            self.counts = Vec::new();
        }
    }

    /// Each shape with its number of tokens; `None` when the file had too many shapes.
    pub fn get(&self) -> Option<&[(TokenShape, u64)]> {
        (!self.overflowed).then_some(self.counts.as_slice())
    }
}

/// Whether `t` has shape `s` but for its serial.
fn alike(s: &TokenShape, t: &Token) -> bool {
    s.kind == t.kind
        && s.hash == t.hash
        && s.digits == t.digits
        && s.time_step == t.time_step
        && s.counter == t.counter
        && s.secret_len == t.secret.len()
        && s.manufacturer == t.manufacturer
        && s.model == t.model
}

/// What kind of factory file, once checked.
enum Body {
    Csv(csv_file::CheckedCsv),
    Pskc(pskc_plain::CheckedPskc),
}

/// A factory file whose every token was checked: all or nothing. Its tokens can be streamed
/// as often as needed with [`FactoryFile::for_each`].
pub struct FactoryFile<'a> {
    input: FactoryInput<'a>,
    overrides: TokenOverrides,
    body: Body,
    shapes: ShapeCounts,
}

impl<'a> FactoryFile<'a> {
    /// Checks every token of `input`; on any problem returns them all, with their lines.
    pub fn check(
        input: FactoryInput<'a>,
        overrides: &TokenOverrides,
    ) -> Result<FactoryFile<'a>, Vec<Problem>> {
        let unreadable = |e: io::Error| vec![problem(None, format!("cannot read the file: {e}"))];
        let head = input.head().map_err(unreadable)?;
        if head.iter().all(|b| b.is_ascii_whitespace()) && head.len() < SNIFF {
            return Err(vec![problem(None, "the file is empty")]);
        }
        if let Some(pos) = head.iter().position(|&b| b == 0) {
            return Err(vec![problem(
                None,
                format!("the file is not text: binary data at byte {pos}"),
            )]);
        }
        if let Err(e) = std::str::from_utf8(&head) {
            // A character cut by the sniff window is fine; a bad byte is not.
            if e.error_len().is_some() || head.len() < SNIFF {
                return Err(vec![problem(
                    None,
                    format!(
                        "the file is not UTF-8 text: invalid byte at position {}",
                        e.valid_up_to()
                    ),
                )]);
            }
        }
        let is_xml = head
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b == b'<');
        let mut shapes = ShapeCounts::default();
        let body = if is_xml {
            Body::Pskc(super::pskc_plain::check(&input, overrides, &mut shapes)?)
        } else {
            Body::Csv(csv_file::check(&input, overrides, &mut shapes)?)
        };
        Ok(FactoryFile {
            input,
            overrides: overrides.clone(),
            body,
            shapes,
        })
    }

    /// How many tokens share each shape, as the check pass counted them.
    pub fn shape_counts(&self) -> &ShapeCounts {
        &self.shapes
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        match &self.body {
            Body::Csv(c) => c.count,
            Body::Pskc(p) => p.count,
        }
    }

    /// Whether the file has no tokens (never true for a checked file).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Streams every token, in file order.
    pub fn for_each(
        &self,
        each: &mut dyn FnMut(Token) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        self.tokens()?.try_for_each(|t| each(t?))
    }

    /// One pass over the tokens, in file order, pulled one at a time. A file changed since it
    /// was checked yields an error rather than different tokens.
    pub fn tokens(&self) -> anyhow::Result<FactoryTokens<'_>> {
        Ok(match &self.body {
            Body::Csv(c) => {
                FactoryTokens::Csv(csv_file::CsvTokens::open(&self.input, *c, &self.overrides)?)
            }
            Body::Pskc(p) => FactoryTokens::Pskc(pskc_plain::PskcTokens::open(
                &self.input,
                *p,
                &self.overrides,
            )?),
        })
    }
}

/// One pass over a checked factory file's tokens.
pub enum FactoryTokens<'f> {
    Csv(csv_file::CsvTokens<'f>),
    Pskc(pskc_plain::PskcTokens<'f>),
}

impl Iterator for FactoryTokens<'_> {
    type Item = anyhow::Result<Token>;

    fn next(&mut self) -> Option<anyhow::Result<Token>> {
        match self {
            FactoryTokens::Csv(c) => c.next(),
            FactoryTokens::Pskc(p) => p.next(),
        }
    }
}

/// Parses a factory file's bytes into tokens. All or nothing: any problem means no tokens.
pub fn parse(bytes: &[u8], overrides: &TokenOverrides) -> Result<Vec<Token>, Vec<Problem>> {
    let file = FactoryFile::check(FactoryInput::Bytes(bytes), overrides)?;
    let mut tokens = Vec::with_capacity(file.len());
    file.for_each(&mut |t| {
        tokens.push(t);
        Ok(())
    })
    .map_err(|e| vec![problem(None, e.to_string())])?;
    Ok(tokens)
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

/// Manufacturer and model names: printable, no delimiters, at most 64 characters.
pub(super) fn parse_name(text: &str, what: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err(format!("the {what} is empty"));
    }
    if text.len() > 64 {
        return Err(format!("the {what} is longer than 64 characters"));
    }
    // Bytes, not chars: every allowed character is ASCII, so any byte of a multi-byte
    // character is refused as its character would be.
    if !text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" ./_-()".contains(&b))
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

    #[test]
    fn accepts_quotes_bom_crlf_lf_and_blank_lines() {
        let text = "\u{feff}serial number,secret key,time interval,manufacturer,model\n\
            \"10001001\",\"234567ABCDEFGHIJKLMNOPQRSTUVWXYZ\",60,\"Deepnet Security\",SafeID/Classic\r\n\
            \n\
            10001002, ZYXWVUTSRQPONMLKJIHGFEDCBA765432 ,60,Deepnet Security,SafeID/Classic\n\
            \r\n   \n\n";
        let tokens = parse(text.as_bytes(), &TokenOverrides::default()).unwrap();
        let serials: Vec<&str> = tokens.iter().map(|t| t.serial.as_str()).collect();
        assert_eq!(serials, ["10001001", "10001002"]);
        assert_eq!(tokens[0].manufacturer, "Deepnet Security");
    }

    #[test]
    fn lines_are_right_with_crlf_too() {
        let text = format!(
            "{DEEPNET_HEADER}\r\n\
             10001001,234567ABCDEFGHIJKLMNOPQRSTUVWXYZ,60,Deepnet Security,SafeID/Classic\r\n\
             \r\n\
             10001002,not-base32!,60,Deepnet Security,SafeID/Classic\r\n"
        );
        let e = parse(text.as_bytes(), &TokenOverrides::default()).unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].to_string().starts_with("line 4: "), "{e:?}");
    }

    #[test]
    fn a_stray_quote_names_its_line() {
        let text = format!(
            "{DEEPNET_HEADER}\n\
             10001001,234567ABCDEFGHIJKLMNOPQRSTUVWXYZ,60,Deepnet Security,SafeID/Classic\n\
             10001002,ZYXWVUTSRQPONMLKJIH\"GFEDCBA765432,60,Deepnet Security,SafeID/Classic\n\
             10001003,234567ABCDEFGHIJKLMNOPQRSTUVWXYZ,60,Deepnet Security,SafeID/Classic\n"
        );
        let e = parse(text.as_bytes(), &TokenOverrides::default()).unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].to_string().starts_with("line 3: a stray quote"),
            "{e:?}"
        );
        // An opening quote never closed swallows the rest: its line is named.
        let text = format!(
            "{DEEPNET_HEADER}\n\
             10001001,234567ABCDEFGHIJKLMNOPQRSTUVWXYZ,60,Deepnet Security,SafeID/Classic\n\
             \"10001002,ZYXWVUTSRQPONMLKJIHGFEDCBA765432,60,Deepnet Security,SafeID/Classic\n\
             10001003,234567ABCDEFGHIJKLMNOPQRSTUVWXYZ,60,Deepnet Security,SafeID/Classic\n"
        );
        let e = parse(text.as_bytes(), &TokenOverrides::default()).unwrap_err();
        assert!(e[0].to_string().starts_with("line 3: "), "{e:?}");
    }

    #[test]
    fn the_check_counts_the_tokens_of_each_shape() {
        let text = format!(
            "{DEEPNET_HEADER}\n\
             1,234567ABCDEFGHIJKLMNOPQRSTUVWXYZ,60,Deepnet Security,SafeID/Classic\n\
             2,20,0,Deepnet Security,SafeID/Eco\n\
             3,ZYXWVUTSRQPONMLKJIHGFEDCBA765432,60,Deepnet Security,SafeID/Classic\n"
        )
        .replace(",20,", ",GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,");
        let file =
            FactoryFile::check(FactoryInput::Bytes(text.as_bytes()), &Default::default()).unwrap();
        let counts: Vec<(&str, OtpKind, usize, u64)> = file
            .shape_counts()
            .get()
            .unwrap()
            .iter()
            .map(|(s, n)| (s.model.as_str(), s.kind, s.secret_len, *n))
            .collect();
        assert_eq!(
            counts,
            [
                ("SafeID/Classic", OtpKind::Totp, 20, 2),
                ("SafeID/Eco", OtpKind::Hotp, 30, 1)
            ]
        );

        // A hex file is read as Base32 first: only the hex reading's shapes are kept.
        let hex = format!(
            "{DEEPNET_HEADER}\n\
             1,3132333435363738393031323334353637383930,60,Deepnet Security,SafeID/Classic\n"
        );
        let file =
            FactoryFile::check(FactoryInput::Bytes(hex.as_bytes()), &Default::default()).unwrap();
        let counts = file.shape_counts().get().unwrap();
        assert_eq!(
            (counts.len(), counts[0].0.secret_len, counts[0].1),
            (1, 20, 1)
        );

        // More shapes than are worth counting: none are kept, and planning walks the file.
        let mut many = format!("{DEEPNET_HEADER}\n");
        for i in 0..=ShapeCounts::MAX {
            many.push_str(&format!(
                "{i},234567ABCDEFGHIJKLMNOPQRSTUVWXYZ,60,Deepnet Security,Model {i}\n"
            ));
        }
        let file =
            FactoryFile::check(FactoryInput::Bytes(many.as_bytes()), &Default::default()).unwrap();
        assert!(file.shape_counts().get().is_none());
        assert_eq!(file.len(), ShapeCounts::MAX + 1);
    }

    #[test]
    fn streams_a_file_from_disk_twice_in_the_same_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, GOOD).unwrap();
        let file =
            FactoryFile::check(FactoryInput::Path(&path), &TokenOverrides::default()).unwrap();
        assert_eq!(file.len(), 2);
        for _ in 0..2 {
            let mut serials = Vec::new();
            file.for_each(&mut |t| {
                serials.push(t.serial.as_str().to_string());
                Ok(())
            })
            .unwrap();
            assert_eq!(serials, ["10001001", "10001002"]);
        }
        // A file that changes between check and stream is an error, not a silent difference.
        std::fs::write(&path, format!("{DEEPNET_HEADER}\n")).unwrap();
        assert!(file.for_each(&mut |_| Ok(())).is_err());
    }
}
