//! One rule for every outside dependency of the suite (programs, Python modules, a reachable
//! PostgreSQL): missing outside CI, the test says in one line what is missing and how to get it,
//! and passes as skipped; missing in CI (`CI` set), it fails. When the test binary exits it prints
//! a summary of what was skipped for which missing tool, so a newcomer sees how much really ran.
//!
//! Programs are found on `PATH` (never by a fixed path), so `.ci/run` can prove the rule by
//! running the suite once with a `PATH` that lacks them.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, Once, OnceLock};

/// Something outside the project that a test needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tool {
    SevenZip,
    Gpg,
    Gpgconf,
    Oathtool,
    Pskctool,
    Python,
    Chromium,
    Chromedriver,
    /// The Python module `aiosmtpd`: the real SMTP server the mail tests talk to.
    Aiosmtpd,
    /// The Python module `pskc` (PyPI `python-pskc`).
    PythonPskc,
    /// Prometheus's `promtool`, which checks the metrics exposition.
    Promtool,
    /// PyPI `openapi-spec-validator`: checks the order API's OpenAPI document.
    OpenapiSpecValidator,
    /// PyPI `schemathesis`: generates calls from the OpenAPI document against the live API.
    Schemathesis,
    /// A PostgreSQL server at `SEEDPORT_TEST_POSTGRES_URL`.
    Postgres,
    /// A PostgreSQL cluster the outage tests may stop and start (`pg_ctlcluster`): named by
    /// `SEEDPORT_TEST_PG_OUTAGE_CLUSTER` ("VERSION NAME"), reachable at
    /// `SEEDPORT_TEST_PG_OUTAGE_URL`. Never the server other tests use.
    PgOutageCluster,
    /// The npm package `axe-core` (its `axe.min.js`), injected into pages to check accessibility.
    AxeCore,
    /// `privacyidea-python`: a Python with PyPI `privacyidea` (in its own venv, see `.ci/run`),
    /// to import files through privacyIDEA's own import code.
    PrivacyIdea,
}

impl Tool {
    /// What it is called where a person would look for it.
    pub fn name(self) -> &'static str {
        match self {
            Tool::SevenZip => "7z",
            Tool::Gpg => "gpg",
            Tool::Gpgconf => "gpgconf",
            Tool::Oathtool => "oathtool",
            Tool::Pskctool => "pskctool",
            Tool::Python => "python3",
            Tool::Chromium => "chromium",
            Tool::Chromedriver => "chromedriver",
            Tool::Aiosmtpd => "python3 module aiosmtpd",
            Tool::PythonPskc => "python3 module pskc",
            Tool::Promtool => "promtool",
            Tool::OpenapiSpecValidator => "openapi-spec-validator",
            Tool::Schemathesis => "schemathesis",
            Tool::Postgres => "PostgreSQL",
            Tool::PgOutageCluster => "a PostgreSQL cluster the tests may stop (pg_ctlcluster)",
            Tool::AxeCore => "npm package axe-core",
            Tool::PrivacyIdea => "privacyidea-python",
        }
    }

    /// How to get it.
    fn install(self) -> &'static str {
        match self {
            Tool::SevenZip => "apt-get install p7zip-full",
            Tool::Gpg | Tool::Gpgconf => "apt-get install gnupg",
            Tool::Oathtool => "apt-get install oathtool",
            Tool::Pskctool => "apt-get install pskctool",
            Tool::Python => "apt-get install python3",
            Tool::Chromium => "apt-get install chromium",
            Tool::Chromedriver => "apt-get install chromium-driver",
            Tool::Aiosmtpd => "pip install aiosmtpd",
            Tool::PythonPskc => "pip install python-pskc",
            Tool::Promtool => "apt-get install prometheus",
            Tool::OpenapiSpecValidator => "pip install openapi-spec-validator",
            Tool::Schemathesis => "pip install schemathesis",
            Tool::PrivacyIdea => {
                "python3 -m venv ~/.cache/seedport/privacyidea-venv, pip install privacyidea in \
                 it, and put a privacyidea-python wrapper on PATH (as .ci/run does)"
            }
            Tool::Postgres => {
                "set SEEDPORT_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
                 to a running server"
            }
            Tool::PgOutageCluster => {
                "pg_createcluster 15 outage --port 5439 -- --auth=trust, start it, and set \
                 SEEDPORT_TEST_PG_OUTAGE_CLUSTER='15 outage' \
                 SEEDPORT_TEST_PG_OUTAGE_URL=postgres://postgres@127.0.0.1:5439/postgres \
                 (.ci/run does)"
            }
            Tool::AxeCore => {
                "npm install --prefix ~/.cache/seedport-test-tools axe-core@4 \
                 (or set SEEDPORT_AXE_CORE to its axe.min.js)"
            }
        }
    }

    fn python_module(self) -> Option<&'static str> {
        match self {
            Tool::Aiosmtpd => Some("aiosmtpd"),
            Tool::PythonPskc => Some("pskc"),
            _ => None,
        }
    }

    fn probe(self) -> bool {
        if let Some(module) = self.python_module() {
            return program(Tool::Python).is_some_and(|python| {
                Command::new(python)
                    .args(["-c", &format!("import {module}")])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            });
        }
        if self == Tool::Postgres {
            return postgres_reachable();
        }
        if self == Tool::PgOutageCluster {
            return outage_cluster().is_some();
        }
        if self == Tool::AxeCore {
            return axe_core_js().is_file();
        }
        find_on_path(self.name()).is_some()
    }
}

