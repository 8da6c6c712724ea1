//! The streaming reader for Deepnet factory CSV files, on the `csv` crate: quoted fields, a
//! UTF-8 BOM, CRLF or LF and blank lines are accepted; a stray quote is an error naming its
//! line. Each pass re-reads the input, so no pass holds more than one row.

use super::factory::TokenOverrides;
use super::factory::{build_token, parse_name, Problem, SecretEncoding, ShapeCounts};
use super::factory::{changed, FactoryInput, DEEPNET_HEADER};
use super::serial_hashes::{self, serial_hash};
use crate::domain::{Serial, Token};
use crate::vault::SecretBytes;
use std::collections::{HashMap, HashSet};
use zeroize::Zeroizing;

fn problem(line: Option<usize>, reason: impl Into<String>) -> Problem {
    Problem {
        line,
        reason: reason.into(),
    }
}

/// Columns of the Deepnet layout.
const COLUMNS: usize = 5;

/// One data row: its line and its trimmed fields (the first five; a row with any other number
/// is an error whatever they hold).
struct Row<'r> {
    line: usize,
    fields: [&'r str; COLUMNS],
    /// How many fields the row has.
    columns: usize,
}

/// The records of one pass over the input, read one at a time (pull, so a pass can pause
/// between tokens and resume).
struct Records<'i> {
    csv: csv::Reader<Box<dyn std::io::Read + 'i>>,
    record: csv::ByteRecord,
    header_seen: bool,
}

const STRAY_QUOTE: &str =
    "a stray quote (\") makes this row unreadable: quote whole fields or remove it";

/// A record's field, trimmed, or why the row cannot be read.
fn field(raw: &[u8]) -> Result<&str, &'static str> {
    match std::str::from_utf8(raw).map(str::trim) {
        // Bytes, not chars: the three are ASCII, and this runs for every field of every pass.
        Ok(f) if f.bytes().any(|b| matches!(b, b'"' | b'\n' | b'\r')) => Err(STRAY_QUOTE),
        Ok(f) => Ok(f),
        Err(_) => Err("this row is not UTF-8 text"),
    }
}

impl<'i> Records<'i> {
    fn open(input: &'i FactoryInput<'_>) -> Result<Records<'i>, Problem> {
        let reader = input
            .open_text()
            .map_err(|e| problem(None, format!("cannot read the file: {e}")))?;
        // Records end at LF only; a CR before it is trimmed with the last field. (With CRLF as
        // the terminator the csv crate dates each record to the line before it.)
        let csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .buffer_capacity(64 * 1024)
            .from_reader(reader);
        Ok(Records {
            csv,
            record: csv::ByteRecord::new(),
            header_seen: false,
        })
    }

    /// Reads up to the next data row (checking the header on the way) and hands it to `each`,
    /// as a row or as the problem that makes it unreadable. `None` at the end of the input.
    fn next<R>(
        &mut self,
        each: impl FnOnce(Result<Row<'_>, Problem>) -> R,
    ) -> Result<Option<R>, Problem> {
        loop {
            match self.csv.read_byte_record(&mut self.record) {
                Ok(false) if self.header_seen => return Ok(None),
                Ok(false) => return Err(problem(None, "the file is empty")),
                Ok(true) => {}
                Err(e) => {
                    let line = e.position().map(|p| p.line() as usize);
                    return Err(problem(line, format!("the file cannot be read: {e}")));
                }
            }
            let record = &self.record;
            let line = record.position().map(|p| p.line() as usize).unwrap_or(0);
            if record.iter().all(|f| f.trim_ascii().is_empty()) {
                continue;
            }
            if !self.header_seen {
                check_header(record, line)?;
                self.header_seen = true;
                continue;
            }
            // The fields borrow the reused record: no allocation per row.
            let mut fields = [""; COLUMNS];
            let mut unreadable = None;
            for (i, raw) in record.iter().enumerate() {
                match field(raw) {
                    Ok(f) => {
                        if let Some(slot) = fields.get_mut(i) {
                            *slot = f;
                        }
                    }
                    Err(reason) => {
                        unreadable = Some(reason);
                        break;
                    }
                }
            }
            return Ok(Some(match unreadable {
                Some(r) => each(Err(problem(Some(line), r))),
                None => each(Ok(Row {
                    line,
                    fields,
                    columns: record.len(),
                })),
            }));
        }
    }
}

