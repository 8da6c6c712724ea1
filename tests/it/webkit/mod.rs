//! The web layer's kit and the polish of issue #13 as a customer and a reviewer meet them: a
//! double press of "Download" spends one download, every staff page counts requests per state,
//! "PGP armored, no zip" through the whole portal, and the guides linked from the emails.

mod armored;
mod double_press;
mod emails;
mod nav_counts;

use crate::lifecycle::{submit, Console};
use crate::support::smtp::free_port;
use crate::support::{Backend, TestApp};
use diesel::prelude::*;
use seedport::db::schema::{outbox, packages};
use seedport::lifecycle::RequestId;
use seedport::staff::Role;

/// An app whose mail is never sent (nothing listens on its SMTP port): emails stay in the
/// outbox with their links.
pub async fn quiet_app(backend: Backend) -> TestApp {
    crate::lifecycle::app(backend, free_port()).await
}

/// A password-protected Entra CSV request made through the wizard and approved through the
/// console; returns it and the path of its download link, read from the queued email.
pub async fn approved(app: &TestApp) -> (RequestId, String) {
    let console = Console::sign_in(app, "rev@vendor.example", Role::Reviewer).await;
    let id = submit(app, "one").await;
    let (status, _) = console.approve(app, &id).await;
    assert_eq!(status, reqwest::StatusCode::SEE_OTHER);
    let mut conn = app.db.get().unwrap();
    let bodies: Vec<String> = outbox::table
        .filter(outbox::request_id.eq(id.to_string()))
        .filter(outbox::kind.eq("download_ready"))
        .select(outbox::body_text)
        .load(&mut conn)
        .unwrap();
    let prefix = format!("{}/d/", app.base_url);
    let link = bodies
        .iter()
        .find_map(|t| {
            let start = t.find(&prefix)?;
            t[start..].split_whitespace().next().map(str::to_string)
        })
        .expect("a download link in the queued email");
    (id, link)
}

/// The package's downloads counter, as the database has it.
pub fn downloads_of(app: &TestApp, id: &RequestId) -> i32 {
    let mut conn = app.db.get().unwrap();
    packages::table
        .filter(packages::request_id.eq(id.to_string()))
        .select(packages::downloads)
        .first(&mut conn)
        .unwrap()
}
