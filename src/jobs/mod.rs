//! Background jobs inside `seedport serve`: the outbox sender and the expiry sweeper, each a
//! tokio task that does its database work on the blocking pool.

use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::delivery::{sweep, DeliveryError};
use crate::mail::sender::{self, Mailer, SenderOptions};
use crate::web::AppState;
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

impl JobDeps {
    pub fn from_state(state: &AppState) -> JobDeps {
        JobDeps {
            db: state.db.clone(),
            config: state.config.clone(),
            clock: state.clock.clone(),
            tera: state.tera.clone(),
        }
    }
}

/// How often each job runs.
#[derive(Debug, Clone)]
pub struct JobOptions {
    pub sender: SenderOptions,
    pub sweep_every: Duration,
}

impl Default for JobOptions {
    fn default() -> Self {
        JobOptions {
            sender: SenderOptions::default(),
            sweep_every: Duration::from_secs(60),
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
    let sweeper = tokio::spawn(run_sweeper(deps, options.sweep_every));
    Ok(Jobs {
        handles: vec![sender, sweeper],
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

/// One sweep with the deps' clock.
pub async fn sweep_once(deps: &JobDeps) -> Result<sweep::SweepReport, DeliveryError> {
    let (config, tera, now) = (deps.config.clone(), deps.tera.clone(), deps.clock.now());
    let report = deps
        .db
        .run(move |conn| sweep::sweep(conn, &config, &tera, now))
        .await?;
    if report != sweep::SweepReport::default() {
        tracing::info!(
            expired = report.expired,
            retried = report.retried,
            failed = report.failed,
            "expiry sweep"
        );
    }
    Ok(report)
}