/// The first non-blank row must be the Deepnet header (any case).
fn check_header(record: &csv::ByteRecord, line: usize) -> Result<(), Problem> {
    let fields = record
        .iter()
        .map(field)
        .collect::<Result<Vec<&str>, &str>>()
        .map_err(|r| problem(Some(line), r))?;
    let normalized: Vec<String> = fields.iter().map(|h| h.to_ascii_lowercase()).collect();
    if normalized.join(",") != DEEPNET_HEADER {
        return Err(problem(
            Some(line),
            format!(
                "unknown column layout {:?}: expected the header \
                 \"{DEEPNET_HEADER}\" or a PSKC file",
                fields.join(",")
            ),
        ));
    }
    Ok(())
}

/// Walks every data row of `input` (see [`Records::next`]).
fn walk(
    input: &FactoryInput<'_>,
    each: &mut dyn FnMut(Result<Row<'_>, Problem>),
) -> Result<(), Problem> {
    let mut records = Records::open(input)?;
    while records.next(&mut *each)?.is_some() {}
    Ok(())
}

/// Hex when every secret looks like hex: all hex digits, and either a length Base32 never has
/// for a seed (40, 64, 128) or a digit Base32 never uses (0, 1, 8, 9). Base32 otherwise.
fn looks_hex(secret: &str) -> bool {
    secret.len().is_multiple_of(2)
        && secret.bytes().all(|b| b.is_ascii_hexdigit())
        && (matches!(secret.len(), 40 | 64 | 128)
            || secret
                .bytes()
                .any(|b| matches!(b, b'0' | b'1' | b'8' | b'9')))
}

/// A checked CSV factory file: every row is valid and every serial unique.
#[derive(Debug, Clone, Copy)]
pub(super) struct CheckedCsv {
    pub encoding: SecretEncoding,
    pub count: usize,
}

/// Checks every row (all problems, with their lines) without keeping any token: memory is one
/// row plus 8 bytes per serial for the duplicate check. Counts the tokens of each shape into
/// `shapes`.
pub(super) fn check(
    input: &FactoryInput<'_>,
    overrides: &TokenOverrides,
    shapes: &mut ShapeCounts,
) -> Result<CheckedCsv, Vec<Problem>> {
    // Auto: read the file as Base32 while noting whether every secret looks like hex; only a
    // hex file needs a second reading (as hex).
    let auto = overrides.encoding.unwrap_or(SecretEncoding::Auto) == SecretEncoding::Auto;
    let mut encoding = match overrides.encoding.unwrap_or(SecretEncoding::Auto) {
        SecretEncoding::Auto => SecretEncoding::Base32,
        chosen => chosen,
    };
    let (mut problems, mut hashes, all_hex) = read_all(input, encoding, overrides, shapes)?;
    if auto && all_hex {
        encoding = SecretEncoding::Hex;
        *shapes = ShapeCounts::default();
        (problems, hashes, _) = read_all(input, encoding, overrides, shapes)?;
    }
    let count = hashes.len();
    let repeated = serial_hashes::repeated(hashes, |h| *h);
    if !repeated.is_empty() {
        duplicates(input, encoding, overrides, &repeated, &mut problems)?;
    }
    if problems.is_empty() {
        Ok(CheckedCsv { encoding, count })
    } else {
        problems.sort_by_key(|p| p.line);
        Err(problems)
    }
}

/// One checking pass: every row's problem, the hash of every good row's serial (and its shape,
/// counted into `shapes`), and whether every secret looks like hex.
fn read_all(
    input: &FactoryInput<'_>,
    encoding: SecretEncoding,
    overrides: &TokenOverrides,
    shapes: &mut ShapeCounts,
) -> Result<(Vec<Problem>, Vec<u64>, bool), Vec<Problem>> {
    let mut problems = Vec::new();
    let mut hashes: Vec<u64> = Vec::new();
    let mut rows = 0usize;
    let mut all_hex = true;
    walk(input, &mut |row| {
        rows += 1;
        match row {
            Ok(row) => {
                let [_, secret, ..] = row.fields;
                all_hex &= looks_hex(secret);
                match parse_row(&row, encoding, overrides) {
                    Ok(token) => {
                        hashes.push(serial_hash(token.serial.as_str()));
                        shapes.add(&token);
                    }
                    Err(reason) => problems.push(problem(Some(row.line), reason)),
                }
            }
            Err(p) => {
                all_hex = false;
                problems.push(p)
            }
        }
    })
    .map_err(|p| vec![p])?;
    if rows == 0 {
        return Err(vec![problem(None, "the file has a header but no tokens")]);
    }
    Ok((problems, hashes, all_hex))
}

/// The rows whose serial appeared before, among the (few) serials whose hashes repeat.
fn duplicates(
    input: &FactoryInput<'_>,
    encoding: SecretEncoding,
    overrides: &TokenOverrides,
    repeated: &HashSet<u64>,
    problems: &mut Vec<Problem>,
) -> Result<(), Vec<Problem>> {
    let mut first_line: HashMap<String, usize> = HashMap::new();
    walk(input, &mut |row| {
        let Ok(row) = row else {
            return;
        };
        {
            let Ok(token) = parse_row(&row, encoding, overrides) else {
                return;
            };
            let serial = token.serial.as_str();
            if !repeated.contains(&serial_hash(serial)) {
                return;
            }
            match first_line.get(serial) {
                Some(first) => problems.push(problem(
                    Some(row.line),
                    format!("serial {serial} already appears on line {first}"),
                )),
                None => {
                    first_line.insert(serial.to_string(), row.line);
                }
            }
        }
    })
    .map_err(|p| vec![p])
}

/// The tokens of a checked file, in file order, one pass over the input.
pub struct CsvTokens<'i> {
    records: Records<'i>,
    checked: CheckedCsv,
    overrides: &'i TokenOverrides,
    seen: usize,
}

