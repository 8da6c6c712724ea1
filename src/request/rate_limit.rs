//! Fixed-window rate limits kept in the database, so they hold across restarts and instances.

use crate::db::schema::rate_limits;
use crate::db::DbConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};

/// Length of a window in seconds.
pub const HOUR: i64 = 3600;

#[derive(QueryableByName)]
struct Hits {
    #[diesel(sql_type = Integer)]
    #[allow(dead_code)]
    hits: i32,
}

const SQLITE: &str = "INSERT INTO rate_limits (bucket, window_start, hits) VALUES (?, ?, 1) \
ON CONFLICT (bucket) DO UPDATE SET \
hits = CASE WHEN rate_limits.window_start <= ? THEN 1 ELSE rate_limits.hits + 1 END, \
window_start = CASE WHEN rate_limits.window_start <= ? THEN ? ELSE rate_limits.window_start END \
WHERE rate_limits.window_start <= ? OR rate_limits.hits < ? RETURNING hits";

const POSTGRES: &str = "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1) \
ON CONFLICT (bucket) DO UPDATE SET \
hits = CASE WHEN rate_limits.window_start <= $3 THEN 1 ELSE rate_limits.hits + 1 END, \
window_start = CASE WHEN rate_limits.window_start <= $4 THEN $5 ELSE rate_limits.window_start END \
WHERE rate_limits.window_start <= $6 OR rate_limits.hits < $7 RETURNING hits";

/// Counts one hit on `bucket` with one conditional UPSERT; `false` when the bucket already had
/// `limit` hits in its current window (the hit is then not counted).
pub fn hit(
    conn: &mut DbConnection,
    bucket: &str,
    limit: u32,
    window: i64,
    now: i64,
) -> Result<bool, diesel::result::Error> {
    let cutoff = now - window;
    let limit = i32::try_from(limit).unwrap_or(i32::MAX);
    macro_rules! run {
        ($c:expr, $sql:expr) => {
            diesel::sql_query($sql)
                .bind::<Text, _>(bucket)
                .bind::<BigInt, _>(now)
                .bind::<BigInt, _>(cutoff)
                .bind::<BigInt, _>(cutoff)
                .bind::<BigInt, _>(now)
                .bind::<BigInt, _>(cutoff)
                .bind::<Integer, _>(limit)
                .load::<Hits>($c)?
        };
    }
    let rows = match conn {
        DbConnection::Sqlite(c) => run!(c, SQLITE),
        DbConnection::Pg(c) => run!(c, POSTGRES),
    };
    Ok(!rows.is_empty())
}

/// Whether `bucket` already holds `limit` hits in its current window, without counting one.
pub fn is_full(
    conn: &mut DbConnection,
    bucket: &str,
    limit: u32,
    window: i64,
    now: i64,
) -> Result<bool, diesel::result::Error> {
    let hits: Option<i32> = rate_limits::table
        .filter(rate_limits::bucket.eq(bucket))
        .filter(rate_limits::window_start.gt(now - window))
        .select(rate_limits::hits)
        .first(conn)
        .optional()?;
    Ok(hits.is_some_and(|h| i64::from(h) >= i64::from(limit)))
}

/// Deletes every bucket whose window ended (no window is longer than [`HOUR`]); returns how
/// many went.
pub fn purge(conn: &mut DbConnection, now: i64) -> Result<usize, diesel::result::Error> {
    diesel::delete(rate_limits::table.filter(rate_limits::window_start.le(now - HOUR)))
        .execute(conn)
}

/// The bucket of one client IP's lookups.
pub fn ip_bucket(ip: &str) -> String {
    format!("lookup:ip:{ip}")
}

/// The bucket of failed lookups against one order reference, whatever its case.
pub fn reference_failures_bucket(kind: &str, reference: &str) -> String {
    format!(
        "lookup:ref-failed:{kind}:{}",
        reference.to_ascii_lowercase()
    )
}

/// The bucket of one (reference, email) pair's lookups.
pub fn pair_bucket(kind: &str, reference: &str, email: &str) -> String {
    format!(
        "lookup:pair:{kind}:{}:{}",
        reference.to_ascii_lowercase(),
        email.to_ascii_lowercase()
    )
}

/// The bucket of one client IP's download-password attempts, across every package.
pub fn download_password_bucket(ip: &str) -> String {
    format!("download-password:ip:{ip}")
}
