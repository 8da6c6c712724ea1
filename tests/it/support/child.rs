//! The real `seedport serve` as a child process, for the tests that send it signals
//! (`SIGTERM`, `kill -9`) or read its log: configured through `SEEDPORT_*` variables only, in
//! its own working folder, its log captured to a file.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A running `seedport serve`.
pub struct Seedport {
    child: Option<Child>,
    pub port: u16,
    pub base_url: String,
    pub log: PathBuf,
}

impl Seedport {
    /// Starts `seedport serve` on a free port with `env` (on top of a clean environment) in
    /// `dir`, and waits until `/healthz` answers (at most 60 s).
    pub async fn start(dir: &Path, name: &str, env: &[(String, String)]) -> Seedport {
        let port = super::smtp::free_port();
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(super::seedport_bin());
        cmd.arg("serve")
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("SEEDPORT_LOG", "info")
            .env("SEEDPORT_BIND", format!("127.0.0.1:{port}"))
            .env("SEEDPORT_WORKERS", "2")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        let mut has_base = false;
        for (k, v) in env {
            has_base |= k == "SEEDPORT_PUBLIC_BASE_URL";
            cmd.env(k, v);
        }
        if !has_base {
            cmd.env(
                "SEEDPORT_PUBLIC_BASE_URL",
                format!("http://127.0.0.1:{port}"),
            );
        }
        let child = cmd.spawn().expect("start seedport");
        let mut me = Seedport {
            child: Some(child),
            port,
            base_url: format!("http://127.0.0.1:{port}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = reqwest::Client::new();
        loop {
            let up = client
                .get(format!("{}/healthz", me.base_url))
                .timeout(Duration::from_secs(1))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if up {
                return me;
            }
            if let Some(status) = me.try_exit() {
                panic!("seedport exited at start ({status}):\n{}", me.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "seedport did not start:\n{}",
                me.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn pid(&self) -> i32 {
        self.child.as_ref().map(|c| c.id() as i32).unwrap_or(0)
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`).
    pub fn signal(&self, signal: i32) {
        let pid = self.pid();
        assert!(pid > 0, "not running");
        // SAFETY: kill(2) with the pid of our own child process and a valid signal number.
        #[allow(unsafe_code)]
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal})");
    }

    /// `kill -9`, and waits for the process to be gone.
    pub fn kill9(&mut self) {
        self.signal(libc::SIGKILL);
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }

    fn try_exit(&mut self) -> Option<ExitStatus> {
        let status = self.child.as_mut()?.try_wait().ok()??;
        self.child = None;
        Some(status)
    }

    /// Waits at most `limit` for the process to exit; `None` if it is still running.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            let status = self.child.as_mut()?.try_wait().ok()?;
            if let Some(status) = status {
                self.child = None;
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Seedport {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `SEEDPORT_*` pairs from `(&str, String)` tuples.
pub fn env(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}
