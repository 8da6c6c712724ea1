//! The order API under `/api/v1` on every backend: keys (CLI, 401/403/429), customers, orders
//! and token files (idempotent, conflicts naming the field, the import's messages), the OpenAPI
//! document checked by outside tools, and an ERP-style order followed to confirmed with signed
//! webhooks received on loopback.

mod erp;
mod keys;
mod openapi;
mod orders;

use crate::support::TestApp;
use reqwest::header::HeaderMap;
use seedport::api_keys::{self, KeyName, Scope, WebhookUrl};

/// A key created through the domain function `api-key create` calls; (key, webhook secret).
pub fn key_with(
    app: &TestApp,
    name: &str,
    scopes: &[Scope],
    webhook: Option<&str>,
) -> (String, Option<String>) {
    let mut conn = app.db.get().unwrap();
    let created = api_keys::create(
        &mut conn,
        &app.vault,
        &KeyName::parse(name).unwrap(),
        scopes,
        webhook.map(|w| WebhookUrl::parse(w).unwrap()).as_ref(),
        app.clock.now(),
    )
    .unwrap();
    (
        created.key.expose().to_string(),
        created.webhook_secret.map(|s| s.expose().to_string()),
    )
}

/// A key with both scopes and no webhook.
pub fn key(app: &TestApp, name: &str) -> String {
    key_with(app, name, &Scope::ALL, None).0
}

/// What an API call answered.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }

    /// Asserts an RFC 9457 problem with this status; returns it.
    pub fn problem(&self, status: u16) -> serde_json::Value {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(
            self.headers["content-type"], "application/problem+json",
            "{}",
            self.text
        );
        let p = self.json();
        assert_eq!(p["status"], status);
        assert!(p["title"].is_string() && p["detail"].is_string(), "{p}");
        p
    }
}

/// One call: `method` `path` with an optional bearer key and body (JSON value or raw bytes).
pub async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    key: Option<&str>,
    body: Option<Body>,
) -> Answer {
    let mut req = app
        .client
        .request(method, format!("{}{path}", app.base_url));
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    req = match body {
        Some(Body::Json(v)) => req
            .header("content-type", "application/json")
            .body(v.to_string()),
        Some(Body::Raw(bytes)) => req.header("content-type", "text/csv").body(bytes),
        None => req,
    };
    let r = req.send().await.unwrap();
    Answer {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        text: r.text().await.unwrap(),
    }
}

pub enum Body {
    Json(serde_json::Value),
    Raw(Vec<u8>),
}

pub fn json(v: serde_json::Value) -> Option<Body> {
    Some(Body::Json(v))
}

/// A Deepnet factory CSV of `n` TOTP tokens from serial `first`; returns it with the Base32
/// seeds (to prove no answer ever carries one).
pub fn factory_csv(first: u64, n: u64) -> (Vec<u8>, Vec<String>) {
    let mut csv = String::from("serial number,secret key,time interval,manufacturer,model\r\n");
    let mut seeds = Vec::new();
    for i in 0..n {
        let seed: Vec<u8> = (0..20u8)
            .map(|b| {
                ((first + i) as u8)
                    .wrapping_mul(37)
                    .wrapping_add(b.wrapping_mul(11))
                    .wrapping_add(3)
            })
            .collect();
        let b32 = data_encoding::BASE32_NOPAD.encode(&seed);
        csv.push_str(&format!(
            "{},{b32},30,Deepnet Security,SafeID/Enterprise\r\n",
            first + i
        ));
        seeds.push(b32);
    }
    (csv.into_bytes(), seeds)
}
