//! Every page a customer, a reviewer and the assignment tool's user sees, visited in headless
//! Chromium at a desktop (1280×900) and a phone (390×844) size: no page scrolls sideways, and
//! axe-core with the WCAG 2.1 AA rules finds no violation. Set `SEEDPORT_SCREENSHOTS=DIR` to keep
//! a screenshot of each page.

use crate::support::browser::{Browser, BrowserOptions};
use crate::support::tools::{self, Tool};
use crate::support::{spawn_app, spawn_app_with, Backend, TestApp};
use crate::wizard_helpers::{EMAIL, PASSWORD};
use fantoccini::Locator;
use seedport::staff::account::{self, Role};
use seedport::staff::totp;
use seedport::vault::SecretString;
use std::time::Duration;

const STAFF_EMAIL: &str = "tour@vendor.example";

/// One walk through the product at one window size, collecting every problem it finds.
struct Tour {
    browser: Browser,
    size: &'static str,
    problems: Vec<String>,
    axe: String,
    visited: usize,
    _downloads: tempfile::TempDir,
}

impl Tour {
    async fn start(width: u32, height: u32, size: &'static str) -> Tour {
        let downloads = tempfile::tempdir().unwrap();
        let browser = Browser::start(BrowserOptions {
            width,
            height,
            downloads: Some(downloads.path()),
            ..BrowserOptions::default()
        })
        .await;
        let axe = std::fs::read_to_string(tools::axe_core_js()).unwrap();
        Tour {
            browser,
            size,
            problems: Vec::new(),
            axe,
            visited: 0,
            _downloads: downloads,
        }
    }

    async fn goto(&mut self, url: &str, name: &str) {
        self.browser.goto(url).await.unwrap();
        self.check(name).await;
    }

