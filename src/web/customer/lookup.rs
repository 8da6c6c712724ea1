//! Step 0: the start page's lookup form and `POST /request` (one call to
//! `request::lookup::start`). Every failed lookup gives one answer: same status, same page,
//! padded to the same minimum time.

use super::fields::Fields;
use super::Session;
use crate::domain::{BusinessEmail, OrderNumber, ReferenceKind};
use crate::request::lookup::{self, LookupInput, Started};
use crate::web::kit::{respond, ClientIp, CsrfForm, CustomerSession};
use crate::web::{AppError, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Every failed lookup takes at least this long, so timing does not tell the cases apart.
const FAILURE_FLOOR: Duration = Duration::from_millis(350);

/// The start page's context: the form as typed, its errors and whether the lookup missed.
fn start_context(
    session: &Session,
    typed: (&str, &str, &str),
    errors: &BTreeMap<String, String>,
    not_found: bool,
) -> tera::Context {
    let mut ctx = tera::Context::new();
    ctx.insert("csrf", &session.csrf());
    ctx.insert("kind", if typed.0.is_empty() { "po" } else { typed.0 });
    ctx.insert("reference", typed.1);
    ctx.insert("email", typed.2);
    ctx.insert("errors", errors);
    ctx.insert("not_found", &not_found);
    ctx
}

/// The start page as every browser first sees it, rendered once when the server starts: only
/// the form's CSRF token differs between browsers, so `GET /` joins the two halves around the
/// session's token instead of running the template engine on every request.
pub struct StartPage {
    before: String,
    after: String,
}

/// Stands in for the CSRF token while the page is rendered once; letters and dashes only, so the
/// template's escaping leaves it as it is.
const CSRF_SLOT: &str = "SEEDPORT-CSRF-SLOT";

impl StartPage {
    /// Renders the empty lookup form with the brand; fails when the template does not show the
    /// CSRF token exactly once.
    pub fn render(state: &AppState) -> anyhow::Result<StartPage> {
        let mut ctx = tera::Context::new();
        ctx.insert("csrf", CSRF_SLOT);
        ctx.insert("kind", "po");
        ctx.insert("reference", "");
        ctx.insert("email", "");
        ctx.insert("errors", &BTreeMap::<String, String>::new());
        ctx.insert("not_found", &false);
        let html = respond::render(state, "start.html", ctx)
            .map_err(|e| anyhow::anyhow!("rendering the start page: {e:?}"))?;
        match html.split(CSRF_SLOT).collect::<Vec<_>>().as_slice() {
            [before, after] => Ok(StartPage {
                before: before.to_string(),
                after: after.to_string(),
            }),
            _ => anyhow::bail!("the start page must show its CSRF token exactly once"),
        }
    }

    /// The page with `csrf` in its form.
    fn with_csrf(&self, csrf: &str) -> String {
        let mut page = String::with_capacity(self.before.len() + csrf.len() + self.after.len());
        page.push_str(&self.before);
        page.push_str(csrf);
        page.push_str(&self.after);
        page
    }
}

/// `GET /`: the start page with the lookup form (and a session cookie for a new browser).
pub async fn start_page(
    state: web::Data<AppState>,
    start: web::Data<StartPage>,
    session: CustomerSession,
) -> Result<HttpResponse, AppError> {
    let mut resp = respond::html(StatusCode::OK, start.with_csrf(&session.0.csrf()));
    session.0.attach(&state, &mut resp);
    Ok(resp)
}

/// The typed fields, parsed; otherwise the message for each field that is wrong.
fn parse(form: &Fields) -> Result<LookupInput, BTreeMap<String, String>> {
    let kind = ReferenceKind::parse(form.text("kind"));
    let number = OrderNumber::parse(form.text("reference"));
    let email = BusinessEmail::parse(form.text("email"));
    match (kind, number, email) {
        (Ok(kind), Ok(number), Ok(email)) => Ok(LookupInput {
            kind,
            number,
            email,
        }),
        (k, n, e) => Err([
            ("kind", k.err()),
            ("reference", n.err()),
            ("email", e.err()),
        ]
        .into_iter()
        .filter_map(|(field, err)| Some((field.to_string(), sentence(&err?))))
        .collect()),
    }
}

/// `POST /request`: rate limits, then the lookup; on success a draft and a redirect.
pub async fn lookup(
    state: web::Data<AppState>,
    posted: CsrfForm<CustomerSession, Fields>,
    ip: ClientIp,
) -> Result<HttpResponse, AppError> {
    let started = Instant::now();
    let CsrfForm {
        guard: CustomerSession(session),
        form,
    } = posted;
    let typed = (
        form.text("kind"),
        form.text("reference"),
        form.text("email"),
    );
    let input = match parse(&form) {
        Ok(input) => input,
        Err(errors) => {
            let ctx = start_context(&session, typed, &errors, false);
            return respond::page_with(&state, "start.html", ctx, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    // A successful lookup moves the browser to a new session value (the old one, however it
    // got there, is worth nothing); a failed one keeps the current session.
    let rotated = Session::fresh(&state);
    let (hash, now) = (rotated.hash(), state.clock.now());
    let limits = lookup::Limits::from_config(&state.config);
    let typed_number = input.number.as_str().to_string();
    let typed_email = input.email.as_str().to_string();
    let outcome = state
        .db
        .run(move |conn| Ok::<_, AppError>(lookup::start(conn, limits, &input, &hash, &ip.0, now)?))
        .await?;
    match outcome {
        Started::Draft(id) => {
            let mut resp = respond::see_other(&format!("/request/{id}/shipments"));
            rotated.attach(&state, &mut resp);
            Ok(resp)
        }
        Started::Limited => respond::page_with(
            &state,
            "customer/too_many.html",
            tera::Context::new(),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Started::NotFound { kind } => {
            if let Some(left) = FAILURE_FLOOR.checked_sub(started.elapsed()) {
                tokio::time::sleep(left).await;
            }
            // Keep what was typed, so one wrong character is one fix, not three fields again.
            let typed = (kind.as_str(), typed_number.as_str(), typed_email.as_str());
            let ctx = start_context(&session, typed, &BTreeMap::new(), true);
            respond::page_with(&state, "start.html", ctx, StatusCode::NOT_FOUND)
        }
    }
}

/// A parser's message as a sentence: capital first letter, full stop.
fn sentence(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect::<String>() + ".",
        None => String::new(),
    }
}
