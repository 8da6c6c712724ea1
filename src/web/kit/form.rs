//! Forms whose CSRF token is checked before the handler sees them: [`CsrfForm`] for urlencoded
//! bodies, [`CsrfMultipart`] for uploads. The token is compared by `csrf::verify` against what
//! the guard `G` (a session, or the link pages' cookie) expects; a mismatch is the one "this form
//! has expired" page and the handler never runs.

use crate::web::multipart::{self, Limits, MultipartError, Part};
use crate::web::AppError;
use actix_web::dev::Payload;
use actix_web::web::{self, Bytes};
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;

/// Something that knows which CSRF token this request's forms must carry.
pub trait CsrfSource {
    /// `Ok` when `submitted` is the expected token (constant-time, via `csrf::verify`).
    fn check_csrf(&self, submitted: Option<&str>) -> Result<(), AppError>;
}

/// A urlencoded form of type `T` whose `csrf` field matched what `G` expects.
pub struct CsrfForm<G, T> {
    pub guard: G,
    pub form: T,
}

fn unreadable(e: impl std::fmt::Display) -> AppError {
    AppError::BadRequest(format!(
        "The form could not be read ({e}). Reload the page and send it again."
    ))
}

/// The first `csrf` field of a urlencoded body.
fn csrf_field(body: &[u8]) -> Result<Option<String>, AppError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(unreadable)?;
    Ok(pairs.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v))
}

impl<G, T> FromRequest for CsrfForm<G, T>
where
    G: FromRequest + CsrfSource + 'static,
    G::Future: 'static,
    G::Error: Into<actix_web::Error>,
    T: DeserializeOwned + 'static,
{
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<CsrfForm<G, T>, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let guard = G::from_request(&req, &mut Payload::None)
                .await
                .map_err(Into::into)?;
            // The same size limit as every other form (`FormConfig` in `web::serve`).
            let body = Bytes::from_request(&req, &mut payload).await?;
            guard.check_csrf(csrf_field(&body)?.as_deref())?;
            let form = serde_urlencoded::from_bytes::<T>(&body).map_err(unreadable)?;
            Ok(CsrfForm { guard, form })
        })
    }
}

/// How large an upload form may be, and what to say when it is larger.
pub trait UploadLimits {
    const LIMITS: Limits;
    /// Shown when the body passes [`UploadLimits::LIMITS`]'s total.
    fn too_large() -> String {
        MultipartError::TooLarge(Self::LIMITS.total).to_string()
    }
}

/// A multipart form, read whole within `L`'s limits, whose `csrf` part matched what `G`
/// expects.
pub struct CsrfMultipart<G, L> {
    pub guard: G,
    pub parts: Vec<Part>,
    limits: PhantomData<L>,
}

impl<G, L> FromRequest for CsrfMultipart<G, L>
where
    G: FromRequest + CsrfSource + 'static,
    G::Future: 'static,
    G::Error: Into<actix_web::Error>,
    L: UploadLimits + 'static,
{
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<CsrfMultipart<G, L>, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let guard = G::from_request(&req, &mut Payload::None)
                .await
                .map_err(Into::into)?;
            let body = web::Payload::from_request(&req, &mut payload).await?;
            let parts = multipart::read(&req, body, L::LIMITS)
                .await
                .map_err(|e| match e {
                    MultipartError::TooLarge(_) => AppError::BadRequest(L::too_large()),
                    other => AppError::BadRequest(other.to_string()),
                })?;
            let csrf = parts
                .iter()
                .find(|p| p.name == "csrf")
                .and_then(|p| std::str::from_utf8(&p.data).ok());
            guard.check_csrf(csrf)?;
            Ok(CsrfMultipart {
                guard,
                parts,
                limits: PhantomData,
            })
        })
    }
}
