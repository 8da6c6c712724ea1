//! Fuzz target: `seedport::web::multipart::fuzz_body` (replayed on stable by `hardening::fuzz_corpora`).
//! A panic is a bug, and so is a refusal without words.
#![no_main]

thread_local! {
    /// One runtime for every input; its clock is paused, so the parser's stall deadline fires as
    /// soon as nothing else can run.
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime");
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    RUNTIME.with(|rt| {
        if let Err(message) = rt.block_on(seedport::web::multipart::fuzz_body(data)) {
            assert!(message.trim().len() >= 8, "refused without a message: {message:?}");
        }
    });
});
