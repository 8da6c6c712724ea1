//! Fuzz target: `seedport::fuzzing::pskc_plain` (replayed on stable by `hardening::fuzz_corpora`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = seedport::fuzzing::pskc_plain(data);
});
