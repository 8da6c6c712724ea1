//! `GET /api/v1/requests/{reference}` (state, files and history) and `GET /api/v1/requests`
//! (listed by state and time). No answer carries a seed, a link or a password hash.

use super::auth::authorize;
use super::problem::{ApiError, Problem};
use crate::api_keys::Scope;
use crate::lifecycle::report::{self, HistoryEntry, PackageSummary, RequestSummary};
use crate::lifecycle::State;
use crate::web::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A lifecycle state.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StateName {
    PendingReview,
    Approved,
    Emailed,
    Downloaded,
    Confirmed,
    Rejected,
    Cancelled,
    Expired,
    Locked,
    FailedDelivery,
}

impl From<State> for StateName {
    fn from(s: State) -> StateName {
        match s {
            State::PendingReview => StateName::PendingReview,
            State::Approved => StateName::Approved,
            State::Emailed => StateName::Emailed,
            State::Downloaded => StateName::Downloaded,
            State::Confirmed => StateName::Confirmed,
            State::Rejected => StateName::Rejected,
            State::Cancelled => StateName::Cancelled,
            State::Expired => StateName::Expired,
            State::Locked => StateName::Locked,
            State::FailedDelivery => StateName::FailedDelivery,
        }
    }
}

impl From<StateName> for State {
    fn from(s: StateName) -> State {
        match s {
            StateName::PendingReview => State::PendingReview,
            StateName::Approved => State::Approved,
            StateName::Emailed => State::Emailed,
            StateName::Downloaded => State::Downloaded,
            StateName::Confirmed => State::Confirmed,
            StateName::Rejected => State::Rejected,
            StateName::Cancelled => State::Cancelled,
            StateName::Expired => State::Expired,
            StateName::Locked => State::Locked,
            StateName::FailedDelivery => State::FailedDelivery,
        }
    }
}

/// A request in a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestOut {
    #[schema(example = "SP-7K3M-9Q2X")]
    pub reference: String,
    pub state: StateName,
    pub customer: String,
    pub po: String,
    pub invoice: String,
    pub requester_email: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds of the approval or rejection.
    pub decided_at: Option<i64>,
}

impl From<RequestSummary> for RequestOut {
    fn from(s: RequestSummary) -> RequestOut {
        RequestOut {
            reference: s.reference,
            state: s.state.into(),
            customer: s.customer,
            po: s.po,
            invoice: s.invoice,
            requester_email: s.requester_email,
            created_at: s.created_at,
            decided_at: s.decided_at,
        }
    }
}

/// One file of a request.
#[derive(Debug, Serialize, ToSchema)]
pub struct PackageOut {
    pub file_name: String,
    pub state: StateName,
    pub size: i64,
    /// SHA-256 of the file as delivered, hex.
    pub sha256: String,
    pub token_count: i64,
    /// The shipments the file covers, comma-separated.
    pub shipments: String,
    pub downloads: i32,
    /// Unix seconds when its links expire.
    pub expires_at: Option<i64>,
}

impl From<PackageSummary> for PackageOut {
    fn from(p: PackageSummary) -> PackageOut {
        PackageOut {
            file_name: p.file_name,
            state: p.state.into(),
            size: p.size,
            sha256: p.sha256,
            token_count: p.token_count,
            shipments: p.shipment_numbers,
            downloads: p.downloads,
            expires_at: p.expires_at,
        }
    }
}

/// One step of a request's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryOut {
    /// Unix seconds.
    pub at: i64,
    /// `staff:<email>`, the customer's email, `system` or `api:<key name>`.
    pub actor: String,
    #[schema(example = "request.approved")]
    pub action: String,
    pub details: String,
}

impl From<HistoryEntry> for HistoryOut {
    fn from(h: HistoryEntry) -> HistoryOut {
        HistoryOut {
            at: h.at,
            actor: h.actor,
            action: h.action,
            details: h.details,
        }
    }
}

/// A request with its files and history.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestDetail {
    #[serde(flatten)]
    pub request: RequestOut,
    pub packages: Vec<PackageOut>,
    pub history: Vec<HistoryOut>,
}

/// A page of requests, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestList {
    pub requests: Vec<RequestOut>,
}

/// Filters of the request listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only requests in this state.
    pub state: Option<StateName>,
    /// Only requests created at or after this time (Unix seconds).
    #[param(minimum = 0)]
    pub since: Option<i64>,
    /// Only requests created before this time (Unix seconds).
    #[param(minimum = 0)]
    pub until: Option<i64>,
    /// At most this many (1 to 500, default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// Read a request's state, files and history
#[utoipa::path(
    get,
    path = "/api/v1/requests/{reference}",
    tag = "requests",
    params(("reference" = String, Path, description = "The request reference, e.g. SP-7K3M-9Q2X")),
    responses(
        (status = 200, description = "The request", body = RequestDetail),
        (status = 401, description = "No live key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks requests:read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["requests:read"]))
)]
pub async fn get_request(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state, Scope::RequestsRead).await?;
    let reference = path.into_inner();
    let wanted = reference.clone();
    let found = state
        .db
        .run(move |conn| report::report(conn, &wanted).map_err(ApiError::from))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("No request has the reference {reference}.")))?;
    Ok(HttpResponse::Ok().json(RequestDetail {
        request: found.summary.into(),
        packages: found.packages.into_iter().map(Into::into).collect(),
        history: found.history.into_iter().map(Into::into).collect(),
    }))
}

/// List requests by state and time
#[utoipa::path(
    get,
    path = "/api/v1/requests",
    tag = "requests",
    params(ListQuery),
    responses(
        (status = 200, description = "Matching requests, newest first", body = RequestList),
        (status = 401, description = "No live key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks requests:read", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A filter cannot be read", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["requests:read"]))
)]
pub async fn list_requests(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state, Scope::RequestsRead).await?;
    let q = query.into_inner();
    let limit = q.limit.unwrap_or(100);
    if !(1..=report::MAX_LIST).contains(&limit) {
        return Err(ApiError::Invalid(
            Some("limit".into()),
            format!("limit must be 1 to {}", report::MAX_LIST),
        ));
    }
    let found = state
        .db
        .run(move |conn| {
            report::list(conn, q.state.map(Into::into), q.since, q.until, limit)
                .map_err(ApiError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(RequestList {
        requests: found.into_iter().map(Into::into).collect(),
    }))
}
