//! Fuzz target: `seedport::fuzzing::assign_users` (replayed on stable by `hardening::fuzz_corpora`).
//! A panic is a bug, and so is a refusal without words.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(message) = seedport::fuzzing::assign_users(data) {
        assert!(message.trim().len() >= 8, "refused without a message: {message:?}");
    }
});
