//! Helpers for the wizard tests: drive the forms, read rows and packages back.
#![allow(dead_code)]

use crate::support::tools::{self, Tool};
use crate::support::TestApp;
use diesel::prelude::*;
use reqwest::{Response, StatusCode};
use seedport::db::schema::{shipments, tokens};
use seedport::vault::token_aad;
use std::path::Path;

pub const EMAIL: &str = "it-admin@acme.example";
pub const PASSWORD: &str = "tulip anchor gravel 42";

/// The value of the first `name="csrf"` field in a page.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("page has a csrf field") + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_string()
}

pub fn location(resp: &Response) -> String {
    resp.headers()
        .get("location")
        .expect("redirect")
        .to_str()
        .unwrap()
        .to_string()
}

/// `GET /` then returns its CSRF token (sets the session cookie in the client).
pub async fn start(app: &TestApp) -> String {
    let html = app
        .client
        .get(&app.base_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    csrf_of(&html)
}

pub async fn lookup(
    app: &TestApp,
    csrf: &str,
    kind: &str,
    reference: &str,
    email: &str,
) -> Response {
    app.client
        .post(format!("{}/request", app.base_url))
        .form(&[
            ("csrf", csrf),
            ("kind", kind),
            ("reference", reference),
            ("email", email),
        ])
        .send()
        .await
        .unwrap()
}

/// Looks up `reference` with the demo email; returns the draft's base URL (`.../request/ID`).
pub async fn draft_for(app: &TestApp, kind: &str, reference: &str) -> (String, String) {
    let csrf = start(app).await;
    let resp = lookup(app, &csrf, kind, reference, EMAIL).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let loc = location(&resp);
    assert!(loc.ends_with("/shipments"), "{loc}");
    let base = format!("{}{}", app.base_url, loc.trim_end_matches("/shipments"));
    // A successful lookup rotates the session, and with it the forms' CSRF token.
    let _ = csrf;
    let page = app
        .client
        .get(format!("{base}/shipments"))
        .send()
        .await
        .unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    (base, csrf)
}

pub async fn shipment_id(app: &TestApp, number: &str) -> String {
    let number = number.to_string();
    let mut conn = app.db.get().unwrap();
    shipments::table
        .filter(shipments::shipment_number.eq(number))
        .select(shipments::id)
        .first(&mut conn)
        .unwrap()
}

/// Posts the shipments form: `(shipment number, serial)` for each selected shipment.
pub async fn prove(app: &TestApp, base: &str, csrf: &str, picks: &[(&str, &str)]) -> Response {
    let mut form = vec![("csrf".to_string(), csrf.to_string())];
    for (number, serial) in picks {
        let id = shipment_id(app, number).await;
        form.push(("ship".into(), id.clone()));
        form.push((format!("serial-{id}"), serial.to_string()));
    }
    app.client
        .post(format!("{base}/shipments"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// Posts the protection form as multipart.
pub async fn protect(app: &TestApp, base: &str, fields: &[(&str, &str)]) -> Response {
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    app.client
        .post(format!("{base}/protection"))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

pub async fn post_form(app: &TestApp, url: &str, fields: &[(&str, &str)]) -> Response {
    app.client.post(url).form(fields).send().await.unwrap()
}

/// Walks a draft of PO-2026-0042 through shipments and password protection to the format step.
pub async fn to_format(app: &TestApp, bundling: &str) -> (String, String) {
    let (base, csrf) = draft_for(app, "po", "PO-2026-0042").await;
    let r = prove(
        app,
        &base,
        &csrf,
        &[("SHP-50042-1", "10001003"), ("SHP-50042-2", "10002007")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = protect(
        app,
        &base,
        &[
            ("csrf", &csrf),
            ("bundling", bundling),
            ("protection", "password"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
            ("action", "continue"),
        ],
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    (base, csrf)
}

/// Every token seed of a shipment, decrypted from the database: (serial, seed).
pub fn seeds(app: &TestApp, number: &str) -> Vec<(String, Vec<u8>)> {
    let mut conn = app.db.get().unwrap();
    let (sid, key_id): (String, String) = shipments::table
        .filter(shipments::shipment_number.eq(number))
        .select((shipments::id, shipments::data_key_id))
        .first(&mut conn)
        .unwrap();
    let key = app.vault.data_key(&mut conn, &key_id).unwrap();
    let rows: Vec<(String, String, Vec<u8>)> = tokens::table
        .filter(tokens::shipment_id.eq(sid))
        .order(tokens::serial.asc())
        .select((tokens::id, tokens::serial, tokens::secret_ct))
        .load(&mut conn)
        .unwrap();
    rows.into_iter()
        .map(|(id, serial, ct)| {
            let seed = key.open(&ct, &token_aad(&id, &serial)).unwrap();
            (serial, seed.expose().to_vec())
        })
        .collect()
}

/// A stored package's bytes, read back through the storage layer.
pub fn package_bytes(app: &TestApp, package_id: &str, size: i64) -> Vec<u8> {
    let mut conn = app.db.get().unwrap();
    let key = seedport::storage::package_key(&mut conn, &app.vault, package_id).unwrap();
    let mut out = Vec::new();
    for seq in 0..seedport::storage::chunk_count(size as u64) {
        let chunk =
            seedport::storage::read_chunk(&mut conn, &key, package_id, seq, size as u64).unwrap();
        out.extend_from_slice(chunk.expose());
    }
    out
}

/// Extracts a zip with 7z into `to`.
pub fn sevenz(zip: &Path, password: Option<&str>, to: &Path) {
    let mut c = tools::command(Tool::SevenZip);
    c.arg("x").arg("-y").arg(format!("-o{}", to.display()));
    if let Some(pw) = password {
        c.arg(format!("-p{pw}"));
    }
    let out = c.arg(zip).output().expect("7z runs");
    assert!(
        out.status.success(),
        "7z failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}
