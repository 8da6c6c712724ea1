//! The customer's press of "Download" as one use case: the link found, the password checked
//! (each attempt reserved first with one conditional UPDATE, so concurrent guesses never pass
//! the limit; an address may try so many an hour across every package), and one download spent
//! with one conditional UPDATE, or the file served again to the same browser's second press.
//!
//! ## A double press with JavaScript off
//! Without JavaScript a double click on "Download" posts the form twice, and the browser keeps
//! only the second answer: spending on each press cost the customer two of their downloads for
//! one file. The page therefore carries the count it was rendered with (`seen`), and a press
//! spends only while the count is still `seen` (`downloads = seen AND downloads < max`, one
//! conditional UPDATE, which also records the spend's id and the browser: a hash of the link
//! pages' HttpOnly, SameSite=Strict cookie). A press that finds the count at `seen + 1`, spent by
//! the same browser less than [`links::AGAIN_WINDOW_SECS`] ago on a file still held, is the
//! second press of that form: it is served the file again and spends nothing. Taking the spend
//! over clears its id, so the first press's give-back (its stream was cut when the browser
//! dropped it for the second answer) finds nothing to refund: the one download stays counted.
//!
//! ### Why this is no way around the download limit
//! - The re-served press passes the same checks as any press: CSRF, the link token, the
//!   password (an attempt reserved and counted like any other) and the per-address limit.
//! - Only the browser that made the spend gets it again: another device with the link, or the
//!   same one with its cookies cleared, holds another cookie and must spend a download.
//! - Only within seconds of the spend and only from a page rendered before it (`seen + 1`): a
//!   page loaded after the download shows the new count and spends normally.
//! - The limit guards against a leaked link being used by someone else; a second copy to the
//!   browser that got the first one a moment ago adds nothing an attacker could not already
//!   save. Each repeat is audited (`package.download_repeated`).
//! - A stale page (the count moved on since it was rendered, e.g. another tab downloaded) spends
//!   nothing and shows the current count, so the customer decides again.
//!
//! The one cost: if the re-served copy is cut short, the download stays counted (its give-back
//! was given up when it took the spend over). Counting once too often is the safe direction.

use super::links::{self, Found, Gone, LinkKind, Press, Spent};
use super::records::PackageRow;
use super::{DeliveryError, LinkToken};
use crate::config::Config;
use crate::db::Db;
use crate::request::rate_limit;
use crate::vault::SecretString;

/// One press of "Download". No `Debug`: it holds the password.
pub struct DownloadPress {
    pub token: LinkToken,
    pub password: SecretString,
    /// `downloads` as the page showed it, if the form carried it.
    pub seen: Option<i32>,
    /// The browser, as [`Press::browser`] names it.
    pub browser: Option<String>,
    pub client_ip: String,
}

/// The file to stream, and the spend to give back if the stream is cut short (none when the
/// press was served again).
pub struct Granted {
    pub package: PackageRow,
    pub spend: Option<String>,
}

/// Why no file was served; each has its page.
pub enum Refusal {
    Gone(Gone),
    /// Too many password attempts from this address this hour.
    TooManyFromNetwork(Found),
    /// Every attempt is reserved by presses still running.
    Busy(Found),
    WrongPassword {
        found: Found,
        remaining: u32,
    },
    /// The count moved on since the page was rendered: nothing spent, the page shows it now.
    Stale(Found),
}

/// The link's package, also when its last download was just spent (a second press may still
/// be served again).
fn find(
    conn: &mut crate::db::DbConnection,
    token: &LinkToken,
    seen: Option<i32>,
    now: i64,
) -> Result<Result<Found, Gone>, DeliveryError> {
    match links::lookup(conn, LinkKind::Download, token, now)? {
        Err(Gone::Used) if seen.is_some() => {
            Ok(links::found_by_token(conn, LinkKind::Download, token)?.ok_or(Gone::Unknown))
        }
        other => Ok(other),
    }
}