/// The admin URL of the test PostgreSQL server, if one is configured.
pub fn postgres_url() -> Option<String> {
    std::env::var("SEEDPORT_TEST_POSTGRES_URL").ok()
}

/// The stoppable cluster ("VERSION NAME") and its admin URL, when configured and reachable.
pub fn outage_cluster() -> Option<(String, String)> {
    use diesel::Connection;
    let cluster = std::env::var("SEEDPORT_TEST_PG_OUTAGE_CLUSTER").ok()?;
    let url = std::env::var("SEEDPORT_TEST_PG_OUTAGE_URL").ok()?;
    find_on_path("pg_ctlcluster")?;
    diesel::PgConnection::establish(&url).ok()?;
    Some((cluster, url))
}

/// Where `axe.min.js` of the npm package `axe-core` is: `SEEDPORT_AXE_CORE`, else the folder
/// `.ci/run` installs it into (`~/.cache/seedport-test-tools`). Call [`require`] first.
pub fn axe_core_js() -> PathBuf {
    if let Some(path) = std::env::var_os("SEEDPORT_AXE_CORE") {
        return PathBuf::from(path);
    }
    let home = std::env::var_os("HOME").unwrap_or_default();
    PathBuf::from(home).join(".cache/seedport-test-tools/node_modules/axe-core/axe.min.js")
}

fn postgres_reachable() -> bool {
    use diesel::Connection;
    postgres_url().is_some_and(|url| diesel::PgConnection::establish(&url).is_ok())
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn present(tool: Tool) -> bool {
    static SEEN: OnceLock<Mutex<HashMap<Tool, bool>>> = OnceLock::new();
    let seen = SEEN.get_or_init(Default::default);
    if let Some(known) = seen.lock().unwrap().get(&tool) {
        return *known;
    }
    let found = tool.probe();
    seen.lock().unwrap().insert(tool, found);
    found
}

/// The full path of a program the test needs. Call [`require`] first.
pub fn program(tool: Tool) -> Option<PathBuf> {
    find_on_path(tool.name())
}

/// The full path of a program found on `PATH` by its file name.
pub fn program_named(name: &str) -> Option<PathBuf> {
    find_on_path(name)
}

/// A `Command` for a program [`require`] has found.
pub fn command(tool: Tool) -> Command {
    Command::new(program(tool).unwrap_or_else(|| panic!("{} is not on PATH", tool.name())))
}

/// Skips recorded so far, by tool: the tests that skipped for it.
fn skips() -> &'static Mutex<BTreeMap<Tool, Vec<String>>> {
    static SKIPS: OnceLock<Mutex<BTreeMap<Tool, Vec<String>>>> = OnceLock::new();
    SKIPS.get_or_init(Default::default)
}

fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// True when every tool is there. Otherwise, in CI the test fails naming what is missing; outside
/// CI the skip is printed at once (past libtest's output capture) and in the summary at exit,
/// and the caller returns (or leaves out the check that needs the tool).
pub fn require(tools: &[Tool]) -> bool {
    let missing: Vec<Tool> = tools.iter().copied().filter(|t| !present(*t)).collect();
    if missing.is_empty() {
        return true;
    }
    let names: Vec<String> = missing
        .iter()
        .map(|t| format!("{} ({})", t.name(), t.install()))
        .collect();
    assert!(
        !in_ci(),
        "CI must have every outside tool; missing: {}",
        names.join(", ")
    );
    register_summary();
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    {
        let mut skips = skips().lock().unwrap();
        for tool in &missing {
            skips.entry(*tool).or_default().push(test.clone());
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: missing {}; `bash .ci/run` installs everything",
        names.join(", ")
    );
    false
}

/// Returns from the test (as passed-but-skipped) unless every tool is there.
#[macro_export]
macro_rules! require_tools {
    ($($tool:expr),+ $(,)?) => {
        if !$crate::support::tools::require(&[$($tool),+]) {
            return;
        }
    };
}

fn register_summary() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: `atexit` only stores a function pointer; `print_summary` is a plain
        // `extern "C" fn` that takes no arguments, never unwinds past its frame (it catches
        // panics) and touches only data that lives for the whole process.
        #[allow(unsafe_code)]
        unsafe {
            libc::atexit(print_summary);
        }
    });
}

extern "C" fn print_summary() {
    let _ = std::panic::catch_unwind(|| {
        let Ok(skips) = skips().lock() else { return };
        if skips.is_empty() {
            return;
        }
        let mut out = String::from("\n==== skipped for missing outside tools ====\n");
        for (tool, tests) in skips.iter() {
            let mut unique = tests.clone();
            unique.sort();
            unique.dedup();
            let (count, noun) = match unique.len() {
                1 => (1, "test "),
                n => (n, "tests"),
            };
            out.push_str(&format!(
                "{count:>4} {noun} without {} ({})\n",
                tool.name(),
                tool.install()
            ));
        }
        out.push_str("`bash .ci/run` installs every checker and runs the whole suite on SQLite and PostgreSQL.\n");
        let _ = std::io::stderr().write_all(out.as_bytes());
    });
}
