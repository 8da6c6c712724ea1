//! Database access: one connection type over SQLite or PostgreSQL, a pool, migrations, and
//! the bridge that runs blocking diesel work off the async threads.

pub mod marks;
pub mod schema;
pub mod tls;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, PooledConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::time::Duration;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to whichever backend `DATABASE_URL` names. Queries written once with the
/// diesel DSL run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(diesel::SqliteConnection),
    Pg(diesel::PgConnection),
}

/// The backend a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite { path: String },
    Postgres { url: String },
}

impl Backend {
    /// `postgres://` and `postgresql://` are PostgreSQL; `sqlite://PATH`, `sqlite:PATH` or a
    /// bare path is SQLite.
    pub fn from_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Backend::Postgres {
                url: url.to_string(),
            };
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        Backend::Sqlite {
            path: path.to_string(),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite { .. } => "SQLite",
            Backend::Postgres { .. } => "PostgreSQL",
        }
    }

    /// The URL without a password, for logs.
    pub fn describe(&self) -> String {
        match self {
            Backend::Sqlite { path } => format!("SQLite at {path}"),
            Backend::Postgres { url } => {
                let host = url.rsplit('@').next().unwrap_or("").to_string();
                let host = if url.contains('@') {
                    host
                } else {
                    url.replacen("postgres://", "", 1)
                };
                format!("PostgreSQL at {host}")
            }
        }
    }
}

/// Opens connections for the pool, choosing the backend from the URL itself: diesel's own
/// `MultiConnection::establish` tries each backend and hides the real error.
#[derive(Debug, Clone)]
pub struct Manager {
    backend: Backend,
}

impl Manager {
    pub fn new(url: &str) -> Manager {
        Manager {
            backend: Backend::from_url(url),
        }
    }
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match &self.backend {
            Backend::Postgres { url } => diesel::PgConnection::establish(url)
                .map(DbConnection::Pg)
                .map_err(r2d2::Error::ConnectionError),
            Backend::Sqlite { path } => {
                let mut conn = diesel::SqliteConnection::establish(path)
                    .map_err(r2d2::Error::ConnectionError)?;
                // WAL lets readers run beside the one writer; busy_timeout makes writers queue
                // instead of failing; secure_delete overwrites freed pages (destroyed packages).
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; PRAGMA synchronous = NORMAL;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

/// Why a database call failed, as the callers need to tell it apart.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

/// True when a query failed because the database is away or busy (the connection dropped, the
/// server is shutting down, SQLite's write lock outlasted `busy_timeout`), not because the
/// query is wrong: the caller answers "try again" (503), never a 500.
pub fn is_transient(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind as Kind, Error};
    match e {
        Error::DatabaseError(Kind::ClosedConnection | Kind::SerializationFailure, _) => true,
        Error::DatabaseError(_, info) => {
            let message = info.message().to_ascii_lowercase();
            [
                "database is locked",
                "database is busy",
                "terminating connection",
                "server closed the connection",
                "no connection to the server",
                "connection refused",
                "the database system is shutting down",
                "the database system is starting up",
            ]
            .iter()
            .any(|m| message.contains(m))
        }
        _ => false,
    }
}

/// The shared pool; cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<Manager>,
    backend: Backend,
}

/// How long a caller waits for a pool connection before the database counts as unavailable
/// (a clean 503), unless the configuration says otherwise.
pub const DEFAULT_CHECKOUT_TIMEOUT: Duration = Duration::from_secs(10);

impl Db {
    /// Opens the pool; for SQLite the parent folder is created first.
    pub fn connect(url: &str, pool_size: u32) -> anyhow::Result<Db> {
        Db::connect_with(url, pool_size, DEFAULT_CHECKOUT_TIMEOUT)
    }

    /// [`Db::connect`] with the time a checkout may wait for a free (or new) connection.
    pub fn connect_with(url: &str, pool_size: u32, checkout: Duration) -> anyhow::Result<Db> {
        let backend = Backend::from_url(url);
        if let Backend::Sqlite { path } = &backend {
            if let Some(parent) = std::path::Path::new(path).parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent)?;
                }
            }
            owner_only(path)?;
        }
        let pool = r2d2::Pool::builder()
            .max_size(pool_size.max(1))
            // Connections open on demand: a pool that keeps one idle opens it in a background
            // thread, and a CLI command exiting while libpq is mid-connect crashed at exit.
            .min_idle(Some(0))
            .connection_timeout(checkout.max(Duration::from_millis(100)))
            .build(Manager {
                backend: backend.clone(),
            })
            .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", backend.describe()))?;
        Ok(Db { pool, backend })
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Connections open and idle now, and the pool's size (for `/metrics`).
    pub fn pool_state(&self) -> (u32, u32, u32) {
        let state = self.pool.state();
        (
            state.connections,
            state.idle_connections,
            self.pool.max_size(),
        )
    }

    /// A connection for blocking code (CLI commands, jobs already off the async threads).
    pub fn get(&self) -> Result<PooledConnection<Manager>, DbError> {
        self.pool
            .get()
            .map_err(|e| DbError::Unavailable(e.to_string()))
    }

    /// Runs blocking diesel work on the blocking thread pool so no handler stalls the runtime.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let pool = self.pool.clone();
        match tokio::task::spawn_blocking(move || {
            let mut conn = pool
                .get()
                .map_err(|e| E::from(DbError::Unavailable(e.to_string())))?;
            f(&mut conn)
        })
        .await
        {
            Ok(result) => result,
            Err(join) => Err(E::from(DbError::Unavailable(format!(
                "worker failed: {join}"
            )))),
        }
    }
}

