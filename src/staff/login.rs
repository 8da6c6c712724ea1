//! Sign-in and step-up: password (Argon2id) and a one-time TOTP code, with a per-IP throttle
//! and an account lockout after repeated failures. Every failure looks the same to the user; the
//! audit log records the real reason.
//!
//! A sign-in runs in three phases so no pool connection is held while Argon2 runs:
//! [`begin`] (throttle, find the account, reserve one attempt), [`password::verify_bounded`]
//! (no connection, a bounded number at once), then [`finish`] (code, outcome, audit).

use super::account::{self, StaffMember};
use super::password;
use super::totp::{self, TotpCode};
use crate::audit::{self, Entry};
use crate::db::schema::{staff, staff_sessions};
use crate::db::{write_tx, DbConnection};
use crate::request::rate_limit;
use crate::vault::{SecretString, Vault};
use diesel::prelude::*;

/// Failures in a row (sign-in and step-up together) before the account locks.
pub const MAX_FAILURES: i32 = 5;
/// How long a lock lasts, in seconds.
pub const LOCK_SECONDS: i64 = 15 * 60;
/// Sign-in attempts one client IP may make per [`IP_WINDOW`] seconds.
pub const ATTEMPTS_PER_IP: u32 = 20;
/// The per-IP window, in seconds.
pub const IP_WINDOW: i64 = 15 * 60;
/// How much of a typed email the audit log keeps for an unknown account.
pub const MAX_AUDIT_EMAIL_CHARS: usize = 64;

/// The one message every failed sign-in shows.
pub const GENERIC_FAILURE: &str =
    "Sign-in failed. Check your email, password and authenticator code and try again. \
     After repeated failures the account is locked for 15 minutes.";

/// What the throttled client is told.
pub const THROTTLED: &str =
    "Too many sign-in attempts from your network. Wait 15 minutes, then try again.";

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
    /// The client IP made too many attempts; nothing was checked.
    Throttled,
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
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
}

/// A sign-in between [`begin`] and [`finish`]: who it is for and what was reserved.
/// `Debug` shows no hash.
pub struct Attempt {
    actor: String,
    target: Target,
}

enum Target {
    Throttled,
    Unknown,
    Refused {
        id: String,
        failure: Failure,
    },
    /// One failure is already counted against the account; success gives it back.
    Reserved {
        id: String,
        hash: String,
        totp_ct: Vec<u8>,
        totp_key_id: String,
    },
}

impl std::fmt::Debug for Attempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attempt")
            .field("actor", &self.actor)
            .finish_non_exhaustive()
    }
}

impl Attempt {
    /// Whether the password must be checked at all (a throttled attempt checks nothing).
    pub fn needs_hash(&self) -> bool {
        !matches!(self.target, Target::Throttled)
    }

    /// The stored hash to verify against; `None` means the dummy (same cost, always false).
    pub fn stored_hash(&self) -> Option<String> {
        match &self.target {
            Target::Reserved { hash, .. } => Some(hash.clone()),
            _ => None,
        }
    }
}

type AccountRow = (String, String, Vec<u8>, String, bool, Option<i64>);

/// How the audit log names whoever typed `email`: a known account by its address, anything
/// else cut short and stripped of control characters (the attacker chose that text).
fn actor_for(email: &str, known: bool) -> String {
    if known {
        return format!("staff:{email}");
    }
    let clean: String = email
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_AUDIT_EMAIL_CHARS)
        .collect();
    format!("staff:{clean}")
}

