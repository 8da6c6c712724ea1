//! Start-up: configuration, master key, database, migrations and demo data, then the server.

use crate::clock::Clock;
use crate::config::{Config, Mode};
use crate::db::{self, Db};
use crate::vault::{KeySource, MasterKey, Vault};
use crate::web::{self, AppState};
use anyhow::Context;
use std::net::TcpListener;
use std::time::Duration;

/// Loads the master key as the mode allows: demo may create one, production never does.
pub fn load_master_key(config: &Config) -> anyhow::Result<MasterKey> {
    let env = std::env::var("SEEDPORT_MASTER_KEY").ok();
    let (key, source) = MasterKey::load(
        env.as_deref(),
        &config.master_key_path(),
        config.mode == Mode::Demo,
    )?;
    match source {
        KeySource::Generated(path) => tracing::warn!(
            "DEMO MODE: created a new master key at {} — fine for trying seedport, never for production",
            path.display()
        ),
        KeySource::File(path) => tracing::info!("master key loaded from {}", path.display()),
        KeySource::Environment => tracing::info!("master key loaded from SEEDPORT_MASTER_KEY"),
    }
    Ok(key)
}

/// Refuses to run production without what it needs.
pub fn check_production(config: &Config) -> anyhow::Result<()> {
    let problems = config.production_problems(std::env::var_os("SEEDPORT_MASTER_KEY").is_some());
    if !problems.is_empty() {
        anyhow::bail!(
            "production mode cannot start:\n  - {}",
            problems.join("\n  - ")
        );
    }
    Ok(())
}

/// Opens the database and applies pending migrations. Production warns about a PostgreSQL
/// connection that is neither verified TLS nor local.
pub fn open_database(config: &Config) -> anyhow::Result<Db> {
    if config.mode == Mode::Production {
        if let Some(warning) = db::tls::postgres_tls_warning(&config.database_url) {
            tracing::warn!("{warning}");
        }
    }
    let checkout = std::time::Duration::from_secs(config.db_checkout_timeout_seconds.into());
    let db = Db::connect_with(&config.database_url, config.db_pool_size, checkout)?;
    let mut conn = db.get().map_err(|e| anyhow::anyhow!("{e}"))?;
    let applied =
        db::migrate(&mut conn).with_context(|| format!("migrating {}", db.backend().describe()))?;
    if applied > 0 {
        tracing::info!(applied, "applied database migrations");
    }
    Ok(db)
}

/// Production refuses a database demo mode has run on, for `serve` and for every command that
/// would put real seeds or accounts into it (`import`, `staff add`, ...): production would never
/// serve them, and the demo admin's printed credentials would sit beside them. Commands that only
/// read or keep the data (`backup`, `audit verify`, `migrate`) work on it, and `doctor` reports it.
pub fn refuse_demo_database(config: &Config, conn: &mut db::DbConnection) -> anyhow::Result<()> {
    if config.mode == Mode::Production && db::marks::is_demo(conn)? {
        anyhow::bail!(db::marks::REFUSAL);
    }
    Ok(())
}

/// Everything `serve` builds before it listens.
pub fn build_state(config: Config, master: MasterKey, clock: Clock) -> anyhow::Result<AppState> {
    let db = open_database(&config)?;
    let vault = Vault::new(master);
    {
        let mut conn = db.get().map_err(|e| anyhow::anyhow!("{e}"))?;
        if config.is_demo() {
            db::marks::mark_demo(&mut conn, clock.now())?;
        } else {
            refuse_demo_database(&config, &mut conn)?;
        }
    }
    if config.is_demo() {
        let mut conn = db.get().map_err(|e| anyhow::anyhow!("{e}"))?;
        if crate::demo::seed_if_empty(&mut conn, &vault, clock.now())? {
            tracing::info!("loaded the demo customer, orders and tokens");
        }
        let issuer = config.vendor_name.clone();
        crate::staff::demo::ensure(&mut conn, &vault, &config.data_dir, &issuer, clock.now())?;
    }
    let tera = web::assets::tera()?;
    Ok(AppState {
        config,
        db,
        vault,
        tera,
        clock,
        downloads: Default::default(),
    })
}

/// `seedport serve`: runs until interrupted.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    check_production(&config)?;
    let master = load_master_key(&config)?;
    let listener = TcpListener::bind(&config.bind)
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let demo = config.is_demo();
    let base = config.public_base_url.clone();
    let data_dir = config.data_dir.clone();
    let state = build_state(config, master, Clock::System)?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    if demo {
        println!("{}", crate::demo::walkthrough(&base));
        if let Some(credentials) = crate::staff::demo::credentials(&data_dir) {
            println!("{credentials}");
        }
    }
    if let Some(bind) = &state.config.metrics_bind {
        let metrics = TcpListener::bind(bind)
            .with_context(|| format!("cannot listen for metrics on {bind}"))?;
        tracing::info!("metrics on http://{}/metrics", metrics.local_addr()?);
        actix_web::rt::spawn(web::metrics::serve(state.db.clone(), metrics)?);
    }
    let jobs = crate::jobs::start(
        crate::jobs::JobDeps {
            db: state.db.clone(),
            config: state.config.clone(),
            clock: state.clock.clone(),
            tera: state.tera.clone(),
        },
        crate::jobs::JobOptions::from_config(&state.config),
    )?;
    // Webhooks share the outbox's claims and retries; aborted at shutdown (an unrecorded
    // delivery keeps its claim until the lease ends, then is retried).
    let webhooks = crate::api_keys::webhooks::start(
        state.db.clone(),
        state.vault.clone(),
        state.clock.clone(),
    );
    let grace = Duration::from_secs(state.config.shutdown_grace_seconds.into());
    let downloads = state.downloads.clone();
    let server = web::serve(state, listener)?;
    let handle = server.handle();
    let mut running = tokio::spawn(server);
    tokio::select! {
        signal = shutdown_signal() => {
            let name = signal?;
            tracing::info!(signal = name, in_flight_downloads = downloads.count(),
                "stopping: no new connections; in-flight requests get {}s", grace.as_secs());
        }
        ended = &mut running => {
            jobs.stop(grace).await;
            return ended.map_err(|e| anyhow::anyhow!("server task: {e}"))?.map_err(Into::into);
        }
    }
    // Stop accepting at once; workers finish their connections within the grace period.
    let (_, ()) = tokio::join!(handle.stop(true), jobs.stop(grace));
    webhooks.abort();
    let _ = running.await;
    // Downloads cut short at the deadline give their allowance back before the process ends.
    let settled = tokio::task::spawn_blocking(move || downloads.wait_idle(Duration::from_secs(10)))
        .await
        .unwrap_or(false);
    if !settled {
        tracing::warn!("some cut-short downloads could not be given back before exit");
    }
    tracing::info!("stopped");
    Ok(())
}

/// Resolves with the name of the first SIGTERM or SIGINT.
async fn shutdown_signal() -> anyhow::Result<&'static str> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    })
}
