//! Fuzz target: `seedport::fuzzing::assign_users` (replayed on stable by `hardening::fuzz_corpora`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = seedport::fuzzing::assign_users(data);
});
