//! The client's address as limits and the audit log record it (see `security::client_ip`).

use super::state_of;
use crate::web::security;
use crate::web::AppError;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use std::future::{ready, Ready};

/// The socket peer, or the address a trusted proxy forwarded.
pub struct ClientIp(pub String);

impl FromRequest for ClientIp {
    type Error = AppError;
    type Future = Ready<Result<ClientIp, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            state_of(req)
                .map(|state| ClientIp(security::client_ip(req, &state.config.trusted_proxies))),
        )
    }
}
