//! Staff accounts: create, list, disable, reset password or TOTP. The TOTP secret is stored
//! sealed under its own data key, bound to the account row.

use super::{password, totp};
use crate::db::schema::{staff, staff_sessions};
use crate::db::{write_tx, DbConnection};
use crate::domain::BusinessEmail;
use crate::vault::{SecretBytes, SecretString, Vault, VaultError};
use diesel::prelude::*;

/// What a staff member may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reviews, approves and rejects requests; reads orders.
    Reviewer,
    /// Everything a reviewer does, plus import and the audit log.
    Admin,
}

impl Role {
    pub fn parse(raw: &str) -> Option<Role> {
        match raw {
            "reviewer" => Some(Role::Reviewer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reviewer => "reviewer",
            Role::Admin => "admin",
        }
    }
}

/// A staff member as the rest of the code sees them (no hashes, no secrets).
#[derive(Debug, Clone, serde::Serialize)]
pub struct StaffMember {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub locked_until: Option<i64>,
}

impl StaffMember {
    /// How the audit log names this person.
    pub fn actor(&self) -> String {
        format!("staff:{}", self.email)
    }
}

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Invalid(String),
    #[error("there is already a staff account for {0}")]
    Exists(String),
    #[error("there is no staff account for {0}")]
    Unknown(String),
    #[error(transparent)]
    Password(#[from] password::PasswordError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// What `staff add` and `reset-totp` show once: never stored in clear, never logged.
pub struct Enrolment {
    pub email: String,
    pub password: Option<SecretString>,
    pub totp_secret: SecretBytes,
}

/// Associated data binding a sealed TOTP secret to its account.
pub fn totp_aad(staff_id: &str) -> Vec<u8> {
    format!("seedport:staff-totp:{staff_id}").into_bytes()
}

type Row = (String, String, String, String, bool, Option<i64>);

fn member((id, email, name, role, disabled, locked_until): Row) -> StaffMember {
    StaffMember {
        id,
        email,
        name,
        role: Role::parse(&role).unwrap_or(Role::Reviewer),
        disabled,
        locked_until,
    }
}

fn columns() -> (
    staff::id,
    staff::email,
    staff::name,
    staff::role,
    staff::disabled,
    staff::locked_until,
) {
    (
        staff::id,
        staff::email,
        staff::name,
        staff::role,
        staff::disabled,
        staff::locked_until,
    )
}

/// Creates an account with `password` (or a generated one) and a fresh TOTP secret.
pub fn create(
    conn: &mut DbConnection,
    vault: &Vault,
    email: &str,
    name: &str,
    role: Role,
    password: Option<SecretString>,
    now: i64,
) -> Result<Enrolment, AccountError> {
    let email = BusinessEmail::parse(email).map_err(AccountError::Invalid)?;
    let name = name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(AccountError::Invalid(
            "the name must be 1 to 200 characters".into(),
        ));
    }
    let generated = password.is_none();
    let password = password.unwrap_or_else(password::generate);
    let hash = password::hash(&password)?;
    let secret = totp::generate_secret();
    let id = uuid::Uuid::new_v4().to_string();
    write_tx(conn, |conn| {
        let exists: i64 = staff::table
            .filter(staff::email.eq(email.as_str()))
            .count()
            .get_result(conn)?;
        if exists > 0 {
            return Err(AccountError::Exists(email.to_string()));
        }
        let key = vault.new_data_key(conn, "staff-totp", now)?;
        diesel::insert_into(staff::table)
            .values((
                staff::id.eq(&id),
                staff::email.eq(email.as_str()),
                staff::name.eq(name),
                staff::role.eq(role.as_str()),
                staff::password_hash.eq(&hash),
                staff::totp_ct.eq(key.seal(secret.expose(), &totp_aad(&id))),
                staff::totp_key_id.eq(&key.id),
                staff::created_at.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    })?;
    Ok(Enrolment {
        email: email.to_string(),
        password: generated.then_some(password),
        totp_secret: secret,
    })
}

/// Every account, by email.
pub fn list(conn: &mut DbConnection) -> Result<Vec<StaffMember>, diesel::result::Error> {
    let rows: Vec<Row> = staff::table
        .order(staff::email.asc())
        .select(columns())
        .load(conn)?;
    Ok(rows.into_iter().map(member).collect())
}

/// One account by id.
pub fn by_id(
    conn: &mut DbConnection,
    id: &str,
) -> Result<Option<StaffMember>, diesel::result::Error> {
    let row: Option<Row> = staff::table
        .find(id)
        .select(columns())
        .first(conn)
        .optional()?;
    Ok(row.map(member))
}

fn id_for(conn: &mut DbConnection, email: &str) -> Result<String, AccountError> {
    let wanted = email.trim().to_ascii_lowercase();
    staff::table
        .filter(staff::email.eq(&wanted))
        .select(staff::id)
        .first::<String>(conn)
        .optional()?
        .ok_or(AccountError::Unknown(wanted))
}

/// Disables an account and ends its sessions.
pub fn disable(conn: &mut DbConnection, email: &str) -> Result<(), AccountError> {
    write_tx(conn, |conn| {
        let id = id_for(conn, email)?;
        diesel::update(staff::table.find(&id))
            .set(staff::disabled.eq(true))
            .execute(conn)?;
        diesel::delete(staff_sessions::table.filter(staff_sessions::staff_id.eq(&id)))
            .execute(conn)?;
        Ok(())
    })
}

/// Sets a new password (given or generated), clears any lockout and ends the sessions.
pub fn reset_password(
    conn: &mut DbConnection,
    email: &str,
    password: Option<SecretString>,
) -> Result<Option<SecretString>, AccountError> {
    let generated = password.is_none();
    let password = password.unwrap_or_else(password::generate);
    let hash = password::hash(&password)?;
    write_tx(conn, |conn| {
        let id = id_for(conn, email)?;
        diesel::update(staff::table.find(&id))
            .set((
                staff::password_hash.eq(&hash),
                staff::failed_logins.eq(0),
                staff::locked_until.eq(None::<i64>),
            ))
            .execute(conn)?;
        diesel::delete(staff_sessions::table.filter(staff_sessions::staff_id.eq(&id)))
            .execute(conn)?;
        Ok::<_, AccountError>(())
    })?;
    Ok(generated.then_some(password))
}

/// Replaces the TOTP secret (new data key; the old one is shredded) and ends the sessions.
pub fn reset_totp(
    conn: &mut DbConnection,
    vault: &Vault,
    email: &str,
    now: i64,
) -> Result<Enrolment, AccountError> {
    let secret = totp::generate_secret();
    let email = write_tx(conn, |conn| {
        let id = id_for(conn, email)?;
        let (email, old_key): (String, String) = staff::table
            .find(&id)
            .select((staff::email, staff::totp_key_id))
            .first(conn)?;
        let key = vault.new_data_key(conn, "staff-totp", now)?;
        diesel::update(staff::table.find(&id))
            .set((
                staff::totp_ct.eq(key.seal(secret.expose(), &totp_aad(&id))),
                staff::totp_key_id.eq(&key.id),
                staff::last_totp_step.eq(0i64),
            ))
            .execute(conn)?;
        Vault::destroy_data_key(conn, &old_key)?;
        diesel::delete(staff_sessions::table.filter(staff_sessions::staff_id.eq(&id)))
            .execute(conn)?;
        Ok::<_, AccountError>(email)
    })?;
    Ok(Enrolment {
        email,
        password: None,
        totp_secret: secret,
    })
}

/// Opens an account's TOTP secret.
pub fn totp_secret(
    conn: &mut DbConnection,
    vault: &Vault,
    staff_id: &str,
    sealed: &[u8],
    key_id: &str,
) -> Result<SecretBytes, VaultError> {
    let key = vault.data_key(conn, key_id)?;
    Ok(key.open(sealed, &totp_aad(staff_id))?)
}

/// Marks a TOTP step as used: one conditional UPDATE, so a code works once even when two
/// requests race. Returns whether this call consumed it.
pub fn consume_totp_step(
    conn: &mut DbConnection,
    staff_id: &str,
    step: i64,
) -> Result<bool, diesel::result::Error> {
    let changed = diesel::update(
        staff::table
            .filter(staff::id.eq(staff_id))
            .filter(staff::last_totp_step.lt(step)),
    )
    .set(staff::last_totp_step.eq(step))
    .execute(conn)?;
    Ok(changed == 1)
}
