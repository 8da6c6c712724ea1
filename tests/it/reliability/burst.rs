//! Bursts on the real demo binary with its default pool (SQLite, and PostgreSQL when there):
//! 32 customers pressing Submit at the same moment while 200 mixed requests arrive, and no 5xx,
//! no "database is locked", no ERROR line in the log; `/readyz` answers quickly meanwhile.

use crate::support::child::{env, Seedport};
use crate::support::customer::{Customer, DemoShipments};
use crate::support::{backends, TestDb};
use seedport::db::Db;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_demo_takes_32_simultaneous_submits_inside_200_mixed_requests() {
    for backend in backends() {
        burst(backend).await;
    }
}

async fn burst(backend: crate::support::Backend) {
    let db = TestDb::new(backend);
    let vars = env(&[
        ("SEEDPORT_DATABASE_URL", db.url.clone()),
        (
            "SEEDPORT_DATA_DIR",
            db.dir.path().join("var").display().to_string(),
        ),
        ("SEEDPORT_LOOKUPS_PER_IP_PER_HOUR", "100000".into()),
        ("SEEDPORT_LOOKUPS_PER_REFERENCE_PER_HOUR", "100000".into()),
    ]);
    let app = Seedport::start(db.dir.path(), "demo", &vars).await;
    let ships = DemoShipments::load(&Db::connect(&db.url, 1).unwrap());
    let mut ready = Vec::new();
    for _ in 0..32 {
        let customer = Customer::new(&app.base_url);
        let (base, csrf) = customer.to_review(&ships).await.unwrap();
        ready.push((customer, base, csrf));
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(32 + 200));
    let started = Instant::now();
    let mut submits = Vec::new();
    for (customer, base, csrf) in ready {
        let barrier = barrier.clone();
        submits.push(tokio::spawn(async move {
            barrier.wait().await;
            customer.submit(&base, &csrf).await
        }));
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut mixed = Vec::new();
    for n in 0..200usize {
        let (barrier, client, base) = (barrier.clone(), client.clone(), app.base_url.clone());
        mixed.push(tokio::spawn(async move {
            barrier.wait().await;
            let sent = Instant::now();
            let request = match n % 8 {
                0 => client.get(format!("{base}/")),
                1 => client.get(format!("{base}/healthz")),
                2 => client.get(format!("{base}/readyz")),
                3 => client.get(format!("{base}/d/sp_dl_{}", "x".repeat(43))),
                4 => client.get(format!("{base}/c/sp_cf_{}", "y".repeat(43))),
                5 => client.get(format!("{base}/staff/login")),
                6 => client.get(format!("{base}/demo/mailbox")),
                _ => client.get(format!("{base}/static/css/site.css")),
            };
            let status = match request.send().await {
                Ok(r) => r.status().as_u16(),
                Err(_) => 0,
            };
            (status, n % 8 == 2, sent.elapsed())
        }));
    }
    let mut submit_statuses: BTreeMap<u16, usize> = BTreeMap::new();
    // A submit that got no answer (status 0) keeps the client's error, so a failure says whether
    // it was a timeout, a reset or a refused connection.
    let mut no_answer = Vec::new();
    for t in submits {
        let (status, body) = t.await.unwrap();
        if status == 0 {
            no_answer.push(body);
        }
        *submit_statuses.entry(status).or_default() += 1;
    }
    let mut mixed_statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let mut slowest_readyz = std::time::Duration::ZERO;
    for t in mixed {
        let (status, readyz, took) = t.await.unwrap();
        *mixed_statuses.entry(status).or_default() += 1;
        if readyz {
            slowest_readyz = slowest_readyz.max(took);
        }
    }
    let elapsed = started.elapsed();
    let log = app.log_text();
    eprintln!(
        "FIGURE {backend:?} demo: 32 simultaneous submits -> {submit_statuses:?}; 200 mixed -> {mixed_statuses:?}; slowest /readyz {slowest_readyz:.1?}; all in {elapsed:.1?}"
    );
    assert_eq!(
        submit_statuses.get(&303),
        Some(&32),
        "{submit_statuses:?} {no_answer:?}\n{log}"
    );
    assert!(
        mixed_statuses.keys().all(|&s| (200..500).contains(&s)),
        "{mixed_statuses:?}\n{log}"
    );
    assert!(!log.contains("database is locked"), "{log}");
    assert!(!log.contains(" ERROR "), "{log}");
}
