//! Test harness: fresh databases on SQLite and (when `SEEDPORT_TEST_POSTGRES_URL` is set)
//! PostgreSQL, and the real server started on port 0.
#![allow(dead_code)]

use seedport::clock::Clock;
use seedport::config::{Config, Mode};
use seedport::db::Db;
use seedport::vault::{MasterKey, Vault};
use std::net::TcpListener;
use std::path::PathBuf;

pub mod browser;
pub mod child;
pub mod customer;
pub mod requests;
pub mod smtp;
pub mod tools;

/// Which database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// SQLite always; PostgreSQL too when `SEEDPORT_TEST_POSTGRES_URL` names a reachable server
/// (required in CI, a recorded skip elsewhere).
pub fn backends() -> Vec<Backend> {
    let mut list = vec![Backend::Sqlite];
    if tools::require(&[tools::Tool::Postgres]) {
        list.push(Backend::Postgres);
    }
    list
}

/// A database that exists for one test: a file in a temp folder, or a PostgreSQL database
/// created for the test and dropped afterwards.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    pg_name: Option<String>,
}

impl TestDb {
    pub fn new(backend: Backend) -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => TestDb {
                url: format!("sqlite://{}", dir.path().join("test.db").display()),
                backend,
                dir,
                pg_name: None,
            },
            Backend::Postgres => {
                use diesel::connection::SimpleConnection;
                use diesel::Connection;
                let admin = std::env::var("SEEDPORT_TEST_POSTGRES_URL").unwrap();
                let name = format!("seedport_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = diesel::PgConnection::establish(&admin).unwrap();
                conn.batch_execute(&format!("CREATE DATABASE {name}"))
                    .unwrap();
                let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap();
                TestDb {
                    url: format!("{base}/{name}"),
                    backend,
                    dir,
                    pg_name: Some(name),
                }
            }
        }
    }

    /// Every row of every table as text, to search for leaked secrets.
    pub fn sqlite_file_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for suffix in ["", "-wal", "-shm"] {
            let path = self.dir.path().join(format!("test.db{suffix}"));
            if let Ok(bytes) = std::fs::read(path) {
                all.extend(bytes);
            }
        }
        all
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            use diesel::connection::SimpleConnection;
            use diesel::Connection;
            if let Ok(admin) = std::env::var("SEEDPORT_TEST_POSTGRES_URL") {
                if let Ok(mut conn) = diesel::PgConnection::establish(&admin) {
                    let _ =
                        conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            }
        }
    }
}

/// A running seedport with everything a test needs to drive and inspect it.
pub struct TestApp {
    pub base_url: String,
    pub client: reqwest::Client,
    pub db: Db,
    pub vault: Vault,
    pub master: MasterKey,
    pub clock: Clock,
    pub config: Config,
    pub test_db: TestDb,
}

/// A config for tests: demo data loaded, data folder inside the test's temp folder.
pub fn test_config(test_db: &TestDb) -> Config {
    Config {
        mode: Mode::Demo,
        database_url: test_db.url.clone(),
        data_dir: test_db.dir.path().join("var"),
        db_pool_size: 4,
        workers: 2,
        ..Config::default()
    }
}

/// Starts the app on a free port with demo data, against a fresh database.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Like [`spawn_app`], with a chance to change the configuration first.
pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let test_db = TestDb::new(backend);
    let mut config = test_config(&test_db);
    adjust(&mut config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    config.public_base_url = format!("http://127.0.0.1:{port}");
    let master = MasterKey::generate();
    let clock = Clock::fixed(1_795_000_000);
    let state = seedport::app::build_state(config.clone(), master.clone(), clock.clone()).unwrap();
    let db = state.db.clone();
    let vault = state.vault.clone();
    let server = seedport::web::serve(state, listener).unwrap();
    tokio::spawn(server);
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        base_url: format!("http://127.0.0.1:{port}"),
        client,
        db,
        vault,
        master,
        clock,
        config,
        test_db,
    }
}

/// The compiled `seedport` binary, for tests that run the CLI as a user would.
pub fn seedport_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_seedport"))
}
