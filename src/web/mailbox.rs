//! `GET /demo/mailbox`: the emails the demo wrote to `data_dir/mail/`, readable in the browser
//! with clickable links. Not found outside demo mode.

use super::kit::respond;
use super::{AppError, AppState};
use crate::mail::mailbox;
use actix_web::{web, HttpResponse};
use serde::Serialize;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/demo/mailbox", web::get().to(list))
        .route("/demo/mailbox/{name}", web::get().to(show));
}

pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    if !state.config.is_demo() {
        return Err(AppError::NotFound);
    }
    let dir = state.config.mail_dir();
    let emails = web::block(move || mailbox::list(&dir))
        .await
        .map_err(AppError::internal)?;
    let mut context = tera::Context::new();
    context.insert("emails", &emails);
    respond::page(&state, "demo/mailbox.html", context)
}

/// A run of text, or a link into this site.
#[derive(Serialize)]
struct Segment {
    text: String,
    link: bool,
}

/// Splits each line into text and links to `base`, so only our own links become clickable.
fn linkify(text: &str, base: &str) -> Vec<Vec<Segment>> {
    text.lines()
        .map(|line| {
            let mut segments = Vec::new();
            let mut rest = line;
            while let Some(start) = rest.find(base) {
                let end = rest[start..]
                    .find(char::is_whitespace)
                    .map_or(rest.len(), |e| start + e);
                if start > 0 {
                    segments.push(Segment {
                        text: rest[..start].to_string(),
                        link: false,
                    });
                }
                segments.push(Segment {
                    text: rest[start..end].to_string(),
                    link: true,
                });
                rest = &rest[end..];
            }
            segments.push(Segment {
                text: rest.to_string(),
                link: false,
            });
            segments
        })
        .collect()
}

pub async fn show(
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    if !state.config.is_demo() {
        return Err(AppError::NotFound);
    }
    let (dir, name) = (state.config.mail_dir(), name.into_inner());
    let email = web::block(move || mailbox::read(&dir, &name))
        .await
        .map_err(AppError::internal)?
        .ok_or(AppError::NotFound)?;
    let base = format!("{}/", state.config.public_base_url.trim_end_matches('/'));
    let mut context = tera::Context::new();
    context.insert("lines", &linkify(&email.text, &base));
    context.insert("email", &email);
    respond::page(&state, "demo/message.html", context)
}
