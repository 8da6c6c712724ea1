//! The signed-in staff member as an extractor ([`StaffSession`], and [`AdminSession`] for the
//! admin-only pages), and the rendering of a staff page: who is signed in, the CSRF token of
//! its forms and the count of requests in each state for the navigation, in one query.

use super::{respond, state_of, CsrfSource};
use crate::db::DbError;
use crate::staff::review;
use crate::staff::session::{self, Session};
use crate::staff::Role;
use crate::web::{csrf, AppError, AppState};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;

/// The staff session cookie. Before sign-in it holds an anonymous value that only keys the
/// sign-in form's CSRF token; sign-in replaces it with a fresh session id.
pub const COOKIE: &str = "sp_staff";

/// A live staff session; without one the request is answered with the sign-in page.
pub struct StaffSession(pub Session);

/// A live session of an admin; a reviewer gets the "your role does not allow this" page.
pub struct AdminSession(pub StaffSession);

/// The staff cookie's value, if the browser sent one.
pub fn cookie_value(req: &HttpRequest) -> Option<String> {
    csrf::request_cookie(req, COOKIE).map(|c| c.value().to_string())
}

async fn resume(req: HttpRequest) -> Result<StaffSession, AppError> {
    let state = state_of(&req)?;
    let cookie = cookie_value(&req).ok_or(AppError::SignIn)?;
    let now = state.clock.now();
    let found = state
        .db
        .run(move |conn| session::resume(conn, &cookie, now).map_err(DbError::Query))
        .await?;
    found.map(StaffSession).ok_or(AppError::SignIn)
}

impl FromRequest for StaffSession {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<StaffSession, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(resume(req.clone()))
    }
}

impl FromRequest for AdminSession {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<AdminSession, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let session = resume(req).await?;
            match session.0.staff.role {
                Role::Admin => Ok(AdminSession(session)),
                Role::Reviewer => Err(AppError::Forbidden),
            }
        })
    }
}

impl CsrfSource for StaffSession {
    fn check_csrf(&self, submitted: Option<&str>) -> Result<(), AppError> {
        csrf::verify(&self.0.csrf, submitted)
    }
}

impl CsrfSource for AdminSession {
    fn check_csrf(&self, submitted: Option<&str>) -> Result<(), AppError> {
        self.0.check_csrf(submitted)
    }
}

impl std::ops::Deref for AdminSession {
    type Target = StaffSession;
    fn deref(&self) -> &StaffSession {
        &self.0
    }
}

impl StaffSession {
    /// `staff:EMAIL`, as the audit log names the actor.
    pub fn actor(&self) -> String {
        self.0.staff.actor()
    }

    /// The context every signed-in page starts from: who, their role, the CSRF token.
    pub fn context(&self) -> tera::Context {
        let mut ctx = tera::Context::new();
        ctx.insert("me", &self.0.staff);
        ctx.insert("is_admin", &(self.0.staff.role == Role::Admin));
        ctx.insert("csrf", &self.0.csrf);
        ctx
    }

    /// Renders a staff page with the navigation's counts per state (one GROUP BY query).
    pub async fn page(
        &self,
        state: &AppState,
        template: &str,
        ctx: tera::Context,
    ) -> Result<HttpResponse, AppError> {
        self.page_with(state, template, ctx, StatusCode::OK).await
    }

    /// As [`StaffSession::page`], answering `status`.
    pub async fn page_with(
        &self,
        state: &AppState,
        template: &str,
        mut ctx: tera::Context,
        status: StatusCode,
    ) -> Result<HttpResponse, AppError> {
        let counts = state
            .db
            .run(|conn| review::counts(conn).map_err(DbError::Query))
            .await?;
        ctx.insert("nav_counts", &counts);
        respond::page_with(state, template, ctx, status)
    }
}
