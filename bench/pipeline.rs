//! Criterion benches at 100,000 tokens: each format writer alone (into a sink), and the whole
//! pipeline (plan, write, zip AES-256, OpenPGP) for PSKC passphrase + password + PGP.
//! Run with `cargo bench --bench pipeline`; figures on a shared machine swing, compare ratios.
// A bench, like a test, may stop at the first failure.
#![allow(
    clippy::disallowed_methods,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use seedport::domain::{HashAlg, OtpKind, Serial, Token, TokenContext};
use seedport::formats::{CustomCsvSpec, FormatId, FormatOptions};
use seedport::pipeline::{self, InMemory, PackageRequest, PgpRecipient, Protection, ZipPassword};
use seedport::vault::{SecretBytes, SecretString};
use sequoia_openpgp::cert::prelude::*;
use sequoia_openpgp::serialize::SerializeInto;
use std::io::{self, Write};
use std::time::Duration;

const TOKENS: usize = 100_000;

fn tokens() -> Vec<Token> {
    (0..TOKENS)
        .map(|i| Token {
            serial: Serial::parse(&format!("{}", 20_000_000 + i)).unwrap(),
            secret: SecretBytes::new((0..20u8).map(|b| b.wrapping_mul(31) ^ i as u8).collect()),
            kind: OtpKind::Totp,
            hash: HashAlg::Sha1,
            digits: 6,
            time_step: 60,
            counter: 0,
            manufacturer: "Deepnet Security".into(),
            model: "SafeID/Classic".into(),
        })
        .collect()
}

fn options() -> FormatOptions {
    FormatOptions {
        pskc_key: Some(SecretBytes::new(vec![7u8; 16])),
        pskc_passphrase: Some(SecretString::new("pskc passphrase for bench".into())),
        custom_csv: Some(
            CustomCsvSpec::from_json(
                r#"{"columns":[{"label":"serial","value":{"property":"serial"}},{"label":"secret","value":{"property":"secret"}}],"header":true,"secret_encoding":"base32","delimiter":"comma"}"#,
            )
            .unwrap(),
        ),
        ..FormatOptions::default()
    }
}

fn writers(c: &mut Criterion) {
    let tokens = tokens();
    let options = options();
    let ctx = TokenContext::default();
    let mut group = c.benchmark_group("writer_100k");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(TOKENS as u64));
    for id in FormatId::ALL {
        let format = id.format();
        if format.check(&mut tokens.iter().map(Into::into)).is_err() {
            continue;
        }
        group.bench_function(id.as_str(), |b| {
            // One writer per file, as the planner cuts them (entra-json: 100 tokens a file).
            let per_file = format.max_tokens_per_file.unwrap_or(TOKENS);
            b.iter(|| {
                let mut rng = rand::rngs::OsRng;
                let mut out = io::BufWriter::with_capacity(64 * 1024, io::sink());
                for file in tokens.chunks(per_file) {
                    let mut w = format.open(&options, &mut rng).unwrap();
                    w.begin(&mut out).unwrap();
                    for t in file {
                        w.write_token(&mut out, t, &ctx).unwrap();
                    }
                    w.finish(&mut out).unwrap();
                }
                out.flush().unwrap();
            })
        });
    }
    group.finish();
}

fn whole(c: &mut Criterion) {
    let tokens = tokens();
    let options = options();
    let (cert, _) = CertBuilder::general_purpose(Some("Bench <bench@example.com>"))
        .generate()
        .unwrap();
    let recipient = PgpRecipient::parse(&cert.armored().to_vec().unwrap()).unwrap();
    let password = ZipPassword::parse(SecretString::new("correct horse battery staple".into()));
    let protection = Protection::Both {
        password: password.unwrap(),
        recipient,
    };
    let mut group = c.benchmark_group("pipeline_100k");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(TOKENS as u64));
    for id in [FormatId::PskcPassphrase, FormatId::EntraCsv] {
        group.bench_function(format!("{}+password+pgp", id.as_str()), |b| {
            b.iter_batched(
                || (),
                |()| {
                    let request = PackageRequest {
                        base_name: "bench",
                        format: id.format(),
                        options: &options,
                        protection: &protection,
                        now: time::OffsetDateTime::now_utc(),
                    };
                    let mut source = InMemory::new(&tokens, TokenContext::default());
                    pipeline::build(io::sink(), &request, &mut source).unwrap()
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, writers, whole);
criterion_main!(benches);
