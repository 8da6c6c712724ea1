//! Customers as the admin edits them: registered business emails and the optional company
//! domain, each change applied in one transaction with its audit row.

use crate::audit::{self, Entry};
use crate::db::schema::{customer_emails, customers};
use crate::db::{write_tx, DbConnection};
use crate::domain::{BusinessEmail, EmailDomain};
use diesel::prelude::*;
use serde::Serialize;

/// Most registered addresses one customer may have.
pub const MAX_EMAILS: usize = 50;

/// One customer on the page.
#[derive(Debug, Serialize)]
pub struct CustomerView {
    pub id: String,
    pub name: String,
    pub domain: Option<String>,
    pub emails: Vec<String>,
}

/// Every customer, by name, with their addresses.
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<CustomerView>> {
    let rows: Vec<(String, String, Option<String>)> = customers::table
        .order((customers::name.asc(), customers::id.asc()))
        .select((customers::id, customers::name, customers::email_domain))
        .limit(500)
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, name, domain) in rows {
        let emails = customer_emails::table
            .filter(customer_emails::customer_id.eq(&id))
            .order(customer_emails::email.asc())
            .select(customer_emails::email)
            .load(conn)?;
        out.push(CustomerView {
            id,
            name,
            domain,
            emails,
        });
    }
    Ok(out)
}

/// A parsed edit: the full new list of addresses and the domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerEdit {
    pub emails: Vec<BusinessEmail>,
    pub domain: Option<EmailDomain>,
}

impl CustomerEdit {
    /// One address per line (or separated by commas); an empty domain means none. Every
    /// problem is named.
    pub fn parse(emails: &str, domain: &str) -> Result<CustomerEdit, String> {
        let mut parsed: Vec<BusinessEmail> = Vec::new();
        for raw in emails
            .split(['\n', ','])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let email = BusinessEmail::parse(raw).map_err(|e| format!("“{raw}”: {e}"))?;
            if !parsed.contains(&email) {
                parsed.push(email);
            }
        }
        if parsed.len() > MAX_EMAILS {
            return Err(format!("At most {MAX_EMAILS} addresses per customer."));
        }
        let domain = match domain.trim() {
            "" => None,
            d => Some(EmailDomain::parse(d).map_err(|e| format!("The domain “{d}”: {e}"))?),
        };
        if parsed.is_empty() && domain.is_none() {
            return Err("Give at least one registered email or a domain, or the customer cannot request anything.".into());
        }
        Ok(CustomerEdit {
            emails: parsed,
            domain,
        })
    }
}

/// Why an edit was not saved.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("No such customer.")]
    NotFound,
    #[error("{0}")]
    Invalid(String),
    /// An address registered to another customer.
    #[error("{0} is already registered to another customer.")]
    Taken(String),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Replaces a customer's addresses and domain, audited with what changed. False when nothing
/// changed.
pub fn save(
    conn: &mut DbConnection,
    customer_id: &str,
    edit: &CustomerEdit,
    actor: &str,
    client_ip: &str,
    now: i64,
) -> Result<bool, EditError> {
    write_tx(conn, |conn| {
        apply(conn, customer_id, edit, actor, client_ip, now)
    })
}

/// How [`put`] found the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    Created,
    Updated,
    Unchanged,
}

/// Creates the customer named `name` with `edit`, or replaces an existing one's addresses and
/// domain (the order API's "create or update"), all in one transaction. Returns its id.
pub fn put(
    conn: &mut DbConnection,
    name: &str,
    edit: &CustomerEdit,
    actor: &str,
    client_ip: &str,
    now: i64,
) -> Result<(String, Put), EditError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(EditError::Invalid(
            "The customer name must be 1 to 200 characters.".into(),
        ));
    }
    write_tx(conn, |conn| {
        let existing: Option<String> = customers::table
            .filter(customers::name.eq(name))
            .order(customers::created_at.asc())
            .select(customers::id)
            .first(conn)
            .optional()?;
        let (id, created) = match existing {
            Some(id) => (id, false),
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                diesel::insert_into(customers::table)
                    .values((
                        customers::id.eq(&id),
                        customers::name.eq(name),
                        customers::created_at.eq(now),
                    ))
                    .execute(conn)?;
                (id, true)
            }
        };
        let changed = apply(conn, &id, edit, actor, client_ip, now)?;
        let put = match (created, changed) {
            (true, _) => Put::Created,
            (false, true) => Put::Updated,
            (false, false) => Put::Unchanged,
        };
        Ok((id, put))
    })
}