/// Phase 1: the per-IP throttle, the account, and one reserved attempt (a conditional UPDATE
/// that counts the failure before the hash is checked, so a burst cannot get more than
/// [`MAX_FAILURES`] guesses evaluated).
pub fn begin(
    conn: &mut DbConnection,
    email: &str,
    client_ip: &str,
    now: i64,
) -> Result<Attempt, LoginError> {
    let email = email.trim().to_ascii_lowercase();
    if !rate_limit::hit(
        conn,
        &format!("staff-login:ip:{client_ip}"),
        ATTEMPTS_PER_IP,
        IP_WINDOW,
        now,
    )? {
        // One audit row per IP and window, however long the flood.
        let first = rate_limit::hit(
            conn,
            &format!("staff-login-refused:ip:{client_ip}"),
            1,
            IP_WINDOW,
            now,
        )?;
        if first {
            write_tx(conn, |conn| {
                audit::record(
                    conn,
                    &Entry {
                        actor: &actor_for(&email, false),
                        action: "staff.sign_in_throttled",
                        subject: "",
                        client_ip,
                        details: &format!(
                            "more than {ATTEMPTS_PER_IP} sign-in attempts in {} minutes; \
                         further attempts from this address are refused unchecked",
                            IP_WINDOW / 60
                        ),
                    },
                    now,
                )
            })?;
        }
        return Ok(Attempt {
            actor: actor_for(&email, false),
            target: Target::Throttled,
        });
    }
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
    let Some((id, hash, totp_ct, totp_key_id, disabled, _)) = row else {
        return Ok(Attempt {
            actor: actor_for(&email, false),
            target: Target::Unknown,
        });
    };
    let actor = actor_for(&email, true);
    if disabled {
        return Ok(Attempt {
            actor,
            target: Target::Refused {
                id,
                failure: Failure::Disabled,
            },
        });
    }
    if !reserve(conn, &id, now)? {
        return Ok(Attempt {
            actor,
            target: Target::Refused {
                id,
                failure: Failure::Locked,
            },
        });
    }
    Ok(Attempt {
        actor,
        target: Target::Reserved {
            id,
            hash,
            totp_ct,
            totp_key_id,
        },
    })
}

/// Phase 3: with the password's verdict, checks the code, records the outcome and audits it.
pub fn finish(
    conn: &mut DbConnection,
    vault: &Vault,
    attempt: &Attempt,
    password_ok: bool,
    code: Option<TotpCode>,
    client_ip: &str,
    now: i64,
) -> Result<Outcome, LoginError> {
    let actor = attempt.actor.as_str();
    let (id, failure) = match &attempt.target {
        Target::Throttled => return Ok(Outcome::Throttled),
        Target::Unknown => (None, Some(Failure::UnknownAccount)),
        Target::Refused { id, failure } => (Some(id.as_str()), Some(*failure)),
        Target::Reserved {
            id,
            totp_ct,
            totp_key_id,
            ..
        } => {
            let failure = if password_ok {
                check_code(conn, vault, id, totp_ct, totp_key_id, code, now)?
            } else {
                Some(Failure::WrongPassword)
            };
            (Some(id.as_str()), failure)
        }
    };
    if let Some(failure) = failure {
        fail(
            conn,
            actor,
            id,
            failure,
            "staff.sign_in_failed",
            client_ip,
            now,
        )?;
        return Ok(Outcome::Failed);
    }
    let Some(id) = id else {
        return Ok(Outcome::Failed);
    };
    write_tx(conn, |conn| {
        succeed(conn, id)?;
        audit::record(
            conn,
            &Entry {
                actor,
                action: "staff.signed_in",
                subject: &format!("staff:{id}"),
                client_ip,
                details: "",
            },
            now,
        )
    })?;
    match account::by_id(conn, id)? {
        Some(member) => Ok(Outcome::SignedIn(member)),
        None => Ok(Outcome::Failed),
    }
}

/// The whole sign-in on one connection (CLI and tests; the web handler uses the phases so the
/// hash runs with no connection held).
pub fn sign_in(
    conn: &mut DbConnection,
    vault: &Vault,
    creds: &Credentials,
    client_ip: &str,
    now: i64,
) -> Result<Outcome, LoginError> {
    let attempt = begin(conn, &creds.email, client_ip, now)?;
    let password_ok = match attempt.stored_hash() {
        Some(hash) => password::verify(&creds.password, &hash),
        None => password::verify_dummy(&creds.password),
    };
    finish(
        conn,
        vault,
        &attempt,
        password_ok,
        creds.code,
        client_ip,
        now,
    )
}

