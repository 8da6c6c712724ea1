//! The security review's findings (issue 12), one module per finding, each on every backend.
#![allow(dead_code)]

mod customer_session;
mod demo_database;
mod download_limit;
mod files;
mod formula_guard;
mod fuzz_corpora;
mod headers;
mod lookup_limits;
mod multipart;
mod postgres_tls;
mod secrets_in_logs;
mod sign_in_limits;
mod step_up;

use crate::support::TestApp;
use diesel::prelude::*;
use reqwest::cookie::{CookieStore, Jar};
use seedport::db::schema::{audit_log, requests};
use seedport::staff::{account, totp, Role};
use seedport::vault::SecretString;
use std::sync::Arc;

pub const STAFF_PASSWORD: &str = "correct horse battery staple";

/// A browser: its own cookie jar, no redirects followed, optionally a forwarded client IP.
pub struct Browser {
    pub client: reqwest::Client,
    pub jar: Arc<Jar>,
    pub base: String,
    pub forwarded_for: Option<String>,
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser {
            client,
            jar,
            base: app.base_url.clone(),
            forwarded_for: None,
        }
    }

    /// A browser whose requests carry `X-Forwarded-For: ip` (believed when the test app trusts
    /// 127.0.0.1 as a proxy).
    pub fn from_ip(app: &TestApp, ip: &str) -> Browser {
        let mut b = Browser::new(app);
        b.forwarded_for = Some(ip.to_string());
        b
    }

    /// The value of cookie `name` as the browser holds it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let url = self.base.parse().unwrap();
        let header = self.jar.cookies(&url)?;
        let prefix = format!("{name}=");
        header
            .to_str()
            .unwrap()
            .split("; ")
            .find_map(|c| c.strip_prefix(prefix.as_str()).map(String::from))
    }

    pub fn with_ip(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.forwarded_for {
            Some(ip) => r.header("x-forwarded-for", ip),
            None => r,
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.with_ip(self.client.get(format!("{}{path}", self.base)))
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.with_ip(self.client.post(format!("{}{path}", self.base)))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// The CSRF token in the page at `path`.
    pub async fn csrf(&self, path: &str) -> String {
        let body = self.get(path).await.text().await.unwrap();
        hidden_csrf(&body)
    }

    pub async fn sign_in(&self, email: &str, password: &str, code: &str) -> reqwest::Response {
        let csrf = self.csrf("/staff/login").await;
        self.post(
            "/staff/login",
            &[
                ("email", email),
                ("password", password),
                ("code", code),
                ("csrf", &csrf),
            ],
        )
        .await
    }
}

pub fn hidden_csrf(body: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = body.find(marker).expect("page has a CSRF field") + marker.len();
    body[start..].split('"').next().unwrap().to_string()
}

/// Creates a staff account through the domain and returns its TOTP secret.
pub fn add_staff(app: &TestApp, email: &str, role: Role) -> Vec<u8> {
    let mut conn = app.db.get().unwrap();
    let enrolment = account::create(
        &mut conn,
        &app.vault,
        email,
        "Test Person",
        role,
        Some(SecretString::new(STAFF_PASSWORD.into())),
        app.clock.now(),
    )
    .unwrap();
    enrolment.totp_secret.expose().to_vec()
}

pub fn code(app: &TestApp, secret: &[u8]) -> String {
    totp::code_at(secret, app.clock.now())
}

/// Signs a fresh browser in and moves the clock to the next TOTP step, so the next code is new.
pub async fn signed_in(app: &TestApp, email: &str, secret: &[u8]) -> Browser {
    let b = Browser::new(app);
    let r = b.sign_in(email, STAFF_PASSWORD, &code(app, secret)).await;
    assert_eq!(
        r.status(),
        reqwest::StatusCode::SEE_OTHER,
        "{email} signs in"
    );
    app.clock.advance(totp::STEP);
    b
}

/// A pending request for the demo order's first shipment, submitted through the domain as the wizard does.
pub fn pending_request(app: &TestApp) -> String {
    crate::support::requests::submit_request(app, &Default::default()).request_id
}

pub fn request_state(app: &TestApp, id: &str) -> String {
    let mut conn = app.db.get().unwrap();
    requests::table
        .find(id)
        .select(requests::state)
        .first(&mut conn)
        .unwrap()
}

/// Every audit row as (action, actor, details), oldest first.
pub fn audit_rows(app: &TestApp) -> Vec<(String, String, String)> {
    let mut conn = app.db.get().unwrap();
    audit_log::table
        .order(audit_log::seq.asc())
        .select((audit_log::action, audit_log::actor, audit_log::details))
        .load(&mut conn)
        .unwrap()
}

pub fn count_action(app: &TestApp, action: &str) -> usize {
    audit_rows(app).iter().filter(|r| r.0 == action).count()
}
