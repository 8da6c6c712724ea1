//! Finding 7: download passwords have a per-IP limit across packages, so one address cannot
//! spread guesses over many packages (each with its own wrong-password limit).

use super::*;
use crate::support::{backends, spawn_app_with, TestApp};
use seedport::db::schema::{customers, outbox, packages};
use seedport::db::DbError;
use seedport::storage::ChunkWriter;
use sha2::{Digest, Sha256};
use std::io::Write;

const PASSWORD: &str = "correct horse battery staple";

/// A request with `n` password-protected packages, approved through the domain; returns the
/// download links from the queued emails (the sender is not running, so they are still there).
async fn approved_with_packages(app: &TestApp, n: usize) -> Vec<String> {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let hash = argon2::Argon2::default()
        .hash_password(PASSWORD.as_bytes(), &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
    let (vault, now) = (app.vault.clone(), app.clock.now());
    let request_id = app
        .db
        .run(move |conn| {
            let (customer_id, order_id): (String, String) = orders::table
                .inner_join(customers::table)
                .select((orders::customer_id, orders::id))
                .first(conn)?;
            let id = uuid::Uuid::new_v4().to_string();
            diesel::insert_into(requests::table)
                .values((
                    requests::id.eq(&id),
                    requests::reference.eq(format!("SP-{}", &id[..8].to_uppercase())),
                    requests::customer_id.eq(&customer_id),
                    requests::order_id.eq(&order_id),
                    requests::requester_email.eq("it-admin@acme.example"),
                    requests::client_ip.eq("127.0.0.1"),
                    requests::state.eq("pending_review"),
                    requests::format_id.eq("entra-csv"),
                    requests::format_summary.eq(r#"{"format":"entra-csv","name":"Microsoft Entra ID (CSV)","custom_csv":null}"#),
                    requests::bundling.eq("per_shipment"),
                    requests::protection.eq("password"),
                    requests::password_hash.eq(&hash),
                    requests::created_at.eq(now),
                    // Not announced to the team: this test reads the download emails only.
                    requests::review_alerted_at.eq(now),
                ))
                .execute(conn)?;
            for i in 0..n {
                let bytes = format!("package {i}").into_bytes();
                let pid = uuid::Uuid::new_v4().to_string();
                let key = vault.new_data_key(conn, "package", now).unwrap();
                diesel::insert_into(packages::table)
                    .values((
                        packages::id.eq(&pid),
                        packages::request_id.eq(&id),
                        packages::file_name.eq(format!("Acme seeds {i}.zip")),
                        packages::content_type.eq("application/zip"),
                        packages::size.eq(bytes.len() as i64),
                        packages::sha256.eq(hex::encode(Sha256::digest(&bytes))),
                        packages::token_count.eq(25i64),
                        packages::shipment_numbers.eq("SHP-50042-1"),
                        packages::data_key_id.eq(&key.id),
                        packages::state.eq("pending_review"),
                        packages::max_downloads.eq(0),
                        packages::created_at.eq(now),
                    ))
                    .execute(conn)?;
                let mut writer = ChunkWriter::new(conn, key, &pid);
                writer.write_all(&bytes).unwrap();
                writer.finish().unwrap();
            }
            Ok::<_, DbError>(id)
        })
        .await
        .unwrap();
    let (config, tera, now) = (
        app.config.clone(),
        seedport::web::assets::tera().unwrap(),
        app.clock.now(),
    );
    let id = request_id.clone();
    app.db
        .run(move |conn| {
            let who = seedport::lifecycle::Who {
                actor: "staff:x",
                client_ip: "10.0.0.1",
            };
            let id = seedport::lifecycle::RequestId::from_raw(id);
            seedport::delivery::approve(conn, &config, &tera, &id, who, now)
        })
        .await
        .unwrap();
    let mut conn = app.db.get().unwrap();
    let bodies: Vec<String> = outbox::table
        .filter(outbox::request_id.eq(&request_id))
        .select(outbox::body_text)
        .load(&mut conn)
        .unwrap();
    let prefix = format!("{}/d/", app.base_url);
    let links: Vec<String> = bodies
        .iter()
        .filter_map(|t| {
            let start = t.find(&prefix)?;
            t[start..]
                .split_whitespace()
                .next()
                .map(|l| l[app.base_url.len()..].to_string())
        })
        .collect();
    assert_eq!(links.len(), n, "one download link per package");
    links
}

async fn try_password(b: &Browser, link: &str, password: &str) -> reqwest::StatusCode {
    let csrf = b.csrf(link).await;
    b.post(link, &[("csrf", &csrf), ("password", password)])
        .await
        .status()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_address_cannot_spread_guesses_over_packages() {
    for backend in backends() {
        let app = spawn_app_with(backend, |c| {
            c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
            c.download_passwords_per_ip_per_hour = 4;
        })
        .await;
        let links = approved_with_packages(&app, 3).await;
        let guesser = Browser::from_ip(&app, "203.0.113.50");
        for link in &links[..2] {
            for _ in 0..2 {
                assert_eq!(try_password(&guesser, link, "wrong wrong wrong").await, 403);
            }
        }
        // Each package allows five wrong passwords, but this address has used its four.
        let r = try_password(&guesser, &links[2], "wrong wrong wrong").await;
        assert_eq!(r, 429, "{backend:?}");
        let page = guesser.get(&links[2]).await;
        assert_eq!(page.status(), 200, "a GET changes nothing");

        // The customer, from another address, downloads with the right password.
        let customer = Browser::from_ip(&app, "198.51.100.7");
        assert_eq!(
            try_password(&customer, &links[2], PASSWORD).await,
            200,
            "{backend:?}"
        );
    }
}
