//! `GET/POST /staff/import`: admins upload a manifest and its token files; one call to
//! `import::console::import_upload` checks everything, imports and audits, and the page reports
//! every problem with its file and line.

use crate::import::console::{self, Reported, Upload};
use crate::web::kit::{AdminSession, ClientIp, CsrfMultipart, UploadLimits};
use crate::web::multipart::{Limits, Part};
use crate::web::{AppError, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

/// An import upload: the manifest, its files and the CSRF field, 64 MiB at most.
pub struct ImportUpload;

impl UploadLimits for ImportUpload {
    const LIMITS: Limits = Limits {
        total: 64 * 1024 * 1024,
        parts: 1000,
    };
    fn too_large() -> String {
        "The upload is larger than 64 MiB; import it with the CLI.".into()
    }
}

/// The upload form.
pub async fn form(
    state: web::Data<AppState>,
    session: AdminSession,
) -> Result<HttpResponse, AppError> {
    show(&state, &session, Reported::Problems(Vec::new())).await
}

/// The parts as the importer takes them: the manifest (file or pasted) and the named files.
fn upload(parts: Vec<Part>) -> Upload {
    let manifest = parts
        .iter()
        .filter(|p| p.name == "manifest" || p.name == "manifest_text")
        .find(|p| !p.data.iter().all(u8::is_ascii_whitespace))
        .map(|p| String::from_utf8_lossy(&p.data).into_owned());
    let files = parts
        .into_iter()
        .filter(|p| p.name == "files")
        .filter_map(|p| Some((p.filename.filter(|f| !f.is_empty())?, p.data)))
        .collect();
    Upload { manifest, files }
}

/// Runs the import; re-renders the form with the result or the problems.
pub async fn submit(
    state: web::Data<AppState>,
    posted: CsrfMultipart<AdminSession, ImportUpload>,
    ip: ClientIp,
) -> Result<HttpResponse, AppError> {
    let session = posted.guard;
    let upload = upload(posted.parts);
    let (vault, actor, now) = (state.vault.clone(), session.actor(), state.clock.now());
    let reported = state
        .db
        .run(move |conn| {
            console::import_upload(conn, &vault, upload, &actor, &ip.0, now)
                .map_err(AppError::internal)
        })
        .await?;
    show(&state, &session, reported).await
}

async fn show(
    state: &AppState,
    session: &AdminSession,
    reported: Reported,
) -> Result<HttpResponse, AppError> {
    let (problems, result, status) = match reported {
        Reported::Done(message) => (Vec::new(), Some(message), StatusCode::OK),
        Reported::Problems(p) if p.is_empty() => (p, None, StatusCode::OK),
        Reported::Problems(p) => (p, None, StatusCode::UNPROCESSABLE_ENTITY),
    };
    let mut ctx = session.context();
    ctx.insert("problems", &problems);
    ctx.insert("result", &result);
    session
        .page_with(state, "staff/import.html", ctx, status)
        .await
}
