//! `GET /metrics` on its own address (`metrics_bind`): Prometheus text about what fails
//! quietly otherwise — the database, the pool, the outbox by state and downloads in flight.

use super::links::counted::InFlight;
use crate::db::{Db, DbError};
use crate::mail::queue;
use actix_web::{web, App, HttpResponse, HttpServer};
use std::fmt::Write;
use std::net::TcpListener;

/// What the metrics page reads.
#[derive(Clone)]
pub struct Sources {
    pub db: Db,
    pub downloads: InFlight,
}

async fn metrics(sources: web::Data<Sources>) -> HttpResponse {
    let outbox = sources
        .db
        .run(|conn| {
            let states = queue::count_by_state(conn).map_err(DbError::from)?;
            let waiting = queue::waiting_for_retry(conn).map_err(DbError::from)?;
            Ok::<_, DbError>((states, waiting))
        })
        .await;
    let (open, idle, size) = sources.db.pool_state();
    let mut out = String::new();
    let up = u8::from(outbox.is_ok());
    let _ = writeln!(out, "# HELP seedport_database_up Whether the database answered this scrape.\n# TYPE seedport_database_up gauge\nseedport_database_up {up}");
    let _ = writeln!(out, "# TYPE seedport_db_pool_connections gauge\nseedport_db_pool_connections{{kind=\"open\"}} {open}\nseedport_db_pool_connections{{kind=\"idle\"}} {idle}\nseedport_db_pool_connections{{kind=\"max\"}} {size}");
    let _ = writeln!(out, "# HELP seedport_downloads_in_flight Downloads streaming now.\n# TYPE seedport_downloads_in_flight gauge\nseedport_downloads_in_flight {}", sources.downloads.count());
    if let Ok((states, waiting)) = outbox {
        let _ = writeln!(out, "# HELP seedport_outbox_emails Emails in the outbox by state.\n# TYPE seedport_outbox_emails gauge");
        for state in ["pending", "sent", "failed"] {
            let n = states
                .iter()
                .find(|(s, _)| s == state)
                .map(|(_, n)| *n)
                .unwrap_or(0);
            let _ = writeln!(out, "seedport_outbox_emails{{state=\"{state}\"}} {n}");
        }
        let _ = writeln!(out, "# HELP seedport_outbox_waiting_retry Emails waiting for a retry after a failed attempt.\n# TYPE seedport_outbox_waiting_retry gauge\nseedport_outbox_waiting_retry {waiting}");
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(out)
}

/// Starts the metrics server on `listener` (one worker; stop it with its handle).
pub fn serve(sources: Sources, listener: TcpListener) -> anyhow::Result<actix_web::dev::Server> {
    let sources = web::Data::new(sources);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(sources.clone())
            .route("/metrics", web::get().to(metrics))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run())
}
