//! Fuzz target: `seedport::fuzzing::custom_csv_spec` (replayed on stable by `hardening::fuzz_corpora`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = seedport::fuzzing::custom_csv_spec(data);
});
