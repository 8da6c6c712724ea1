//! Beyond the list: every saved fuzz input (`fuzz/corpus/<target>/`) replayed through the same
//! entry point its libFuzzer target calls (`seedport::fuzzing`, `web::multipart::fuzz_body`), on
//! the stable toolchain. A panic fails the test with the file's name; a refusal must be a message
//! a user can act on.

use seedport::fuzzing;
use std::path::{Path, PathBuf};

/// Which parser a corpus belongs to: the folder name under `fuzz/corpus/` and the fuzz target's
/// name. The table lives here, beside the replay, because it spans the layers: the multipart
/// entry point is the web layer's, the others are below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    FactoryCsv,
    PskcPlain,
    ManifestToml,
    CustomCsvSpec,
    PgpKey,
    Multipart,
    AssignTokens,
    AssignUsers,
    AssignInventory,
}

impl Target {
    const ALL: [Target; 9] = [
        Target::FactoryCsv,
        Target::PskcPlain,
        Target::ManifestToml,
        Target::CustomCsvSpec,
        Target::PgpKey,
        Target::Multipart,
        Target::AssignTokens,
        Target::AssignUsers,
        Target::AssignInventory,
    ];

    fn name(self) -> &'static str {
        match self {
            Target::FactoryCsv => "factory_csv",
            Target::PskcPlain => "pskc_plain",
            Target::ManifestToml => "manifest_toml",
            Target::CustomCsvSpec => "custom_csv_spec",
            Target::PgpKey => "pgp_key",
            Target::Multipart => "multipart",
            Target::AssignTokens => "assign_tokens",
            Target::AssignUsers => "assign_users",
            Target::AssignInventory => "assign_inventory",
        }
    }

    fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }

    /// This target's entry point, the one its libFuzzer target calls, on one input.
    fn run(self, data: &[u8]) -> Result<String, String> {
        match self {
            Target::FactoryCsv => fuzzing::factory_csv(data),
            Target::PskcPlain => fuzzing::pskc_plain(data),
            Target::ManifestToml => fuzzing::manifest_toml(data),
            Target::CustomCsvSpec => fuzzing::custom_csv_spec(data),
            Target::PgpKey => fuzzing::pgp_key(data),
            Target::Multipart => seedport::web::multipart::fuzz_replay(data),
            Target::AssignTokens => fuzzing::assign_tokens(data),
            Target::AssignUsers => fuzzing::assign_users(data),
            Target::AssignInventory => fuzzing::assign_inventory(data),
        }
    }
}

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
            "fuzz/corpus/{name} belongs to no fuzz target"
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
