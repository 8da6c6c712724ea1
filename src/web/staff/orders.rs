//! `GET /staff/orders?q=…`: customers, orders, shipments and deliveries, searchable.

use crate::db::DbError;
use crate::staff::orders;
use crate::web::kit::StaffSession;
use crate::web::{AppError, AppState};
use actix_web::{web, HttpResponse};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct OrdersQuery {
    q: Option<String>,
}

pub async fn page(
    state: web::Data<AppState>,
    session: StaffSession,
    query: web::Query<OrdersQuery>,
) -> Result<HttpResponse, AppError> {
    let q: String = query
        .q
        .clone()
        .unwrap_or_default()
        .chars()
        .take(254)
        .collect();
    let search = q.clone();
    let found = state
        .db
        .run(move |conn| orders::search(conn, &search).map_err(DbError::Query))
        .await?;
    let mut ctx = session.context();
    ctx.insert("q", q.trim());
    ctx.insert("orders", &found);
    session.page(&state, "staff/orders.html", ctx).await
}
