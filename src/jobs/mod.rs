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

impl JobOptions {
    /// The defaults with the mail lease and retry delay from the configuration.
    pub fn from_config(config: &Config) -> JobOptions {
        JobOptions {
            sender: SenderOptions::from_config(config),
            ..JobOptions::default()
        }
    }
}

/// The running jobs; dropping this aborts them, [`Jobs::stop`] stops them cleanly.
pub struct Jobs {
    sender: Option<JoinHandle<()>>,
    sweeper: Option<JoinHandle<()>>,
    stop: tokio::sync::watch::Sender<bool>,
    owner: String,
    db: Db,
}

impl Drop for Jobs {
    fn drop(&mut self) {
        for handle in [&self.sender, &self.sweeper].into_iter().flatten() {
            handle.abort();
        }
    }
}

impl Jobs {
    /// The id the sender claims emails under.
    pub fn sender_owner(&self) -> &str {
        &self.owner
    }

    /// Stops the jobs: the sender finishes the email it is sending (within `grace`; past it the
    /// send is abandoned) and gives back its claim, so another instance sends it at once.
    pub async fn stop(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        if let Some(sweeper) = self.sweeper.take() {
            sweeper.abort();
        }
        if let Some(mut sender) = self.sender.take() {
            if tokio::time::timeout(grace, &mut sender).await.is_err() {
                tracing::warn!("the email sender did not finish within the grace period");
                sender.abort();
            }
        }
        let owner = self.owner.clone();
        match self
            .db
            .run(move |conn| sender::release_claims(conn, &owner))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(released = n, "gave back email claims on shutdown"),
            Err(e) => {
                tracing::warn!(error = %e, "could not give back email claims; they end with their lease")
            }
        }
    }
}

/// Starts the sender and the sweeper on the current tokio runtime.
pub fn start(deps: JobDeps, options: JobOptions) -> anyhow::Result<Jobs> {
    let mailer = Mailer::from_config(&deps.config)?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = sender::Sender::new(stopped);
    let owner = worker.owner.clone();
    let db = deps.db.clone();
    let sender = tokio::spawn(run_sender(deps.clone(), mailer, options.sender, worker));
    let sweeper = tokio::spawn(run_sweeper(deps, options.sweep_every));
    Ok(Jobs {
        sender: Some(sender),
        sweeper: Some(sweeper),
        stop,
        owner,
        db,
    })
}

/// Sends due emails until stopped; a pass that sent something is followed at once by the
/// next. A database that is away is retried every `poll`, so sending resumes by itself.
pub async fn run_sender(
    deps: JobDeps,
    mailer: Mailer,
    options: SenderOptions,
    worker: sender::Sender,
) {
    let mut stop = worker.stop_signal();
    loop {
        if worker.stopping() {
            return;
        }
        let pass = sender::send_due(
            &deps.db,
            &mailer,
            &deps.config,
            &deps.clock,
            &worker,
            &options,
        );
        match pass.await {
            Ok(report) if report.sent > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "the email sender could not reach the database"),
        }
        tokio::select! {
            _ = tokio::time::sleep(options.poll) => {}
            _ = stop.changed() => {}
        }
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