/// Argon2id check on the blocking pool (it is deliberately slow).
async fn password_matches(hash: String, password: SecretString) -> Result<bool, DeliveryError> {
    tokio::task::spawn_blocking(move || {
        use argon2::{PasswordHash, PasswordVerifier};
        PasswordHash::new(&hash)
            .map(|parsed| {
                argon2::Argon2::default()
                    .verify_password(password.expose().as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .map_err(|e| DeliveryError::Unavailable(format!("password check failed: {e}")))
}

/// Checks the press and spends (or re-serves) one download.
pub async fn press(
    db: &Db,
    config: &Config,
    tera: &tera::Tera,
    press: DownloadPress,
    now: i64,
) -> Result<Result<Granted, Refusal>, DeliveryError> {
    let token = LinkToken::from_url(press.token.expose().to_string());
    let seen = press.seen;
    let found = match db.run(move |conn| find(conn, &token, seen, now)).await? {
        Ok(found) => found,
        Err(gone) => return Ok(Err(Refusal::Gone(gone))),
    };
    let pid = found.package.id.clone();
    let ip = press.client_ip.clone();
    let refund = match found.request.password_hash.clone() {
        None => false,
        Some(hash) => {
            let (limit, per_ip) = (
                config.wrong_password_limit,
                config.download_passwords_per_ip_per_hour,
            );
            let (p, bucket) = (pid.clone(), rate_limit::download_password_bucket(&ip));
            // One address may try so many passwords an hour, whatever the package.
            let reserved = db
                .run(move |conn| {
                    if !rate_limit::hit(conn, &bucket, per_ip, rate_limit::HOUR, now)? {
                        return Ok::<_, DeliveryError>(None);
                    }
                    links::reserve_attempt(conn, &p, limit).map(Some)
                })
                .await?;
            match reserved {
                None => return Ok(Err(Refusal::TooManyFromNetwork(found))),
                Some(false) => return again_or_gone(db, &press.token, now, Refusal::Busy).await,
                Some(true) => {}
            }
            if !password_matches(hash, press.password).await? {
                let (app_config, app_tera, p, ip) =
                    (config.clone(), tera.clone(), pid.clone(), ip.clone());
                let wrong = db
                    .run(move |conn| {
                        links::wrong_password(conn, &app_config, &app_tera, &p, &ip, now)
                    })
                    .await?;
                if wrong.remaining == 0 {
                    return Ok(Err(Refusal::Gone(Gone::Locked)));
                }
                return Ok(Err(Refusal::WrongPassword {
                    found,
                    remaining: wrong.remaining,
                }));
            }
            true
        }
    };
    let (p, browser) = (pid.clone(), press.browser.clone());
    let spent = db
        .run(move |conn| {
            let press = Press {
                seen,
                browser: browser.as_deref(),
            };
            links::consume_download(conn, &p, refund, press, &ip, now)
        })
        .await?;
    match spent {
        Spent::Spent(spend) => Ok(Ok(Granted {
            package: found.package,
            spend: Some(spend),
        })),
        Spent::Again => Ok(Ok(Granted {
            package: found.package,
            spend: None,
        })),
        Spent::No => again_or_gone(db, &press.token, now, Refusal::Stale).await,
    }
}

/// After a press that changed nothing: the link's current page (`refusal` with the fresh
/// count) or why it no longer works.
async fn again_or_gone(
    db: &Db,
    token: &LinkToken,
    now: i64,
    refusal: fn(Found) -> Refusal,
) -> Result<Result<Granted, Refusal>, DeliveryError> {
    let token = LinkToken::from_url(token.expose().to_string());
    Ok(Err(
        match db
            .run(move |conn| links::lookup(conn, LinkKind::Download, &token, now))
            .await?
        {
            Ok(found) => refusal(found),
            Err(gone) => Refusal::Gone(gone),
        },
    ))
}
