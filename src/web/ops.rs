//! Operations endpoints: liveness and readiness (with the mail sender's health).

use super::{AppError, AppState};
use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;

/// The process is alive.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

/// The database answers. While any email waits for a retry after a failed attempt the body
/// says "degraded" (still 200: the instance serves, a load balancer should keep it).
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let result: Result<i64, AppError> = state
        .db
        .run(|conn| {
            conn.batch_execute("SELECT 1")?;
            Ok(crate::mail::queue::waiting_for_retry(conn)?)
        })
        .await;
    match result {
        Ok(0) => HttpResponse::Ok()
            .content_type("text/plain")
            .body("ready\n"),
        Ok(waiting) => HttpResponse::Ok().content_type("text/plain").body(format!(
            "degraded: {} waiting for a retry after a failed attempt\n",
            crate::plural::count(waiting, "email", "emails")
        )),
        Err(_) => HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("database unavailable\n"),
    }
}
