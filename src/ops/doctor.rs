//! `seedport doctor`: checks what `serve` needs, with the same configuration, and prints each
//! check as OK or as the problem with its fix. Exits non-zero when anything is wrong.

use crate::config::{Config, Mode};
use std::path::Path;
use std::process::ExitCode;

/// One line of the report.
enum Check {
    Ok(String),
    Problem { what: String, fix: String },
}

impl Check {
    fn problem(what: impl Into<String>, fix: impl Into<String>) -> Check {
        Check::Problem {
            what: what.into(),
            fix: fix.into(),
        }
    }
}

/// Runs every check; prints the report.
pub fn run(config_path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let checks = match Config::load(config_path) {
        Err(e) => vec![Check::problem(
            format!("configuration: {e:#}"),
            "fix seedport.toml or the SEEDPORT_* variable named above",
        )],
        Ok(config) => {
            let mut checks = vec![configuration(&config)];
            checks.push(database(&config));
            checks.push(master_key(&config));
            checks.push(smtp(&config));
            checks.push(public_url(&config));
            checks
        }
    };
    let mut problems = 0;
    for check in &checks {
        match check {
            Check::Ok(what) => println!("OK       {what}"),
            Check::Problem { what, fix } => {
                problems += 1;
                println!("PROBLEM  {what}\n         fix: {fix}");
            }
        }
    }
    if problems == 0 {
        println!("all checks passed");
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "{} found",
            crate::plural::count(i64::from(problems), "problem", "problems")
        );
        Ok(ExitCode::FAILURE)
    }
}

fn configuration(config: &Config) -> Check {
    let problems = config.production_problems(std::env::var_os("SEEDPORT_MASTER_KEY").is_some());
    if problems.is_empty() {
        let mode = match config.mode {
            Mode::Demo => "demo",
            Mode::Production => "production",
        };
        Check::Ok(format!("configuration ({mode} mode)"))
    } else {
        Check::problem(
            format!("configuration: {}", problems.join("; ")),
            "set what is listed in seedport.toml or as SEEDPORT_* variables (see README, Configuration)",
        )
    }
}

fn database(config: &Config) -> Check {
    // Connecting would create a missing SQLite file; the doctor changes nothing.
    if let crate::db::Backend::Sqlite { path } = crate::db::Backend::from_url(&config.database_url)
    {
        if !Path::new(&path).exists() {
            return match config.mode {
                Mode::Demo => Check::Ok(format!(
                    "database SQLite at {path} does not exist yet; serve creates and migrates it"
                )),
                Mode::Production => Check::problem(
                    format!("database SQLite at {path} does not exist"),
                    "run `seedport migrate`, or set database_url to your PostgreSQL server",
                ),
            };
        }
    }
    let db = match crate::db::Db::connect(&config.database_url, 1) {
        Ok(db) => db,
        Err(e) => {
            return Check::problem(
                format!("database: {e:#}"),
                "check database_url / DATABASE_URL",
            )
        }
    };
    let described = db.backend().describe();
    let mut conn = match db.get() {
        Ok(conn) => conn,
        Err(e) => {
            return Check::problem(
                format!("database {described} is not reachable: {e}"),
                "start the database server or fix database_url / DATABASE_URL",
            )
        }
    };
    match crate::db::pending_migrations(&mut conn) {
        Ok(0) => demo_mark(config, &mut conn, &described),
        Ok(n) => Check::problem(
            format!(
                "database {described} has {} to apply",
                crate::plural::count(
                    i64::try_from(n).unwrap_or(i64::MAX),
                    "migration",
                    "migrations"
                )
            ),
            "run `seedport migrate` (serve also applies them at start)",
        ),
        Err(e) => Check::problem(
            format!("database {described}: cannot read its migrations: {e:#}"),
            "check that database_url names a seedport database",
        ),
    }
}

/// A migrated database demo mode has run on: fine in demo mode, the problem that stops `serve`
/// in production.
fn demo_mark(config: &Config, conn: &mut crate::db::DbConnection, described: &str) -> Check {
    match (crate::db::marks::is_demo(conn), config.mode) {
        (Err(e), _) => Check::problem(
            format!("database {described}: cannot read its marks: {e}"),
            "check that database_url names a seedport database",
        ),
        (Ok(false), _) => Check::Ok(format!("database {described} is reachable and migrated")),
        (Ok(true), Mode::Demo) => Check::Ok(format!(
            "database {described} is reachable and migrated (a demo database: production mode will refuse it)"
        )),
        (Ok(true), Mode::Production) => Check::problem(
            format!(
                "database {described} is a demo database: demo mode has run on it, so it holds demo data and a demo admin whose credentials every demo start printed; production refuses to serve it"
            ),
            "point database_url (or DATABASE_URL) at a new, empty database, run `seedport migrate`, create the real accounts with `seedport staff add` and import the real orders with `seedport import` (`seedport backup` still copies the demo database if you want to keep it)",
        ),
    }
}

