//! `GET /d/{token}` shows the file and (when protected) a password field; `POST /d/{token}`
//! checks the password, consumes one download and streams the file chunk by chunk.

use super::counted::{CountedBody, Spend};
use super::{check_csrf, csrf_for, gone_page, render_page, reused};
use crate::clock::format_utc;
use crate::db::DbError;
use crate::delivery::links::{self, Found, LinkKind};
use crate::delivery::{DeliveryError, LinkToken, PackageRow};
use crate::mail::compose::human_size;
use crate::request::rate_limit;
use crate::storage;
use crate::web::security::client_ip;
use crate::web::{AppError, AppState};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct DownloadForm {
    csrf: String,
    #[serde(default)]
    password: String,
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

async fn lookup(
    state: &web::Data<AppState>,
    token: &LinkToken,
) -> Result<Result<Found, links::Gone>, AppError> {
    let token = LinkToken::from_url(token.expose().to_string());
    let now = state.clock.now();
    Ok(state
        .db
        .run(move |conn| links::lookup(conn, LinkKind::Download, &token, now))
        .await?)
}

fn download_page(
    req: &HttpRequest,
    state: &AppState,
    found: &Found,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let (csrf, cookie) = csrf_for(req, state);
    let p = &found.package;
    let mut context = tera::Context::new();
    context.insert("file_name", &p.file_name);
    context.insert("size", &human_size(p.size));
    context.insert("sha256", &p.sha256);
    context.insert("expires", &format_utc(p.expires_at.unwrap_or_default()));
    context.insert("downloads_left", &(p.max_downloads - p.downloads).max(0));
    context.insert("needs_password", &found.request.password_hash.is_some());
    context.insert("reference", &found.request.reference);
    context.insert("entra", &found.request.format_id.starts_with("entra"));
    context.insert("format_id", &found.request.format_id);
    context.insert("protection", &found.request.protection);
    context.insert("csrf", &csrf);
    context.insert("error", &error);
    render_page(state, "links/download.html", context, status, cookie)
}

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = LinkToken::from_url(token.into_inner());
    match lookup(&state, &token).await? {
        Ok(found) => download_page(&req, &state, &found, None, StatusCode::OK),
        Err(gone) => reused(&state, &req, LinkKind::Download, &token, gone).await,
    }
}

/// Argon2id check on the blocking pool (it is deliberately slow).
async fn password_matches(hash: String, password: String) -> Result<bool, AppError> {
    web::block(move || {
        use argon2::{PasswordHash, PasswordVerifier};
        let mut password = password;
        let ok = PasswordHash::new(&hash)
            .map(|parsed| {
                argon2::Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        zeroize::Zeroize::zeroize(&mut password);
        ok
    })
    .await
    .map_err(AppError::internal)
}

pub async fn download(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: web::Form<DownloadForm>,
) -> Result<HttpResponse, AppError> {
    check_csrf(&req, &form.csrf)?;
    let token = LinkToken::from_url(token.into_inner());
    let found = match lookup(&state, &token).await? {
        Ok(found) => found,
        Err(gone) => return reused(&state, &req, LinkKind::Download, &token, gone).await,
    };
    let ip = client_ip(&req, &state.config.trusted_proxies);
    let id = found.package.id.clone();
    let refund = match found.request.password_hash.clone() {
        None => false,
        Some(hash) => {
            let (pid, limit) = (id.clone(), state.config.wrong_password_limit);
            let (per_ip, bucket, now) = (
                state.config.download_passwords_per_ip_per_hour,
                rate_limit::download_password_bucket(&ip),
                state.clock.now(),
            );
            // One address may try so many passwords an hour, whatever the package.
            let reserved = state
                .db
                .run(move |conn| {
                    if !rate_limit::hit(conn, &bucket, per_ip, rate_limit::HOUR, now)? {
                        return Ok(None);
                    }
                    links::reserve_attempt(conn, &pid, limit).map(Some)
                })
                .await?;
            let Some(reserved) = reserved else {
                return download_page(
                    &req,
                    &state,
                    &found,
                    Some(
                        "Too many password attempts from your network. Wait an hour, then try \
                         again."
                            .into(),
                    ),
                    StatusCode::TOO_MANY_REQUESTS,
                );
            };
            if !reserved {
                return match lookup(&state, &token).await? {
                    Ok(found) => download_page(
                        &req,
                        &state,
                        &found,
                        Some("Too many attempts at once. Please try again.".into()),
                        StatusCode::CONFLICT,
                    ),
                    Err(gone) => gone_page(&state, gone),
                };
            }
            if !password_matches(hash, form.password.clone()).await? {
                let (app, pid, ip) = (state.clone(), id.clone(), ip.clone());
                let now = state.clock.now();
                let wrong = state
                    .db
                    .run(move |conn| {
                        links::wrong_password(conn, &app.config, &app.tera, &pid, &ip, now)
                    })
                    .await?;
                if wrong.remaining == 0 {
                    return gone_page(&state, links::Gone::Locked);
                }
                let message = format!(
                    "That password is not right. {} left before the download is locked.",
                    match wrong.remaining {
                        1 => "1 attempt".to_string(),
                        n => format!("{n} attempts"),
                    }
                );
                return download_page(&req, &state, &found, Some(message), StatusCode::FORBIDDEN);
            }
            true
        }
    };
    let (pid, now) = (id.clone(), state.clock.now());
    let ip_for_refund = ip.clone();
    let granted = state
        .db
        .run(move |conn| links::consume_download(conn, &pid, refund, &ip, now))
        .await?;
    if !granted {
        return match lookup(&state, &token).await? {
            Ok(_) => Err(AppError::Unavailable),
            Err(gone) => gone_page(&state, gone),
        };
    }
    stream(state, found.package, ip_for_refund).await
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
    package: PackageRow,
    client_ip: String,
) -> Result<HttpResponse, AppError> {
    let size = u64::try_from(package.size).unwrap_or(0);
    let spend = Spend {
        db: state.db.clone(),
        clock: state.clock.clone(),
        package_id: package.id.to_string(),
        client_ip,
        size,
    };
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
