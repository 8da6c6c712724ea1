//! `GET /metrics` on its own listener (`metrics_bind`), never on the public address.

use crate::db::{Db, DbError};
use actix_web::{web, App, HttpResponse, HttpServer};
use std::net::TcpListener;

async fn metrics(db: web::Data<Db>) -> HttpResponse {
    let result: Result<String, DbError> = db.run(crate::telemetry::metrics::render).await;
    match result {
        Ok(text) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(text),
        Err(e) => {
            tracing::warn!("metrics: {e}");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain; charset=utf-8")
                .body("database unavailable\n")
        }
    }
}

/// Starts the metrics server on `listener` (one worker: a scraper is one client).
pub fn serve(db: Db, listener: TcpListener) -> anyhow::Result<actix_web::dev::Server> {
    crate::telemetry::metrics::install();
    let db = web::Data::new(db);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(db.clone())
            .route("/metrics", web::get().to(metrics))
    })
    .workers(1)
    .listen(listener)?
    .run();
    Ok(server)
}
