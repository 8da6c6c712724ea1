//! Beyond the list: every saved fuzz input (`fuzz/corpus/<target>/`) replayed through the same
//! `seedport::fuzzing` entry point its libFuzzer target calls, on the stable toolchain. A panic
//! fails the test with the file's name; a refusal must be a message a user can act on.

use seedport::fuzzing::Target;
use std::path::{Path, PathBuf};

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus")
}

/// The files of one target's corpus, sorted so a failure names the same file every run.
fn corpus(target: Target) -> Vec<PathBuf> {
    let dir = corpus_root().join(target.name());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_target_has_a_saved_corpus_and_every_corpus_a_target() {
    for target in Target::ALL {
        let n = corpus(target).len();
        assert!(
            (2..=200).contains(&n),
            "{}: {n} files (keep 2 to 200)",
            target.name()
        );
    }
    for entry in std::fs::read_dir(corpus_root()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            Target::from_name(&name).is_some(),
            "fuzz/corpus/{name} belongs to no target in seedport::fuzzing"
        );
    }
}

#[test]
fn every_saved_fuzz_input_replays_without_a_panic() {
    let mut summary = Vec::new();
    for target in Target::ALL {
        let (mut accepted, mut refused) = (0, 0);
        for file in corpus(target) {
            let data = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| target.run(&data));
            match outcome {
                Err(_) => panic!("{} panicked on {}", target.name(), file.display()),
                Ok(Ok(_)) => accepted += 1,
                Ok(Err(message)) => {
                    refused += 1;
                    assert!(
                        message.trim().len() >= 8,
                        "{} refused {} without a message: {message:?}",
                        target.name(),
                        file.display()
                    );
                    assert!(
                        !message.contains("panicked") && !message.contains("RUST_BACKTRACE"),
                        "{} refused {} with a trace: {message}",
                        target.name(),
                        file.display()
                    );
                }
            }
        }
        // A corpus of nothing but refusals would no longer reach past the first check.
        assert!(
            accepted > 0,
            "{}: no saved input is accepted",
            target.name()
        );
        summary.push(format!(
            "{}: {accepted} accepted, {refused} refused",
            target.name()
        ));
    }
    println!("{}", summary.join("\n"));
}
