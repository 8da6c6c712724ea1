//! Sending: SMTP (STARTTLS, TLS or plain to a loopback relay, optional auth) in production,
//! `.eml` files under `data_dir/mail/` in demo mode; and one pass of the sender worker.

use super::queue::{self, Claimed};
use crate::clock::Clock;
use crate::config::{Config, SmtpSecurity};
use crate::db::{Db, DbError};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// Where email goes.
#[derive(Clone)]
pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

impl Mailer {
    /// SMTP when configured; otherwise `.eml` files in demo mode. Production without SMTP is an
    /// error (the production guard refuses to start before this is reached).
    pub fn from_config(config: &Config) -> anyhow::Result<Mailer> {
        let Some(smtp) = &config.smtp else {
            if !config.is_demo() {
                anyhow::bail!("production needs SMTP settings to send email");
            }
            let dir = config.mail_dir();
            std::fs::create_dir_all(&dir)?;
            return Ok(Mailer::Files(AsyncFileTransport::new(dir)));
        };
        let builder = match smtp.security {
            SmtpSecurity::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)?
            }
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)?,
            SmtpSecurity::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
            }
        };
        let mut builder = builder
            .port(smtp.port)
            .timeout(Some(Duration::from_secs(30)));
        if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Mailer::Smtp(builder.build()))
    }

    /// Connects, says EHLO and (when configured) starts TLS, then quits; sends nothing.
    pub async fn check_connection(&self) -> Result<(), String> {
        match self {
            Mailer::Smtp(t) => match t.test_connection().await {
                Ok(true) => Ok(()),
                Ok(false) => Err("the relay did not answer EHLO".into()),
                Err(e) => Err(e.to_string()),
            },
            Mailer::Files(_) => Ok(()),
        }
    }

    async fn send(&self, message: Message) -> Result<(), String> {
        match self {
            Mailer::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
            Mailer::Files(t) => t.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
        }
    }
}

fn part(content_type: ContentType, body: &str) -> SinglePart {
    // Base64 keeps long lines and non-ASCII safe on any relay, and is simple to read back.
    let body = Body::new_with_encoding(body.to_string(), ContentTransferEncoding::Base64)
        .unwrap_or_else(Body::new);
    SinglePart::builder().header(content_type).body(body)
}

/// The MIME message for a claimed email: `From` and `Reply-To` from the configuration, a
/// text and an HTML alternative, and a Message-ID made from the outbox row id.
pub fn build_message(config: &Config, email: &Claimed) -> anyhow::Result<Message> {
    let from: Mailbox = config.mail_from.parse()?;
    let reply_to: Mailbox = config.delivery_email.parse()?;
    let domain = from.email.domain().to_string();
    Ok(Message::builder()
        .from(from)
        .reply_to(reply_to)
        .to(email.to_addr.parse()?)
        .subject(email.subject.clone())
        .message_id(Some(format!("<{}@{domain}>", email.id)))
        .multipart(
            MultiPart::alternative()
                .singlepart(part(ContentType::TEXT_PLAIN, &email.body_text))
                .singlepart(part(ContentType::TEXT_HTML, &email.body_html)),
        )?)
}

/// How the sender worker behaves.
#[derive(Debug, Clone)]
pub struct SenderOptions {
    /// Pause between passes when nothing was due.
    pub poll: Duration,
    /// Emails sent per pass at most (each claimed on its own, one at a time).
    pub batch: i64,
    /// How long one claim keeps other senders away unless renewed; the heartbeat renews it
    /// every third of it while the relay is being talked to.
    pub lease_secs: i64,
    /// Attempts before an email is marked `failed`.
    pub max_attempts: i32,
    /// Delay before the first retry of a failed email (doubling after each further failure).
    pub first_backoff_secs: i64,
    /// Pause between tries of recording "sent" when the database is away after the relay
    /// accepted the message.
    pub record_retry: Duration,
}

impl Default for SenderOptions {
    fn default() -> Self {
        SenderOptions {
            poll: Duration::from_secs(2),
            batch: 20,
            lease_secs: 60,
            max_attempts: 8,
            first_backoff_secs: queue::FIRST_BACKOFF_SECS,
            record_retry: Duration::from_millis(250),
        }
    }
}

