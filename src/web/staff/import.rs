//! `GET/POST /staff/import`: admins upload a manifest and its token files; the shared importer
//! checks everything and reports every problem with its file and line.

use super::StaffError;
use super::{check_csrf, client_ip, page_context, render_status, require_admin, signed_in};
use crate::audit::{self, Entry};
use crate::db::write_tx;
use crate::import::{self, ImportError, ImportInput, ImportOutcome, Manifest};
use crate::web::multipart::{self, Part};
use crate::web::{AppError, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

/// Largest upload accepted, all files together.
const MAX_UPLOAD: usize = 64 * 1024 * 1024;
/// A manifest, its files and the CSRF field; far more parts is not a real import.
const MAX_PARTS: usize = 1000;

/// The upload form.
pub async fn form(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, StaffError> {
    let session = signed_in(&req, &state).await?;
    require_admin(&session)?;
    let mut ctx = page_context(&session);
    ctx.insert("problems", &Vec::<String>::new());
    ctx.insert("result", &None::<String>);
    Ok(state.render("staff/import.html", ctx)?)
}

/// Runs the import; re-renders the form with the result or the problems.
pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, StaffError> {
    let session = signed_in(&req, &state).await?;
    require_admin(&session)?;
    let limits = multipart::Limits {
        total: MAX_UPLOAD,
        parts: MAX_PARTS,
    };
    let parts = multipart::read(&req, payload, limits)
        .await
        .map_err(|e| match e {
            multipart::MultipartError::TooLarge(_) => {
                bad("The upload is larger than 64 MiB; import it with the CLI.")
            }
            other => StaffError::App(AppError::BadRequest(other.to_string())),
        })?;
    let csrf = parts
        .iter()
        .find(|p| p.name == "csrf")
        .and_then(|p| std::str::from_utf8(&p.data).ok());
    check_csrf(&session, csrf)?;
    let input = match build_input(&parts) {
        Ok(input) => input,
        Err(problems) => return show(&state, &session, problems, None),
    };
    let ip = client_ip(&req, &state);
    let now = state.clock.now();
    let vault = state.vault.clone();
    let actor = session.staff.actor();
    let subject = format!("order:{}", input.manifest.order.po);
    let outcome = state
        .db
        .run(move |conn| {
            let outcome = import::run(conn, &vault, &input, now, &mut |_| {});
            let (action, details) = match &outcome {
                Ok(ImportOutcome::Imported {
                    shipments, tokens, ..
                }) => (
                    "import.completed",
                    format!("{shipments} shipment(s), {tokens} token(s)"),
                ),
                Ok(ImportOutcome::AlreadyImported { .. }) => (
                    "import.repeated",
                    "already imported; nothing changed".into(),
                ),
                Err(ImportError::Invalid(p)) => {
                    ("import.rejected", format!("{} problem(s)", p.len()))
                }
                Err(ImportError::Conflict(c)) => ("import.rejected", c.clone()),
                Err(_) => ("import.failed", String::new()),
            };
            write_tx(conn, |conn| {
                audit::record(
                    conn,
                    &Entry {
                        actor: &actor,
                        action,
                        subject: &subject,
                        client_ip: &ip,
                        details: &details,
                    },
                    now,
                )
            })
            .map_err(AppError::from)?;
            Ok::<_, AppError>(outcome)
        })
        .await?;
    match outcome {
        Ok(ImportOutcome::Imported {
            shipments, tokens, ..
        }) => show(
            &state,
            &session,
            Vec::new(),
            Some(format!(
                "Imported {shipments} shipment(s) with {tokens} token(s)."
            )),
        ),
        Ok(ImportOutcome::AlreadyImported { .. }) => show(
            &state,
            &session,
            Vec::new(),
            Some("This manifest and these files were imported before; nothing changed.".into()),
        ),
        Err(ImportError::Invalid(problems)) => show(
            &state,
            &session,
            problems.iter().map(|p| p.to_string()).collect(),
            None,
        ),
        Err(ImportError::Conflict(c)) => show(&state, &session, vec![c], None),
        Err(e) => Err(StaffError::App(AppError::internal(e))),
    }
}

fn bad(message: &str) -> StaffError {
    StaffError::App(AppError::BadRequest(message.into()))
}

/// The manifest (a file part or pasted text) and, for each shipment, the uploaded file its
/// `file` entry names. Every missing piece is listed.
fn build_input(parts: &[Part]) -> Result<ImportInput, Vec<String>> {
    let manifest_text = parts
        .iter()
        .filter(|p| p.name == "manifest" || p.name == "manifest_text")
        .find(|p| !p.data.iter().all(u8::is_ascii_whitespace))
        .map(|p| String::from_utf8_lossy(&p.data).into_owned());
    let Some(text) = manifest_text else {
        return Err(vec!["Upload the manifest (TOML) or paste it.".into()]);
    };
    let manifest = Manifest::parse(&text).map_err(|e| vec![format!("manifest: {e}")])?;
    let uploads: Vec<&Part> = parts
        .iter()
        .filter(|p| p.name == "files" && p.filename.as_deref().is_some_and(|f| !f.is_empty()))
        .collect();
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for spec in &manifest.shipments {
        let wanted = spec
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match uploads
            .iter()
            .find(|p| p.filename.as_deref().map(base_name) == Some(wanted.as_str()))
        {
            Some(p) => files.push((wanted.clone(), p.data.clone())),
            None => problems.push(format!(
                "manifest: shipment {} names the file {wanted}, which was not uploaded",
                spec.number
            )),
        }
    }
    if problems.is_empty() {
        Ok(ImportInput { manifest, files })
    } else {
        Err(problems)
    }
}

/// Browsers may send a path; only the last component counts.
fn base_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

fn show(
    state: &AppState,
    session: &crate::staff::session::Session,
    problems: Vec<String>,
    result: Option<String>,
) -> Result<HttpResponse, StaffError> {
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut ctx = page_context(session);
    ctx.insert("problems", &problems);
    ctx.insert("result", &result);
    render_status(state, "staff/import.html", ctx, status)
}
