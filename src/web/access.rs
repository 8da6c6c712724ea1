//! One access line per request (request id, method, route template, status, duration) and the
//! HTTP metrics. Paths are logged as their route template (`/d/{token}`), so a link token never
//! reaches a log.

use super::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use std::time::Instant;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The caller's request id when a trusted proxy sent a sane one; otherwise a new one.
fn request_id(req: &ServiceRequest) -> String {
    let trusted = req
        .app_data::<web::Data<AppState>>()
        .zip(req.peer_addr())
        .is_some_and(|(state, peer)| state.config.trusted_proxies.contains(&peer.ip()));
    let offered = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        });
    match offered {
        Some(id) if trusted => id.to_string(),
        _ => uuid::Uuid::new_v4().to_string(),
    }
}

/// The middleware: wraps every request of the public server.
pub async fn log_and_measure(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = request_id(&req);
    let method = req.method().as_str().to_string();
    let mut res = next.call(req).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "(unmatched)".to_string());
    let status = res.status().as_u16();
    let seconds = started.elapsed().as_secs_f64();
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    crate::telemetry::metrics::record_http(&method, &route, status, seconds);
    tracing::info!(
        target: "seedport::access",
        request_id = %id,
        method = %method,
        route = %route,
        status,
        duration_ms = (seconds * 1000.0 * 100.0).round() / 100.0,
        "request"
    );
    Ok(res)
}