impl SenderOptions {
    /// The defaults with the lease and first retry delay from the configuration.
    pub fn from_config(config: &Config) -> SenderOptions {
        SenderOptions {
            lease_secs: i64::from(config.mail_lease_seconds),
            first_backoff_secs: i64::from(config.mail_retry_seconds),
            ..SenderOptions::default()
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    pub sent: usize,
    pub failed: usize,
}

/// One running sender: its claim owner id and a stop signal (checked between emails).
#[derive(Clone)]
pub struct Sender {
    pub owner: String,
    stop: tokio::sync::watch::Receiver<bool>,
}

impl Sender {
    pub fn new(stop: tokio::sync::watch::Receiver<bool>) -> Sender {
        Sender {
            owner: format!(
                "sender-{}-{}",
                std::process::id(),
                uuid::Uuid::new_v4().simple()
            ),
            stop,
        }
    }

    pub fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// A receiver that wakes when the sender is asked to stop.
    pub fn stop_signal(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stop.clone()
    }
}

/// Gives back the claims `owner` holds (see [`queue::release`]).
pub fn release_claims(conn: &mut crate::db::DbConnection, owner: &str) -> Result<usize, DbError> {
    queue::release(conn, owner).map_err(DbError::from)
}

/// How sending one claimed email ended.
enum Outcome {
    Accepted,
    Refused(String),
    /// The claim was lost mid-send (another sender owns it now): the send was abandoned.
    Lost,
}

/// Sends one message while renewing its claim every third of the lease (the heartbeat runs
/// beside the send, so a slow renewal never stalls the relay). When a renewal finds the claim
/// gone, the send is dropped before the relay can accept it.
async fn send_with_heartbeat(
    db: &Db,
    mailer: &Mailer,
    clock: &Clock,
    sender: &Sender,
    options: &SenderOptions,
    id: &str,
    message: Message,
) -> Outcome {
    tokio::select! {
        result = mailer.send(message) => match result {
            Ok(()) => Outcome::Accepted,
            Err(e) => Outcome::Refused(e),
        },
        () = heartbeat(db, clock, sender, options, id) => Outcome::Lost,
    }
}

/// Renews the claim on `id` every third of the lease; returns only when the claim is lost.
async fn heartbeat(db: &Db, clock: &Clock, sender: &Sender, options: &SenderOptions, id: &str) {
    let every = Duration::from_millis((options.lease_secs.max(3) as u64) * 1000 / 3);
    loop {
        tokio::time::sleep(every).await;
        let (id, owner, now, lease) = (
            id.to_string(),
            sender.owner.clone(),
            clock.now(),
            options.lease_secs,
        );
        let renewed = db
            .run(move |conn| queue::renew(conn, &id, &owner, now, lease).map_err(DbError::from))
            .await;
        match renewed {
            Ok(true) => {}
            Ok(false) => return,
            // The database is away: nobody can take the claim over meanwhile.
            Err(e) => tracing::warn!(error = %e, "renewing an email claim failed"),
        }
    }
}

/// Records "sent" until it sticks: the relay has the message, so sending it again is the one
/// thing that must not happen. Gives up only when stopping and the database stays away.
async fn record_sent(
    db: &Db,
    clock: &Clock,
    sender: &Sender,
    options: &SenderOptions,
    email: &Claimed,
) {
    let mut tries = 0u32;
    loop {
        let (e, now) = (email.clone(), clock.now());
        match db
            .run(move |conn| queue::mark_sent(conn, &e, now).map_err(DbError::from))
            .await
        {
            Ok(_) => {
                if tries > 0 {
                    tracing::info!(email = %email.id, tries, "recorded a sent email once the database was back");
                }
                return;
            }
            Err(err) => {
                tries += 1;
                if tries == 1 || tries.is_multiple_of(40) {
                    tracing::warn!(email = %email.id, error = %err, "the relay accepted an email but recording it failed; retrying");
                }
                // The database away or busy is waited out; a query that keeps failing for
                // another reason would stop all mail, so it is given up on (loudly).
                let away = match &err {
                    DbError::Unavailable(_) => true,
                    DbError::Query(q) => crate::db::is_transient(q),
                };
                if tries > 20 && (sender.stopping() || !away) {
                    tracing::error!(email = %email.id, error = %err, "a sent email could not be recorded; it may be sent again");
                    return;
                }
                tokio::time::sleep(options.record_retry).await;
            }
        }
    }
}

/// One pass: claim one due email at a time, send it with a heartbeat, record the result; stop
/// between emails when the sender is asked to.
pub async fn send_due(
    db: &Db,
    mailer: &Mailer,
    config: &Config,
    clock: &Clock,
    sender: &Sender,
    options: &SenderOptions,
) -> Result<PassReport, DbError> {
    let mut report = PassReport::default();
    for _ in 0..options.batch.max(1) {
        if sender.stopping() {
            break;
        }
        let (owner, now, lease) = (sender.owner.clone(), clock.now(), options.lease_secs);
        let claimed = db
            .run(move |conn| queue::claim_next(conn, &owner, now, lease).map_err(DbError::from))
            .await?;
        let Some(email) = claimed else { break };
        let outcome = match build_message(config, &email) {
            Ok(message) => {
                send_with_heartbeat(db, mailer, clock, sender, options, &email.id, message).await
            }
            Err(e) => Outcome::Refused(format!("cannot build the message: {e}")),
        };
        match outcome {
            Outcome::Accepted => {
                record_sent(db, clock, sender, options, &email).await;
                report.sent += 1;
            }
            Outcome::Lost => {
                tracing::warn!(email = %email.id, "another sender took this email over; not sending it");
            }
            Outcome::Refused(error) => {
                tracing::warn!(email = %email.id, kind = %email.kind, %error, "sending an email failed");
                let (owner, now) = (sender.owner.clone(), clock.now());
                let limits = (options.max_attempts, options.first_backoff_secs);
                let max = options.max_attempts;
                let failure = db
                    .run(move |conn| {
                        queue::mark_failed(conn, &email, &owner, &error, limits, now)
                            .map_err(DbError::from)
                    })
                    .await?;
                if failure == queue::Failure::GaveUp {
                    tracing::error!(
                        "an email could not be sent after {max} attempts; it is listed as failed"
                    );
                }
                report.failed += 1;
            }
        }
    }
    Ok(report)
}
