//! Graceful shutdown of the real binary: SIGTERM stops accepting, a download in flight
//! finishes within `shutdown_grace_seconds` and counts; one cut short (past the grace period,
//! or the client gone) does not spend the customer's download. Exit status 0 either way.

use crate::support::child::{env, Seedport};
use crate::support::smtp::{free_port, Smtp};
use crate::support::tools::Tool;
use crate::support::{backends, Backend, TestDb};
use diesel::prelude::*;
use futures_util::StreamExt;
use seedport::db::schema::{audit_log, customers, orders, packages, requests};
use seedport::db::Db;
use seedport::storage::ChunkWriter;
use seedport::vault::{MasterKey, Vault};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::time::{Duration, Instant};

const SIZE: usize = 24 * 1024 * 1024;

struct Released {
    package_id: String,
    link: String,
    bytes: Vec<u8>,
}

/// A demo instance with SMTP, and one approved PGP-only package of [`SIZE`] random bytes whose
/// download link came by email. The request and package rows are written directly here (the
/// one exception to `support::requests`): a download must still be in flight when SIGTERM
/// comes, and the demo order's real packages are a few KiB, which the socket takes at once.
/// Approval goes through the domain.
async fn instance(backend: Backend, grace: u32) -> (TestDb, Smtp, Seedport, Db, Released) {
    let db = TestDb::new(backend);
    let smtp = Smtp::start(free_port());
    let master = MasterKey::generate();
    let vars = env(&[
        ("SEEDPORT_DATABASE_URL", db.url.clone()),
        (
            "SEEDPORT_DATA_DIR",
            db.dir.path().join("var").display().to_string(),
        ),
        ("SEEDPORT_MASTER_KEY", master.to_base64()),
        ("SEEDPORT_SMTP_HOST", "127.0.0.1".into()),
        ("SEEDPORT_SMTP_PORT", smtp.port.to_string()),
        ("SEEDPORT_SMTP_SECURITY", "none".into()),
        ("SEEDPORT_SHUTDOWN_GRACE_SECONDS", grace.to_string()),
    ]);
    let app = Seedport::start(db.dir.path(), "seedport", &vars).await;
    let pool = Db::connect(&db.url, 2).unwrap();
    let vault = Vault::new(master);
    let mut bytes = vec![0u8; SIZE];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let now = seedport::clock::Clock::System.now();
    let mut conn = pool.get().unwrap();
    let (customer_id, order_id): (String, String) = orders::table
        .inner_join(customers::table)
        .select((orders::customer_id, orders::id))
        .first(&mut conn)
        .unwrap();
    let request_id = uuid::Uuid::new_v4().to_string();
    diesel::insert_into(requests::table)
        .values((
            requests::id.eq(&request_id),
            requests::reference.eq(format!("SP-{}", &request_id[..8].to_uppercase())),
            requests::customer_id.eq(&customer_id),
            requests::order_id.eq(&order_id),
            requests::requester_email.eq("it-admin@acme.example"),
            requests::client_ip.eq("127.0.0.1"),
            requests::state.eq("pending_review"),
            requests::format_id.eq("entra-csv"),
            requests::format_summary.eq(
                r#"{"format":"entra-csv","name":"Microsoft Entra ID (CSV)","custom_csv":null}"#,
            ),
            requests::bundling.eq("one"),
            requests::protection.eq("pgp"),
            requests::created_at.eq(now),
            // Not announced to the team: this test counts the download email only.
            requests::review_alerted_at.eq(now),
        ))
        .execute(&mut conn)
        .unwrap();
    let package_id = uuid::Uuid::new_v4().to_string();
    let key = vault.new_data_key(&mut conn, "package", now).unwrap();
    diesel::insert_into(packages::table)
        .values((
            packages::id.eq(&package_id),
            packages::request_id.eq(&request_id),
            packages::file_name.eq("seeds.zip.pgp"),
            packages::content_type.eq("application/pgp-encrypted"),
            packages::size.eq(SIZE as i64),
            packages::sha256.eq(hex::encode(Sha256::digest(&bytes))),
            packages::token_count.eq(25i64),
            packages::shipment_numbers.eq("SHP-50042-1"),
            packages::data_key_id.eq(&key.id),
            packages::state.eq("pending_review"),
            packages::max_downloads.eq(0),
            packages::created_at.eq(now),
        ))
        .execute(&mut conn)
        .unwrap();
    let mut writer = ChunkWriter::new(&mut conn, key, &package_id);
    writer.write_all(&bytes).unwrap();
    writer.finish().unwrap();
    let config = seedport::config::Config {
        public_base_url: app.base_url.clone(),
        ..seedport::config::Config::default()
    };
    let tera = seedport::web::assets::tera().unwrap();
    seedport::delivery::approve(
        &mut conn,
        &config,
        &tera,
        &seedport::lifecycle::RequestId::from_raw(request_id.clone()),
        seedport::lifecycle::Who {
            actor: "staff:t",
            client_ip: "10.0.0.1",
        },
        now,
    )
    .unwrap();
    drop(conn);
    let mail = smtp.wait_for(1).await;
    let text = mail
        .iter()
        .map(|m| m.text.clone())
        .find(|t| t.contains("/d/"))
        .expect("a download-ready email");
    let prefix = format!("{}/d/", app.base_url);
    let start = text.find(&prefix).unwrap();
    let link = text[start..].split_whitespace().next().unwrap().to_string();
    let released = Released {
        package_id,
        link,
        bytes,
    };
    (db, smtp, app, pool, released)
}

