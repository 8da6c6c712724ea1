//! CSRF protection and session cookies: random tokens kept server-side with the session and
//! compared in constant time; cookies that never leave this site.

use super::AppError;
use crate::config::Config;
use actix_web::cookie::{Cookie, SameSite};
use subtle::ConstantTimeEq;

pub use crate::vault::{random_token, token_hash};

/// Checks a submitted CSRF token against the session's, in constant time.
pub fn verify(expected: &str, submitted: Option<&str>) -> Result<(), AppError> {
    match submitted {
        Some(s) if !expected.is_empty() && bool::from(s.as_bytes().ct_eq(expected.as_bytes())) => {
            Ok(())
        }
        _ => Err(AppError::Csrf),
    }
}

/// The name a cookie goes by: in production it takes the `__Host-` prefix, which browsers only
/// accept with `Secure`, `Path=/` and no `Domain`, so no other host can set or shadow it.
pub fn cookie_name(base: &str, config: &Config) -> String {
    if config.is_demo() {
        base.to_string()
    } else {
        format!("__Host-{base}")
    }
}

/// The cookie named `base` (with its production prefix) as the request carries it. Without
/// the app's state the production name is used: fail closed.
pub fn request_cookie(req: &actix_web::HttpRequest, base: &str) -> Option<Cookie<'static>> {
    let demo = req
        .app_data::<actix_web::web::Data<super::AppState>>()
        .is_some_and(|s| s.config.is_demo());
    let name = if demo {
        base.to_string()
    } else {
        format!("__Host-{base}")
    };
    req.cookie(&name)
}

/// A session cookie: `HttpOnly`, `SameSite=Strict`, path `/`, no domain, and `Secure` outside
/// demo mode (the demo runs on plain http://127.0.0.1). Name it with [`cookie_name`].
pub fn session_cookie(name: String, value: String, config: &Config) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(!config.is_demo())
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_verified() {
        let a = random_token("sp_dl_");
        assert!(a.starts_with("sp_dl_") && a.len() == 6 + 43);
        assert_ne!(a, random_token("sp_dl_"));
        assert!(verify(&a, Some(&a)).is_ok());
        assert!(verify(&a, Some("nope")).is_err());
        assert!(verify(&a, None).is_err());
        assert!(verify("", Some("")).is_err());
        assert_eq!(token_hash("x").len(), 64);
    }
}
