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
    /// Emails claimed per pass.
    pub batch: i64,
    /// How long a claim keeps other workers away; longer than any send can take.
    pub lease_secs: i64,
    /// Attempts before an email is marked `failed`.
    pub max_attempts: i32,
}

impl Default for SenderOptions {
    fn default() -> Self {
        SenderOptions {
            poll: Duration::from_secs(2),
            batch: 20,
            lease_secs: 300,
            max_attempts: 8,
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    pub sent: usize,
    pub failed: usize,
}

/// One pass: claim due emails, send each, record the result.
pub async fn send_due(
    db: &Db,
    mailer: &Mailer,
    config: &Config,
    clock: &Clock,
    options: &SenderOptions,
) -> Result<PassReport, DbError> {
    let (now, lease, batch) = (clock.now(), options.lease_secs, options.batch);
    let claimed = db
        .run(move |conn| queue::claim_due(conn, now, lease, batch).map_err(DbError::from))
        .await?;
    let mut report = PassReport::default();
    for email in claimed {
        let result = match build_message(config, &email) {
            Ok(message) => mailer.send(message).await,
            Err(e) => Err(format!("cannot build the message: {e}")),
        };
        let now = clock.now();
        match result {
            Ok(()) => {
                db.run(move |conn| queue::mark_sent(conn, &email, now).map_err(DbError::from))
                    .await?;
                report.sent += 1;
            }
            Err(error) => {
                tracing::warn!(email = %email.id, kind = %email.kind, %error, "sending an email failed");
                let max = options.max_attempts;
                let gave_up = db
                    .run(move |conn| {
                        queue::mark_failed(conn, &email, &error, max, now).map_err(DbError::from)
                    })
                    .await?;
                if gave_up {
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
