//! Properties (proptest) over the readers and writers of token files: what a CSV writer writes
//! for arbitrary valid tokens, the factory reader accepts with the same seeds; every accepted
//! token set goes through every format writer that takes it and reads back where we have a
//! reader; the readers never panic on arbitrary bytes; the serial and PSK normalisers are
//! idempotent. Case counts are small so the whole set runs in seconds in a debug build.

use proptest::prelude::*;
use seedport::domain::{OtpKind, Serial, Token, TokenContext};
use seedport::formats::{CustomCsvSpec, FormatId, FormatOptions, TokenShape};
use seedport::import::{factory, TokenOverrides};
use seedport::vault::{SecretBytes, SecretString};

/// One factory CSV row as a generator makes it.
#[derive(Debug, Clone)]
struct Row {
    serial: String,
    seed: Vec<u8>,
    model: &'static str,
    interval: &'static str,
    manufacturer: String,
}

/// Known models with an interval they accept, and a model the table does not know.
const MODELS: [(&str, &str); 5] = [
    ("SafeID/Enterprise", "30"),
    ("SafeID/Classic", "60"),
    ("SafeID/Mini", ""),
    ("SafeID/Eco", "0"),
    ("Acme Fob 2", "30"),
];

fn row() -> impl Strategy<Value = Row> {
    (
        "[A-Za-z0-9][A-Za-z0-9-]{0,23}",
        proptest::collection::vec(any::<u8>(), 16..=64),
        0..MODELS.len(),
        "[A-Za-z0-9]([A-Za-z0-9 ./_()-]{0,20}[A-Za-z0-9])?",
    )
        .prop_map(|(serial, seed, m, manufacturer)| Row {
            serial,
            seed,
            model: MODELS[m].0,
            interval: MODELS[m].1,
            manufacturer,
        })
}

/// 1 to 12 rows with distinct serials.
fn rows() -> impl Strategy<Value = Vec<Row>> {
    proptest::collection::vec(row(), 1..12).prop_map(|mut rows| {
        let mut seen = std::collections::HashSet::new();
        rows.retain(|r| seen.insert(r.serial.clone()));
        rows
    })
}

/// How the CSV is laid out on disk.
#[derive(Debug, Clone)]
struct Layout {
    quote: u8,
    crlf: bool,
    bom: bool,
    hex: Option<bool>,
}

fn layout() -> impl Strategy<Value = Layout> {
    (
        0u8..3,
        any::<bool>(),
        any::<bool>(),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(quote, crlf, bom, hex)| Layout {
            quote,
            crlf,
            bom,
            hex,
        })
}

/// The rows as the csv crate writes them: Base32 (`hex: None`) or hex in either case.
fn write_csv(rows: &[Row], layout: &Layout) -> Vec<u8> {
    let quote = match layout.quote {
        0 => csv::QuoteStyle::Necessary,
        1 => csv::QuoteStyle::Always,
        _ => csv::QuoteStyle::NonNumeric,
    };
    let terminator = if layout.crlf {
        csv::Terminator::CRLF
    } else {
        csv::Terminator::Any(b'\n')
    };
    let mut out = Vec::new();
    if layout.bom {
        out.extend_from_slice(b"\xef\xbb\xbf");
    }
    let mut w = csv::WriterBuilder::new()
        .quote_style(quote)
        .terminator(terminator)
        .from_writer(&mut out);
    w.write_record(factory::DEEPNET_HEADER.split(',')).unwrap();
    for r in rows {
        let secret = match layout.hex {
            None => data_encoding::BASE32_NOPAD.encode(&r.seed),
            Some(true) => hex::encode_upper(&r.seed),
            Some(false) => hex::encode(&r.seed),
        };
        w.write_record([
            r.serial.as_str(),
            &secret,
            r.interval,
            &r.manufacturer,
            r.model,
        ])
        .unwrap();
    }
    w.flush().unwrap();
    drop(w);
    out
}

fn context() -> TokenContext {
    TokenContext {
        po_number: "PO-7".into(),
        invoice_number: "INV-7".into(),
        shipment_number: "SHP-7".into(),
    }
}

