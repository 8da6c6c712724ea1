//! Settings: defaults, then an optional `seedport.toml`, then `SEEDPORT_*` environment variables.

use anyhow::{anyhow, bail, Context};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// `demo` seeds data and writes mail to files; `production` fails closed on anything missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Demo,
    Production,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS: only for a relay on loopback and for tests.
    None,
}

/// The outgoing mail server.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    #[serde(default = "default_smtp_security")]
    pub security: SmtpSecurity,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl SmtpConfig {
    /// What makes these settings unfit for production.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.host.trim().is_empty() {
            problems.push("smtp host is empty".into());
        }
        let loopback = matches!(self.host.as_str(), "localhost" | "127.0.0.1" | "::1");
        if self.security == SmtpSecurity::None && !loopback {
            problems.push(format!(
                "smtp security = \"none\" is only allowed for a relay on loopback, not {}",
                self.host
            ));
        }
        if self.username.is_some() != self.password.is_some() {
            problems.push("smtp username and password must be set together".into());
        }
        problems
    }
}

fn default_smtp_port() -> u16 {
    587
}

fn default_smtp_security() -> SmtpSecurity {
    SmtpSecurity::Starttls
}

/// Every setting seedport reads. Unknown keys are an error, so a typo cannot silently fall back
/// to a default.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub mode: Mode,
    /// `sqlite://path`, a bare path, or `postgres://…`.
    pub database_url: String,
    pub bind: String,
    /// Base of every link in emails; must be https in production.
    pub public_base_url: String,
    /// Folder for the demo database, key file and mail.
    pub data_dir: PathBuf,
    /// Master key file (32 random bytes, base64); `SEEDPORT_MASTER_KEY` wins over it.
    pub master_key_file: Option<PathBuf>,
    pub vendor_name: String,
    pub logo_text: String,
    /// Where customers are told to write when something does not match.
    pub delivery_email: String,
    /// Sender of every email.
    pub mail_from: String,
    /// Delivery team address that receives alerts (locks, failures).
    pub alert_email: String,
    pub smtp: Option<SmtpConfig>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    pub link_expiry_days: u32,
    /// Days a request may wait for review before it expires and its files are destroyed.
    pub review_expiry_days: u32,
    pub download_limit: u32,
    pub wrong_password_limit: u32,
    pub serial_attempt_limit: u32,
    pub lookups_per_ip_per_hour: u32,
    pub lookups_per_reference_per_hour: u32,
    /// Download-password attempts one client IP may make per hour, across all packages.
    pub download_passwords_per_ip_per_hour: u32,
    pub db_pool_size: u32,
    pub workers: usize,
    /// How long a request waits for a database connection before it gets the 503 page.
    pub db_checkout_timeout_seconds: u32,
    /// After SIGTERM: how long in-flight requests (downloads) may take before the process exits.
    pub shutdown_grace_seconds: u32,
    /// How long a sender's claim on one email lasts unless renewed (renewed every third of it
    /// while the relay is being talked to), so a crashed instance's email is taken over soon.
    pub mail_lease_seconds: u32,
    /// Delay before the first retry of a failed email; each further failure doubles it.
    pub mail_retry_seconds: u32,
    /// `text` or `json` log lines on stderr.
    pub log_format: crate::telemetry::logging::LogFormat,
    /// Where `GET /metrics` listens (Prometheus); off unless set, never the public `bind`.
    pub metrics_bind: Option<String>,
    /// Order API calls one API key may make per minute (then 429 with `Retry-After`).
    pub api_calls_per_key_per_minute: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mode: Mode::Demo,
            database_url: "sqlite://var/seedport.db".into(),
            bind: "127.0.0.1:8080".into(),
            public_base_url: "http://127.0.0.1:8080".into(),
            data_dir: PathBuf::from("var"),
            master_key_file: None,
            vendor_name: "Deepnet Security".into(),
            logo_text: "Deepnet Security".into(),
            delivery_email: "delivery@deepnetsecurity.com".into(),
            mail_from: "Deepnet Security Delivery <delivery@deepnetsecurity.com>".into(),
            alert_email: "delivery@deepnetsecurity.com".into(),
            smtp: None,
            trusted_proxies: Vec::new(),
            link_expiry_days: 7,
            review_expiry_days: 14,
            download_limit: 3,
            wrong_password_limit: 5,
            serial_attempt_limit: 5,
            lookups_per_ip_per_hour: 30,
            lookups_per_reference_per_hour: 10,
            download_passwords_per_ip_per_hour: 30,
            db_pool_size: 8,
            workers: 0,
            db_checkout_timeout_seconds: 5,
            shutdown_grace_seconds: 30,
            mail_lease_seconds: 60,
            mail_retry_seconds: 30,
            log_format: crate::telemetry::logging::LogFormat::Text,
            metrics_bind: None,
            api_calls_per_key_per_minute: 300,
        }
    }
}

