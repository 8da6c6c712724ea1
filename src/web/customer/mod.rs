//! The customer's request wizard in the browser: lookup, shipments, protection, format,
//! review and submit. Handlers are thin: the kit's extractors open the draft at its step and
//! check the form; the handler calls `crate::request` and renders.
//!
//! State lives on the server in a draft row named by a random id in the URL and bound to the
//! browser's session cookie (`sp_customer`, a random value the database knows only as its
//! SHA-256). The CSRF token of every form is derived from that session value.

mod fields;
mod format;
mod format_form;
mod lookup;
mod protection;
mod review;
mod shipments;

pub use lookup::StartPage;

use super::{csrf, AppError, AppState};
use crate::request::{Draft, Step};
use actix_web::cookie::Cookie;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;

/// Name of the customer's session cookie.
pub const SESSION_COOKIE: &str = "sp_customer";

/// Registers the wizard's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(lookup::start_page))
        .route("/request", web::post().to(lookup::lookup))
        .route("/request/{draft}/shipments", web::get().to(shipments::page))
        .route(
            "/request/{draft}/shipments",
            web::post().to(shipments::verify),
        )
        .route(
            "/request/{draft}/protection",
            web::get().to(protection::page),
        )
        .route(
            "/request/{draft}/protection",
            web::post().to(protection::save),
        )
        .route("/request/{draft}/format", web::get().to(format::page))
        .route("/request/{draft}/format", web::post().to(format::save))
        .route("/request/{draft}/review", web::get().to(review::page))
        .route("/request/{draft}/submit", web::post().to(review::submit))
        .route("/request/{draft}/done", web::get().to(review::done));
}

/// The browser's session: the cookie's value, and whether it has to be set on this response.
/// Only values this server issued are adopted: each carries a MAC under a key derived from the
/// master key, so a value planted by someone else is ignored and replaced.
pub struct Session {
    value: String,
    is_new: bool,
}

const SESSION_MAC: &str = "customer-session-cookie";

impl Session {
    /// The session the request's cookie names, if this server issued it; otherwise a fresh one.
    pub fn of(req: &HttpRequest, state: &AppState) -> Session {
        match csrf::request_cookie(req, SESSION_COOKIE) {
            Some(c) if Session::issued_here(c.value(), state) => Session {
                value: c.value().to_string(),
                is_new: false,
            },
            _ => Session::fresh(state),
        }
    }

    /// A new session value, to be set on the response.
    pub fn fresh(state: &AppState) -> Session {
        let random = csrf::random_token("sp_cs_");
        let mac = state.vault.mac(SESSION_MAC, random.as_bytes());
        let tag = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac);
        Session {
            value: format!("{random}.{tag}"),
            is_new: true,
        }
    }

    fn issued_here(value: &str, state: &AppState) -> bool {
        use subtle::ConstantTimeEq;
        let Some((random, tag)) = value.rsplit_once('.') else {
            return false;
        };
        if !random.starts_with("sp_cs_") || random.len() < 40 {
            return false;
        }
        let Ok(tag) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(tag) else {
            return false;
        };
        let expected = state.vault.mac(SESSION_MAC, random.as_bytes());
        bool::from(tag.as_slice().ct_eq(expected.as_slice()))
    }

    /// What the database stores: SHA-256 of the cookie value.
    pub fn hash(&self) -> String {
        csrf::token_hash(&self.value)
    }

    /// The CSRF token of this session's forms.
    pub fn csrf(&self) -> String {
        csrf::token_hash(&format!("csrf:{}", self.value))
    }

    /// Checks a submitted form's CSRF token; a new session has none to match.
    pub fn verify(&self, submitted: Option<&str>) -> Result<(), AppError> {
        if self.is_new {
            return Err(AppError::Csrf);
        }
        csrf::verify(&self.csrf(), submitted)
    }

    /// Sets the cookie on `resp` when the session is new.
    pub fn attach(&self, state: &AppState, resp: &mut HttpResponse) {
        if self.is_new {
            let cookie: Cookie<'static> = csrf::session_cookie(
                csrf::cookie_name(SESSION_COOKIE, &state.config),
                self.value.clone(),
                &state.config,
            );
            let _ = resp.add_cookie(&cookie);
        }
    }
}

/// URL of a draft's step page.
pub fn step_url(draft_id: &str, step: Step) -> String {
    match step {
        Step::Submitted => format!("/request/{draft_id}/done"),
        s => format!("/request/{draft_id}/{}", s.as_str()),
    }
}

/// A context with what every wizard page shows.
pub fn context(session: &Session, draft: &Draft, step: Step) -> tera::Context {
    let mut ctx = tera::Context::new();
    ctx.insert("csrf", &session.csrf());
    ctx.insert("draft_id", &draft.id);
    ctx.insert("step", step.as_str());
    ctx.insert("reached", draft.step.as_str());
    ctx.insert("requester_email", &draft.requester_email);
    let steps: Vec<serde_json::Value> = [
        (Step::Shipments, "Shipments"),
        (Step::Protection, "Protection"),
        (Step::Format, "Format"),
        (Step::Review, "Review"),
    ]
    .iter()
    .map(|(s, label)| {
        let open = *s <= draft.step && draft.step != Step::Submitted;
        serde_json::json!({
            "label": label,
            "current": *s == step,
            "href": open.then(|| step_url(&draft.id, *s)),
        })
    })
    .collect();
    ctx.insert("steps", &steps);
    ctx
}
