//! Who is calling: the bearer key checked (and the call counted and audited) before a handler
//! does anything, and the scope the handler needs.

use super::problem::ApiError;
use crate::api_keys::{self, Caller, Scope};
use crate::web::security::client_ip;
use crate::web::AppState;
use actix_web::http::header;
use actix_web::HttpRequest;

/// The key in `Authorization: Bearer <key>`, if the header has that shape.
fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| key.trim().to_string())
        .filter(|k| !k.is_empty() && k.len() <= 200)
}

/// The caller, when its key is live, within its rate limit and holds `scope`.
pub async fn authorize(
    req: &HttpRequest,
    state: &AppState,
    scope: Scope,
) -> Result<Caller, ApiError> {
    let presented = bearer(req).ok_or(ApiError::Unauthorized)?;
    let what = format!(
        "{} {}",
        req.method(),
        req.match_pattern().unwrap_or_else(|| "/api/v1".into())
    );
    let ip = client_ip(req, &state.config.trusted_proxies);
    let (limit, now) = (state.config.api_calls_per_key_per_minute, state.clock.now());
    let caller = state
        .db
        .run(move |conn| {
            api_keys::authenticate(conn, &presented, limit, &what, &ip, now).map_err(ApiError::from)
        })
        .await?;
    if !caller.may(scope) {
        return Err(ApiError::Forbidden(scope.as_str()));
    }
    Ok(caller)
}