/// Environment variables under `SEEDPORT_` that are not settings.
const NOT_SETTINGS: &[&str] = &["SEEDPORT_MASTER_KEY", "SEEDPORT_LOG", "SEEDPORT_CONFIG"];

impl Config {
    /// Defaults, then `path` (or `./seedport.toml` when it exists), then the environment.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        let file = match path {
            Some(p) => Some(p.to_path_buf()),
            None => {
                let default = PathBuf::from("seedport.toml");
                default.exists().then_some(default)
            }
        };
        let text =
            match &file {
                Some(p) => Some(std::fs::read_to_string(p).with_context(|| {
                    format!("cannot read the configuration file {}", p.display())
                })?),
                None => None,
            };
        Config::from_sources(text.as_deref(), &env)
    }

    /// Builds a config from a TOML text and environment pairs (testable without touching the process).
    pub fn from_sources(
        toml_text: Option<&str>,
        env: &[(String, String)],
    ) -> anyhow::Result<Config> {
        let mut table = match toml::Value::try_from(Config::default()) {
            Ok(toml::Value::Table(t)) => t,
            _ => bail!("internal: default configuration does not serialize to a table"),
        };
        if let Some(text) = toml_text {
            let file: toml::Table =
                toml::from_str(text).context("seedport.toml is not valid TOML")?;
            merge(&mut table, file);
        }
        for (name, value) in env {
            if name == "DATABASE_URL" {
                table.insert("database_url".into(), toml::Value::String(value.clone()));
                continue;
            }
            let Some(key) = name.strip_prefix("SEEDPORT_") else {
                continue;
            };
            if NOT_SETTINGS.contains(&name.as_str()) || key.starts_with("TEST_") {
                continue;
            }
            apply_env(&mut table, &key.to_ascii_lowercase(), value)
                .with_context(|| format!("environment variable {name}"))?;
        }
        let config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| anyhow!("invalid configuration: {}", e.message()))?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> anyhow::Result<()> {
        if self.download_limit == 0
            || self.wrong_password_limit == 0
            || self.serial_attempt_limit == 0
        {
            bail!(
                "download_limit, wrong_password_limit and serial_attempt_limit must be at least 1"
            );
        }
        if self.db_checkout_timeout_seconds == 0 || self.mail_lease_seconds < 3 {
            bail!(
                "db_checkout_timeout_seconds must be at least 1 and mail_lease_seconds at least 3"
            );
        }
        if self.link_expiry_days == 0 || self.link_expiry_days > 90 {
            bail!("link_expiry_days must be between 1 and 90");
        }
        if self.review_expiry_days == 0 || self.review_expiry_days > 90 {
            bail!("review_expiry_days must be between 1 and 90");
        }
        if let Some(metrics) = &self.metrics_bind {
            if metrics.parse::<std::net::SocketAddr>().is_err() {
                bail!("metrics_bind must be an address and port such as 127.0.0.1:9100, not {metrics:?}");
            }
            if *metrics == self.bind {
                bail!("metrics_bind must differ from bind: metrics are never served on the public address");
            }
        }
        Ok(())
    }

    pub fn is_demo(&self) -> bool {
        self.mode == Mode::Demo
    }

    /// The master key file: the configured one, or `DATA_DIR/master.key`.
    pub fn master_key_path(&self) -> PathBuf {
        self.master_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("master.key"))
    }

    pub fn mail_dir(&self) -> PathBuf {
        self.data_dir.join("mail")
    }

    /// What production needs before it may start; every missing piece is listed at once.
    pub fn production_problems(&self, has_env_master_key: bool) -> Vec<String> {
        let mut problems = Vec::new();
        if self.mode != Mode::Production {
            return problems;
        }
        match &self.smtp {
            None => problems.push("SMTP settings are missing ([smtp] host, port, security)".into()),
            Some(smtp) => problems.extend(smtp.problems()),
        }
        if self.mail_from.parse::<lettre::message::Mailbox>().is_err() {
            problems.push(format!(
                "mail_from is not an email address ({})",
                self.mail_from
            ));
        }
        if !self.public_base_url.starts_with("https://") {
            problems.push(format!(
                "public_base_url must start with https:// (it is {})",
                self.public_base_url
            ));
        }
        match &self.master_key_file {
            None if !has_env_master_key => {
                problems.push("no master key: set SEEDPORT_MASTER_KEY or master_key_file".into())
            }
            Some(key) if !has_env_master_key && is_inside(key, &self.data_dir) => {
                problems.push(format!(
                    "master_key_file {} is inside data_dir {}: one backup of the data folder \
                     would hold both the sealed seeds and the key that opens them; keep the key \
                     elsewhere (e.g. /etc/seedport/master.key, mode 0600) or use \
                     SEEDPORT_MASTER_KEY",
                    key.display(),
                    self.data_dir.display()
                ))
            }
            _ => {}
        }
        problems
    }
}

