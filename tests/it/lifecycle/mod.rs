//! The typed request lifecycle and the delivery team's console, end to end on every backend:
//! requests made through the real wizard, decided and acted on through the console with fresh
//! authenticator codes, emails checked on a real SMTP server, time moved on the injected clock.

mod browser;
mod console;
mod retention;
mod states;

use crate::support::smtp::Smtp;
use crate::support::{spawn_app_with, Backend, TestApp};
use crate::wizard_helpers::{location, post_form, to_format, PASSWORD};
use diesel::prelude::*;
use reqwest::StatusCode;
use seedport::db::schema::{audit_log, outbox, packages, requests};
use seedport::jobs::{self, JobDeps};
use seedport::lifecycle::{PackageId, RequestId, State};
use seedport::mail::sender::{self, Mailer, SenderOptions};
use seedport::staff::{account, totp, Role};
use seedport::vault::SecretString;

pub const STAFF_PASSWORD: &str = "correct horse battery staple";
pub const ALERTS: &str = "alerts@vendor.example";

/// An app whose mail goes to `smtp_port` (a real server, or nothing listening).
pub async fn app(backend: Backend, smtp_port: u16) -> TestApp {
    spawn_app_with(backend, move |c| {
        c.smtp = Some(seedport::config::SmtpConfig {
            host: "127.0.0.1".into(),
            port: smtp_port,
            security: seedport::config::SmtpSecurity::None,
            username: None,
            password: None,
        });
        c.alert_email = ALERTS.into();
        c.lookups_per_ip_per_hour = 1000;
        c.lookups_per_reference_per_hour = 1000;
    })
    .await
}

pub fn deps(app: &TestApp) -> JobDeps {
    JobDeps {
        db: app.db.clone(),
        config: app.config.clone(),
        clock: app.clock.clone(),
        tera: seedport::web::assets::tera().unwrap(),
    }
}

/// A sender that is never asked to stop (each pass claims under its own name).
fn test_sender() -> sender::Sender {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    // The sender only reads the flag; keeping the channel open forever is fine in a test.
    std::mem::forget(stop);
    sender::Sender::new(stopped)
}

/// One pass of each background job, in the order they matter: send, follow, send the alerts.
pub async fn run_jobs(app: &TestApp, max_attempts: i32) {
    let deps = deps(app);
    let mailer = Mailer::from_config(&app.config).unwrap();
    let options = SenderOptions {
        max_attempts,
        ..SenderOptions::default()
    };
    sender::send_due(
        &app.db,
        &mailer,
        &app.config,
        &app.clock,
        &test_sender(),
        &options,
    )
    .await
    .unwrap();
    jobs::follow_once(&deps).await.unwrap();
    sender::send_due(
        &app.db,
        &mailer,
        &app.config,
        &app.clock,
        &test_sender(),
        &options,
    )
    .await
    .unwrap();
}

/// One send pass that gives every due email up at once (cap of one attempt), then the follower.
pub async fn fail_all(app: &TestApp) {
    let mailer = Mailer::from_config(&app.config).unwrap();
    let options = SenderOptions {
        max_attempts: 1,
        ..SenderOptions::default()
    };
    sender::send_due(
        &app.db,
        &mailer,
        &app.config,
        &app.clock,
        &test_sender(),
        &options,
    )
    .await
    .unwrap();
    jobs::follow_once(&deps(app)).await.unwrap();
}

