//! No request waits on the pool while holding it: a pool of two serves sixteen simultaneous
//! submits on both backends, and a pool that is truly exhausted answers the clean 503 page
//! within the checkout timeout.

use crate::support::customer::{Customer, DemoShipments};
use crate::support::{backends, spawn_app_with};
use diesel::prelude::*;
use seedport::db::schema::{packages, requests};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_simultaneous_submits_on_a_pool_of_two_all_succeed() {
    for backend in backends() {
        let app = spawn_app_with(backend, |c| {
            c.db_pool_size = 2;
            c.workers = 4;
            c.lookups_per_ip_per_hour = 10_000;
            c.lookups_per_reference_per_hour = 10_000;
        })
        .await;
        let ships = DemoShipments::load(&app.db);
        let mut ready = Vec::new();
        for _ in 0..16 {
            let customer = Customer::new(&app.base_url);
            let (base, csrf) = customer.to_review(&ships).await.unwrap();
            ready.push((customer, base, csrf));
        }
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(ready.len()));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for (customer, base, csrf) in ready {
            let barrier = barrier.clone();
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                customer.submit(&base, &csrf).await
            }));
        }
        let mut statuses = Vec::new();
        for t in tasks {
            let (status, body) = t.await.unwrap();
            assert_eq!(status, 303, "{backend:?}: a submit got {status}: {body}");
            statuses.push(status);
        }
        let elapsed = started.elapsed();
        let mut conn = app.db.get().unwrap();
        let made: i64 = requests::table.count().get_result(&mut conn).unwrap();
        let built: i64 = packages::table
            .filter(packages::size.gt(0))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!((made, built), (16, 16), "{backend:?}");
        eprintln!(
            "FIGURE {backend:?}: 16 simultaneous submits on a pool of 2: {} x 303 in {elapsed:.1?}",
            statuses.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_exhausted_pool_answers_the_clean_503_page_within_the_checkout_timeout() {
    for backend in backends() {
        let app = spawn_app_with(backend, |c| {
            c.db_pool_size = 2;
            c.db_checkout_timeout_seconds = 1;
        })
        .await;
        // Everything the pool has is held elsewhere.
        let held = (app.db.get().unwrap(), app.db.get().unwrap());
        let started = Instant::now();
        let resp = app
            .client
            .get(format!("{}/d/sp_dl_{}", app.base_url, "a".repeat(43)))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .unwrap();
        let waited = started.elapsed();
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap();
        assert_eq!(status, 503, "{backend:?}: {body}");
        assert!(body.contains("temporarily unavailable"), "{body}");
        assert!(
            waited < Duration::from_secs(3),
            "{backend:?}: took {waited:?}"
        );
        drop(held);
        // With the connections back, the same page works again at once.
        let resp = app
            .client
            .get(format!("{}/d/sp_dl_{}", app.base_url, "a".repeat(43)))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 404, "{backend:?}");
        eprintln!("FIGURE {backend:?}: exhausted pool -> 503 page after {waited:.1?}");
    }
}
