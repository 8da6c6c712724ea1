//! `seedport staff …` and `seedport audit verify`: the command-line side of the delivery team.

use super::account::{self, Enrolment, Role};
use super::totp;
use crate::config::Config;
use crate::db::DbConnection;
use crate::vault::{SecretString, Vault};
use anyhow::{bail, Context};
use std::path::Path;
use std::process::ExitCode;

/// Reads a password from the first line of a file (trailing newline removed).
pub fn read_password_file(path: &Path) -> anyhow::Result<SecretString> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the password file {}", path.display()))?;
    let line = text.lines().next().unwrap_or("").to_string();
    if line.is_empty() {
        bail!("the password file {} is empty", path.display());
    }
    Ok(SecretString::new(line))
}

/// What `staff add` was given.
pub struct AddArgs {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password: Option<SecretString>,
}

/// `staff add`.
pub fn add(
    conn: &mut DbConnection,
    vault: &Vault,
    config: &Config,
    args: AddArgs,
    now: i64,
) -> anyhow::Result<ExitCode> {
    let enrolment = account::create(
        conn,
        vault,
        &args.email,
        &args.name,
        args.role,
        args.password,
        now,
    )?;
    println!(
        "created {} account for {}",
        args.role.as_str(),
        enrolment.email
    );
    print_enrolment(&enrolment, &config.vendor_name);
    Ok(ExitCode::SUCCESS)
}

/// `staff list`.
pub fn list(conn: &mut DbConnection, now: i64) -> anyhow::Result<ExitCode> {
    let members = account::list(conn)?;
    if members.is_empty() {
        println!("no staff accounts; create one with `seedport staff add`");
    }
    for m in members {
        let status = if m.disabled {
            "disabled".to_string()
        } else if m.locked_until.is_some_and(|t| t > now) {
            format!(
                "locked until {}",
                crate::clock::format_utc(m.locked_until.unwrap_or(now))
            )
        } else {
            "active".to_string()
        };
        println!(
            "{:<40} {:<9} {:<30} {status}",
            m.email,
            m.role.as_str(),
            m.name
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `staff disable`.
pub fn disable(conn: &mut DbConnection, email: &str) -> anyhow::Result<ExitCode> {
    account::disable(conn, email)?;
    println!("disabled {email}; its sessions have ended");
    Ok(ExitCode::SUCCESS)
}

/// `staff reset-password`.
pub fn reset_password(
    conn: &mut DbConnection,
    email: &str,
    password: Option<SecretString>,
) -> anyhow::Result<ExitCode> {
    let generated = account::reset_password(conn, email, password)?;
    println!("password reset for {email}; lockout cleared, sessions ended");
    if let Some(p) = generated {
        println!("new password (shown once): {}", p.expose());
    }
    Ok(ExitCode::SUCCESS)
}

/// `staff reset-totp`.
pub fn reset_totp(
    conn: &mut DbConnection,
    vault: &Vault,
    config: &Config,
    email: &str,
    now: i64,
) -> anyhow::Result<ExitCode> {
    let enrolment = account::reset_totp(conn, vault, email, now)?;
    println!(
        "new authenticator secret for {}; sessions ended",
        enrolment.email
    );
    print_enrolment(&enrolment, &config.vendor_name);
    Ok(ExitCode::SUCCESS)
}

fn print_enrolment(e: &Enrolment, issuer: &str) {
    if let Some(p) = &e.password {
        println!("password (shown once): {}", p.expose());
    }
    let secret = e.totp_secret.expose();
    let uri = totp::enrolment_uri(issuer, &e.email, secret);
    println!(
        "authenticator secret (shown once): {}",
        totp::secret_base32(secret)
    );
    println!("enrolment URI: {uri}");
    if let Some(qr) = totp::qr_for_terminal(&uri) {
        println!("scan with an authenticator app:\n{qr}");
    }
}

/// `audit verify`: exit 0 when the chain holds, 1 naming the first broken row otherwise.
pub fn audit_verify(conn: &mut DbConnection) -> anyhow::Result<ExitCode> {
    match crate::audit::verify(conn)? {
        Ok(rows) => {
            println!("audit log intact: {rows} row(s) verified");
            Ok(ExitCode::SUCCESS)
        }
        Err(b) => {
            println!("audit log BROKEN at row {}: {}", b.seq, b.reason);
            Ok(ExitCode::FAILURE)
        }
    }
}