/// Whether `path` lies inside `dir` (after resolving `..`, symlinks where the files exist, and
/// the working folder for relative paths).
fn is_inside(path: &Path, dir: &Path) -> bool {
    let resolve = |p: &Path| {
        std::fs::canonicalize(p)
            .or_else(|_| {
                let parent = p.parent().filter(|x| !x.as_os_str().is_empty());
                match (parent.map(std::fs::canonicalize), p.file_name()) {
                    (Some(Ok(parent)), Some(name)) => Ok(parent.join(name)),
                    _ => std::path::absolute(p),
                }
            })
            .unwrap_or_else(|_| p.to_path_buf())
    };
    resolve(path).starts_with(resolve(dir))
}

fn merge(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(key, v);
            }
        }
    }
}

/// Keys an environment variable can set, with the type its text is parsed as.
enum Kind {
    Text,
    Integer,
    List,
}

fn env_kind(key: &str) -> Option<Kind> {
    Some(match key {
        "mode" | "database_url" | "bind" | "public_base_url" | "data_dir" | "master_key_file"
        | "vendor_name" | "logo_text" | "delivery_email" | "mail_from" | "alert_email"
        | "smtp_host" | "smtp_security" | "smtp_username" | "smtp_password" | "log_format"
        | "metrics_bind" => Kind::Text,
        "link_expiry_days"
        | "review_expiry_days"
        | "download_limit"
        | "wrong_password_limit"
        | "serial_attempt_limit"
        | "lookups_per_ip_per_hour"
        | "lookups_per_reference_per_hour"
        | "download_passwords_per_ip_per_hour"
        | "db_pool_size"
        | "workers"
        | "db_checkout_timeout_seconds"
        | "shutdown_grace_seconds"
        | "mail_lease_seconds"
        | "mail_retry_seconds"
        | "api_calls_per_key_per_minute"
        | "smtp_port" => Kind::Integer,
        "trusted_proxies" => Kind::List,
        _ => return None,
    })
}

fn apply_env(table: &mut toml::Table, key: &str, raw: &str) -> anyhow::Result<()> {
    let kind = env_kind(key).ok_or_else(|| anyhow!("unknown setting {key:?}"))?;
    let value = match kind {
        Kind::Text => toml::Value::String(raw.to_string()),
        Kind::Integer => toml::Value::Integer(
            raw.trim()
                .parse()
                .map_err(|_| anyhow!("{key} must be a whole number, not {raw:?}"))?,
        ),
        Kind::List => toml::Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_string()))
                .collect(),
        ),
    };
    match key.strip_prefix("smtp_") {
        Some(field) => {
            let smtp = table
                .entry("smtp")
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(t) = smtp {
                t.insert(field.to_string(), value);
            }
        }
        None => {
            table.insert(key.to_string(), value);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn layers_apply_in_order() {
        let c = Config::from_sources(
            Some("bind = \"0.0.0.0:9000\"\ndownload_limit = 2\n"),
            &env(&[
                ("SEEDPORT_DOWNLOAD_LIMIT", "4"),
                ("SEEDPORT_SMTP_HOST", "mail.example"),
            ]),
        )
        .unwrap();
        assert_eq!(c.bind, "0.0.0.0:9000");
        assert_eq!(c.download_limit, 4);
        assert_eq!(c.smtp.unwrap().host, "mail.example");
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = Config::from_sources(Some("downlaod_limit = 2"), &[]).unwrap_err();
        assert!(format!("{err:#}").contains("downlaod_limit"), "{err:#}");
        let err = Config::from_sources(None, &env(&[("SEEDPORT_BINDD", "x")])).unwrap_err();
        assert!(format!("{err:#}").contains("SEEDPORT_BINDD"), "{err:#}");
        let err = Config::from_sources(None, &env(&[("SEEDPORT_WORKERS", "many")])).unwrap_err();
        assert!(format!("{err:#}").contains("whole number"), "{err:#}");
    }

    #[test]
    fn production_lists_what_is_missing() {
        let c = Config::from_sources(Some("mode = \"production\""), &[]).unwrap();
        let problems = c.production_problems(false);
        assert_eq!(problems.len(), 3, "{problems:?}");
    }

    #[test]
    fn production_smtp_must_be_sound() {
        let c = Config::from_sources(
            Some("mode = \"production\"\n[smtp]\nhost = \"mail.example\"\nsecurity = \"none\"\nusername = \"u\"\n"),
            &[],
        )
        .unwrap();
        let problems = c.production_problems(true).join("\n");
        assert!(problems.contains("loopback"), "{problems}");
        assert!(problems.contains("together"), "{problems}");
    }

    #[test]
    fn smtp_password_is_not_in_debug() {
        let c = Config::from_sources(
            None,
            &env(&[
                ("SEEDPORT_SMTP_HOST", "h"),
                ("SEEDPORT_SMTP_PASSWORD", "s3cret-pw"),
            ]),
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("s3cret-pw"));
    }
}
