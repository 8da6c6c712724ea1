//! `GET /metrics` on its own address shows what fails quietly: here an email waiting for a
//! retry because the relay is down, next to the database and the pool.

use super::mail::enqueue;
use crate::support::child::{env, Seedport};
use crate::support::smtp::free_port;
use crate::support::{Backend, TestDb};
use seedport::db::Db;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_show_mail_waiting_for_a_retry_while_the_relay_is_down() {
    let db = TestDb::new(Backend::Sqlite);
    let metrics_port = free_port();
    let vars = env(&[
        ("SEEDPORT_DATABASE_URL", db.url.clone()),
        (
            "SEEDPORT_DATA_DIR",
            db.dir.path().join("var").display().to_string(),
        ),
        ("SEEDPORT_SMTP_HOST", "127.0.0.1".into()),
        // Nothing listens there: every attempt fails.
        ("SEEDPORT_SMTP_PORT", free_port().to_string()),
        ("SEEDPORT_SMTP_SECURITY", "none".into()),
        ("SEEDPORT_METRICS_BIND", format!("127.0.0.1:{metrics_port}")),
    ]);
    let app = Seedport::start(db.dir.path(), "seedport", &vars).await;
    let url = format!("http://127.0.0.1:{metrics_port}/metrics");
    let text = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(text.contains("seedport_database_up 1"), "{text}");
    assert!(text.contains("seedport_outbox_waiting_retry 0"), "{text}");
    assert!(text.contains("seedport_downloads_in_flight 0"), "{text}");
    enqueue(
        &Db::connect(&db.url, 1).unwrap(),
        0,
        1,
        seedport::clock::Clock::System.now(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = reqwest::get(&url).await.unwrap().text().await.unwrap();
        if text.contains("seedport_outbox_waiting_retry 1") {
            assert!(
                text.contains("seedport_outbox_emails{state=\"pending\"} 1"),
                "{text}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never counted:\n{text}\n{}",
            app.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The portal's own address has no /metrics.
    let portal = reqwest::get(format!("{}/metrics", app.base_url))
        .await
        .unwrap();
    assert_eq!(portal.status().as_u16(), 404);
}
