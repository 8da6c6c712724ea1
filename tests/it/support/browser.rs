//! Headless Chromium driven by chromedriver (fantoccini), one fresh profile per browser, with
//! the flags this machine needs (no sandbox as root, no DNS lookups offline). Call
//! `require_tools!(Tool::Chromium, Tool::Chromedriver)` first.

use super::tools::{self, Tool};
use fantoccini::{Client, ClientBuilder};
use serde_json::json;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A running browser session. Dropping it ends chromedriver (and with it Chromium).
pub struct Browser {
    pub client: Client,
    _profile: tempfile::TempDir,
    driver: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl std::ops::Deref for Browser {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

/// Window size and, optionally, where downloads land (without asking).
pub struct BrowserOptions<'a> {
    pub width: u32,
    pub height: u32,
    pub downloads: Option<&'a Path>,
    /// `false` turns page scripts off (the flow must work without them).
    pub javascript: bool,
}

impl Default for BrowserOptions<'_> {
    fn default() -> Self {
        BrowserOptions {
            width: 1280,
            height: 1000,
            downloads: None,
            javascript: true,
        }
    }
}

impl Browser {
    pub async fn start(options: BrowserOptions<'_>) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = tools::command(Tool::Chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut chrome = json!({
            "binary": tools::program(Tool::Chromium),
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run",
                format!("--window-size={},{}", options.width, options.height),
                format!("--user-data-dir={}", profile.path().display()),
            ],
        });
        // Chromium's windows are at least ~500 px wide; a phone-sized page needs its viewport
        // emulated (chromedriver's mobile emulation: touch, device pixel ratio 1).
        if options.width < 500 {
            chrome["mobileEmulation"] = json!({
                "deviceMetrics": { "width": options.width, "height": options.height, "pixelRatio": 1.0 }
            });
        }
        let mut prefs = serde_json::Map::new();
        if !options.javascript {
            prefs.insert(
                "profile.managed_default_content_settings.javascript".into(),
                json!(2),
            );
        }
        if let Some(downloads) = options.downloads {
            let more = json!({
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false,
                "download.directory_upgrade": true,
                "safebrowsing.enabled": false,
                "profile.default_content_setting_values.automatic_downloads": 1
            });
            prefs.extend(more.as_object().cloned().unwrap_or_default());
        }
        if !prefs.is_empty() {
            chrome["prefs"] = serde_json::Value::Object(prefs);
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), chrome);
        let mut last_error = None;
        for _ in 0..50 {
            match ClientBuilder::native()
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => {
                    return Browser {
                        client,
                        _profile: profile,
                        driver,
                    }
                }
                Err(e) => {
                    last_error = Some(e);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        panic!("chromedriver did not accept a session: {last_error:?}");
    }

    /// Polls a JavaScript expression until it is true (10 s).
    pub async fn wait_js(&self, expr: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let v = self
                .client
                .execute(&format!("return !!({expr});"), vec![])
                .await
                .unwrap();
            if v == serde_json::Value::Bool(true) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for: {expr}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Types `text` into the element `css` names.
pub async fn fill(c: &Client, css: &str, text: &str) {
    c.find(fantoccini::Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
}

/// Clicks the element `css` names.
pub async fn click(c: &Client, css: &str) {
    c.find(fantoccini::Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
}
