//! Prometheus metrics: counters and histograms recorded where things happen (through the
//! `metrics` facade), and gauges read from the database at scrape time, so every instance that
//! shares one database reports the same state counts.

use crate::db::schema::{outbox, packages, requests, shipments};
use crate::db::{DbConnection, DbError};
use diesel::dsl::count_star;
use diesel::prelude::*;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock};

/// HTTP requests by method, route template and status.
pub const HTTP_REQUESTS: &str = "seedport_http_requests_total";
/// HTTP latency by route template, in seconds.
pub const HTTP_DURATION: &str = "seedport_http_request_duration_seconds";
/// Order lookups refused by a rate limit (429).
pub const LOOKUPS_REFUSED: &str = "seedport_lookups_refused_total";
/// Seconds one package took to build (tokens read, formatted, encrypted and stored), by format.
pub const PACKAGE_BUILD_SECONDS: &str = "seedport_package_build_seconds";

const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

struct Exporter {
    handle: PrometheusHandle,
    /// Label values a gauge has had, so a state that empties reads 0 instead of vanishing.
    seen: Mutex<BTreeSet<(&'static str, String)>>,
}

/// Installs the process-wide recorder once; later calls reuse it.
fn exporter() -> &'static Exporter {
    static EXPORTER: OnceLock<Exporter> = OnceLock::new();
    EXPORTER.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(LATENCY_BUCKETS)
            .map(PrometheusBuilder::build_recorder)
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        // Fails only when another recorder is installed, and then ours just stays empty.
        let _ = metrics::set_global_recorder(recorder);
        describe();
        Exporter {
            handle,
            seen: Mutex::new(BTreeSet::new()),
        }
    })
}

/// The help text of every metric (Prometheus wants one for each).
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests by method, route template and status"
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "HTTP request latency by route template"
    );
    describe_counter!(LOOKUPS_REFUSED, "Order lookups refused by a rate limit");
    describe_histogram!(
        PACKAGE_BUILD_SECONDS,
        Unit::Seconds,
        "Time to build one package, by format"
    );
    describe_gauge!("seedport_requests", "Requests by lifecycle state");
    describe_gauge!("seedport_packages", "Packages by state");
    describe_gauge!(
        "seedport_packages_built",
        "Packages ever built (rows kept after destruction)"
    );
    describe_gauge!(
        "seedport_packages_built_bytes",
        Unit::Bytes,
        "Bytes of every package built"
    );
    describe_gauge!(
        "seedport_shipments_locked",
        "Shipments locked after too many wrong serials"
    );
    describe_gauge!("seedport_outbox_messages", "Outgoing emails by state");
    describe_gauge!(
        "seedport_outbox_failed_attempts_pending",
        "Emails not sent yet after at least one failed attempt"
    );
}

/// Makes sure recording starts before the first request.
pub fn install() {
    let _ = exporter();
}

/// One HTTP exchange, as the access log saw it.
pub fn record_http(method: &str, route: &str, status: u16, seconds: f64) {
    install();
    metrics::counter!(
        HTTP_REQUESTS,
        "method" => method.to_string(),
        "route" => route.to_string(),
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!(HTTP_DURATION, "route" => route.to_string()).record(seconds);
    if route == "/request" && status == 429 {
        metrics::counter!(LOOKUPS_REFUSED).increment(1);
    }
}

/// One package built, as the request's submit saw it (count and bytes are gauges read from the
/// packages table, so they hold across restarts and instances).
pub fn record_package_built(format: &str, seconds: f64) {
    install();
    metrics::histogram!(PACKAGE_BUILD_SECONDS, "format" => format.to_string()).record(seconds);
}

/// The exposition text: recorded metrics plus gauges read from the database now.
pub fn render(conn: &mut DbConnection) -> Result<String, DbError> {
    let exporter = exporter();
    let gauges = read_gauges(conn)?;
    let mut seen = exporter.seen.lock().unwrap_or_else(|p| p.into_inner());
    for (name, label, _) in &gauges {
        seen.insert((name, label.clone()));
    }
    for (name, label) in seen.iter() {
        let value = gauges
            .iter()
            .find(|(n, l, _)| n == name && l == label)
            .map_or(0.0, |(_, _, v)| *v);
        match label.split_once('=') {
            Some((key, val)) => {
                metrics::gauge!(*name, key.to_string() => val.to_string()).set(value)
            }
            None => metrics::gauge!(*name).set(value),
        }
    }
    drop(seen);
    exporter.handle.run_upkeep();
    Ok(exporter.handle.render())
}

/// (metric, `label=value` or "", value) for every gauge the database answers.
fn read_gauges(conn: &mut DbConnection) -> Result<Vec<(&'static str, String, f64)>, DbError> {
    let mut out = Vec::new();
    let by_state: Vec<(String, i64)> = requests::table
        .group_by(requests::state)
        .select((requests::state, count_star()))
        .load(conn)?;
    for (state, n) in by_state {
        out.push(("seedport_requests", format!("state={state}"), n as f64));
    }
    let packages_by_state: Vec<(String, i64)> = packages::table
        .group_by(packages::state)
        .select((packages::state, count_star()))
        .load(conn)?;
    for (state, n) in packages_by_state {
        out.push(("seedport_packages", format!("state={state}"), n as f64));
    }
    // Summed here: SUM(BIGINT) is NUMERIC on PostgreSQL but INTEGER on SQLite.
    let sizes: Vec<i64> = packages::table.select(packages::size).load(conn)?;
    out.push(("seedport_packages_built", String::new(), sizes.len() as f64));
    out.push((
        "seedport_packages_built_bytes",
        String::new(),
        sizes.iter().sum::<i64>() as f64,
    ));
    let locked_shipments: i64 = shipments::table
        .filter(shipments::locked_at.is_not_null())
        .select(count_star())
        .first(conn)?;
    out.push((
        "seedport_shipments_locked",
        String::new(),
        locked_shipments as f64,
    ));
    let mail_by_state: Vec<(String, i64)> = outbox::table
        .group_by(outbox::state)
        .select((outbox::state, count_star()))
        .load(conn)?;
    for (state, n) in mail_by_state {
        out.push((
            "seedport_outbox_messages",
            format!("state={state}"),
            n as f64,
        ));
    }
    let retrying: i64 = outbox::table
        .filter(outbox::sent_at.is_null())
        .filter(outbox::attempts.gt(0))
        .select(count_star())
        .first(conn)?;
    out.push((
        "seedport_outbox_failed_attempts_pending",
        String::new(),
        retrying as f64,
    ));
    Ok(out)
}
