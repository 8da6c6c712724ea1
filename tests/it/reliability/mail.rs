//! Mail claims that follow the work: a slow relay never lets a second sender send the same
//! email, `kill -9` and SIGTERM mid-send hold nothing for long, a "sent" record lost to a
//! database blip is retried instead of the email being sent again, and `/readyz` says
//! "degraded" while mail waits for a retry.

use crate::support::child::{env, Seedport};
use crate::support::smtp::{free_port, Received, Smtp};
use crate::support::tools::Tool;
use crate::support::{backends, spawn_app_with, Backend, TestApp, TestDb};
use diesel::prelude::*;
use seedport::db::schema::outbox;
use seedport::db::Db;
use seedport::jobs::{self, JobDeps, JobOptions};
use seedport::mail::sender::SenderOptions;
use std::time::{Duration, Instant};

/// Queues `n` emails numbered from `from`, due now.
pub fn enqueue(db: &Db, from: usize, n: usize, now: i64) {
    let mut conn = db.get().unwrap();
    for i in from..from + n {
        let email = seedport::mail::OutgoingEmail {
            kind: "test".into(),
            to: format!("user{i}@acme.example"),
            subject: format!("message {i}"),
            text: format!("hello {i}"),
            html: format!("<p>hello {i}</p>"),
            carries_links: false,
            request_id: None,
        };
        seedport::mail::enqueue(&mut conn, &email, now).unwrap();
    }
}

/// Each subject received, with how many times.
pub fn copies(mail: &[Received]) -> std::collections::BTreeMap<String, usize> {
    let mut seen = std::collections::BTreeMap::new();
    for m in mail {
        *seen.entry(m.subject.clone()).or_insert(0) += 1;
    }
    seen
}

fn states(db: &Db) -> Vec<(String, String)> {
    let mut conn = db.get().unwrap();
    outbox::table
        .order(outbox::subject.asc())
        .select((outbox::subject, outbox::state))
        .load(&mut conn)
        .unwrap()
}

fn smtp_config(port: u16) -> Option<seedport::config::SmtpConfig> {
    Some(seedport::config::SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        security: seedport::config::SmtpSecurity::None,
        username: None,
        password: None,
    })
}

fn deps(app: &TestApp, db: Db) -> JobDeps {
    JobDeps {
        db,
        config: app.config.clone(),
        clock: seedport::clock::Clock::System,
        tera: seedport::web::assets::tera().unwrap(),
    }
}

