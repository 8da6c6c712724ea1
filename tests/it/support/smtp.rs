//! A real SMTP server on loopback (aiosmtpd, `smtp.py`): what it received, and a relay that can
//! be made slow (`set_delay`) or stopped and started again on the same port.

use super::tools::{self, Tool};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

pub struct Smtp {
    child: Option<Child>,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

#[derive(serde::Deserialize, Debug, Clone)]
pub struct Received {
    pub rcpt_tos: Vec<String>,
    pub subject: String,
    pub message_id: String,
    pub reply_to: String,
    pub text: String,
    pub html: String,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(port: u16, dir: &Path) -> Child {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/smtp.py");
    let mut child = tools::command(Tool::Python)
        .arg(script)
        .arg(port.to_string())
        .arg(dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with aiosmtpd");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    child
}

impl Smtp {
    pub fn start(port: u16) -> Smtp {
        let dir = tempfile::tempdir().unwrap();
        let child = Some(spawn(port, dir.path()));
        Smtp { child, port, dir }
    }

    /// Each message waits `seconds` before it is accepted (0: at once).
    pub fn set_delay(&self, seconds: f64) {
        std::fs::write(self.dir.path().join("delay"), seconds.to_string()).unwrap();
    }

    /// Stops the relay (connections are refused until [`Smtp::restart`]).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, keeping what it received.
    pub fn restart(&mut self) {
        self.stop();
        self.child = Some(spawn(self.port, self.dir.path()));
    }

    fn files(&self, ext: &str) -> Vec<PathBuf> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .collect();
        names.sort();
        names
    }

    pub fn received(&self) -> Vec<Received> {
        self.files("json")
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }

    /// How many messages a slow relay has begun to receive (their DATA arrived).
    pub fn started(&self) -> usize {
        self.files("started").len()
    }

    /// Waits until at least `n` messages arrived; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        self.wait_for_within(n, Duration::from_secs(30)).await
    }

    /// Waits until at least `n` messages whose subject contains `part` arrived; returns those,
    /// in arrival order (other mail, such as the "request received" receipt, is left out).
    pub async fn wait_for_subject(&self, part: &str, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got: Vec<Received> = self
                .received()
                .into_iter()
                .filter(|m| m.subject.contains(part))
                .collect();
            if got.len() >= n || Instant::now() > deadline {
                assert!(
                    got.len() >= n,
                    "expected {n} emails about {part:?}, got {}",
                    got.len()
                );
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn wait_for_within(&self, n: usize, limit: Duration) -> Vec<Received> {
        let deadline = Instant::now() + limit;
        loop {
            let got = self.received();
            if got.len() >= n || Instant::now() > deadline {
                assert!(got.len() >= n, "expected {n} emails, got {}", got.len());
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        self.stop();
    }
}
