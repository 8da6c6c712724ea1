//! API keys for the vendor's systems: created from the CLI (shown once, stored only as
//! SHA-256), scoped, revocable, rate limited per key, and the optional webhook each one has.

pub mod cli;
pub mod webhooks;

use crate::audit::{self, Entry};
use crate::db::schema::{api_keys, rate_limits};
use crate::db::{write_tx, DbConnection};
use crate::request::rate_limit;
use crate::vault::{random_token, token_hash, SecretString, Vault, VaultError};
use diesel::prelude::*;
use subtle::ConstantTimeEq;

/// What every key starts with, so secret scanners recognise a leaked one.
pub const KEY_PREFIX: &str = "sp_live_";
/// What every webhook signing secret starts with.
pub const WEBHOOK_SECRET_PREFIX: &str = "sp_whsec_";
/// The rate-limit window of a key, in seconds.
pub const RATE_WINDOW: i64 = 60;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Create and update customers, orders, shipments and their token files.
    OrdersWrite,
    /// Read requests: their state and history.
    RequestsRead,
}

impl Scope {
    pub const ALL: [Scope; 2] = [Scope::OrdersWrite, Scope::RequestsRead];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::OrdersWrite => "orders:write",
            Scope::RequestsRead => "requests:read",
        }
    }

    /// A comma-separated list such as `orders:write,requests:read`; every unknown scope is named.
    pub fn parse_list(raw: &str) -> Result<Vec<Scope>, String> {
        let mut scopes = Vec::new();
        for part in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let scope = Scope::ALL
                .into_iter()
                .find(|s| s.as_str() == part)
                .ok_or_else(|| {
                    format!(
                        "unknown scope {part:?}: use {}",
                        Scope::ALL.map(Scope::as_str).join(", ")
                    )
                })?;
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        if scopes.is_empty() {
            return Err(format!(
                "give at least one scope: {}",
                Scope::ALL.map(Scope::as_str).join(", ")
            ));
        }
        scopes.sort();
        Ok(scopes)
    }

    fn join(scopes: &[Scope]) -> String {
        scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A key's name: 1 to 64 letters, digits, `-`, `_` or `.` (it appears in audit rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyName(String);

impl KeyName {
    pub fn parse(raw: &str) -> Result<KeyName, String> {
        let name = raw.trim();
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if ok {
            Ok(KeyName(name.to_string()))
        } else {
            Err(format!(
                "the key name {name:?} must be 1 to 64 letters, digits, '-', '_' or '.'"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a key's webhooks go: an `http://` or `https://` URL without credentials in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn parse(raw: &str) -> Result<WebhookUrl, String> {
        let url = raw.trim();
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or_else(|| {
                format!("the webhook URL {url:?} must start with https:// or http://")
            })?;
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        if host.is_empty()
            || host.contains('@')
            || url.len() > 2000
            || url.contains(char::is_whitespace)
        {
            return Err(format!(
                "the webhook URL {url:?} needs a host, no user:password@ and no spaces"
            ));
        }
        Ok(WebhookUrl(url.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What `api-key create` shows once and never again.
pub struct CreatedKey {
    pub key: SecretString,
    pub webhook_secret: Option<SecretString>,
}

/// Why a key was not created or revoked.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{0}")]
    Invalid(String),
    #[error("a key named {0} already exists; revoke it or choose another name")]
    NameTaken(String),
    #[error("no key is named {0}")]
    NotFound(String),
    #[error("the key {0} is already revoked")]
    AlreadyRevoked(String),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// The associated data binding a sealed webhook secret to its key row.
fn webhook_aad(key_id: &str) -> Vec<u8> {
    format!("api-key-webhook:{key_id}").into_bytes()
}

/// Creates a key (and, with a webhook URL, its signing secret sealed in the vault), audited.
pub fn create(
    conn: &mut DbConnection,
    vault: &Vault,
    name: &KeyName,
    scopes: &[Scope],
    webhook: Option<&WebhookUrl>,
    now: i64,
) -> Result<CreatedKey, KeyError> {
    let key = SecretString::new(random_token(KEY_PREFIX));
    let webhook_secret = webhook.map(|_| SecretString::new(random_token(WEBHOOK_SECRET_PREFIX)));
    write_tx(conn, |conn| {
        let taken: i64 = api_keys::table
            .filter(api_keys::name.eq(name.as_str()))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Err(KeyError::NameTaken(name.as_str().to_string()));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let (sealed, key_id) = match &webhook_secret {
            Some(secret) => {
                let data_key = vault.new_data_key(conn, "api-webhook", now)?;
                let sealed = data_key.seal(secret.expose().as_bytes(), &webhook_aad(&id));
                (Some(sealed), Some(data_key.id))
            }
            None => (None, None),
        };
        diesel::insert_into(api_keys::table)
            .values((
                api_keys::id.eq(&id),
                api_keys::name.eq(name.as_str()),
                api_keys::key_hash.eq(token_hash(key.expose())),
                api_keys::scopes.eq(Scope::join(scopes)),
                api_keys::webhook_url.eq(webhook.map(WebhookUrl::as_str)),
                api_keys::webhook_secret_ct.eq(sealed),
                api_keys::webhook_key_id.eq(key_id),
                api_keys::created_at.eq(now),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            &Entry {
                actor: "cli",
                action: "api_key.created",
                subject: &format!("api_key:{}", name.as_str()),
                client_ip: "-",
                details: &format!(
                    "scopes: {}; webhook: {}",
                    Scope::join(scopes),
                    webhook.map_or("none", WebhookUrl::as_str)
                ),
            },
            now,
        )?;
        Ok(CreatedKey {
            key: key.clone(),
            webhook_secret: webhook_secret.clone(),
        })
    })
}

/// One key as `api-key list` shows it: never the key or its secret.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct KeyLine {
    pub name: String,
    pub scopes: String,
    pub webhook_url: Option<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// Every key, by name.
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<KeyLine>> {
    api_keys::table
        .order(api_keys::name.asc())
        .select(KeyLine::as_select())
        .load(conn)
}

/// Revokes a key with one conditional UPDATE (only a live key changes), audited.
pub fn revoke(conn: &mut DbConnection, name: &str, now: i64) -> Result<(), KeyError> {
    write_tx(conn, |conn| {
        let changed = diesel::update(
            api_keys::table
                .filter(api_keys::name.eq(name))
                .filter(api_keys::revoked_at.is_null()),
        )
        .set(api_keys::revoked_at.eq(now))
        .execute(conn)?;
        if changed == 0 {
            let exists: i64 = api_keys::table
                .filter(api_keys::name.eq(name))
                .count()
                .get_result(conn)?;
            return Err(if exists > 0 {
                KeyError::AlreadyRevoked(name.to_string())
            } else {
                KeyError::NotFound(name.to_string())
            });
        }
        audit::record(
            conn,
            &Entry {
                actor: "cli",
                action: "api_key.revoked",
                subject: &format!("api_key:{name}"),
                client_ip: "-",
                details: "",
            },
            now,
        )?;
        Ok(())
    })
}

/// A caller proven by its key.
#[derive(Debug, Clone)]
pub struct Caller {
    pub id: String,
    pub name: String,
    pub scopes: Vec<Scope>,
}

impl Caller {
    /// The audit actor of everything this key does.
    pub fn actor(&self) -> String {
        format!("api:{}", self.name)
    }

    pub fn may(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// Why a call was not let in.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No key, an unknown key or a revoked one: the same answer for each.
    #[error("unknown or revoked key")]
    Unauthenticated,
    /// The key used up its calls for this window; retry after this many seconds.
    #[error("rate limit reached")]
    RateLimited { retry_after: i64 },
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Finds the live key `presented` names (by its SHA-256, compared again in constant time),
/// counts the call against its per-minute limit with one conditional upsert, records when it
/// was last used and audits the call as `what`.
pub fn authenticate(
    conn: &mut DbConnection,
    presented: &str,
    calls_per_minute: u32,
    what: &str,
    client_ip: &str,
    now: i64,
) -> Result<Caller, AuthError> {
    let hash = token_hash(presented);
    let row: Option<(String, String, String, String, Option<i64>)> = api_keys::table
        .filter(api_keys::key_hash.eq(&hash))
        .select((
            api_keys::id,
            api_keys::name,
            api_keys::key_hash,
            api_keys::scopes,
            api_keys::revoked_at,
        ))
        .first(conn)
        .optional()?;
    let Some((id, name, stored, scopes, revoked_at)) = row else {
        return Err(AuthError::Unauthenticated);
    };
    if !bool::from(stored.as_bytes().ct_eq(hash.as_bytes())) || revoked_at.is_some() {
        return Err(AuthError::Unauthenticated);
    }
    let bucket = format!("api:key:{id}");
    write_tx(conn, |conn| {
        if !rate_limit::hit(conn, &bucket, calls_per_minute, RATE_WINDOW, now)? {
            let start: Option<i64> = rate_limits::table
                .find(&bucket)
                .select(rate_limits::window_start)
                .first(conn)
                .optional()?;
            let retry_after = start.map_or(RATE_WINDOW, |s| (s + RATE_WINDOW - now).max(1));
            return Err(AuthError::RateLimited { retry_after });
        }
        diesel::update(api_keys::table.find(&id))
            .set(api_keys::last_used_at.eq(now))
            .execute(conn)?;
        let caller = Caller {
            scopes: Scope::parse_list(&scopes).unwrap_or_default(),
            id: id.clone(),
            name: name.clone(),
        };
        audit::record(
            conn,
            &Entry {
                actor: &caller.actor(),
                action: "api.call",
                subject: &format!("api_key:{name}"),
                client_ip,
                details: what,
            },
            now,
        )?;
        Ok(caller)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_name_unknown_ones() {
        assert_eq!(
            Scope::parse_list("requests:read, orders:write,orders:write").unwrap(),
            vec![Scope::OrdersWrite, Scope::RequestsRead]
        );
        assert!(Scope::parse_list("orders:read")
            .unwrap_err()
            .contains("orders:read"));
        assert!(Scope::parse_list("").is_err());
    }

    #[test]
    fn names_and_urls_are_checked() {
        assert!(KeyName::parse("erp-prod").is_ok());
        assert!(KeyName::parse("erp prod").is_err());
        assert!(WebhookUrl::parse("https://erp.example/hooks").is_ok());
        assert!(WebhookUrl::parse("ftp://erp.example").is_err());
        assert!(WebhookUrl::parse("https://user:pw@erp.example").is_err());
    }
}