fn options(lease_secs: i64) -> JobOptions {
    JobOptions {
        sender: SenderOptions {
            poll: Duration::from_millis(50),
            lease_secs,
            first_backoff_secs: 1,
            ..SenderOptions::default()
        },
        sweep_every: Duration::from_secs(3600),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_relay_never_lets_a_second_sender_send_the_same_email() {
    crate::require_tools!(Tool::Aiosmtpd);
    for backend in backends() {
        let smtp = Smtp::start(free_port());
        // 4 s a message against a 3 s lease: only the heartbeat keeps the other sender away.
        smtp.set_delay(4.0);
        let app = spawn_app_with(backend, |c| c.smtp = smtp_config(smtp.port)).await;
        enqueue(&app.db, 0, 4, seedport::clock::Clock::System.now());
        let second = Db::connect(&app.test_db.url, 4).unwrap();
        let started = Instant::now();
        let a = jobs::start(deps(&app, app.db.clone()), options(3)).unwrap();
        let b = jobs::start(deps(&app, second), options(3)).unwrap();
        smtp.wait_for_within(4, Duration::from_secs(40)).await;
        let elapsed = started.elapsed();
        // Long enough for any second copy to arrive.
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop((a, b));
        let mail = smtp.received();
        let seen = copies(&mail);
        assert_eq!(seen.len(), 4, "{backend:?}");
        assert!(seen.values().all(|&n| n == 1), "{backend:?}: {seen:?}");
        eprintln!(
            "FIGURE {backend:?}: slow relay (4 s/message, 3 s lease), two senders: 4 queued, {} received, 0 twice, in {elapsed:.1?}",
            mail.len()
        );
    }
}

/// The environment of a production instance sending through `smtp` with a `lease` in seconds.
pub fn production_env(
    db: &TestDb,
    smtp_port: u16,
    key: &str,
    lease: u32,
    grace: u32,
) -> Vec<(String, String)> {
    env(&[
        ("SEEDPORT_MODE", "production".into()),
        ("SEEDPORT_DATABASE_URL", db.url.clone()),
        (
            "SEEDPORT_DATA_DIR",
            db.dir.path().join("var").display().to_string(),
        ),
        ("SEEDPORT_MASTER_KEY", key.to_string()),
        (
            "SEEDPORT_PUBLIC_BASE_URL",
            "https://seeds.example.com".into(),
        ),
        ("SEEDPORT_SMTP_HOST", "127.0.0.1".into()),
        ("SEEDPORT_SMTP_PORT", smtp_port.to_string()),
        ("SEEDPORT_SMTP_SECURITY", "none".into()),
        ("SEEDPORT_MAIL_LEASE_SECONDS", lease.to_string()),
        ("SEEDPORT_SHUTDOWN_GRACE_SECONDS", grace.to_string()),
    ])
}

async fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_kill_9_mid_send_the_restarted_instance_sends_within_the_lease() {
    crate::require_tools!(Tool::Aiosmtpd);
    for backend in backends() {
        let db = TestDb::new(backend);
        let smtp = Smtp::start(free_port());
        smtp.set_delay(1.5);
        let key = seedport::vault::MasterKey::generate().to_base64();
        let vars = production_env(&db, smtp.port, &key, 5, 10);
        let mut first = Seedport::start(db.dir.path(), "first", &vars).await;
        let pool = Db::connect(&db.url, 2).unwrap();
        enqueue(&pool, 0, 5, seedport::clock::Clock::System.now());
        // Killed while the relay holds its second message.
        wait_until(Duration::from_secs(30), "a second message", || {
            smtp.started() >= 2
        })
        .await;
        first.kill9();
        let restarted_at = Instant::now();
        let _second = Seedport::start(db.dir.path(), "second", &vars).await;
        smtp.wait_for_within(5, Duration::from_secs(40)).await;
        let resumed = restarted_at.elapsed();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mail = smtp.received();
        let seen = copies(&mail);
        assert_eq!(seen.len(), 5, "{backend:?}: {seen:?}");
        assert!(seen.values().all(|&n| n == 1), "{backend:?}: {seen:?}");
        assert!(states(&pool).iter().all(|(_, s)| s == "sent"));
        // The killed claim lasts at most the 5 s lease; the rest go at once.
        assert!(
            resumed < Duration::from_secs(20),
            "{backend:?}: {resumed:?}"
        );
        eprintln!(
            "FIGURE {backend:?}: kill -9 mid-send (lease 5 s): 5 queued, {} received, 0 twice; all delivered {resumed:.1?} after the restart",
            mail.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_mid_send_finishes_the_email_gives_back_the_rest_and_exits_0() {
    crate::require_tools!(Tool::Aiosmtpd);
    for backend in backends() {
        let db = TestDb::new(backend);
        let smtp = Smtp::start(free_port());
        smtp.set_delay(1.5);
        let key = seedport::vault::MasterKey::generate().to_base64();
        // A long lease: only giving the claim back lets the next instance send at once.
        let vars = production_env(&db, smtp.port, &key, 120, 10);
        let mut first = Seedport::start(db.dir.path(), "first", &vars).await;
        let pool = Db::connect(&db.url, 2).unwrap();
        enqueue(&pool, 0, 4, seedport::clock::Clock::System.now());
        wait_until(Duration::from_secs(30), "a message in flight", || {
            smtp.started() >= 1
        })
        .await;
        first.signal(libc::SIGTERM);
        let status = first.wait_exit(Duration::from_secs(15)).await;
        let log = first.log_text();
        assert!(
            status.is_some_and(|s| s.success()),
            "{backend:?}: {status:?}\n{log}"
        );
        // The email on the wire when SIGTERM came was finished, not cut.
        assert!(
            !smtp.received().is_empty(),
            "{backend:?}: nothing finished\n{log}"
        );
        let restarted_at = Instant::now();
        let _second = Seedport::start(db.dir.path(), "second", &vars).await;
        smtp.wait_for_within(4, Duration::from_secs(30)).await;
        let resumed = restarted_at.elapsed();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mail = smtp.received();
        let seen = copies(&mail);
        assert_eq!(seen.len(), 4, "{backend:?}");
        assert!(seen.values().all(|&n| n == 1), "{backend:?}: {seen:?}");
        assert!(
            resumed < Duration::from_secs(20),
            "{backend:?}: {resumed:?}"
        );
        eprintln!(
            "FIGURE {backend:?}: SIGTERM mid-send: exit 0, 4 queued, {} received, 0 twice; the rest delivered {resumed:.1?} after the restart (lease 120 s)",
            mail.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readyz_says_degraded_while_mail_waits_for_a_retry() {
    crate::require_tools!(Tool::Aiosmtpd);
    for backend in backends() {
        let port = free_port();
        let app = spawn_app_with(backend, |c| c.smtp = smtp_config(port)).await;
        let body = |app: &TestApp| {
            let (client, url) = (app.client.clone(), format!("{}/readyz", app.base_url));
            async move {
                let r = client.get(url).send().await.unwrap();
                (r.status().as_u16(), r.text().await.unwrap())
            }
        };
        assert_eq!(body(&app).await, (200, "ready\n".to_string()));
        // The relay is down: the first attempt fails and the email waits for its retry.
        enqueue(&app.db, 0, 1, seedport::clock::Clock::System.now());
        let mut opts = options(60);
        opts.sender.first_backoff_secs = 2;
        let jobs = jobs::start(deps(&app, app.db.clone()), opts).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (status, text) = body(&app).await;
            assert_eq!(status, 200, "{backend:?}: still serving");
            if text.starts_with("degraded") {
                assert!(text.contains("1 email"), "{text}");
                break;
            }
            assert!(Instant::now() < deadline, "{backend:?}: never degraded");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The relay comes back: the retry succeeds and the instance is ready again.
        let smtp = Smtp::start(port);
        smtp.wait_for_within(1, Duration::from_secs(20)).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while body(&app).await.1 != "ready\n" {
            assert!(Instant::now() < deadline, "{backend:?}: still degraded");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        drop(jobs);
    }
}

/// Holds SQLite's write lock from another connection for `hold` (longer than busy_timeout).
fn lock_sqlite(url: &str, hold: Duration) -> std::thread::JoinHandle<()> {
    use diesel::connection::SimpleConnection;
    let path = url.trim_start_matches("sqlite://").to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let mut conn = diesel::SqliteConnection::establish(&path).unwrap();
        conn.batch_execute("PRAGMA busy_timeout = 10000; BEGIN EXCLUSIVE;")
            .unwrap();
        tx.send(()).unwrap();
        std::thread::sleep(hold);
        conn.batch_execute("ROLLBACK;").unwrap();
    });
    rx.recv().unwrap();
    handle
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sent_record_lost_to_a_database_blip_is_retried_and_the_email_not_sent_again() {
    crate::require_tools!(Tool::Aiosmtpd);
    // SQLite: the write lock is held past busy_timeout from the moment the relay has the
    // message until after it accepted it. (PostgreSQL: see `outage.rs`.)
    let smtp = Smtp::start(free_port());
    smtp.set_delay(1.0);
    let app = spawn_app_with(Backend::Sqlite, |c| c.smtp = smtp_config(smtp.port)).await;
    enqueue(&app.db, 0, 2, seedport::clock::Clock::System.now());
    let jobs = jobs::start(deps(&app, app.db.clone()), options(3)).unwrap();
    wait_until(Duration::from_secs(20), "the relay to get DATA", || {
        smtp.started() >= 1
    })
    .await;
    let lock = lock_sqlite(&app.test_db.url, Duration::from_secs(12));
    smtp.wait_for_within(1, Duration::from_secs(10)).await;
    tokio::task::spawn_blocking(move || lock.join().unwrap())
        .await
        .unwrap();
    smtp.wait_for_within(2, Duration::from_secs(20)).await;
    // Well past the 3 s lease: a lost record would have been sent again by now.
    tokio::time::sleep(Duration::from_secs(5)).await;
    drop(jobs);
    let mail = smtp.received();
    let seen = copies(&mail);
    assert!(seen.values().all(|&n| n == 1), "{seen:?}");
    assert_eq!(seen.len(), 2);
    assert!(states(&app.db).iter().all(|(_, s)| s == "sent"));
    eprintln!(
        "FIGURE Sqlite: database locked 12 s right after the relay accepted: 2 queued, {} received, 0 twice",
        mail.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_past_the_grace_period_gives_the_claim_back_at_once() {
    crate::require_tools!(Tool::Aiosmtpd);
    for backend in backends() {
        let db = TestDb::new(backend);
        let smtp = Smtp::start(free_port());
        // The relay takes longer than the 1 s grace: the send is abandoned and its claim, good
        // for 120 s, is given back.
        smtp.set_delay(4.0);
        let key = seedport::vault::MasterKey::generate().to_base64();
        let vars = production_env(&db, smtp.port, &key, 120, 1);
        let mut first = Seedport::start(db.dir.path(), "first", &vars).await;
        let pool = Db::connect(&db.url, 2).unwrap();
        enqueue(&pool, 0, 1, seedport::clock::Clock::System.now());
        wait_until(Duration::from_secs(30), "a message in flight", || {
            smtp.started() >= 1
        })
        .await;
        first.signal(libc::SIGTERM);
        let status = first.wait_exit(Duration::from_secs(15)).await;
        assert!(
            status.is_some_and(|s| s.success()),
            "{backend:?}: {status:?}\n{}",
            first.log_text()
        );
        smtp.set_delay(0.0);
        let restarted_at = Instant::now();
        let _second = Seedport::start(db.dir.path(), "second", &vars).await;
        smtp.wait_for_within(1, Duration::from_secs(20)).await;
        let resumed = restarted_at.elapsed();
        tokio::time::sleep(Duration::from_secs(5)).await;
        let seen = copies(&smtp.received());
        assert_eq!(seen.get("message 0"), Some(&1), "{backend:?}: {seen:?}");
        eprintln!(
            "FIGURE {backend:?}: SIGTERM past a 1 s grace mid-send: exit 0, claim given back, sent {resumed:.1?} after the restart (lease 120 s), received once"
        );
    }
}