/// One customer with its addresses, by id.
pub fn view(conn: &mut DbConnection, customer_id: &str) -> QueryResult<CustomerView> {
    let (id, name, domain): (String, String, Option<String>) = customers::table
        .find(customer_id)
        .select((customers::id, customers::name, customers::email_domain))
        .first(conn)?;
    let emails = customer_emails::table
        .filter(customer_emails::customer_id.eq(&id))
        .order(customer_emails::email.asc())
        .select(customer_emails::email)
        .load(conn)?;
    Ok(CustomerView {
        id,
        name,
        domain,
        emails,
    })
}

/// The edit itself, inside the caller's transaction.
fn apply(
    conn: &mut DbConnection,
    customer_id: &str,
    edit: &CustomerEdit,
    actor: &str,
    client_ip: &str,
    now: i64,
) -> Result<bool, EditError> {
    {
        let (name, old_domain): (String, Option<String>) = customers::table
            .find(customer_id)
            .select((customers::name, customers::email_domain))
            .first(conn)
            .optional()?
            .ok_or(EditError::NotFound)?;
        let old: Vec<String> = customer_emails::table
            .filter(customer_emails::customer_id.eq(customer_id))
            .select(customer_emails::email)
            .load(conn)?;
        let new: Vec<String> = edit.emails.iter().map(|e| e.as_str().to_string()).collect();
        let added: Vec<&String> = new.iter().filter(|e| !old.contains(e)).collect();
        let removed: Vec<&String> = old.iter().filter(|e| !new.contains(e)).collect();
        let new_domain = edit.domain.as_ref().map(|d| d.as_str().to_string());
        if added.is_empty() && removed.is_empty() && new_domain == old_domain {
            return Ok(false);
        }
        for email in &added {
            let owner: Option<String> = customer_emails::table
                .find(email.as_str())
                .select(customer_emails::customer_id)
                .first(conn)
                .optional()?;
            if owner.is_some_and(|o| o != customer_id) {
                return Err(EditError::Taken(email.to_string()));
            }
        }
        diesel::delete(
            customer_emails::table
                .filter(customer_emails::customer_id.eq(customer_id))
                .filter(customer_emails::email.eq_any(&removed)),
        )
        .execute(conn)?;
        for email in &added {
            diesel::insert_into(customer_emails::table)
                .values((
                    customer_emails::email.eq(email.as_str()),
                    customer_emails::customer_id.eq(customer_id),
                ))
                .execute(conn)?;
        }
        diesel::update(customers::table.find(customer_id))
            .set(customers::email_domain.eq(&new_domain))
            .execute(conn)?;
        let list = |v: &[&String]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            }
        };
        audit::record(
            conn,
            &Entry {
                actor,
                action: "customer.updated",
                subject: &format!("customer:{name}"),
                client_ip,
                details: &format!(
                    "emails added: {}; removed: {}; domain: {} → {}",
                    list(&added),
                    list(&removed),
                    old_domain.as_deref().unwrap_or("none"),
                    new_domain.as_deref().unwrap_or("none")
                ),
            },
            now,
        )?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_are_parsed_with_named_problems() {
        let e = CustomerEdit::parse("A@acme.example\n b@acme.example, a@acme.example", "").unwrap();
        assert_eq!(e.emails.len(), 2);
        assert!(CustomerEdit::parse("not an email", "")
            .unwrap_err()
            .contains("not an email"));
        assert!(CustomerEdit::parse("", "").is_err());
        assert!(CustomerEdit::parse("", "acme.example")
            .unwrap()
            .domain
            .is_some());
    }
}
