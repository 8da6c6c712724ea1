//! Retention on the injected clock: unreviewed requests, drafts, rate limits, reused links.

use super::*;
use crate::support::backends;
use crate::support::smtp::{free_port, Smtp};
use crate::support::tools::Tool;
use seedport::db::schema::{drafts, package_chunks, packages, rate_limits};

#[tokio::test]
async fn an_unreviewed_request_expires_and_its_file_is_destroyed() {
    for backend in backends() {
        let app = app(backend, free_port()).await;
        let id = submit(&app, "per_shipment").await;
        let now = app.clock.now();
        // No package without a finite life.
        let lives: Vec<Option<i64>> = {
            let mut conn = app.db.get().unwrap();
            packages::table
                .select(packages::expires_at)
                .load(&mut conn)
                .unwrap()
        };
        assert_eq!(lives.len(), 2);
        assert!(lives
            .iter()
            .all(|l| l.is_some_and(|at| at > now && at <= now + 14 * 86_400)));

        app.clock.advance(13 * 86_400);
        jobs::sweep_once(&deps(&app)).await.unwrap();
        assert_eq!(request_state(&app, &id), State::PendingReview);
        app.clock.advance(86_400);
        let report = jobs::sweep_once(&deps(&app)).await.unwrap();
        assert_eq!((report.expired, report.destroyed), (2, 2), "{backend:?}");
        assert_eq!(request_state(&app, &id), State::Expired);
        let (chunks, hash): (i64, Option<String>) = {
            let mut conn = app.db.get().unwrap();
            let chunks = package_chunks::table.count().get_result(&mut conn).unwrap();
            let hash = seedport::db::schema::requests::table
                .find(&id)
                .select(seedport::db::schema::requests::password_hash)
                .first(&mut conn)
                .unwrap();
            (chunks, hash)
        };
        assert_eq!(chunks, 0);
        assert!(hash.is_none());
        // Signed in after the jump (sessions end after 30 idle minutes).
        let console = Console::sign_in(&app, "rev@vendor.example", Role::Reviewer).await;
        let (_, html) = console.get(&format!("/staff/requests/{id}")).await;
        assert!(
            html.contains("the customer must make a new request"),
            "{html}"
        );
        assert!(!html.contains("/reissue"));
        let (_, queue) = console.get("/staff/requests?state=expired").await;
        assert!(queue.contains(&id.to_string()));
        // A late approval is refused and changes nothing.
        let (status, _) = console.approve(&app, &id).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(request_state(&app, &id), State::Expired);
    }
}

#[tokio::test]
async fn drafts_and_rate_limit_windows_are_purged_by_the_sweeper() {
    for backend in backends() {
        let app = app(backend, free_port()).await;
        crate::wizard_helpers::draft_for(&app, "po", "PO-2026-0042").await;
        let count = |app: &TestApp| -> (i64, i64) {
            let mut conn = app.db.get().unwrap();
            (
                drafts::table.count().get_result(&mut conn).unwrap(),
                rate_limits::table.count().get_result(&mut conn).unwrap(),
            )
        };
        let (d, r) = count(&app);
        assert!(d == 1 && r >= 1, "{d} {r}");
        jobs::sweep_once(&deps(&app)).await.unwrap();
        assert_eq!(count(&app), (d, r), "nothing is purged early");
        app.clock.advance(2 * 3600);
        jobs::sweep_once(&deps(&app)).await.unwrap();
        assert_eq!(count(&app), (0, 0), "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reused_links_are_audited_and_alert_at_most_hourly() {
    crate::require_tools!(Tool::Aiosmtpd);
    for backend in backends() {
        let smtp = Smtp::start(free_port());
        let app = app(backend, smtp.port).await;
        let console = Console::sign_in(&app, "rev@vendor.example", Role::Reviewer).await;
        let id = submit(&app, "one").await;
        console.approve(&app, &id).await;
        run_jobs(&app, 8).await;
        let (d, c) = links_in(&app, &download_emails(&smtp)[0].text);
        assert_eq!(confirm(&c).await.0, StatusCode::OK);
        for link in [&d, &c, &d] {
            let r = reqwest::get(link.as_str()).await.unwrap();
            assert_eq!(r.status(), 410);
        }
        let pid = package_ids(&app, &id).remove(0);
        let reuse = |app: &TestApp| {
            audit_of(app, &format!("package:{pid}"))
                .into_iter()
                .filter(|a| a == "package.link_reused")
                .count()
        };
        assert_eq!(reuse(&app), 3);
        assert_eq!(outbox_of(&app, "link_reused_alert").len(), 1);
        app.clock.advance(3601);
        reqwest::get(d.as_str()).await.unwrap();
        assert_eq!(reuse(&app), 4);
        assert_eq!(outbox_of(&app, "link_reused_alert").len(), 2, "{backend:?}");
        run_jobs(&app, 8).await;
        assert!(smtp
            .received()
            .iter()
            .any(|m| m.subject.contains("used again") && m.rcpt_tos == [ALERTS]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn released_links_expire_and_a_destroyed_file_cannot_be_reissued() {
    crate::require_tools!(Tool::Aiosmtpd);
    for backend in backends() {
        let smtp = Smtp::start(free_port());
        let app = app(backend, smtp.port).await;
        let console = Console::sign_in(&app, "rev@vendor.example", Role::Reviewer).await;
        let id = submit(&app, "one").await;
        console.approve(&app, &id).await;
        run_jobs(&app, 8).await;
        assert_eq!(request_state(&app, &id), State::Emailed);
        let (link, _) = links_in(&app, &download_emails(&smtp)[0].text);
        app.clock.advance(7 * 86_400);
        // Past its expiry the link is refused at once, before any sweep.
        assert_eq!(download(&app, &link, CUSTOMER_PASSWORD).await.0, 410);
        let report = jobs::sweep_once(&deps(&app)).await.unwrap();
        assert_eq!((report.expired, report.destroyed), (1, 1), "{backend:?}");
        assert_eq!(request_state(&app, &id), State::Expired);
        let pid = package_ids(&app, &id).remove(0);
        let console = Console::sign_in(&app, "rev2@vendor.example", Role::Reviewer).await;
        let (status, html) = console
            .package_action(&app, &id, &pid, "reissue", &[])
            .await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(
            html.contains("the customer must make a new request"),
            "{html}"
        );
        assert_eq!(package_state(&app, &pid), State::Expired);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lock_erases_the_password_hash_and_keeps_the_file_for_a_reissue() {
    crate::require_tools!(Tool::Aiosmtpd);
    for backend in backends() {
        let smtp = Smtp::start(free_port());
        let app = app(backend, smtp.port).await;
        let console = Console::sign_in(&app, "rev@vendor.example", Role::Reviewer).await;
        let id = submit(&app, "one").await;
        console.approve(&app, &id).await;
        run_jobs(&app, 8).await;
        let (link, _) = links_in(&app, &download_emails(&smtp)[0].text);
        for _ in 0..5 {
            download(&app, &link, "definitely not it").await;
        }
        assert_eq!(request_state(&app, &id), State::Locked, "{backend:?}");
        let (hash, chunks): (Option<String>, i64) = {
            let mut conn = app.db.get().unwrap();
            let hash = seedport::db::schema::requests::table
                .find(&id)
                .select(seedport::db::schema::requests::password_hash)
                .first(&mut conn)
                .unwrap();
            let chunks = package_chunks::table.count().get_result(&mut conn).unwrap();
            (hash, chunks)
        };
        assert!(hash.is_none(), "the hash is erased once no file is open");
        assert!(chunks > 0, "the file is held for a re-issue");
    }
}