/// Checks a fresh TOTP code for an already signed-in member (approval step-up) and consumes it.
/// Failures count with sign-in failures: the fifth locks the account and ends its sessions.
/// Each failure is audited. Returns whether the code was valid and unused.
pub fn confirm_code(
    conn: &mut DbConnection,
    vault: &Vault,
    staff_id: &str,
    code: Option<TotpCode>,
    client_ip: &str,
    now: i64,
) -> Result<bool, LoginError> {
    let (email, totp_ct, key_id): (String, Vec<u8>, String) = staff::table
        .find(staff_id)
        .select((staff::email, staff::totp_ct, staff::totp_key_id))
        .first(conn)?;
    let actor = actor_for(&email, true);
    let action = "staff.step_up_failed";
    if !reserve(conn, staff_id, now)? {
        fail(
            conn,
            &actor,
            Some(staff_id),
            Failure::Locked,
            action,
            client_ip,
            now,
        )?;
        return Ok(false);
    }
    match check_code(conn, vault, staff_id, &totp_ct, &key_id, code, now)? {
        None => {
            succeed(conn, staff_id)?;
            Ok(true)
        }
        Some(failure) => {
            fail(
                conn,
                &actor,
                Some(staff_id),
                failure,
                action,
                client_ip,
                now,
            )?;
            Ok(false)
        }
    }
}

/// Counts one failure in advance: one conditional UPDATE that refuses a disabled or locked
/// account and one that already has [`MAX_FAILURES`] attempts counted.
fn reserve(conn: &mut DbConnection, id: &str, now: i64) -> Result<bool, diesel::result::Error> {
    let changed = diesel::update(
        staff::table
            .filter(staff::id.eq(id))
            .filter(staff::disabled.eq(false))
            .filter(staff::failed_logins.lt(MAX_FAILURES))
            .filter(
                staff::locked_until
                    .is_null()
                    .or(staff::locked_until.le(now)),
            ),
    )
    .set(staff::failed_logins.eq(staff::failed_logins + 1))
    .execute(conn)?;
    Ok(changed == 1)
}

/// A success gives the reserved attempt back and clears the count.
fn succeed(conn: &mut DbConnection, id: &str) -> Result<(), diesel::result::Error> {
    diesel::update(staff::table.find(id))
        .set((
            staff::failed_logins.eq(0),
            staff::locked_until.eq(None::<i64>),
        ))
        .execute(conn)?;
    Ok(())
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

/// Locks the account when [`MAX_FAILURES`] attempts are counted (one conditional UPDATE, so
/// only one caller wins), ends its sessions and audits the lock. Call it inside a transaction.
fn lock_if_due(
    conn: &mut DbConnection,
    actor: &str,
    id: &str,
    client_ip: &str,
    now: i64,
) -> Result<bool, diesel::result::Error> {
    {
        let locked = diesel::update(
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
        if locked {
            diesel::delete(staff_sessions::table.filter(staff_sessions::staff_id.eq(id)))
                .execute(conn)?;
            audit::record(
                conn,
                &Entry {
                    actor,
                    action: "staff.locked",
                    subject: &format!("staff:{id}"),
                    client_ip,
                    details: &format!(
                        "{MAX_FAILURES} failed sign-ins or step-up codes; locked for 15 minutes, \
                         sessions ended"
                    ),
                },
                now,
            )?;
        }
        Ok(locked)
    }
}

/// Audits a failure (already counted by [`reserve`]) and locks the account when it was the
/// last one allowed.
fn fail(
    conn: &mut DbConnection,
    actor: &str,
    id: Option<&str>,
    failure: Failure,
    action: &str,
    client_ip: &str,
    now: i64,
) -> Result<(), diesel::result::Error> {
    let subject = id.map(|i| format!("staff:{i}")).unwrap_or_default();
    write_tx(conn, |conn| {
        audit::record(
            conn,
            &Entry {
                actor,
                action,
                subject: &subject,
                client_ip,
                details: failure.as_str(),
            },
            now,
        )?;
        if let Some(id) = id {
            lock_if_due(conn, actor, id, client_ip, now)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_emails_are_cut_and_cleaned_for_the_audit_log() {
        let long = format!("a\u{1b}[31m\n{}", "x".repeat(10_000));
        let actor = actor_for(&long, false);
        assert!(actor.chars().count() <= MAX_AUDIT_EMAIL_CHARS + 6);
        assert!(!actor.chars().any(char::is_control));
        assert_eq!(actor_for("ann@x.example", true), "staff:ann@x.example");
    }
}