fn master_key(config: &Config) -> Check {
    if std::env::var_os("SEEDPORT_MASTER_KEY").is_some() {
        return match crate::vault::MasterKey::load(
            std::env::var("SEEDPORT_MASTER_KEY").ok().as_deref(),
            &config.master_key_path(),
            false,
        ) {
            Ok(_) => Check::Ok("master key from SEEDPORT_MASTER_KEY".into()),
            Err(e) => Check::problem(
                format!("master key: {e:#}"),
                "set SEEDPORT_MASTER_KEY to base64 of 32 random bytes (head -c32 /dev/urandom | base64)",
            ),
        };
    }
    let path = config.master_key_path();
    if !path.exists() {
        if config.is_demo() {
            return Check::Ok(format!(
                "master key: {} does not exist yet; demo mode creates it at start",
                path.display()
            ));
        }
        return Check::problem(
            format!("master key file {} does not exist", path.display()),
            "create it: umask 077; head -c32 /dev/urandom | base64 > FILE (or set SEEDPORT_MASTER_KEY)",
        );
    }
    if let Err(e) = crate::vault::MasterKey::load(None, &path, false) {
        return Check::problem(
            format!("master key: {e:#}"),
            format!(
                "chmod 600 {} and check it holds base64 of 32 bytes",
                path.display()
            ),
        );
    }
    let inside_data = match (path.canonicalize(), config.data_dir.canonicalize()) {
        (Ok(key), Ok(data)) => key.starts_with(data),
        _ => false,
    };
    if inside_data && config.mode == Mode::Production {
        return Check::problem(
            format!(
                "master key file {} is inside the data folder {}, so one backup of that folder holds both the key and the seeds it protects",
                path.display(),
                config.data_dir.display()
            ),
            "move the key outside data_dir (e.g. /etc/seedport/master.key, mode 0600) and set master_key_file",
        );
    }
    Check::Ok(format!("master key file {} (mode 0600)", path.display()))
}

fn smtp(config: &Config) -> Check {
    let Some(smtp) = &config.smtp else {
        return match config.mode {
            Mode::Demo => Check::Ok(format!(
                "SMTP not configured: demo mode writes mail to {}",
                config.mail_dir().display()
            )),
            Mode::Production => Check::problem(
                "SMTP is not configured",
                "set [smtp] host, port and security (or SEEDPORT_SMTP_HOST, …)",
            ),
        };
    };
    let target = format!("{}:{} ({:?})", smtp.host, smtp.port, smtp.security);
    let mailer = match crate::mail::sender::Mailer::from_config(config) {
        Ok(m) => m,
        Err(e) => {
            return Check::problem(format!("SMTP {target}: {e:#}"), "check the [smtp] settings")
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return Check::problem(format!("SMTP check could not start: {e}"), "retry"),
    };
    match runtime.block_on(mailer.check_connection()) {
        Ok(()) => Check::Ok(format!("SMTP {target}: connected, EHLO accepted{}", match smtp.security {
            crate::config::SmtpSecurity::None => "",
            _ => ", TLS up",
        })),
        Err(e) => Check::problem(
            format!("SMTP {target}: {e}"),
            "check that the relay runs and accepts this host, and the port and security setting (starttls 587, tls 465)",
        ),
    }
}

fn public_url(config: &Config) -> Check {
    let url = config.public_base_url.trim_end_matches('/');
    let Some((scheme, rest)) = url.split_once("://") else {
        return Check::problem(
            format!("public_base_url {url:?} is not a URL"),
            "set it to the address customers open, e.g. https://seeds.example.com",
        );
    };
    let host = rest.split(['/', ':']).next().unwrap_or("");
    if host.is_empty() || rest.contains(['?', '#', ' ']) {
        return Check::problem(
            format!("public_base_url {url:?} has no host, or has a query or spaces"),
            "set it to scheme://host[:port][/path], e.g. https://seeds.example.com",
        );
    }
    match (scheme, config.mode) {
        ("https", _) => Check::Ok(format!("public URL {url}")),
        ("http", Mode::Demo) => Check::Ok(format!("public URL {url} (http is fine for the demo)")),
        _ => Check::problem(
            format!("public_base_url {url:?} must use https in production: emailed links carry one-time tokens"),
            "serve seedport behind a TLS proxy and set public_base_url = \"https://…\"",
        ),
    }
}
