//! `seedport api-key create | list | revoke`: the command-line side of API keys.

use super::{KeyName, Scope, WebhookUrl};
use crate::clock::format_utc;
use crate::db::DbConnection;
use crate::vault::Vault;
use std::process::ExitCode;

/// `api-key create`: prints the key (and webhook secret) once.
pub fn create(
    conn: &mut DbConnection,
    vault: &Vault,
    name: &str,
    scopes: &str,
    webhook_url: Option<&str>,
    now: i64,
) -> anyhow::Result<ExitCode> {
    let name = KeyName::parse(name).map_err(anyhow::Error::msg)?;
    let scopes = Scope::parse_list(scopes).map_err(anyhow::Error::msg)?;
    let webhook = webhook_url
        .map(WebhookUrl::parse)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let created = super::create(conn, vault, &name, &scopes, webhook.as_ref(), now)?;
    println!(
        "created API key {} with scopes {}",
        name.as_str(),
        scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",")
    );
    println!("key (shown once; store it in your system's secret store):");
    println!("{}", created.key.expose());
    if let (Some(secret), Some(url)) = (&created.webhook_secret, &webhook) {
        println!("webhooks go to {}", url.as_str());
        println!("webhook signing secret (shown once):");
        println!("{}", secret.expose());
    }
    Ok(ExitCode::SUCCESS)
}

/// `api-key list`: name, scopes, webhook, created, last used, revoked; never the key.
pub fn list(conn: &mut DbConnection) -> anyhow::Result<ExitCode> {
    let keys = super::list(conn)?;
    if keys.is_empty() {
        println!("no API keys yet: seedport api-key create --name NAME --scope orders:write,requests:read");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<24} {:<28} {:<18} {:<18} {:<18} webhook",
        "name", "scopes", "created", "last used", "revoked"
    );
    for k in keys {
        println!(
            "{:<24} {:<28} {:<18} {:<18} {:<18} {}",
            k.name,
            k.scopes,
            format_utc(k.created_at),
            k.last_used_at.map_or("never".into(), format_utc),
            k.revoked_at.map_or("-".into(), format_utc),
            k.webhook_url.as_deref().unwrap_or("-"),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `api-key revoke NAME`.
pub fn revoke(conn: &mut DbConnection, name: &str, now: i64) -> anyhow::Result<ExitCode> {
    super::revoke(conn, name, now)?;
    println!("revoked API key {name}; calls with it now get 401");
    Ok(ExitCode::SUCCESS)
}