/// Starts the download: the page (CSRF cookie), then the POST; returns the streaming response.
async fn begin(link: &str) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let page = client.get(link).send().await.unwrap().text().await.unwrap();
    let marker = "name=\"csrf\" value=\"";
    let at = page.find(marker).expect("csrf field") + marker.len();
    let csrf = page[at..].split('"').next().unwrap().to_string();
    let resp = client
        .post(link)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp
}

/// Reads the body slowly (about 4 MiB/s), calling `at_1mib` once the first MiB is in.
async fn read_slowly(resp: reqwest::Response, mut at_1mib: impl FnMut()) -> (Vec<u8>, bool) {
    let mut body = Vec::new();
    let mut stream = resp.bytes_stream();
    let mut called = false;
    let mut cut = false;
    let begun = Instant::now();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => body.extend_from_slice(&bytes),
            Err(_) => {
                cut = true;
                break;
            }
        }
        if !called && body.len() >= 1024 * 1024 {
            called = true;
            at_1mib();
        }
        // About 4 MiB/s.
        let paced = Duration::from_secs_f64(body.len() as f64 / (4.0 * 1024.0 * 1024.0));
        if let Some(ahead) = paced.checked_sub(begun.elapsed()) {
            tokio::time::sleep(ahead).await;
        }
    }
    (body, cut)
}

fn downloads(pool: &Db, id: &str) -> i32 {
    let mut conn = pool.get().unwrap();
    packages::table
        .find(id)
        .select(packages::downloads)
        .first(&mut conn)
        .unwrap()
}

