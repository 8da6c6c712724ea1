//! `GET /d/{token}` shows the file and (when protected) a password field; `POST /d/{token}`
//! checks the password, consumes one download (a double press spends one, see
//! `delivery::download`) and streams the file chunk by chunk.

use super::counted::{CountedBody, Spend};
use super::{csrf_for, render_page, reused, LinkCookie};
use crate::clock::format_utc;
use crate::db::DbError;
use crate::delivery::download::{self, DownloadPress, Granted, Refusal};
use crate::delivery::links::{self, Found, LinkKind};
use crate::delivery::{DeliveryError, LinkToken};
use crate::mail::compose::human_size;
use crate::request::ProtectionKind;
use crate::storage;
use crate::vault::SecretString;
use crate::web::kit::{ClientIp, CsrfForm};
use crate::web::{AppError, AppState};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

/// The download form. No `Debug` output of the password: it is zeroized on drop.
#[derive(Deserialize)]
pub struct DownloadForm {
    #[serde(default)]
    password: String,
    /// The downloads count the page was rendered with (see `delivery::download`).
    #[serde(default)]
    seen: Option<String>,
}

impl std::fmt::Debug for DownloadForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DownloadForm([redacted])")
    }
}

impl Drop for DownloadForm {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.password);
    }
}

fn download_page(
    req: &HttpRequest,
    state: &AppState,
    found: &Found,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let (csrf, cookie) = csrf_for(req, state);
    let (p, r) = (&found.package, &found.request);
    let protection = ProtectionKind::parse(&r.protection);
    let format = crate::formats::find(&r.format_id).ok();
    let mut context = tera::Context::new();
    context.insert("file_name", &p.file_name);
    context.insert("size", &human_size(p.size));
    context.insert("sha256", &p.sha256);
    context.insert("expires", &format_utc(p.expires_at.unwrap_or_default()));
    context.insert("downloads_left", &(p.max_downloads - p.downloads).max(0));
    context.insert("seen", &p.downloads);
    context.insert("needs_password", &r.password_hash.is_some());
    context.insert("reference", &r.reference);
    context.insert("entra", &format.is_some_and(|f| f.id.is_entra()));
    context.insert("format_name", &format.map(|f| f.name));
    context.insert("how_to_import", &format.map(|f| f.how_to_import));
    context.insert("protection", &protection.map(ProtectionKind::as_str));
    context.insert("pgp", &protection.is_some_and(ProtectionKind::has_pgp));
    context.insert("pgp_guide", crate::guides::PGP_KEY);
    context.insert("entra_guide", crate::guides::ENTRA);
    context.insert("csrf", &csrf);
    context.insert("error", &error);
    render_page(state, "links/download.html", context, status, cookie)
}

/// `GET /d/{token}`: the page, never a download.
pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = LinkToken::from_url(token.into_inner());
    let (probe, now) = (
        LinkToken::from_url(token.expose().to_string()),
        state.clock.now(),
    );
    let found = state
        .db
        .run(move |conn| links::lookup(conn, LinkKind::Download, &probe, now))
        .await?;
    match found {
        Ok(found) => download_page(&req, &state, &found, None, StatusCode::OK),
        Err(gone) => reused(&state, &req, LinkKind::Download, &token, gone).await,
    }
}

