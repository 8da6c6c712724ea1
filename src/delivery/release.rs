//! Releasing a package: fresh download and confirmation links (stored only as SHA-256), a new
//! expiry, one "download ready" email, all in the one conditional UPDATE of the event that
//! releases it (approve, re-send or re-issue). Older links stop working.

use super::records::{PackageRow, RequestRow};
use super::{DeliveryError, LinkToken};
use crate::config::Config;
use crate::lifecycle::{self, move_package, Event, RequestId, Who};
use crate::mail::{compose, enqueue};
use diesel::prelude::*;

use crate::db::DbConnection;

/// Releases `package` by `event` (one of [`Event::Approve`], [`Event::Resend`],
/// [`Event::Reissue`]); returns the package's request. Runs inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub fn release(
    conn: &mut DbConnection,
    config: &Config,
    tera: &tera::Tera,
    request: &RequestRow,
    package: &PackageRow,
    event: Event,
    who: Who<'_>,
    now: i64,
) -> Result<RequestId, DeliveryError> {
    let expires_at = now + i64::from(config.link_expiry_days) * 86_400;
    let max_downloads = i32::try_from(config.download_limit).unwrap_or(i32::MAX);
    let download = LinkToken::generate("sp_dl_");
    let confirm = LinkToken::generate("sp_cf_");
    // Re-sending keeps the downloads already made; approving and re-issuing start afresh.
    let downloads = if event == Event::Resend {
        package.downloads
    } else {
        0
    };
    let links = compose::ReleasedLinks {
        download_token: download.expose(),
        confirm_token: confirm.expose(),
        expires_at,
        max_downloads,
        downloads_left: (max_downloads - downloads).max(0),
    };
    let email = compose::download_ready(tera, config, request, package, &links)?;
    let email_id = enqueue(conn, &email, now)?;
    use crate::db::schema::packages as p;
    let changed = move_package!(conn, &package.id, event,
        filter: [p::destroyed_at.is_null(), p::data_key_id.is_not_null()],
        set: [
            p::download_hash.eq(download.hash()),
            p::confirm_hash.eq(confirm.hash()),
            p::released_at.eq(now),
            p::expires_at.eq(expires_at),
            p::max_downloads.eq(max_downloads),
            p::downloads.eq(downloads),
            p::wrong_passwords.eq(0),
            p::email_id.eq(&email_id),
        ],
    )?;
    let details = format!(
        "request {}; {}; links expire {}; {} of {} downloads left; email queued",
        request.reference,
        package.file_name,
        crate::clock::format_utc(expires_at),
        links.downloads_left,
        max_downloads
    );
    Ok(lifecycle::recorded(
        conn,
        &package.id,
        event,
        changed,
        who,
        &details,
        now,
    )?)
}
