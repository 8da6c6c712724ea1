//! Security headers on every response, and the client IP as the audit log and limits see it.

use actix_web::middleware::DefaultHeaders;
use actix_web::HttpRequest;
use std::net::IpAddr;

/// Scripts and styles only from our own origin; nothing may frame us.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Browser features no page of ours uses, switched off.
pub const PERMISSIONS_POLICY: &str = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), \
magnetometer=(), microphone=(), payment=(), usb=(), interest-cohort=()";

/// Production asks browsers to use HTTPS only, for two years. Not in demo mode: it runs on
/// plain http://127.0.0.1, and HSTS there would stick to localhost.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=63072000";

/// The headers every response carries; `production` adds HSTS.
pub fn headers(production: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add(("Permissions-Policy", PERMISSIONS_POLICY));
    if production {
        headers.add(("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY))
    } else {
        headers
    }
}

/// The socket peer, or, when the peer is a trusted proxy, the last `X-Forwarded-For` entry it
/// added. A header anyone can set is never believed on its own.
pub fn client_ip(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> String {
    let peer = req.peer_addr().map(|a| a.ip());
    let Some(peer) = peer else {
        return "unknown".into();
    };
    if trusted_proxies.contains(&peer) {
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok());
        if let Some(ip) = forwarded {
            return ip.to_string();
        }
    }
    peer.to_string()
}