/// Makes the SQLite database (created empty if missing) and its WAL and SHM files readable by
/// the owner only. SQLite creates the WAL and SHM with the database file's mode, so a 0600
/// database keeps them 0600 too. In-memory databases are left alone.
fn owner_only(path: &str) -> anyhow::Result<()> {
    if path.is_empty() || path.starts_with(':') || path.starts_with("file:") {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| anyhow::anyhow!("cannot create the database file {path}: {e}"))?;
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let file = format!("{path}{suffix}");
            if std::path::Path::new(&file).exists() {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| anyhow::anyhow!("cannot make {file} private (0600): {e}"))?;
            }
        }
    }
    Ok(())
}

/// One connection lent to several parts of one use case that run interleaved on one thread
/// (the package writer stores chunks while the token reader pages through seeds), so the use
/// case never takes a second connection from the pool while holding the first. Each part
/// borrows it for one statement at a time; a nested borrow is a bug and fails instead of
/// deadlocking.
pub struct SharedConn<'c>(std::sync::Mutex<&'c mut DbConnection>);

impl<'c> SharedConn<'c> {
    pub fn new(conn: &'c mut DbConnection) -> SharedConn<'c> {
        SharedConn(std::sync::Mutex::new(conn))
    }

    /// Runs `f` on the connection.
    pub fn with<T, E>(&self, f: impl FnOnce(&mut DbConnection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<diesel::result::Error>,
    {
        let mut guard = self.0.try_lock().map_err(|_| {
            E::from(diesel::result::Error::QueryBuilderError(
                "the shared connection is already in use (nested use)".into(),
            ))
        })?;
        f(&mut guard)
    }

    /// The connection back, once every borrower is gone.
    pub fn into_inner(self) -> &'c mut DbConnection {
        match self.0.into_inner() {
            Ok(conn) => conn,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// Something that lends a connection for one statement at a time: a plain `&mut` connection,
/// or a [`SharedConn`].
pub trait UseConn {
    fn use_conn<T, E>(&mut self, f: impl FnOnce(&mut DbConnection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<diesel::result::Error>;
}

impl UseConn for &mut DbConnection {
    fn use_conn<T, E>(&mut self, f: impl FnOnce(&mut DbConnection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<diesel::result::Error>,
    {
        f(self)
    }
}

impl UseConn for &SharedConn<'_> {
    fn use_conn<T, E>(&mut self, f: impl FnOnce(&mut DbConnection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<diesel::result::Error>,
    {
        self.with(f)
    }
}

/// Applies pending migrations; returns how many ran. On PostgreSQL an advisory lock keeps two
/// instances starting at once from migrating concurrently.
pub fn migrate(conn: &mut DbConnection) -> anyhow::Result<usize> {
    let applied = match conn {
        DbConnection::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?
            .len(),
        DbConnection::Pg(c) => {
            c.batch_execute("SELECT pg_advisory_lock(7242001)")?;
            let result = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.len())
                .map_err(|e| anyhow::anyhow!("migration failed: {e}"));
            c.batch_execute("SELECT pg_advisory_unlock(7242001)")?;
            result?
        }
    };
    Ok(applied)
}

/// How many migrations are not applied yet (for `seedport doctor`; changes nothing).
pub fn pending_migrations(conn: &mut DbConnection) -> anyhow::Result<usize> {
    let pending = match conn {
        DbConnection::Sqlite(c) => c.pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConnection::Pg(c) => c.pending_migrations(POSTGRES_MIGRATIONS).map(|v| v.len()),
    };
    pending.map_err(|e| anyhow::anyhow!("{e}"))
}

/// Reverts every applied migration (tests and `seedport migrate --reset` only).
pub fn revert_all(conn: &mut DbConnection) -> anyhow::Result<usize> {
    let reverted = match conn {
        DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS),
        DbConnection::Pg(c) => c.revert_all_migrations(POSTGRES_MIGRATIONS),
    }
    .map_err(|e| anyhow::anyhow!("reverting migrations failed: {e}"))?;
    Ok(reverted.len())
}

/// Runs `f` in a write transaction. On SQLite it begins `IMMEDIATE`, taking the write lock up
/// front: a deferred transaction that reads and then writes can fail with SQLITE_BUSY instead of
/// waiting for `busy_timeout`.
pub fn write_tx<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let immediate = match conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
            true
        }
        DbConnection::Pg(_) => false,
    };
    if !immediate {
        return conn.transaction(f);
    }
    let result = f(conn);
    let DbConnection::Sqlite(c) = conn else {
        return result;
    };
    match result {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(c)?;
            Ok(value)
        }
        Err(e) => {
            AnsiTransactionManager::rollback_transaction(c)?;
            Err(e)
        }
    }
}

/// Seconds since the Unix epoch, the unit of every timestamp column.
pub type UnixTime = i64;

#[cfg(test)]
mod tests {
    use super::is_transient;
    use diesel::result::{DatabaseErrorKind as Kind, Error};

    fn db_error(kind: Kind, message: &str) -> Error {
        Error::DatabaseError(kind, Box::new(message.to_string()))
    }

    #[test]
    fn transient_errors_are_told_from_wrong_queries() {
        assert!(is_transient(&db_error(Kind::Unknown, "database is locked")));
        assert!(is_transient(&db_error(Kind::ClosedConnection, "gone")));
        assert!(is_transient(&db_error(
            Kind::Unknown,
            "terminating connection due to administrator command"
        )));
        assert!(!is_transient(&db_error(
            Kind::UniqueViolation,
            "duplicate key"
        )));
        assert!(!is_transient(&Error::NotFound));
    }
}
