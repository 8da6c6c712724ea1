//! `GET /staff/orders?q=…`: customers, orders, shipments and deliveries, searchable.

use super::{page_context, signed_in, StaffError};
use crate::db::DbError;
use crate::staff::orders;
use crate::web::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct OrdersQuery {
    q: Option<String>,
}

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<OrdersQuery>,
) -> Result<HttpResponse, StaffError> {
    let session = signed_in(&req, &state).await?;
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
    let mut ctx = page_context(&session);
    ctx.insert("q", q.trim());
    ctx.insert("orders", &found);
    Ok(state.render("staff/orders.html", ctx)?)
}