impl<'i> CsvTokens<'i> {
    pub(super) fn open(
        input: &'i FactoryInput<'_>,
        checked: CheckedCsv,
        overrides: &'i TokenOverrides,
    ) -> anyhow::Result<CsvTokens<'i>> {
        Ok(CsvTokens {
            records: Records::open(input).map_err(|_| changed())?,
            checked,
            overrides,
            seen: 0,
        })
    }
}

impl Iterator for CsvTokens<'_> {
    type Item = anyhow::Result<Token>;

    fn next(&mut self) -> Option<anyhow::Result<Token>> {
        let (encoding, overrides) = (self.checked.encoding, self.overrides);
        let next = self.records.next(|row| {
            row.ok()
                .and_then(|row| parse_row(&row, encoding, overrides).ok())
                .ok_or_else(changed)
        });
        match next {
            Ok(Some(token)) => {
                self.seen += 1;
                Some(token)
            }
            Ok(None) if self.seen == self.checked.count => None,
            Ok(None) | Err(_) => {
                // Report once, then end.
                self.seen = self.checked.count;
                self.checked.count = usize::MAX;
                Some(Err(changed()))
            }
        }
    }
}

fn parse_row(
    row: &Row<'_>,
    encoding: SecretEncoding,
    overrides: &TokenOverrides,
) -> Result<Token, String> {
    if row.columns != COLUMNS {
        return Err(format!("expected 5 columns, found {}", row.columns));
    }
    let [serial, secret, interval, manufacturer, model] = row.fields;
    let serial = Serial::parse(serial).map_err(|e| format!("bad serial: {e}"))?;
    let secret = decode_secret(secret, encoding)?;
    let manufacturer = parse_name(manufacturer, "manufacturer")?;
    let model = parse_name(model, "model")?;
    build_token(serial, secret, interval, manufacturer, model, overrides)
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
            // Upper-cased into a buffer wiped on drop: it is the seed, in Base32. Seeds of up to
            // 64 bytes (103 characters) fit on the stack; longer text is refused after decoding.
            let text = text.trim_end_matches('=').as_bytes();
            let mut stack = Zeroizing::new([0u8; 128]);
            let mut heap = Zeroizing::new(Vec::new());
            let upper: &mut [u8] = match stack.get_mut(..text.len()) {
                Some(room) => room,
                None => {
                    heap.resize(text.len(), 0);
                    &mut heap
                }
            };
            for (u, c) in upper.iter_mut().zip(text) {
                *u = c.to_ascii_uppercase();
            }
            data_encoding::BASE32_NOPAD
                .decode(upper)
                .map(SecretBytes::new)
                .map_err(|_| {
                    "the secret key is not valid Base32 (letters A-Z and digits 2-7)".to_string()
                })
        }
    }
}
