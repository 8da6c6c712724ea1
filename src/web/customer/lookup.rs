//! Step 0: the start page's lookup form and `POST /request`. Every failed lookup gives one
//! answer: same status, same page, padded to the same minimum time.

use super::fields::Fields;
use super::{render_status, see_other, Session};
use crate::domain::{BusinessEmail, OrderNumber, ReferenceKind};
use crate::request::draft::{self, NewDraft};
use crate::request::lookup;
use crate::web::security::client_ip;
use crate::web::{AppError, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Every failed lookup takes at least this long, so timing does not tell the cases apart.
const FAILURE_FLOOR: Duration = Duration::from_millis(350);

fn start_context(session: &Session) -> tera::Context {
    let mut ctx = tera::Context::new();
    ctx.insert("csrf", &session.csrf());
    ctx.insert("kind", "po");
    ctx.insert("reference", "");
    ctx.insert("email", "");
    ctx.insert("errors", &BTreeMap::<String, String>::new());
    ctx.insert("not_found", &false);
    ctx
}

/// `GET /`: the start page with the lookup form (and a session cookie for a new browser).
pub async fn start_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let session = Session::of(&req, &state);
    let mut resp = state.render("start.html", start_context(&session))?;
    session.attach(&state, &mut resp);
    Ok(resp)
}

enum Outcome {
    Limited,
    NotFound,
    Found(String),
}

/// `POST /request`: rate limits, then the lookup; on success a draft and a redirect.
pub async fn lookup(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let started = Instant::now();
    let session = Session::of(&req, &state);
    let form = Fields(form.into_inner());
    session.verify(form.get("csrf"))?;

    let kind = ReferenceKind::parse(form.text("kind"));
    let number = OrderNumber::parse(form.text("reference"));
    let email = BusinessEmail::parse(form.text("email"));
    let (kind, number, email) = match (kind, number, email) {
        (Ok(k), Ok(n), Ok(e)) => (k, n, e),
        (k, n, e) => {
            let mut errors = BTreeMap::new();
            for (field, err) in [
                ("kind", k.err()),
                ("reference", n.err()),
                ("email", e.err()),
            ] {
                if let Some(message) = err {
                    errors.insert(field.to_string(), capitalise(&message));
                }
            }
            let mut ctx = start_context(&session);
            ctx.insert("kind", form.text("kind"));
            ctx.insert("reference", form.text("reference"));
            ctx.insert("email", form.text("email"));
            ctx.insert("errors", &errors);
            return render_status(&state, "start.html", ctx, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };

    // A number whose shape names its kind (INV-…, SHP-…) is looked up as that kind, whatever
    // was chosen: an invoice number typed with "PO" selected finds its order.
    let kind = ReferenceKind::guess(number.as_str()).unwrap_or(kind);
    let ip = client_ip(&req, &state.config.trusted_proxies);
    let now = state.clock.now();
    let limits = lookup::Limits::from_config(&state.config);
    // A successful lookup moves the browser to a new session value (the old one, however it
    // got there, is worth nothing); a failed one keeps the current session.
    let rotated = Session::fresh(&state);
    let session_hash = rotated.hash();
    let typed = (number.as_str().to_string(), email.as_str().to_string());
    let outcome = state
        .db
        .run(move |conn| -> Result<Outcome, AppError> {
            let found =
                match lookup::find_order_limited(conn, limits, kind, &number, &email, &ip, now)? {
                    lookup::Limited::Found(found) => found,
                    lookup::Limited::NotFound => return Ok(Outcome::NotFound),
                    lookup::Limited::Refused(_) => return Ok(Outcome::Limited),
                };
            let id = draft::create(
                conn,
                &NewDraft {
                    session_hash: &session_hash,
                    customer_id: &found.customer_id,
                    order_id: &found.order_id,
                    requester_email: email.as_str(),
                    client_ip: &ip,
                },
                now,
            )?;
            Ok(Outcome::Found(id))
        })
        .await?;
    match outcome {
        Outcome::Found(id) => {
            let mut resp = see_other(&format!("/request/{id}/shipments"));
            rotated.attach(&state, &mut resp);
            Ok(resp)
        }
        Outcome::Limited => render_status(
            &state,
            "customer/too_many.html",
            tera::Context::new(),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Outcome::NotFound => {
            if let Some(left) = FAILURE_FLOOR.checked_sub(started.elapsed()) {
                tokio::time::sleep(left).await;
            }
            // Keep what was typed, so one wrong character is one fix, not three fields again.
            let mut ctx = start_context(&session);
            ctx.insert("kind", kind.as_str());
            ctx.insert("reference", &typed.0);
            ctx.insert("email", &typed.1);
            ctx.insert("not_found", &true);
            render_status(&state, "start.html", ctx, StatusCode::NOT_FOUND)
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect::<String>() + ".",
        None => String::new(),
    }
}
