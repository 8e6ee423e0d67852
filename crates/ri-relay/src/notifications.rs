//! The notification relay: publishes each stored notification once to JetStream, on
//! `ri.ntf.<tenant>.<kind>` (kind lower-case: `new_match`, `changed`, `deadline_reminder`), with
//! `Nats-Msg-Id` = the notification id, `ri-recipient` = the user it is for, CloudEvents `ce-*`
//! headers, and the notification as JSON (camelCase) for body.
//!
//! Like the event relay it waits for every acknowledgement before it records a batch as
//! published, and holds no transaction while it talks to NATS; unlike it, it needs no lock:
//! every `serve` process may run one, since a notification published twice is dropped by
//! JetStream (same message id within the duplicate window) and recorded twice harmlessly.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, stream};
use futures_util::future::try_join_all;
use ri_projections::catalogue::ReadError;
use ri_projections::watches::{self, Notification};
use sqlx::PgPool;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio_util::sync::CancellationToken;

/// Header naming the notification's recipient (a user subject).
pub const RECIPIENT: &str = "ri-recipient";

#[derive(Debug, Clone)]
pub struct NotificationRelayConfig {
    pub stream: String,
    /// Subjects are `<subject_prefix>.<tenant>.<kind>`.
    pub subject_prefix: String,
    pub batch_size: i64,
    pub ack_timeout: Duration,
    pub duplicate_window: Duration,
    /// Copies JetStream keeps of the stream: 3 on a NATS cluster in production (an R1
    /// stream stops while the node holding it is down), 1 on a single server.
    pub replicas: usize,
    /// How often to look for new notifications.
    pub poll: Duration,
    /// Upper bound of the back-off after failures (NATS or PostgreSQL down).
    pub max_backoff: Duration,
}

impl Default for NotificationRelayConfig {
    /// The default deployment's: `RI_NOTIFICATIONS` on `ri.ntf.>`.
    fn default() -> Self {
        Self::for_deployment(&crate::Deployment::default())
    }
}

impl NotificationRelayConfig {
    /// The defaults, with `deployment`'s stream and subjects.
    pub fn for_deployment(deployment: &crate::Deployment) -> Self {
        Self {
            stream: deployment.notification_stream(),
            subject_prefix: deployment.notification_subject_prefix(),
            batch_size: 200,
            ack_timeout: Duration::from_secs(10),
            duplicate_window: Duration::from_secs(48 * 3600),
            replicas: 1,
            poll: Duration::from_millis(250),
            max_backoff: crate::relay::DEFAULT_MAX_BACKOFF,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NotificationRelayError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("create or update stream {stream}: {source}")]
    Stream {
        stream: String,
        source: jetstream::context::CreateStreamError,
    },
    #[error("publish of notification {id} failed: {source}")]
    Publish {
        id: String,
        source: jetstream::context::PublishError,
    },
    #[error("no acknowledgement for the whole batch within {0:?}")]
    AckTimeout(Duration),
    #[error("notification {id}: {reason}")]
    Encode { id: String, reason: String },
}

#[derive(Debug, Clone)]
pub struct NotificationRelay {
    db: PgPool,
    jetstream: jetstream::Context,
    config: NotificationRelayConfig,
}

impl NotificationRelay {
    pub fn new(db: PgPool, client: async_nats::Client, config: NotificationRelayConfig) -> Self {
        let in_flight = usize::try_from(config.batch_size.max(1)).unwrap_or(usize::MAX);
        let jetstream = jetstream::ContextBuilder::new()
            .timeout(config.ack_timeout)
            .ack_timeout(config.ack_timeout)
            .max_ack_inflight(in_flight)
            .build(client);
        Self {
            db,
            jetstream,
            config,
        }
    }

    pub fn stream_config(&self) -> stream::Config {
        stream::Config {
            name: self.config.stream.clone(),
            description: Some("Regional Invest notifications, one message per recipient".into()),
            subjects: vec![format!("{}.>", self.config.subject_prefix)],
            storage: stream::StorageType::File,
            duplicate_window: self.config.duplicate_window,
            num_replicas: self.config.replicas,
            ..Default::default()
        }
    }

