//! Webhooks: a request's lifecycle events as outbox rows (kind `webhook`, one per key with a
//! webhook URL) written in the transition's own transaction, and the sender that POSTs each one
//! signed (`Seedport-Signature: sha256=HMAC(secret, "timestamp.body")`) with the outbox's
//! claims and retries, so none is lost or sent twice.

use super::webhook_aad;
use crate::clock::Clock;
use crate::db::schema::{api_keys, orders, outbox, requests};
use crate::db::{Db, DbConnection, DbError};
use crate::lifecycle::{RequestId, State};
use crate::mail::queue::{self, Channel, WEBHOOK_KIND};
use crate::vault::Vault;
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

/// The events a key's webhook receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookEvent {
    Submitted,
    Approved,
    Downloaded,
    Confirmed,
    Expired,
}

impl WebhookEvent {
    /// The event a request entering `state` announces, if any.
    pub fn on_entering(state: State) -> Option<WebhookEvent> {
        Some(match state {
            State::PendingReview => WebhookEvent::Submitted,
            State::Approved => WebhookEvent::Approved,
            State::Downloaded => WebhookEvent::Downloaded,
            State::Confirmed => WebhookEvent::Confirmed,
            State::Expired => WebhookEvent::Expired,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::Submitted => "request.submitted",
            WebhookEvent::Approved => "request.approved",
            WebhookEvent::Downloaded => "request.downloaded",
            WebhookEvent::Confirmed => "request.confirmed",
            WebhookEvent::Expired => "request.expired",
        }
    }
}

/// Queues `event` about a request for every live key with a webhook URL. Call it inside the
/// transaction of the transition. Returns how many were queued.
pub fn enqueue(
    conn: &mut DbConnection,
    request_id: &RequestId,
    event: WebhookEvent,
    now: i64,
) -> QueryResult<usize> {
    let targets: Vec<(String, Option<String>)> = api_keys::table
        .filter(api_keys::revoked_at.is_null())
        .filter(api_keys::webhook_url.is_not_null())
        .select((api_keys::id, api_keys::webhook_url))
        .load(conn)?;
    if targets.is_empty() {
        return Ok(0);
    }
    let targets_len = targets.len();
    let (reference, state, po, invoice): (String, State, String, String) = requests::table
        .inner_join(orders::table)
        .filter(requests::id.eq(request_id))
        .select((
            requests::reference,
            requests::state,
            orders::po_number,
            orders::invoice_number,
        ))
        .first(conn)?;
    for (key_id, url) in targets {
        let id = uuid::Uuid::new_v4().to_string();
        let body = serde_json::json!({
            "id": id,
            "event": event.as_str(),
            "occurred_at": now,
            "request": {
                "reference": reference,
                "state": state.as_str(),
                "po": po,
                "invoice": invoice,
            },
        })
        .to_string();
        diesel::insert_into(outbox::table)
            .values((
                outbox::id.eq(&id),
                outbox::kind.eq(WEBHOOK_KIND),
                outbox::to_addr.eq(url.unwrap_or_default()),
                outbox::subject.eq(event.as_str()),
                outbox::body_text.eq(&body),
                outbox::body_html.eq(""),
                outbox::carries_links.eq(false),
                outbox::request_id.eq(request_id.as_str()),
                outbox::api_key_id.eq(&key_id),
                outbox::state.eq("pending"),
                outbox::attempts.eq(0),
                outbox::next_attempt_at.eq(now),
                outbox::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(targets_len)
}

/// `sha256=<hex HMAC-SHA256(secret, "timestamp.body")>`, the `Seedport-Signature` value.
pub fn signature(secret: &[u8], timestamp: i64, body: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        // HMAC takes a key of any length; this arm never runs.
        Err(_) => return String::new(),
    };
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// How the webhook sender behaves.
#[derive(Debug, Clone)]
pub struct WebhookOptions {
    pub poll: Duration,
    pub lease_secs: i64,
    pub max_attempts: i32,
    pub first_backoff_secs: i64,
    /// How long one POST may take; well inside the lease.
    pub timeout: Duration,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        WebhookOptions {
            poll: Duration::from_secs(2),
            lease_secs: 60,
            max_attempts: 8,
            first_backoff_secs: 30,
            timeout: Duration::from_secs(10),
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookReport {
    pub sent: usize,
    pub failed: usize,
}

/// A key's webhook columns: id, URL, sealed secret, its data key, revoked at.
type WebhookRow = (
    String,
    Option<String>,
    Option<Vec<u8>>,
    Option<String>,
    Option<i64>,
);

/// The URL and signing secret of a claimed delivery's key.
fn target(
    conn: &mut DbConnection,
    vault: &Vault,
    outbox_id: &str,
) -> Result<Result<(String, Vec<u8>), String>, DbError> {
    let row: Option<WebhookRow> = outbox::table
        .inner_join(api_keys::table.on(outbox::api_key_id.eq(api_keys::id.nullable())))
        .filter(outbox::id.eq(outbox_id))
        .select((
            api_keys::id,
            api_keys::webhook_url,
            api_keys::webhook_secret_ct,
            api_keys::webhook_key_id,
            api_keys::revoked_at,
        ))
        .first(conn)
        .optional()?;
    let Some((key_id, Some(url), Some(sealed), Some(data_key_id), revoked)) = row else {
        return Ok(Err("the key has no webhook any more".into()));
    };
    if revoked.is_some() {
        return Ok(Err("the key was revoked".into()));
    }
    let secret = vault
        .data_key(conn, &data_key_id)
        .map_err(|e| e.to_string())
        .and_then(|k| {
            k.open(&sealed, &webhook_aad(&key_id))
                .map_err(|_| "the webhook secret cannot be opened".to_string())
        });
    Ok(secret.map(|s| (url, s.expose().to_vec())))
}

/// One pass: claims due webhook rows one at a time, POSTs each signed, records sent (2xx) or
/// a failed attempt with back-off.
pub async fn deliver_due(
    db: &Db,
    vault: &Vault,
    clock: &Clock,
    http: &reqwest::Client,
    owner: &str,
    options: &WebhookOptions,
) -> Result<WebhookReport, DbError> {
    let mut report = WebhookReport::default();
    for _ in 0..20 {
        let (who, now, lease) = (owner.to_string(), clock.now(), options.lease_secs);
        let claimed = db
            .run(move |conn| {
                queue::claim_next_on(conn, Channel::Webhook, &who, now, lease)
                    .map_err(DbError::from)
            })
            .await?;
        let Some(row) = claimed else { break };
        let (v, id) = (vault.clone(), row.id.clone());
        let target = db.run(move |conn| target(conn, &v, &id)).await?;
        let timestamp = clock.now();
        let outcome = match target {
            Err(e) => Err(e),
            Ok((url, secret)) => {
                let sent = http
                    .post(&url)
                    .timeout(options.timeout)
                    .header("Content-Type", "application/json")
                    .header("Seedport-Event", row.subject.as_str())
                    .header("Seedport-Delivery", row.id.as_str())
                    .header("Seedport-Timestamp", timestamp.to_string())
                    .header(
                        "Seedport-Signature",
                        signature(&secret, timestamp, &row.body_text),
                    )
                    .body(row.body_text.clone())
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() => Ok(()),
                    Ok(r) => Err(format!("the receiver answered {}", r.status())),
                    Err(e) => Err(format!("cannot reach the receiver: {e}")),
                }
            }
        };
        let now = clock.now();
        match outcome {
            Ok(()) => {
                db.run(move |conn| queue::mark_sent(conn, &row, now).map_err(DbError::from))
                    .await?;
                report.sent += 1;
            }
            Err(error) => {
                tracing::warn!(delivery = %row.id, %error, "a webhook delivery failed");
                let (who, limits) = (
                    owner.to_string(),
                    (options.max_attempts, options.first_backoff_secs),
                );
                db.run(move |conn| {
                    queue::mark_failed(conn, &row, &who, &error, limits, now).map_err(DbError::from)
                })
                .await?;
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

/// Runs the webhook sender until the returned handle is aborted.
pub fn start(db: Db, vault: Vault, clock: Clock) -> tokio::task::JoinHandle<()> {
    let owner = format!(
        "webhooks-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    );
    let options = WebhookOptions::default();
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        loop {
            match deliver_due(&db, &vault, &clock, &http, &owner, &options).await {
                Ok(r) if r.sent + r.failed > 0 => continue,
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "the webhook sender could not reach the database")
                }
            }
            tokio::time::sleep(options.poll).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Expected value from Python: hmac.new(b"key", b"1.{}", hashlib.sha256).hexdigest()
        assert_eq!(
            signature(b"key", 1, "{}"),
            "sha256=1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224"
        );
    }
}