fn incomplete_audits(pool: &Db) -> i64 {
    let mut conn = pool.get().unwrap();
    audit_log::table
        .filter(audit_log::action.eq("package.download_incomplete"))
        .count()
        .get_result(&mut conn)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_lets_a_download_in_flight_finish_and_exits_0() {
    crate::require_tools!(Tool::Aiosmtpd);
    for backend in backends() {
        let (_db, _smtp, mut app, pool, released) = instance(backend, 30).await;
        let resp = begin(&released.link).await;
        let started = Instant::now();
        // Once SIGTERM is in, a new connection is not served while the download goes on.
        let termed = std::sync::Arc::new(tokio::sync::Notify::new());
        let probe = {
            let (termed, url) = (termed.clone(), format!("{}/healthz", app.base_url));
            tokio::spawn(async move {
                termed.notified().await;
                tokio::time::sleep(Duration::from_millis(300)).await;
                let client = reqwest::Client::builder()
                    .timeout(Duration::from_secs(2))
                    .build()
                    .unwrap();
                client.get(url).send().await.map(|r| r.status().as_u16())
            })
        };
        let (body, cut) = read_slowly(resp, || {
            app.signal(libc::SIGTERM);
            termed.notify_one();
        })
        .await;
        let took = started.elapsed();
        let probed = probe.await.unwrap();
        assert!(
            probed.is_err(),
            "{backend:?}: a new request was served after SIGTERM: {probed:?}"
        );
        assert!(
            !cut && body.len() == SIZE,
            "{backend:?}: got {} bytes",
            body.len()
        );
        assert_eq!(Sha256::digest(&body), Sha256::digest(&released.bytes));
        let status = app.wait_exit(Duration::from_secs(40)).await;
        assert!(
            status.is_some_and(|s| s.success()),
            "{backend:?}: {status:?}\n{}",
            app.log_text()
        );
        assert_eq!(downloads(&pool, &released.package_id), 1, "{backend:?}");
        // After SIGTERM nothing new was accepted: the port is closed now.
        assert!(reqwest::get(format!("{}/healthz", app.base_url))
            .await
            .is_err());
        eprintln!(
            "FIGURE {backend:?}: SIGTERM during a {} MiB download: it finished ({took:.1?}), counted once, exit 0",
            SIZE / (1024 * 1024)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_download_cut_short_by_shutdown_or_the_client_does_not_spend_an_allowance() {
    crate::require_tools!(Tool::Aiosmtpd);
    for backend in backends() {
        // Past a 1 s grace period the download is cut.
        let (_db, _smtp, mut app, pool, released) = instance(backend, 1).await;
        let resp = begin(&released.link).await;
        let sigterm_at = std::cell::Cell::new(None);
        let (body, _) = read_slowly(resp, || {
            sigterm_at.set(Some(Instant::now()));
            app.signal(libc::SIGTERM);
        })
        .await;
        assert!(body.len() < SIZE, "{backend:?}: the download was not cut");
        let status = app.wait_exit(Duration::from_secs(20)).await;
        let exited = sigterm_at.get().map(|t| t.elapsed()).unwrap_or_default();
        assert!(
            status.is_some_and(|s| s.success()),
            "{backend:?}: {status:?}\n{}",
            app.log_text()
        );
        assert_eq!(
            downloads(&pool, &released.package_id),
            0,
            "{backend:?}: allowance spent\n{}",
            app.log_text()
        );
        assert_eq!(incomplete_audits(&pool), 1);
        eprintln!(
            "FIGURE {backend:?}: SIGTERM with a 1 s grace cut a {} MiB download at {:.1} MiB; downloads used: 0; exit 0 {exited:.1?} after SIGTERM",
            SIZE / (1024 * 1024),
            body.len() as f64 / (1024.0 * 1024.0)
        );
    }
    // The client hanging up mid-download gives the download back too.
    let (_db, _smtp, app, pool, released) = instance(Backend::Sqlite, 30).await;
    let resp = begin(&released.link).await;
    let mut stream = resp.bytes_stream();
    let mut got = 0;
    while got < 1024 * 1024 {
        got += stream.next().await.unwrap().unwrap().len();
    }
    drop(stream);
    let deadline = Instant::now() + Duration::from_secs(20);
    while downloads(&pool, &released.package_id) != 0 {
        assert!(
            Instant::now() < deadline,
            "client gone: allowance spent\n{}",
            app.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // And a whole download still counts.
    let resp = begin(&released.link).await;
    let body = resp.bytes().await.unwrap();
    assert_eq!(body.len(), SIZE);
    let deadline = Instant::now() + Duration::from_secs(5);
    while downloads(&pool, &released.package_id) != 1 {
        assert!(
            Instant::now() < deadline,
            "a whole download was not counted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
