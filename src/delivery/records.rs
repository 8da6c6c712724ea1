//! The rows delivery reads: a request and its packages, loaded with one query each.

use crate::db::schema::{packages, requests};
use crate::db::DbConnection;
use crate::lifecycle::{PackageId, RequestId, State};
use diesel::prelude::*;

/// What delivery needs of a request. Holds the download password's Argon2 hash, never a password.
#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = requests)]
pub struct RequestRow {
    pub id: RequestId,
    pub reference: String,
    pub customer_id: String,
    pub requester_email: String,
    pub state: State,
    pub format_id: String,
    pub format_summary: String,
    pub bundling: String,
    pub protection: String,
    pub password_hash: Option<String>,
    pub created_at: i64,
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
}

impl std::fmt::Debug for RequestRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestRow")
            .field("id", &self.id)
            .field("reference", &self.reference)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// A package as delivery sees it (no link hashes, no bytes).
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = packages)]
pub struct PackageRow {
    pub id: PackageId,
    pub request_id: RequestId,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub token_count: i64,
    pub shipment_numbers: String,
    pub state: State,
    pub data_key_id: Option<String>,
    pub downloads: i32,
    pub max_downloads: i32,
    pub wrong_passwords: i32,
    pub released_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub last_download_at: Option<i64>,
    pub confirmed_at: Option<i64>,
    pub destroyed_at: Option<i64>,
    pub email_id: Option<String>,
}

impl PackageRow {
    /// Whether the file's bytes are still stored (not yet destroyed).
    pub fn file_held(&self) -> bool {
        self.destroyed_at.is_none() && self.data_key_id.is_some()
    }
}

pub fn request(conn: &mut DbConnection, id: &RequestId) -> QueryResult<Option<RequestRow>> {
    requests::table
        .find(id)
        .select(RequestRow::as_select())
        .first(conn)
        .optional()
}

pub fn package(conn: &mut DbConnection, id: &PackageId) -> QueryResult<Option<PackageRow>> {
    packages::table
        .find(id)
        .select(PackageRow::as_select())
        .first(conn)
        .optional()
}

pub fn packages_of(
    conn: &mut DbConnection,
    request_id: &RequestId,
) -> QueryResult<Vec<PackageRow>> {
    packages::table
        .filter(packages::request_id.eq(request_id))
        .order(packages::created_at.asc())
        .then_order_by(packages::file_name.asc())
        .then_order_by(packages::id.asc())
        .select(PackageRow::as_select())
        .load(conn)
}
