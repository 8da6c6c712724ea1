//! `GET /staff/audit?page=N`: the audit log, newest first, for admins.

use crate::db::schema::audit_log;
use crate::db::DbError;
use crate::staff::review::history_line;
use crate::web::kit::AdminSession;
use crate::web::{AppError, AppState};
use actix_web::{web, HttpResponse};
use diesel::prelude::*;
use serde::Deserialize;

/// Rows per page.
const PAGE: i64 = 50;

#[derive(Deserialize)]
pub struct AuditQuery {
    page: Option<i64>,
}

pub async fn page(
    state: web::Data<AppState>,
    session: AdminSession,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let page = query.page.unwrap_or(1).clamp(1, 1_000_000);
    let (rows, total) = state
        .db
        .run(move |conn| {
            let total: i64 = audit_log::table.count().get_result(conn)?;
            let rows: Vec<(i64, i64, String, String, String, String, String)> = audit_log::table
                .order(audit_log::seq.desc())
                .offset((page - 1) * PAGE)
                .limit(PAGE)
                .select((
                    audit_log::seq,
                    audit_log::at,
                    audit_log::actor,
                    audit_log::action,
                    audit_log::subject,
                    audit_log::client_ip,
                    audit_log::details,
                ))
                .load(conn)?;
            Ok::<_, DbError>((rows, total))
        })
        .await?;
    let lines: Vec<_> = rows.into_iter().map(history_line).collect();
    let pages = ((total + PAGE - 1) / PAGE).max(1);
    let mut ctx = session.context();
    ctx.insert("rows", &lines);
    ctx.insert("page", &page);
    ctx.insert("pages", &pages);
    ctx.insert("total", &total);
    session.page(&state, "staff/audit.html", ctx).await
}
