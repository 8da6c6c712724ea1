//! Background jobs inside `seedport serve`: the outbox sender, the mail follower (states and
//! alerts that follow the outbox) and the sweeper (expiry, destruction, retention), each a
//! tokio task that does its database work on the blocking pool.

use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::delivery::{notify, retention, sweep, DeliveryError};
use crate::mail::sender::{self, Mailer, SenderOptions};
use std::time::Duration;
use tokio::task::JoinHandle;

/// What the jobs need from the application.
#[derive(Clone)]
pub struct JobDeps {
    pub db: Db,
    pub config: Config,
    pub clock: Clock,
    pub tera: tera::Tera,
}

/// How often each job runs.
#[derive(Debug, Clone)]
pub struct JobOptions {
    pub sender: SenderOptions,
    pub sweep_every: Duration,
    /// How often the mail follower looks at the outbox.
    pub follow_every: Duration,
}

impl Default for JobOptions {
    fn default() -> Self {
        JobOptions {
            sender: SenderOptions::default(),
            sweep_every: Duration::from_secs(60),
            follow_every: Duration::from_secs(2),
        }
    }
}

/// The running jobs; dropping this stops them.
pub struct Jobs {
    handles: Vec<JoinHandle<()>>,
}

impl Drop for Jobs {
    fn drop(&mut self) {
        for handle in &self.handles {
            handle.abort();
        }
    }
}

/// Starts the sender and the sweeper on the current tokio runtime.
pub fn start(deps: JobDeps, options: JobOptions) -> anyhow::Result<Jobs> {
    let mailer = Mailer::from_config(&deps.config)?;
    let sender = tokio::spawn(run_sender(deps.clone(), mailer, options.sender));
    let follower = tokio::spawn(run_follower(deps.clone(), options.follow_every));
    let sweeper = tokio::spawn(run_sweeper(deps, options.sweep_every));
    Ok(Jobs {
        handles: vec![sender, follower, sweeper],
    })
}

/// Sends due emails forever; a pass that sent something is followed at once by the next.
pub async fn run_sender(deps: JobDeps, mailer: Mailer, options: SenderOptions) {
    loop {
        match sender::send_due(&deps.db, &mailer, &deps.config, &deps.clock, &options).await {
            Ok(report) if report.sent > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "the email sender could not reach the database"),
        }
        tokio::time::sleep(options.poll).await;
    }
}

/// Runs the expiry sweeper every `every`.
pub async fn run_sweeper(deps: JobDeps, every: Duration) {
    loop {
        if let Err(e) = sweep_once(&deps).await {
            tracing::error!(error = %e, "the expiry sweeper failed; retrying next pass");
        }
        tokio::time::sleep(every).await;
    }
}

/// Runs the mail follower every `every`.
pub async fn run_follower(deps: JobDeps, every: Duration) {
    loop {
        if let Err(e) = follow_once(&deps).await {
            tracing::error!(error = %e, "the mail follower failed; retrying next pass");
        }
        tokio::time::sleep(every).await;
    }
}

/// One pass of the mail follower with the deps' clock.
pub async fn follow_once(deps: &JobDeps) -> Result<notify::NotifyReport, DeliveryError> {
    let (config, tera, now) = (deps.config.clone(), deps.tera.clone(), deps.clock.now());
    deps.db
        .run(move |conn| notify::follow_mail(conn, &config, &tera, now))
        .await
}

/// One sweep with the deps' clock: expiry and destruction, then retention.
pub async fn sweep_once(deps: &JobDeps) -> Result<sweep::SweepReport, DeliveryError> {
    let now = deps.clock.now();
    let (report, kept) = deps
        .db
        .run(move |conn| {
            let report = sweep::sweep(conn, now)?;
            let kept = retention::purge(conn, now)?;
            Ok::<_, DeliveryError>((report, kept))
        })
        .await?;
    if report != sweep::SweepReport::default() || kept != retention::RetentionReport::default() {
        tracing::info!(
            expired = report.expired,
            destroyed = report.destroyed,
            failed = report.failed,
            drafts = kept.drafts,
            bodies = kept.bodies,
            rate_limits = kept.rate_limits,
            "sweep"
        );
    }
    Ok(report)
}
