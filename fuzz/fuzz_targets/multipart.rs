//! Fuzz target: `seedport::fuzzing::multipart` (replayed on stable by `hardening::fuzz_corpora`).
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
        let _ = rt.block_on(seedport::fuzzing::multipart(data));
    });
});
