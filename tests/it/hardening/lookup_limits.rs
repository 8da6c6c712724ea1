//! Finding 5: a refused lookup is audited (once per limit and hour); limits are per IP, per
//! (reference, email) pair, and per reference counting only failures; refused references add
//! no rows and expired buckets are purged.

use super::*;
use crate::support::{backends, spawn_app_with};
use reqwest::StatusCode;
use seedport::db::schema::rate_limits;

const EMAIL: &str = "it-admin@acme.example";

fn behind_proxy(c: &mut seedport::config::Config) {
    c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
}

async fn lookup(b: &Browser, reference: &str, email: &str) -> StatusCode {
    let csrf = b.csrf("/").await;
    b.post(
        "/request",
        &[
            ("csrf", &csrf),
            ("kind", "po"),
            ("reference", reference),
            ("email", email),
        ],
    )
    .await
    .status()
}

fn buckets(app: &crate::support::TestApp) -> i64 {
    let mut conn = app.db.get().unwrap();
    rate_limits::table.count().get_result(&mut conn).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_lookup_is_audited_once_per_hour() {
    for backend in backends() {
        let app = spawn_app_with(backend, |c| c.lookups_per_ip_per_hour = 2).await;
        let b = Browser::new(&app);
        assert_eq!(
            lookup(&b, "PO-2026-0042", EMAIL).await,
            StatusCode::SEE_OTHER
        );
        assert_eq!(lookup(&b, "PO-1", EMAIL).await, StatusCode::NOT_FOUND);
        for _ in 0..5 {
            assert_eq!(
                lookup(&b, "PO-2026-0042", EMAIL).await,
                StatusCode::TOO_MANY_REQUESTS
            );
        }
        let rows: Vec<_> = audit_rows(&app)
            .into_iter()
            .filter(|r| r.0 == "customer.lookup_refused")
            .collect();
        assert_eq!(rows.len(), 1, "{backend:?}: {rows:?}");
        assert!(rows[0].2.contains("from this address"), "{rows:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_emails_do_not_lock_the_real_customer_out() {
    for backend in backends() {
        let app = spawn_app_with(backend, behind_proxy).await;
        for i in 0..10 {
            let b = Browser::from_ip(&app, &format!("203.0.113.{}", i + 1));
            assert_eq!(
                lookup(&b, "PO-2026-0042", &format!("guess{i}@acme-corp.example")).await,
                StatusCode::NOT_FOUND
            );
        }
        let customer = Browser::from_ip(&app, "198.51.100.1");
        assert_eq!(
            lookup(&customer, "PO-2026-0042", EMAIL).await,
            StatusCode::SEE_OTHER,
            "{backend:?}: the real customer still gets in"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_against_one_reference_are_still_bounded() {
    for backend in backends() {
        let app = spawn_app_with(backend, |c| {
            behind_proxy(c);
            c.lookups_per_reference_per_hour = 2;
        })
        .await;
        // Five times the pair limit: ten failures from ten addresses.
        for i in 0..10 {
            let b = Browser::from_ip(&app, &format!("203.0.113.{}", i + 1));
            assert_eq!(
                lookup(&b, "PO-2026-0042", &format!("guess{i}@elsewhere.example")).await,
                StatusCode::NOT_FOUND
            );
        }
        let b = Browser::from_ip(&app, "198.51.100.1");
        assert_eq!(
            lookup(&b, "PO-2026-0042", EMAIL).await,
            StatusCode::TOO_MANY_REQUESTS,
            "{backend:?}"
        );
        // A pair is limited on its own.
        let b = Browser::from_ip(&app, "198.51.100.2");
        for _ in 0..2 {
            assert_eq!(
                lookup(&b, "PO-2026-0077", EMAIL).await,
                StatusCode::SEE_OTHER
            );
        }
        assert_eq!(
            lookup(&b, "PO-2026-0077", EMAIL).await,
            StatusCode::TOO_MANY_REQUESTS,
            "{backend:?}: pair"
        );
        assert_eq!(
            count_action(&app, "customer.lookup_refused"),
            2,
            "{backend:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_references_add_no_rows_and_old_buckets_are_purged() {
    for backend in backends() {
        let app = spawn_app_with(backend, |c| c.lookups_per_ip_per_hour = 1).await;
        let b = Browser::new(&app);
        assert_eq!(
            lookup(&b, "PO-2026-0042", EMAIL).await,
            StatusCode::SEE_OTHER
        );
        assert_eq!(
            lookup(&b, "PO-X0", EMAIL).await,
            StatusCode::TOO_MANY_REQUESTS
        );
        let before = buckets(&app);
        for i in 1..=20 {
            assert_eq!(
                lookup(&b, &format!("PO-X{i}"), EMAIL).await,
                StatusCode::TOO_MANY_REQUESTS
            );
        }
        assert_eq!(
            buckets(&app),
            before,
            "{backend:?}: refusals add no buckets"
        );
        app.clock.advance(2 * 3600);
        assert_eq!(
            lookup(&b, "PO-2026-0077", EMAIL).await,
            StatusCode::SEE_OTHER
        );
        // Only the buckets of this new window are left (ip and pair).
        assert_eq!(buckets(&app), 2, "{backend:?}: expired buckets purged");
    }
}
