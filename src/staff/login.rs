//! Sign-in: password (Argon2id) and a one-time TOTP code, with lockout after repeated failures.
//! Every failure looks the same to the user; the audit log records the real reason.

use super::account::{self, StaffMember};
use super::password;
use super::totp::{self, TotpCode};
use crate::audit::{self, Entry};
use crate::db::schema::staff;
use crate::db::{write_tx, DbConnection};
use crate::vault::{SecretString, Vault};
use diesel::prelude::*;

/// Failures in a row before the account locks.
pub const MAX_FAILURES: i32 = 5;
/// How long a lock lasts, in seconds.
pub const LOCK_SECONDS: i64 = 15 * 60;

/// The one message every failed sign-in shows.
pub const GENERIC_FAILURE: &str =
    "Sign-in failed. Check your email, password and authenticator code and try again. \
     After repeated failures the account is locked for 15 minutes.";

/// What the user typed. `Debug` hides the password and the code.
#[derive(Debug)]
pub struct Credentials {
    pub email: String,
    pub password: SecretString,
    pub code: Option<TotpCode>,
}

/// How a sign-in ended.
#[derive(Debug)]
pub enum Outcome {
    SignedIn(StaffMember),
    Failed,
}

/// Why a sign-in failed, for the audit log only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    UnknownAccount,
    Disabled,
    Locked,
    WrongPassword,
    WrongCode,
    ReplayedCode,
}

impl Failure {
    fn as_str(self) -> &'static str {
        match self {
            Failure::UnknownAccount => "unknown account",
            Failure::Disabled => "account disabled",
            Failure::Locked => "account locked",
            Failure::WrongPassword => "wrong password",
            Failure::WrongCode => "wrong authenticator code",
            Failure::ReplayedCode => "authenticator code already used",
        }
    }

    /// Failures that count towards the lockout.
    fn counts(self) -> bool {
        matches!(
            self,
            Failure::WrongPassword | Failure::WrongCode | Failure::ReplayedCode
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
}

type AccountRow = (String, String, Vec<u8>, String, bool, Option<i64>);

/// Checks the credentials, consumes the TOTP step on success, counts and locks on failure, and
/// writes an audit row either way. Blocking: run it on the blocking pool.
pub fn sign_in(
    conn: &mut DbConnection,
    vault: &Vault,
    creds: &Credentials,
    client_ip: &str,
    now: i64,
) -> Result<Outcome, LoginError> {
    let email = creds.email.trim().to_ascii_lowercase();
    let row: Option<AccountRow> = staff::table
        .filter(staff::email.eq(&email))
        .select((
            staff::id,
            staff::password_hash,
            staff::totp_ct,
            staff::totp_key_id,
            staff::disabled,
            staff::locked_until,
        ))
        .first(conn)
        .optional()?;
    let actor = format!("staff:{}", truncate(&email, 254));
    let Some((id, hash, totp_ct, totp_key_id, disabled, locked_until)) = row else {
        password::verify_dummy(&creds.password);
        fail(conn, &actor, None, Failure::UnknownAccount, client_ip, now)?;
        return Ok(Outcome::Failed);
    };
    let password_ok = password::verify(&creds.password, &hash);
    let failure = if disabled {
        Some(Failure::Disabled)
    } else if locked_until.is_some_and(|t| t > now) {
        Some(Failure::Locked)
    } else if !password_ok {
        Some(Failure::WrongPassword)
    } else {
        check_code(conn, vault, &id, &totp_ct, &totp_key_id, creds.code, now)?
    };
    if let Some(failure) = failure {
        fail(conn, &actor, Some(&id), failure, client_ip, now)?;
        return Ok(Outcome::Failed);
    }
    write_tx(conn, |conn| {
        diesel::update(staff::table.find(&id))
            .set((
                staff::failed_logins.eq(0),
                staff::locked_until.eq(None::<i64>),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            &Entry {
                actor: &actor,
                action: "staff.signed_in",
                subject: &format!("staff:{id}"),
                client_ip,
                details: "",
            },
            now,
        )
    })?;
    match account::by_id(conn, &id)? {
        Some(member) => Ok(Outcome::SignedIn(member)),
        None => Ok(Outcome::Failed),
    }
}

/// Checks a fresh TOTP code for an already signed-in member (approval step-up) and consumes it.
/// Returns whether it was valid and unused.
pub fn confirm_code(
    conn: &mut DbConnection,
    vault: &Vault,
    staff_id: &str,
    code: Option<TotpCode>,
    now: i64,
) -> Result<bool, LoginError> {
    let (totp_ct, key_id): (Vec<u8>, String) = staff::table
        .find(staff_id)
        .select((staff::totp_ct, staff::totp_key_id))
        .first(conn)?;
    Ok(check_code(conn, vault, staff_id, &totp_ct, &key_id, code, now)?.is_none())
}

fn check_code(
    conn: &mut DbConnection,
    vault: &Vault,
    id: &str,
    totp_ct: &[u8],
    key_id: &str,
    code: Option<TotpCode>,
    now: i64,
) -> Result<Option<Failure>, LoginError> {
    let Some(code) = code else {
        return Ok(Some(Failure::WrongCode));
    };
    let secret = account::totp_secret(conn, vault, id, totp_ct, key_id)?;
    let Some(step) = totp::matching_step(secret.expose(), code, now) else {
        return Ok(Some(Failure::WrongCode));
    };
    if !account::consume_totp_step(conn, id, step)? {
        return Ok(Some(Failure::ReplayedCode));
    }
    Ok(None)
}

/// Records a failure; counts it and locks the account at [`MAX_FAILURES`] (each step one
/// conditional UPDATE, so concurrent failures all count).
fn fail(
    conn: &mut DbConnection,
    actor: &str,
    id: Option<&str>,
    failure: Failure,
    client_ip: &str,
    now: i64,
) -> Result<(), diesel::result::Error> {
    write_tx(conn, |conn| {
        let mut locked = false;
        if let (Some(id), true) = (id, failure.counts()) {
            diesel::update(staff::table.find(id))
                .set(staff::failed_logins.eq(staff::failed_logins + 1))
                .execute(conn)?;
            locked = diesel::update(
                staff::table
                    .filter(staff::id.eq(id))
                    .filter(staff::failed_logins.ge(MAX_FAILURES)),
            )
            .set((
                staff::failed_logins.eq(0),
                staff::locked_until.eq(now + LOCK_SECONDS),
            ))
            .execute(conn)?
                == 1;
        }
        let subject = id.map(|i| format!("staff:{i}")).unwrap_or_default();
        audit::record(
            conn,
            &Entry {
                actor,
                action: "staff.sign_in_failed",
                subject: &subject,
                client_ip,
                details: failure.as_str(),
            },
            now,
        )?;
        if locked {
            audit::record(
                conn,
                &Entry {
                    actor,
                    action: "staff.locked",
                    subject: &subject,
                    client_ip,
                    details: &format!("{MAX_FAILURES} failed sign-ins; locked for 15 minutes"),
                },
                now,
            )?;
        }
        Ok(())
    })
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
