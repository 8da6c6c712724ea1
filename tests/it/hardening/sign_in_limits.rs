//! Finding 4: staff sign-in has a per-IP throttle, audit rows with capped attacker text, a
//! burst on one account evaluates at most five guesses, and hashing never starves the pool.

use super::*;
use crate::support::{backends, spawn_app_with};
use reqwest::StatusCode;
use seedport::staff::login::{ATTEMPTS_PER_IP, MAX_FAILURES};
use std::time::{Duration, Instant};

fn behind_proxy(c: &mut seedport::config::Config) {
    c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
}

#[tokio::test(flavor = "multi_thread")]
async fn one_ip_is_throttled_and_its_audit_rows_are_bounded_and_short() {
    for backend in backends() {
        let app = spawn_app_with(backend, behind_proxy).await;
        let attacker = Browser::from_ip(&app, "203.0.113.9");
        let long_email = format!("x\u{7}\n{}@evil.example", "a".repeat(5000));
        let mut statuses = Vec::new();
        for _ in 0..ATTEMPTS_PER_IP + 10 {
            let r = attacker
                .sign_in(&long_email, "wrong wrong wrong", "123456")
                .await;
            statuses.push(r.status());
        }
        let refused = statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count();
        assert_eq!(refused, 10, "{backend:?}: {statuses:?}");
        let last = attacker.sign_in("x@evil.example", "pw", "1").await;
        assert_eq!(last.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(last
            .text()
            .await
            .unwrap()
            .contains("Too many sign-in attempts"));

        // Another address is not affected.
        let other = Browser::from_ip(&app, "198.51.100.4");
        let r = other.sign_in("x@evil.example", "wrong", "123456").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{backend:?}");

        let rows = audit_rows(&app);
        let failed: Vec<_> = rows
            .iter()
            .filter(|r| r.0 == "staff.sign_in_failed")
            .collect();
        assert_eq!(failed.len(), ATTEMPTS_PER_IP as usize + 1, "{backend:?}");
        assert_eq!(
            count_action(&app, "staff.sign_in_throttled"),
            1,
            "{backend:?}"
        );
        for (_, actor, _) in &rows {
            assert!(actor.chars().count() <= 80, "{backend:?}: {actor}");
            assert!(
                !actor.chars().any(char::is_control),
                "{backend:?}: {actor:?}"
            );
        }

        // The window passes and the address may try again.
        app.clock.advance(16 * 60);
        let r = attacker.sign_in("x@evil.example", "wrong", "123456").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_on_one_account_gets_only_five_guesses_evaluated() {
    for backend in backends() {
        let app = spawn_app_with(backend, behind_proxy).await;
        let secret = add_staff(&app, "tom@vendor.example", Role::Reviewer);
        let mut browsers = Vec::new();
        for i in 0..16 {
            let b = Browser::from_ip(&app, &format!("203.0.113.{}", i + 1));
            let csrf = b.csrf("/staff/login").await;
            browsers.push((b, csrf));
        }
        let attempts = browsers.iter().map(|(b, csrf)| async move {
            b.post(
                "/staff/login",
                &[
                    ("email", "tom@vendor.example"),
                    ("password", "wrong wrong wrong"),
                    ("code", "123456"),
                    ("csrf", csrf),
                ],
            )
            .await
        });
        let responses = futures_util::future::join_all(attempts).await;
        assert!(responses
            .iter()
            .all(|r| r.status() == StatusCode::UNAUTHORIZED));
        let rows = audit_rows(&app);
        let evaluated = rows
            .iter()
            .filter(|r| r.0 == "staff.sign_in_failed" && r.2 == "wrong password")
            .count();
        assert_eq!(evaluated, MAX_FAILURES as usize, "{backend:?}: {rows:?}");
        assert_eq!(
            count_action(&app, "staff.sign_in_failed"),
            16,
            "{backend:?}"
        );
        assert_eq!(count_action(&app, "staff.locked"), 1, "{backend:?}");
        // Locked: the right password and code are refused too.
        let r = Browser::new(&app)
            .sign_in("tom@vendor.example", STAFF_PASSWORD, &code(&app, &secret))
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sign_in_flood_does_not_starve_readiness() {
    for backend in backends() {
        let app = spawn_app_with(backend, |c| {
            behind_proxy(c);
            c.db_pool_size = 2;
        })
        .await;
        let mut browsers = Vec::new();
        for i in 0..24 {
            let b = Browser::from_ip(&app, &format!("198.51.100.{}", i + 1));
            let csrf = b.csrf("/staff/login").await;
            browsers.push((b, csrf));
        }
        let flood = futures_util::future::join_all(browsers.iter().map(|(b, csrf)| async move {
            b.post(
                "/staff/login",
                &[
                    ("email", "nobody@vendor.example"),
                    ("password", "bogus bogus bogus"),
                    ("code", "123456"),
                    ("csrf", csrf),
                ],
            )
            .await
        }));
        let probe = async {
            tokio::time::sleep(Duration::from_millis(30)).await;
            let mut times = Vec::new();
            for _ in 0..9 {
                let started = Instant::now();
                let r = app
                    .client
                    .get(format!("{}/readyz", app.base_url))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::OK);
                times.push(started.elapsed());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            times.sort();
            times[times.len() / 2]
        };
        let (responses, median) = tokio::join!(flood, probe);
        let statuses: Vec<_> = responses.iter().map(|r| r.status()).collect();
        if statuses.iter().any(|s| *s != StatusCode::UNAUTHORIZED) {
            for r in responses {
                eprintln!("{}", r.text().await.unwrap());
            }
            panic!("{backend:?}: {statuses:?}");
        }
        assert!(
            median < Duration::from_millis(150),
            "{backend:?}: /readyz median {median:?} during the flood"
        );
        eprintln!("{backend:?}: /readyz median {median:?} during 24 concurrent bogus sign-ins");
    }
}