    async fn click(&self, css: &str) {
        self.browser
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    async fn type_in(&self, css: &str, text: &str) {
        let field = self.browser.find(Locator::Css(css)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    async fn wait_for(&self, css: &str) {
        self.browser
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("waiting for {css}: {e}"));
    }

    /// Sends a form as a double click would, and checks its button shows it is busy (with
    /// `label`) and the second press is held back.
    async fn submit_busy(&mut self, form: &str, label: &str) {
        let seen = self
            .browser
            .execute(
                "var f = document.querySelector(arguments[0]);
                 var b = f.querySelector('button[type=submit]');
                 var sent = 0;
                 document.addEventListener('submit', function (e) { if (!e.defaultPrevented) { sent += 1; } });
                 f.requestSubmit(b); f.requestSubmit(b);
                 return [b.getAttribute('aria-busy'), b.textContent.trim(), sent];",
                vec![serde_json::json!(form)],
            )
            .await
            .unwrap();
        if seen != serde_json::json!(["true", label, 1]) {
            self.problems.push(format!(
                "{} {form}: busy state and one send expected, got {seen}",
                self.size
            ));
        }
    }

    /// Checks the page now shown: its width, and axe-core's WCAG 2.1 AA rules.
    async fn check(&mut self, name: &str) {
        self.visited += 1;
        self.browser
            .wait_js("document.readyState === 'complete'")
            .await;
        let label = format!("{} {name}", self.size);
        let found = audit(&self.browser, &self.axe, &label).await;
        self.problems.extend(found);
        if let Some(dir) = std::env::var_os("SEEDPORT_SCREENSHOTS") {
            // The whole page, one window height at a time (at most five), then back to the top.
            std::fs::create_dir_all(&dir).unwrap();
            for part in 0..5 {
                let more = self
                    .browser
                    .execute(
                        "window.scrollTo(0, arguments[0] * window.innerHeight);
                         return arguments[0] * window.innerHeight < document.documentElement.scrollHeight;",
                        vec![serde_json::json!(part)],
                    )
                    .await
                    .unwrap();
                if more != serde_json::Value::Bool(true) {
                    break;
                }
                let png = self.browser.screenshot().await.unwrap();
                let file = format!(
                    "{}-{:02}-{}-{part}.png",
                    self.size,
                    self.visited,
                    name.replace(' ', "-")
                );
                std::fs::write(std::path::Path::new(&dir).join(file), png).unwrap();
            }
            self.browser
                .execute("window.scrollTo(0, 0);", vec![])
                .await
                .unwrap();
        }
    }
}

/// What is wrong with the page `c` shows: wider than the window, or a WCAG 2.1 AA violation
/// axe-core (`axe`, the text of axe.min.js) finds. Each problem starts with `label`.
pub async fn audit(c: &fantoccini::Client, axe: &str, label: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let overflow = c
        .execute(
            "var d = document.documentElement; var wide = [];
             document.querySelectorAll('body *').forEach(function (e) {
               var r = e.getBoundingClientRect();
               if (r.right > d.clientWidth + 1 && wide.length < 3) {
                 wide.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
                   (e.className && e.className.baseVal === undefined ? '.' + e.className : '') +
                   ' ' + Math.round(r.right) + 'px');
               }
             });
             return [d.scrollWidth, d.clientWidth, wide.join(', ')];",
            vec![],
        )
        .await
        .unwrap();
    let (scroll, client) = (
        overflow[0].as_i64().unwrap_or(0),
        overflow[1].as_i64().unwrap_or(0),
    );
    if scroll > client {
        problems.push(format!(
            "{label}: page is {scroll} px wide in a {client} px window ({})",
            overflow[2].as_str().unwrap_or("")
        ));
    }
    c.execute(axe, vec![]).await.unwrap();
    let found = c
        .execute_async(
            "var done = arguments[arguments.length - 1];
             axe.run(document, { runOnly: { type: 'tag',
                 values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
               .then(function (r) {
                 done(r.violations.map(function (v) {
                   return v.id + ' (' + v.impact + '): ' + v.help + ' at ' +
                     v.nodes.slice(0, 3).map(function (n) { return n.target.join(' '); }).join(' | ');
                 }));
               }, function (e) { done(['axe failed: ' + e]); });",
            vec![],
        )
        .await
        .unwrap();
    for v in found.as_array().into_iter().flatten() {
        problems.push(format!("{label}: {}", v.as_str().unwrap_or("?")));
    }
    problems
}

fn add_staff(app: &TestApp) -> Vec<u8> {
    let mut conn = app.db.get().unwrap();
    account::create(
        &mut conn,
        &app.vault,
        STAFF_EMAIL,
        "Tour Reviewer",
        Role::Admin,
        Some(SecretString::new(PASSWORD.into())),
        app.clock.now(),
    )
    .unwrap()
    .totp_secret
    .expose()
    .to_vec()
}

fn jobs(app: &TestApp) -> seedport::jobs::Jobs {
    seedport::jobs::start(
        seedport::jobs::JobDeps {
            db: app.db.clone(),
            config: app.config.clone(),
            clock: app.clock.clone(),
            tera: seedport::web::assets::tera().unwrap(),
        },
        seedport::jobs::JobOptions {
            sender: seedport::mail::sender::SenderOptions {
                poll: Duration::from_millis(50),
                ..Default::default()
            },
            sweep_every: Duration::from_secs(3600),
        },
    )
    .unwrap()
}

/// The whole product, page by page, as a customer and then a reviewer walk it.
async fn tour(width: u32, height: u32, size: &'static str) {
    crate::require_tools!(Tool::Chromium, Tool::Chromedriver, Tool::AxeCore);
    let app = spawn_app(Backend::Sqlite).await;
    let secret = add_staff(&app);
    let _jobs = jobs(&app);
    let mut t = Tour::start(width, height, size).await;
    let base = app.base_url.clone();

    // The customer: start page, a failed lookup, then the wizard.
    t.goto(&base, "start").await;
    t.type_in("#reference", "PO-2026-0042").await;
    t.type_in("#email", "someone@elsewhere.example").await;
    t.click("form[action='/request'] button[type=submit]").await;
    t.wait_for("#error-summary").await;
    t.check("lookup not found").await;
    t.type_in("#reference", "PO-2026-0042").await;
    t.type_in("#email", EMAIL).await;
    t.click("form[action='/request'] button[type=submit]").await;
    t.wait_for("input[name^='serial-']").await;
    t.check("shipments").await;
    let serials = t
        .browser
        .find_all(Locator::Css("input[name^='serial-']"))
        .await
        .unwrap();
    serials[0].send_keys("10001010").await.unwrap();
    serials[1].send_keys("99999999").await.unwrap();
    t.click("form button[type=submit]").await;
    t.wait_for(".errors").await;
    t.check("shipments wrong serial").await;
    let serials = t
        .browser
        .find_all(Locator::Css("input[name^='serial-']"))
        .await
        .unwrap();
    serials[0].clear().await.unwrap();
    serials[0].send_keys("10001010").await.unwrap();
    serials[1].clear().await.unwrap();
    serials[1].send_keys("10002010").await.unwrap();
    t.click("form button[type=submit]").await;

    t.wait_for("#prot-password").await;
    t.check("protection").await;
    t.click("#prot-both").await;
    t.check("protection both").await;
    t.click("#prot-password").await;
    t.type_in("#password", "short").await;
    t.click(".actions button[value=continue]").await;
    t.wait_for("#error-summary").await;
    t.check("protection error").await;
    t.click("#prot-password").await;
    t.type_in("#password", PASSWORD).await;
    t.type_in("#password_confirm", PASSWORD).await;
    t.click(".actions button[value=continue]").await;

    t.wait_for("#format-custom-csv").await;
    t.check("format").await;
    t.click("#format-custom-csv").await;
    t.check("format custom csv builder").await;
    t.click("#format-pskc-psk").await;
    t.check("format pskc").await;
    t.click("#format-entra-csv").await;
    t.click(".actions button[value=continue]").await;

    t.wait_for("form[action$='/submit'] button[type=submit]")
        .await;
    t.check("review").await;
    t.submit_busy("form[action$='/submit']", "Building your file…")
        .await;
    t.wait_for("#reference").await;
    t.check("done").await;

    // The reviewer.
    t.goto(&format!("{base}/staff/login"), "staff login").await;
    t.type_in("#email", STAFF_EMAIL).await;
    t.type_in("#password", "not the password").await;
    t.type_in("#code", "000000").await;
    t.click("form[action='/staff/login'] button[type=submit]")
        .await;
    t.wait_for("#login-error").await;
    t.check("staff login error").await;
    t.type_in("#email", STAFF_EMAIL).await;
    t.type_in("#password", PASSWORD).await;
    t.type_in("#code", &totp::code_at(&secret, app.clock.now()))
        .await;
    t.click("form[action='/staff/login'] button[type=submit]")
        .await;
    t.wait_for("a[href^='/staff/requests/']").await;
    t.check("staff queue").await;
    t.click("a[href^='/staff/requests/']").await;
    t.wait_for("#approve-code").await;
    t.check("staff request").await;
    app.clock.advance(totp::STEP);
    t.type_in("#approve-code", &totp::code_at(&secret, app.clock.now()))
        .await;
    t.submit_busy("form[action$='/approve']", "Approve").await;
    t.wait_for("[role=status]").await;
    t.check("staff request approved").await;
    t.goto(&format!("{base}/staff/orders"), "staff orders")
        .await;
    t.goto(&format!("{base}/staff/import"), "staff import")
        .await;
    t.goto(&format!("{base}/staff/audit"), "staff audit").await;

    // The customer again: the mailbox, the download and confirmation pages.
    let mailbox = format!("{base}/demo/mailbox");
    let mut tries = 0;
    loop {
        t.browser.goto(&mailbox).await.unwrap();
        let text = t
            .browser
            .find(Locator::Css("main"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.to_lowercase().contains("ready") || tries > 100 {
            break;
        }
        tries += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    t.check("demo mailbox").await;
    let ready = t
        .browser
        .find(Locator::XPath(
            "//main//a[contains(translate(., 'READY', 'ready'), 'ready')]",
        ))
        .await
        .unwrap();
    ready.click().await.unwrap();
    t.wait_for("a[href*='/d/']").await;
    t.check("demo message").await;
    let download = t
        .browser
        .find(Locator::Css("a[href*='/d/']"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let confirm = t
        .browser
        .find(Locator::Css("a[href*='/c/']"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    t.goto(&download, "download").await;
    t.type_in("#password", "not the password").await;
    t.click("form button[type=submit]").await;
    t.wait_for(".errors").await;
    t.check("download wrong password").await;
    t.type_in("#password", PASSWORD).await;
    t.click("#download-form button[type=submit]").await;
    t.browser
        .wait_js("!document.getElementById('downloaded').hidden")
        .await;
    t.check("downloaded").await;
    t.goto(&confirm, "confirm").await;
    t.click("form button[type=submit]").await;
    t.wait_for("h1").await;
    t.check("confirmed").await;
    t.goto(&download, "download link used").await;

    // The assignment tool, a missing page.
    t.goto(&format!("{base}/tools/assign"), "assignment tool")
        .await;
    let fixture = |name: &str| {
        format!(
            "{}/tests/fixtures/assign/{name}",
            env!("CARGO_MANIFEST_DIR")
        )
    };
    t.browser
        .find(Locator::Id("token-file"))
        .await
        .unwrap()
        .send_keys(&fixture("tokens.csv"))
        .await
        .unwrap();
    t.wait_for("#tokens tbody tr").await;
    t.browser
        .find(Locator::Id("user-file"))
        .await
        .unwrap()
        .send_keys(&fixture("users.txt"))
        .await
        .unwrap();
    t.browser
        .wait_js("document.getElementById('user-list').value.length > 0")
        .await;
    t.click("#apply").await;
    t.wait_for("#remove-10001001").await;
    t.check("assignment tool with tokens").await;
    t.click("#clear").await;
    t.check("assignment tool asks before start over").await;
    t.goto(&format!("{base}/guides/pgp-key"), "guide pgp key")
        .await;
    t.goto(&format!("{base}/guides/entra"), "guide entra").await;
    t.goto(&format!("{base}/no/such/page"), "not found").await;
    t.goto(
        &format!("{base}/request/no-such-draft/format"),
        "draft gone",
    )
    .await;

    // Too many lookups from one address: a second app that allows one an hour.
    let limited = spawn_app_with(Backend::Sqlite, |c| c.lookups_per_ip_per_hour = 1).await;
    for _ in 0..2 {
        t.browser.goto(&limited.base_url).await.unwrap();
        t.type_in("#reference", "PO-2026-0042").await;
        t.type_in("#email", "someone@elsewhere.example").await;
        t.click("form[action='/request'] button[type=submit]").await;
        t.wait_for("h1").await;
    }
    t.check("too many lookups").await;

    let problems = std::mem::take(&mut t.problems);
    assert!(t.visited >= 36, "visited {} pages", t.visited);
    assert!(
        problems.is_empty(),
        "{} problems on {} pages:\n{}",
        problems.len(),
        t.visited,
        problems.join("\n")
    );
}

#[tokio::test]
async fn every_page_fits_and_passes_axe_on_a_desktop() {
    tour(1280, 900, "desktop").await;
}

#[tokio::test]
async fn every_page_fits_and_passes_axe_on_a_phone() {
    tour(390, 844, "phone").await;
}