/// One file of `id` holding `tokens`, through the format's checked writer.
fn write_file(id: FormatId, options: &FormatOptions, tokens: &[Token]) -> Vec<u8> {
    let format = seedport::formats::get(id);
    let mut rng = rand::rngs::OsRng;
    let mut writer = format.open(options, &mut rng).unwrap();
    let mut out = Vec::new();
    writer.begin(&mut out).unwrap();
    for t in tokens {
        writer.write_token(&mut out, t, &context()).unwrap();
    }
    writer.finish(&mut out).unwrap();
    out
}

fn options() -> FormatOptions {
    FormatOptions {
        pskc_key: Some(SecretBytes::new(vec![0x5a; 16])),
        pskc_passphrase: Some(SecretString::new("a passphrase of some length".into())),
        // The least the format allows: the property is about the file, not the key stretching.
        pbkdf2_iterations: 1_000,
        custom_csv: Some(
            CustomCsvSpec::from_json(
                r#"{"columns":[{"label":"Serial","value":{"property":"serial"}},
                {"label":"Seed","value":{"property":"secret"}},{"label":"Kind","value":{"property":"kind"}}],
                "header":true,"secret_encoding":"hex","delimiter":"semicolon"}"#,
            )
            .unwrap(),
        ),
        ..FormatOptions::default()
    }
}

/// Same serials, seeds, kind, digits and step, in the same order.
fn assert_same(what: &str, got: &[Token], want: &[Token]) {
    assert_eq!(got.len(), want.len(), "{what}: token count");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.serial, w.serial, "{what}");
        assert_eq!(
            g.secret.expose(),
            w.secret.expose(),
            "{what}: seed of {}",
            w.serial
        );
        assert_eq!(g.kind, w.kind, "{what}: kind of {}", w.serial);
        assert_eq!(g.digits, w.digits, "{what}: digits of {}", w.serial);
        assert_eq!(g.time_step, w.time_step, "{what}: step of {}", w.serial);
    }
}