/// A request made through the wizard: PO-2026-0042's two shipments, password-protected Entra
/// CSV, `bundling` "one" or "per_shipment". Returns its id.
pub async fn submit(app: &TestApp, bundling: &str) -> RequestId {
    let (base, csrf) = to_format(app, bundling).await;
    let r = post_form(
        app,
        &format!("{base}/format"),
        &[
            ("csrf", &csrf),
            ("format", "entra-csv"),
            ("action", "continue"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = post_form(app, &format!("{base}/submit"), &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", location(&r));
    let draft = base.rsplit('/').next().unwrap().to_string();
    let mut conn = app.db.get().unwrap();
    requests::table
        .filter(requests::draft_id.eq(draft))
        .select(requests::id)
        .first(&mut conn)
        .unwrap()
}

pub fn request_state(app: &TestApp, id: &RequestId) -> State {
    let mut conn = app.db.get().unwrap();
    requests::table
        .find(id)
        .select(requests::state)
        .first(&mut conn)
        .unwrap()
}

pub fn package_ids(app: &TestApp, id: &RequestId) -> Vec<PackageId> {
    let mut conn = app.db.get().unwrap();
    packages::table
        .filter(packages::request_id.eq(id))
        .order(packages::file_name.asc())
        .select(packages::id)
        .load(&mut conn)
        .unwrap()
}

pub fn package_state(app: &TestApp, id: &PackageId) -> State {
    let mut conn = app.db.get().unwrap();
    packages::table
        .find(id)
        .select(packages::state)
        .first(&mut conn)
        .unwrap()
}

/// The audit actions about one subject, oldest first.
pub fn audit_of(app: &TestApp, subject: &str) -> Vec<String> {
    let mut conn = app.db.get().unwrap();
    audit_log::table
        .filter(audit_log::subject.eq(subject))
        .order(audit_log::seq.asc())
        .select(audit_log::action)
        .load(&mut conn)
        .unwrap()
}

/// Outbox rows of `kind`: (to, subject, state).
pub fn outbox_of(app: &TestApp, kind: &str) -> Vec<(String, String, String)> {
    let mut conn = app.db.get().unwrap();
    outbox::table
        .filter(outbox::kind.eq(kind))
        .order(outbox::created_at.asc())
        .select((outbox::to_addr, outbox::subject, outbox::state))
        .load(&mut conn)
        .unwrap()
}

/// The `/d/…` and `/c/…` links of the newest received email to the customer with a link.
pub fn links_in(app: &TestApp, text: &str) -> (String, String) {
    let find = |kind: &str| {
        let prefix = format!("{}/{kind}/", app.base_url);
        let start = text
            .find(&prefix)
            .unwrap_or_else(|| panic!("no {prefix} in {text}"));
        text[start..].split_whitespace().next().unwrap().to_string()
    };
    (find("d"), find("c"))
}

/// The download emails the SMTP server received, oldest first.
pub fn download_emails(smtp: &Smtp) -> Vec<crate::support::smtp::Received> {
    smtp.received()
        .into_iter()
        .filter(|m| m.subject.contains("ready to download"))
        .collect()
}

/// A signed-in member of the delivery team, in their own browser.
pub struct Console {
    client: reqwest::Client,
    base: String,
    secret: Vec<u8>,
}

/// Creates a delivery-team account; returns its TOTP secret.
pub fn create_staff(app: &TestApp, email: &str, role: Role) -> Vec<u8> {
    let mut conn = app.db.get().unwrap();
    account::create(
        &mut conn,
        &app.vault,
        email,
        "Test Reviewer",
        role,
        Some(SecretString::new(STAFF_PASSWORD.into())),
        app.clock.now(),
    )
    .unwrap()
    .totp_secret
    .expose()
    .to_vec()
}

impl Console {
    pub async fn sign_in(app: &TestApp, email: &str, role: Role) -> Console {
        let secret = create_staff(app, email, role);
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let console = Console {
            client,
            base: app.base_url.clone(),
            secret,
        };
        let (_, login) = console.get("/staff/login").await;
        let csrf = crate::wizard_helpers::csrf_of(&login);
        let code = totp::code_at(&console.secret, app.clock.now());
        let r = console
            .client
            .post(format!("{}/staff/login", console.base))
            .form(&[
                ("email", email),
                ("password", STAFF_PASSWORD),
                ("code", &code),
                ("csrf", &csrf),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{email} signs in");
        app.clock.advance(totp::STEP);
        console
    }

    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }

    /// Posts `fields` to `action` with the CSRF token of the page at `page` and, when
    /// `with_code`, a fresh authenticator code (the clock then moves to the next code).
    pub async fn post(
        &self,
        app: &TestApp,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
        with_code: bool,
    ) -> (StatusCode, String) {
        let (_, html) = self.get(page).await;
        let csrf = crate::wizard_helpers::csrf_of(&html);
        let code = totp::code_at(&self.secret, app.clock.now());
        let mut form: Vec<(&str, &str)> = vec![("csrf", &csrf)];
        if with_code {
            form.push(("code", &code));
        }
        form.extend_from_slice(fields);
        let r = self
            .client
            .post(format!("{}{action}", self.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        if with_code {
            app.clock.advance(totp::STEP);
        }
        let status = r.status();
        let body = if status == StatusCode::SEE_OTHER {
            let to = location(&r);
            self.get(&to).await.1
        } else {
            r.text().await.unwrap()
        };
        (status, body)
    }

    /// Approves through the console.
    pub async fn approve(&self, app: &TestApp, id: &RequestId) -> (StatusCode, String) {
        let page = format!("/staff/requests/{id}");
        self.post(app, &page, &format!("{page}/approve"), &[], true)
            .await
    }

    /// One package action (`resend`, `reissue`, `cancel`, `extend`) through the console.
    pub async fn package_action(
        &self,
        app: &TestApp,
        request: &RequestId,
        package: &PackageId,
        action: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, String) {
        self.post(
            app,
            &format!("/staff/requests/{request}"),
            &format!("/staff/packages/{package}/{action}"),
            fields,
            true,
        )
        .await
    }

    /// Whether the queue filtered by `state` lists the request `reference`, and the count shown
    /// next to that filter.
    pub async fn in_filter(&self, state: &str, reference: &str) -> (bool, String) {
        let (status, html) = self.get(&format!("/staff/requests?state={state}")).await;
        assert_eq!(status, StatusCode::OK);
        let listed = html.contains(&format!("data-reference=\"{reference}\""));
        let marker = format!("data-state=\"{state}\"");
        let count = html
            .find(&marker)
            .map(|i| {
                let rest = &html[i..];
                let open = rest.find("(").unwrap() + 1;
                let close = rest.find(")").unwrap();
                rest[open..close].to_string()
            })
            .unwrap_or_default();
        (listed, count)
    }
}

/// A customer's browser following a download link: POST with the password; (status, bytes).
pub async fn download(app: &TestApp, link: &str, password: &str) -> (StatusCode, Vec<u8>) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client.get(link).send().await.unwrap();
    if page.status() != StatusCode::OK {
        return (page.status(), page.bytes().await.unwrap().to_vec());
    }
    let csrf = crate::wizard_helpers::csrf_of(&page.text().await.unwrap());
    let _ = app;
    let r = client
        .post(link)
        .form(&[("csrf", csrf.as_str()), ("password", password)])
        .send()
        .await
        .unwrap();
    (r.status(), r.bytes().await.unwrap().to_vec())
}

/// A customer confirming receipt: (status, page).
pub async fn confirm(link: &str) -> (StatusCode, String) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client.get(link).send().await.unwrap();
    if page.status() != StatusCode::OK {
        return (page.status(), page.text().await.unwrap());
    }
    let csrf = crate::wizard_helpers::csrf_of(&page.text().await.unwrap());
    let r = client
        .post(link)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

pub const CUSTOMER_PASSWORD: &str = PASSWORD;