/// `POST /d/{token}`: one call to `delivery::download::press`, then the file or the page.
pub async fn download(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
    posted: CsrfForm<LinkCookie, DownloadForm>,
    ip: ClientIp,
) -> Result<HttpResponse, AppError> {
    let CsrfForm {
        guard: cookie,
        form,
    } = posted;
    let token = LinkToken::from_url(token.into_inner());
    let press = DownloadPress {
        token: LinkToken::from_url(token.expose().to_string()),
        password: SecretString::new(form.password.clone()),
        seen: form.seen.as_deref().and_then(|s| s.trim().parse().ok()),
        browser: cookie.browser(),
        client_ip: ip.0.clone(),
    };
    let now = state.clock.now();
    let outcome = download::press(&state.db, &state.config, &state.tera, press, now).await?;
    let (found, message, status) = match outcome {
        Ok(granted) => return stream(state, granted, ip.0).await,
        Err(Refusal::Gone(gone)) => {
            return reused(&state, &req, LinkKind::Download, &token, gone).await
        }
        Err(Refusal::TooManyFromNetwork(found)) => (
            found,
            "Too many password attempts from your network. Wait an hour, then try again."
                .to_string(),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(Refusal::Busy(found)) => (
            found,
            "Too many attempts at once. Please try again.".to_string(),
            StatusCode::CONFLICT,
        ),
        Err(Refusal::WrongPassword { found, remaining }) => (
            found,
            format!(
                "That password is not right. {} left before the download is locked.",
                crate::plural::count(i64::from(remaining), "attempt", "attempts")
            ),
            StatusCode::FORBIDDEN,
        ),
        Err(Refusal::Stale(found)) => (
            found,
            "This page was out of date, so nothing was downloaded. It now shows how many \
             downloads are left: press Download again if you need the file."
                .to_string(),
            StatusCode::CONFLICT,
        ),
    };
    download_page(&req, &state, &found, Some(message), status)
}

/// `Content-Disposition` file name: letters, digits, `.`, `-`, `_` only.
pub fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect();
    let cleaned = cleaned.trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "seed-file.bin".into()
    } else {
        cleaned
    }
}

/// Streams the package: one chunk read and opened at a time on the blocking pool, through a
/// bounded channel, so memory stays at a few chunks whatever the size. The download counted
/// before the stream is given back unless its last byte goes out.
async fn stream(
    state: web::Data<AppState>,
    granted: Granted,
    client_ip: String,
) -> Result<HttpResponse, AppError> {
    let package = granted.package;
    let size = u64::try_from(package.size).unwrap_or(0);
    let spend = granted.spend.map(|spend| Spend {
        db: state.db.clone(),
        clock: state.clock.clone(),
        package_id: package.id.to_string(),
        spend,
        client_ip,
        size,
    });
    // From here on, a failure (even reading the key) gives the download back.
    let (rx_tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    let body = CountedBody::new(
        Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })),
        spend,
        state.downloads.clone(),
    );
    let (vault, pid) = (state.vault.clone(), package.id.clone());
    let key = state
        .db
        .run(move |conn| Ok::<_, DbError>(storage::package_key(conn, &vault, pid.as_str())))
        .await;
    let key = match key {
        Ok(Ok(key)) => key,
        Ok(Err(e)) => {
            drop(body);
            return Err(AppError::internal(DeliveryError::Invalid(e.to_string())));
        }
        Err(e) => {
            drop(body);
            return Err(e.into());
        }
    };
    let tx = rx_tx;
    let (db, id) = (state.db.clone(), package.id.clone());
    tokio::spawn(async move {
        for seq in 0..storage::chunk_count(size) {
            let (key, chunk_of) = (key.clone(), id.clone());
            let chunk = db
                .run(move |conn| {
                    Ok::<_, DbError>(storage::read_chunk(
                        conn,
                        &key,
                        chunk_of.as_str(),
                        seq,
                        size,
                    ))
                })
                .await;
            let item = match chunk {
                Ok(Ok(bytes)) => Ok(Bytes::copy_from_slice(bytes.expose())),
                Ok(Err(e)) => Err(std::io::Error::other(e.to_string())),
                Err(e) => Err(std::io::Error::other(e.to_string())),
            };
            let failed = item.is_err();
            if let Err(e) = &item {
                tracing::error!(package = %id, error = %e, "streaming a package failed");
            }
            if tx.send(item).await.is_err() || failed {
                break;
            }
        }
    });
    let content_type = match package.content_type.as_str() {
        t @ ("application/zip" | "application/pgp-encrypted") => t,
        _ => "application/octet-stream",
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            "Content-Disposition",
            format!(
                "attachment; filename=\"{}\"",
                safe_file_name(&package.file_name)
            ),
        ))
        .insert_header(("Cache-Control", "no-store"))
        .no_chunking(size)
        .streaming(body))
}

#[cfg(test)]
mod tests {
    use super::safe_file_name;

    #[test]
    fn file_names_are_sanitised() {
        assert_eq!(safe_file_name("seeds 2026.zip"), "seeds_2026.zip");
        assert_eq!(safe_file_name("..\"/x\r\n.zip"), "__x__.zip");
        assert_eq!(safe_file_name(""), "seed-file.bin");
    }
}
