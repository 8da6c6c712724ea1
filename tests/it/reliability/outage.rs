//! PostgreSQL going away under the real binary: pages that need it answer the clean 503 page
//! within seconds, `/healthz` stays 200, and once it is back everything recovers without a
//! restart; the email the relay accepted just before the outage is recorded, not sent again;
//! the sender resumes by itself. Stops and starts a cluster of its own only (guarded).

use super::mail::{copies, enqueue, production_env};
use crate::support::child::Seedport;
use crate::support::smtp::{free_port, Smtp};
use crate::support::tools::{self, Tool};
use crate::support::{Backend, TestDb};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use seedport::db::schema::outbox;
use seedport::db::Db;
use std::time::{Duration, Instant};

fn pg_ctl(cluster: &str, action: &str) {
    let mut parts = cluster.split_whitespace();
    let (version, name) = (parts.next().unwrap(), parts.next().unwrap());
    let mut cmd = std::process::Command::new(tools::program_named("pg_ctlcluster").unwrap());
    cmd.args(["--skip-systemctl-redirect", version, name, action]);
    if action == "stop" {
        cmd.args(["-m", "fast"]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "pg_ctlcluster {action}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts the cluster again whatever happens in the test.
struct Restart(String);

impl Drop for Restart {
    fn drop(&mut self) {
        let mut parts = self.0.split_whitespace();
        if let (Some(v), Some(n), Some(bin)) = (
            parts.next(),
            parts.next(),
            tools::program_named("pg_ctlcluster"),
        ) {
            let _ = std::process::Command::new(bin)
                .args(["--skip-systemctl-redirect", v, n, "start"])
                .output();
        }
    }
}

async fn get(client: &reqwest::Client, url: String) -> (u16, String, Duration) {
    let started = Instant::now();
    match client
        .get(url)
        .timeout(Duration::from_secs(30))
        .send()
        .await
    {
        Ok(r) => {
            let status = r.status().as_u16();
            (
                status,
                r.text().await.unwrap_or_default(),
                started.elapsed(),
            )
        }
        Err(e) => (0, e.to_string(), started.elapsed()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_going_away_gives_clean_503s_and_everything_recovers_by_itself() {
    crate::require_tools!(Tool::Aiosmtpd, Tool::PgOutageCluster);
    let (cluster, admin) = tools::outage_cluster().unwrap();
    // A database of its own on the stoppable cluster.
    let name = format!("seedport_outage_{}", uuid::Uuid::new_v4().simple());
    let mut conn = diesel::PgConnection::establish(&admin).unwrap();
    conn.batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    drop(conn);
    let mut db = TestDb::new(Backend::Sqlite);
    db.url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    let smtp = Smtp::start(free_port());
    let key = seedport::vault::MasterKey::generate().to_base64();
    let mut vars = production_env(&db, smtp.port, &key, 5, 10);
    vars.push(("SEEDPORT_DB_CHECKOUT_TIMEOUT_SECONDS".into(), "3".into()));
    let app = Seedport::start(db.dir.path(), "seedport", &vars).await;
    let pool = Db::connect(&db.url, 2).unwrap();
    let client = reqwest::Client::new();
    let page = format!("{}/d/sp_dl_{}", app.base_url, "z".repeat(43));
    assert_eq!(get(&client, page.clone()).await.0, 404);

    // One email on the wire when the database goes: the relay accepts it during the outage.
    smtp.set_delay(2.0);
    enqueue(&pool, 0, 1, seedport::clock::Clock::System.now());
    let deadline = Instant::now() + Duration::from_secs(20);
    while smtp.started() < 1 {
        assert!(Instant::now() < deadline, "the relay never got the email");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _restart = Restart(cluster.clone());
    pg_ctl(&cluster, "stop");
    let down_at = Instant::now();

    // While it is down: the 503 page within seconds, liveness fine, readiness says why.
    let (status, body, waited) = get(&client, page.clone()).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("temporarily unavailable"), "{body}");
    assert!(waited < Duration::from_secs(6), "503 took {waited:?}");
    let (health, _, _) = get(&client, format!("{}/healthz", app.base_url)).await;
    assert_eq!(health, 200);
    let (ready, ready_body, _) = get(&client, format!("{}/readyz", app.base_url)).await;
    assert_eq!(ready, 503, "{ready_body}");
    let start_page = get(&client, format!("{}/", app.base_url)).await.0;
    smtp.wait_for_within(1, Duration::from_secs(10)).await;
    // Down for longer than the 5 s lease.
    let remaining = Duration::from_secs(8).saturating_sub(down_at.elapsed());
    tokio::time::sleep(remaining).await;
    pg_ctl(&cluster, "start");
    let up_at = Instant::now();

    // Back: pages recover on their own, the accepted email is recorded, not sent again.
    let recovered = loop {
        let (status, _, _) = get(&client, page.clone()).await;
        if status == 404 {
            break up_at.elapsed();
        }
        assert!(
            up_at.elapsed() < Duration::from_secs(30),
            "no recovery: {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut conn = pool.get().unwrap();
        let state: String = outbox::table
            .select(outbox::state)
            .first(&mut conn)
            .unwrap();
        if state == "sent" {
            break;
        }
        assert!(Instant::now() < deadline, "the sent record never landed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The sender resumed by itself.
    smtp.set_delay(0.0);
    enqueue(&pool, 1, 3, seedport::clock::Clock::System.now());
    smtp.wait_for_within(4, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let mail = smtp.received();
    let seen = copies(&mail);
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert!(seen.values().all(|&n| n == 1), "{seen:?}");
    let log = app.log_text();
    assert!(!log.contains("panicked"), "{log}");
    drop(app);
    drop(pool);
    if let Ok(mut conn) = diesel::PgConnection::establish(&admin) {
        let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }
    eprintln!(
        "FIGURE PostgreSQL down 8 s: /d/… answered 503 (clean page) after {waited:.1?}, / answered {start_page}, /healthz {health}, /readyz {ready}; pages back {recovered:.1?} after PostgreSQL; the email accepted during the outage: received once, recorded sent; 3 more after: received once each ({} received of 4 queued)",
        mail.len()
    );
}