    pub async fn ensure_stream(&self) -> Result<(), NotificationRelayError> {
        self.jetstream
            .create_or_update_stream(self.stream_config())
            .await
            .map_err(|source| NotificationRelayError::Stream {
                stream: self.config.stream.clone(),
                source,
            })?;
        Ok(())
    }

    /// Publishes the oldest unpublished notifications, waits for every acknowledgement, then
    /// records them as published. Returns how many it published.
    pub async fn step(&self) -> Result<usize, NotificationRelayError> {
        let batch = watches::unpublished_notifications(&self.db, self.config.batch_size).await?;
        if batch.is_empty() {
            return Ok(0);
        }
        let timeout = self.config.ack_timeout;
        tokio::time::timeout(timeout, self.publish_all(&batch))
            .await
            .map_err(|_| NotificationRelayError::AckTimeout(timeout))??;
        watches::mark_notifications_published(&self.db, &batch, OffsetDateTime::now_utc()).await?;
        metrics::counter!("ri_notifications_published_total").increment(batch.len() as u64);
        Ok(batch.len())
    }

    async fn publish_all(&self, batch: &[Notification]) -> Result<(), NotificationRelayError> {
        let mut acks = Vec::with_capacity(batch.len());
        for n in batch {
            let (subject, headers, body) = message(&self.config.subject_prefix, n)?;
            let id = n.id.to_string();
            let ack = self
                .jetstream
                .publish_with_headers(subject, headers, body.into())
                .await
                .map_err(|source| NotificationRelayError::Publish {
                    id: id.clone(),
                    source,
                })?;
            acks.push(async move {
                ack.await
                    .map_err(|source| NotificationRelayError::Publish { id, source })
            });
        }
        try_join_all(acks).await?;
        Ok(())
    }

    /// Publishes until `shutdown`, polling for new notifications; failures (NATS or PostgreSQL
    /// down) are logged and retried after a growing back-off.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut stream_ready = false;
        let mut failures = 0u32;
        loop {
            let result = async {
                if !stream_ready {
                    self.ensure_stream().await?;
                    stream_ready = true;
                }
                self.step().await
            }
            .await;
            let pause = match result {
                Ok(n) if n > 0 => {
                    failures = 0;
                    Duration::ZERO
                }
                Ok(_) => {
                    failures = 0;
                    self.config.poll
                }
                Err(e) => {
                    let pause =
                        ri_eventstore::backoff(self.config.poll, self.config.max_backoff, failures);
                    failures = failures.saturating_add(1);
                    tracing::warn!(error = %e, retry_in = ?pause, "notification relay failed");
                    metrics::counter!("ri_notification_relay_failures_total").increment(1);
                    pause
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
}

/// Subject, headers and body of notification `n`.
pub fn message(
    prefix: &str,
    n: &Notification,
) -> Result<(String, HeaderMap, Vec<u8>), NotificationRelayError> {
    let encode = |reason: String| NotificationRelayError::Encode {
        id: n.id.to_string(),
        reason,
    };
    let kind = n.kind.as_str().to_lowercase();
    let tenant = n.tenant.to_lowercase();
    if tenant.is_empty()
        || tenant
            .chars()
            .any(|c| c == '.' || c == '*' || c == '>' || c.is_whitespace())
    {
        return Err(encode(format!(
            "tenant {tenant:?} cannot be a subject token"
        )));
    }
    let id = n.id.to_string();
    let time = n
        .created_at
        .format(&Rfc3339)
        .map_err(|e| encode(e.to_string()))?;
    let mut headers = HeaderMap::new();
    headers.insert("Nats-Msg-Id", id.as_str());
    headers.insert(
        RECIPIENT,
        n.recipient.replace(|c: char| c.is_control(), " "),
    );
    headers.insert("ce-specversion", "1.0");
    headers.insert("ce-id", id.as_str());
    headers.insert(
        "ce-source",
        format!(
            "{}/{}/notifications",
            crate::message::SOURCE_PREFIX,
            n.tenant
        ),
    );
    headers.insert(
        "ce-type",
        format!("{}.notification.{kind}.v1", crate::message::TYPE_PREFIX),
    );
    headers.insert("ce-time", time);
    headers.insert("content-type", "application/json");
    let body = serde_json::to_vec(n).map_err(|e| encode(e.to_string()))?;
    Ok((format!("{prefix}.{tenant}.{kind}"), headers, body))
}