/// Every format whose rules take all the tokens writes them (one file per group, as the
/// pipeline does); where we have a reader it reads them back; every file names every serial,
/// and every file that is not encrypted holds every seed in some encoding.
fn through_every_writer(tokens: &[Token]) -> usize {
    let options = options();
    let mut taken = 0;
    for id in FormatId::ALL {
        let format = seedport::formats::get(id);
        let shapes: Vec<TokenShape> = tokens.iter().map(TokenShape::from).collect();
        if format.check(&mut shapes.iter().cloned()).is_err() {
            assert!(
                !matches!(id, FormatId::PskcPlain | FormatId::CustomCsv),
                "{id:?} refused tokens it carries"
            );
            continue;
        }
        taken += 1;
        let mut groups: Vec<(Option<String>, Vec<Token>)> = Vec::new();
        for (t, s) in tokens.iter().zip(&shapes) {
            let g = format.file_group(s);
            match groups.iter_mut().find(|(k, _)| *k == g) {
                Some((_, v)) => v.push(t.clone()),
                None => groups.push((g, vec![t.clone()])),
            }
        }
        for (_, group) in groups {
            let file = write_file(id, &options, &group);
            let text = String::from_utf8(file.clone()).unwrap();
            match id {
                FormatId::PskcPlain => {
                    let back = factory::parse(&file, &TokenOverrides::default()).unwrap();
                    assert_same("pskc-plain read back", &back, &group);
                }
                FormatId::EntraCsv => {
                    let (_, rows) = seedport::assign::parse_token_file("entra.csv", &text).unwrap();
                    assert_eq!(rows.len(), group.len());
                    for (r, t) in rows.iter().zip(&group) {
                        assert_eq!(r.token.serial, t.serial);
                        let seed = data_encoding::BASE32_NOPAD
                            .decode(r.token.secret.expose().as_bytes())
                            .unwrap();
                        assert_eq!(seed, t.secret.expose(), "entra-csv seed of {}", t.serial);
                    }
                }
                _ => {}
            }
            for t in &group {
                assert!(text.contains(t.serial.as_str()), "{id:?} lost {}", t.serial);
                if !matches!(id, FormatId::PskcPsk | FormatId::PskcPassphrase) {
                    let seed = t.secret.expose();
                    let forms = [
                        data_encoding::BASE32_NOPAD.encode(seed),
                        hex::encode_upper(seed),
                        hex::encode(seed),
                        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, seed),
                    ];
                    assert!(
                        forms.iter().any(|f| text.contains(f.as_str())),
                        "{id:?} does not hold the seed of {}",
                        t.serial
                    );
                }
            }
        }
    }
    taken
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn a_factory_csv_any_csv_writer_writes_reads_back_and_goes_through_every_format(
        rows in rows(),
        layout in layout(),
    ) {
        let bytes = write_csv(&rows, &layout);
        let tokens = factory::parse(&bytes, &TokenOverrides::default())
            .unwrap_or_else(|p| panic!("{p:?}\n{}", String::from_utf8_lossy(&bytes)));
        prop_assert_eq!(tokens.len(), rows.len());
        for (t, r) in tokens.iter().zip(&rows) {
            prop_assert_eq!(t.serial.as_str(), r.serial.as_str());
            prop_assert_eq!(t.secret.expose(), r.seed.as_slice());
            prop_assert_eq!(t.model.as_str(), r.model);
            prop_assert_eq!(t.manufacturer.as_str(), r.manufacturer.as_str());
            prop_assert_eq!(t.kind == OtpKind::Hotp, r.model == "SafeID/Eco");
        }
        prop_assert!(through_every_writer(&tokens) >= 2);
    }

    #[test]
    fn the_factory_reader_never_panics_and_names_a_problem(
        header in any::<bool>(),
        body in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut bytes = Vec::new();
        if header {
            bytes.extend_from_slice(factory::DEEPNET_HEADER.as_bytes());
            bytes.push(b'\n');
        }
        bytes.extend_from_slice(&body);
        if let Err(problems) = factory::parse(&bytes, &TokenOverrides::default()) {
            prop_assert!(!problems.is_empty());
            prop_assert!(problems.iter().all(|p| !p.reason.trim().is_empty()));
        }
    }

    #[test]
    fn the_serial_normaliser_is_idempotent(raw in "[ A-Za-z0-9-]{0,70}") {
        if let Ok(serial) = Serial::parse_typed(&raw) {
            prop_assert_eq!(&Serial::parse(serial.as_str()).unwrap(), &serial);
            prop_assert_eq!(&Serial::parse_typed(serial.as_str()).unwrap(), &serial);
            let compact = serial.compact();
            if let Ok(again) = Serial::parse(&compact) {
                prop_assert_eq!(again.compact(), compact);
            }
        }
    }

    #[test]
    fn the_hex_psk_parser_is_idempotent(
        key in proptest::collection::vec(any::<u8>(), 16),
        upper in any::<bool>(),
        separator in prop::sample::select(vec!["", " ", ":", "-"]),
    ) {
        let hex = if upper { hex::encode_upper(&key) } else { hex::encode(&key) };
        let typed: Vec<String> = hex
            .as_bytes()
            .chunks(2)
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect();
        let parsed = seedport::pipeline::choice::pskc_key_hex(&typed.join(separator)).unwrap();
        prop_assert_eq!(parsed.expose(), key.as_slice());
        let canonical = seedport::pipeline::choice::pskc_key_text(&parsed);
        let again = seedport::pipeline::choice::pskc_key_hex(canonical.expose()).unwrap();
        prop_assert_eq!(again.expose(), key.as_slice());
        let canonical_again = seedport::pipeline::choice::pskc_key_text(&again);
        prop_assert_eq!(canonical_again.expose(), canonical.expose());
    }

    #[test]
    fn the_hex_psk_parser_refuses_what_is_not_16_bytes(text in "[0-9a-fA-F: -]{0,40}") {
        let digits = text.chars().filter(|c| c.is_ascii_hexdigit()).count();
        let parsed = seedport::pipeline::choice::pskc_key_hex(&text);
        prop_assert_eq!(parsed.is_ok(), digits == 32);
    }
}
