//! The customer's side as extractors: the browser's session ([`CustomerSession`]) and the draft
//! at a step ([`DraftAt`]). The step is a type, so a handler cannot open a draft at the wrong
//! one; a draft that is not there (another browser's, expired, unknown) is answered with the
//! "start again" page, a step not reached yet with a redirect to the furthest one reached, and a
//! submitted draft with its confirmation.

use super::{respond, state_of, CsrfSource};
use crate::request::draft::{self, DraftError};
use crate::request::{Draft, Step};
use crate::web::customer::{step_url, Session};
use crate::web::{AppError, AppState};
use actix_web::dev::Payload;
use actix_web::error::InternalError;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;
use std::future::{ready, Ready};
use std::marker::PhantomData;

/// A wizard step as a type.
pub trait AtStep {
    const STEP: Step;
}

/// Step 1: the shipments.
pub struct Shipments;
/// Step 2: the protection.
pub struct Protection;
/// Step 3: the format.
pub struct Format;
/// Step 4: the summary and submit.
pub struct Review;
/// The confirmation of a submitted draft.
pub struct Submitted;

impl AtStep for Shipments {
    const STEP: Step = Step::Shipments;
}
impl AtStep for Protection {
    const STEP: Step = Step::Protection;
}
impl AtStep for Format {
    const STEP: Step = Step::Format;
}
impl AtStep for Review {
    const STEP: Step = Step::Review;
}
impl AtStep for Submitted {
    const STEP: Step = Step::Submitted;
}

/// The browser's customer session (a fresh one when the cookie is missing or not ours).
pub struct CustomerSession(pub Session);

impl FromRequest for CustomerSession {
    type Error = AppError;
    type Future = Ready<Result<CustomerSession, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(state_of(req).map(|state| CustomerSession(Session::of(req, &state))))
    }
}

impl CsrfSource for CustomerSession {
    fn check_csrf(&self, submitted: Option<&str>) -> Result<(), AppError> {
        self.0.verify(submitted)
    }
}

/// This browser's draft named by the `{draft}` path segment, open at step `S`.
pub struct DraftAt<S> {
    pub session: Session,
    pub draft: Draft,
    step: PhantomData<S>,
}

impl<S: AtStep> DraftAt<S> {
    /// The context every wizard page of this step starts from.
    pub fn context(&self) -> tera::Context {
        crate::web::customer::context(&self.session, &self.draft, S::STEP)
    }
}

impl<S> CsrfSource for DraftAt<S> {
    fn check_csrf(&self, submitted: Option<&str>) -> Result<(), AppError> {
        self.session.verify(submitted)
    }
}

/// An answer that is a page, not an error: the extractor's way to redirect or say "gone".
fn answer(response: HttpResponse) -> actix_web::Error {
    InternalError::from_response("draft not open at this step", response).into()
}

async fn open<S: AtStep>(req: HttpRequest) -> Result<DraftAt<S>, actix_web::Error> {
    let state = state_of(&req)?;
    let id = req
        .match_info()
        .get("draft")
        .unwrap_or_default()
        .to_string();
    let session = Session::of(&req, &state);
    let hash = session.hash();
    let now = state.clock.now();
    let loaded = state
        .db
        .run(move |conn| Ok::<_, AppError>(draft::load(conn, &id, &hash, now)))
        .await?;
    let draft = match loaded {
        Ok(d) => d,
        Err(DraftError::Gone) => return Err(answer(gone(&state)?)),
        Err(e) => return Err(AppError::internal(e).into()),
    };
    if draft.request_id.is_some() && S::STEP != Step::Submitted {
        return Err(answer(respond::see_other(&step_url(
            &draft.id,
            Step::Submitted,
        ))));
    }
    if S::STEP > draft.step {
        return Err(answer(respond::see_other(&step_url(&draft.id, draft.step))));
    }
    Ok(DraftAt {
        session,
        draft,
        step: PhantomData,
    })
}

impl<S: AtStep + 'static> FromRequest for DraftAt<S> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<DraftAt<S>, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(open::<S>(req.clone()))
    }
}

/// The page for an expired, unknown or foreign draft.
pub fn gone(state: &AppState) -> Result<HttpResponse, AppError> {
    respond::page_with(
        state,
        "customer/gone.html",
        tera::Context::new(),
        StatusCode::NOT_FOUND,
    )
}
