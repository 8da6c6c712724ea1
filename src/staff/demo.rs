//! The demo reviewer: created once in demo mode, its credentials kept in a demo-only file under
//! the data folder so every start can print them again. Never used outside demo mode.

use super::account::{self, AccountError, Role};
use super::totp;
use crate::db::schema::staff;
use crate::db::DbConnection;
use crate::vault::Vault;
use diesel::prelude::*;
use std::path::{Path, PathBuf};

pub const DEMO_STAFF_EMAIL: &str = "reviewer@seedport.example";
const FILE_NAME: &str = "demo-staff-credentials.txt";

fn file(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

/// Creates the demo reviewer (admin role) when it does not exist yet; returns whether it did.
pub fn ensure(
    conn: &mut DbConnection,
    vault: &Vault,
    data_dir: &Path,
    issuer: &str,
    now: i64,
) -> anyhow::Result<bool> {
    let exists: i64 = staff::table
        .filter(staff::email.eq(DEMO_STAFF_EMAIL))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        return Ok(false);
    }
    let enrolment = match account::create(
        conn,
        vault,
        DEMO_STAFF_EMAIL,
        "Demo Reviewer",
        Role::Admin,
        None,
        now,
    ) {
        Ok(e) => e,
        Err(AccountError::Exists(_)) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    let password = enrolment
        .password
        .as_ref()
        .map(|p| p.expose().to_string())
        .unwrap_or_default();
    let secret = enrolment.totp_secret.expose();
    let text = format!(
        "DEMO ONLY: staff sign-in at /staff/login\n  email:       {DEMO_STAFF_EMAIL}\n  password:    {password}\n  TOTP secret: {}\n  TOTP URI:    {}\n  (code now:   oathtool --totp -b {})\n",
        totp::secret_base32(secret),
        totp::enrolment_uri(issuer, DEMO_STAFF_EMAIL, secret),
        totp::secret_base32(secret),
    );
    std::fs::create_dir_all(data_dir)?;
    write_private(&file(data_dir), &text)?;
    Ok(true)
}

/// The demo credentials to print at start, if this data folder has them.
pub fn credentials(data_dir: &Path) -> Option<String> {
    std::fs::read_to_string(file(data_dir)).ok()
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}
