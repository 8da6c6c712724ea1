//! Marks on the database itself: demo mode marks a database it seeds, and production refuses
//! a marked one (its demo admin's credentials were printed at every demo start).

use super::schema::database_marks;
use super::{write_tx, DbConnection};
use diesel::prelude::*;

/// Set when demo mode starts on a database.
pub const DEMO: &str = "demo";

/// Marks the database as a demo database (once; later calls change nothing).
pub fn mark_demo(conn: &mut DbConnection, now: i64) -> Result<(), diesel::result::Error> {
    write_tx(conn, |conn| {
        if is_demo(conn)? {
            return Ok(());
        }
        diesel::insert_into(database_marks::table)
            .values((
                database_marks::mark.eq(DEMO),
                database_marks::set_at.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Whether demo mode ever ran on this database.
pub fn is_demo(conn: &mut DbConnection) -> Result<bool, diesel::result::Error> {
    let n: i64 = database_marks::table
        .filter(database_marks::mark.eq(DEMO))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// What production says when it finds a demo database.
pub const REFUSAL: &str = "production mode refuses this database: demo mode has run on it, so \
it holds demo data and a demo admin whose password and authenticator secret every demo start \
printed. Start clean: point database_url (or DATABASE_URL) at a new, empty database, start \
seedport in production mode (it applies the migrations), create the real accounts with \
`seedport staff add`, and import the real orders with `seedport import`.";
