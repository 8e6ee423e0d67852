//! The relay itself: batch, publish, wait for the acks, move the checkpoint.

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use futures_util::future::try_join_all;
use ri_eventstore::{Checkpoint, EventLog, FollowConfig, Follower, StoredEvent, follow};
use sqlx::postgres::PgConnectOptions;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::message;
use crate::{Deployment, RelayError};

/// The relay's checkpoint (reader) name.
pub const READER: &str = "relay";

/// Namespace of the relay's advisory lock (the other key is `hashtext(reader)`); the
/// projections use "RIPR".
pub const LOCK_NAMESPACE: i32 = 0x5249_524C; // "RIRL"

#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// The JetStream stream (created or updated at start).
    pub stream: String,
    /// Subjects are `<subject_prefix>.<tenant>.<aggregate>.<event>`; the stream takes
    /// `<subject_prefix>.>`.
    pub subject_prefix: String,
    /// The checkpoint's name, also the advisory lock's key.
    pub reader: String,
    /// Events published before the relay waits for their acknowledgements.
    pub batch_size: i64,
    /// How long publishing a batch and receiving all its acknowledgements may take.
    pub ack_timeout: Duration,
    /// JetStream drops a message whose id it has seen within this window; it must be longer
    /// than any outage after which a batch is re-published.
    pub duplicate_window: Duration,
    /// Copies JetStream keeps of the stream: 3 on a NATS cluster in production (an R1
    /// stream stops while the node holding it is down), 1 on a single server.
    pub replicas: usize,
    /// How often to look for events appended by other processes when idle (appends of this
    /// process wake the relay at once): at most this much latency for other processes' events.
    pub idle_poll: Duration,
    /// Upper bound of the back-off after failures (NATS or PostgreSQL down): once NATS is
    /// back, the relay resumes within this (plus a reconnect), so keep it short.
    pub max_backoff: Duration,
    /// How often a process without the lock tries to take it over.
    pub takeover_poll: Duration,
    /// How often the leader checks that its lock connection is alive.
    pub lock_check: Duration,
}

/// The relays' default back-off cap: a retry every 2 s at worst while NATS is down, so events
/// flow again within about 2 s of its return (docs/performance.md).
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The NATS client's pause before reconnect attempt `attempts`: 2^attempts ms, at most `cap`
/// (the client's own default grows to 4 s). Use the relays' back-off cap, so that the service
/// notices a returning NATS as soon as the relays retry.
pub fn reconnect_delay(attempts: usize, cap: Duration) -> Duration {
    let exponent = u32::try_from(attempts).unwrap_or(u32::MAX).min(16);
    Duration::from_millis(2u64.pow(exponent)).min(cap)
}

impl Default for RelayConfig {
    /// The default deployment's: `RI_EVENTS` on `ri.evt.>`.
    fn default() -> Self {
        Self::for_deployment(&Deployment::default())
    }
}

impl RelayConfig {
    /// The defaults, with `deployment`'s stream and subjects.
    pub fn for_deployment(deployment: &Deployment) -> Self {
        Self {
            stream: deployment.event_stream(),
            subject_prefix: deployment.event_subject_prefix(),
            reader: READER.to_owned(),
            batch_size: 500,
            ack_timeout: Duration::from_secs(10),
            duplicate_window: Duration::from_secs(48 * 3600),
            replicas: 1,
            idle_poll: Duration::from_millis(50),
            max_backoff: DEFAULT_MAX_BACKOFF,
            takeover_poll: Duration::from_secs(2),
            lock_check: Duration::from_secs(5),
        }
    }
}

/// A batch read after a checkpoint, not yet published or not yet recorded as published.
#[derive(Debug, Clone)]
pub struct Batch {
    pub from: Checkpoint,
    pub events: Vec<StoredEvent>,
}

impl Batch {
    /// Where the checkpoint goes once the batch is acknowledged.
    pub fn to(&self) -> Option<Checkpoint> {
        self.events.last().map(StoredEvent::checkpoint)
    }
}

#[derive(Debug, Clone)]
pub struct Relay {
    log: EventLog,
    jetstream: jetstream::Context,
    config: RelayConfig,
}

impl Relay {
    /// A relay publishing through `client`. Its JetStream context allows a whole batch of
    /// acknowledgements in flight (the default 5,000 would deadlock a bigger batch).
    pub fn new(log: EventLog, client: async_nats::Client, mut config: RelayConfig) -> Self {
        config.batch_size = config.batch_size.max(1);
        let in_flight = usize::try_from(config.batch_size).unwrap_or(usize::MAX);
        let jetstream = jetstream::ContextBuilder::new()
            .timeout(config.ack_timeout)
            .ack_timeout(config.ack_timeout)
            .max_ack_inflight(in_flight)
            .build(client);
        Self {
            log,
            jetstream,
            config,
        }
    }

    pub fn config(&self) -> &RelayConfig {
        &self.config
    }

    pub fn jetstream(&self) -> &jetstream::Context {
        &self.jetstream
    }

    /// The stream's configuration: every relay subject, file storage, the duplicate window.
    pub fn stream_config(&self) -> stream::Config {
        stream::Config {
            name: self.config.stream.clone(),
            description: Some("Regional Invest domain events, one message per event".to_owned()),
            subjects: vec![format!("{}.>", self.config.subject_prefix)],
            storage: stream::StorageType::File,
            duplicate_window: self.config.duplicate_window,
            num_replicas: self.config.replicas,
            ..Default::default()
        }
    }

    /// Creates the stream, or updates it to [`Relay::stream_config`].
    pub async fn ensure_stream(&self) -> Result<(), RelayError> {
        self.jetstream
            .create_or_update_stream(self.stream_config())
            .await
            .map_err(|source| RelayError::Stream {
                stream: self.config.stream.clone(),
                source,
            })?;
        Ok(())
    }

    /// Publishes the next batch after the checkpoint, waits for every acknowledgement, then
    /// moves the checkpoint. Returns how many events it published (0: nothing visible, or
    /// another relay moved the checkpoint meanwhile; JetStream dropped the copies).
    pub async fn step(&self) -> Result<usize, RelayError> {
        let Some(batch) = self.next_batch().await? else {
            return Ok(0);
        };
        self.publish(&batch).await?;
        Ok(if self.commit(&batch).await? {
            batch.events.len()
        } else {
            0
        })
    }

    /// Publishes batches until no more events are visible; returns how many it published.
    pub async fn catch_up(&self) -> Result<u64, RelayError> {
        Checkpoint::ensure(self.log.pool(), &self.config.reader).await?;
        let mut total = 0;
        loop {
            match self.step().await? {
                0 => return Ok(total),
                n => total += n as u64,
            }
        }
    }

    /// The checkpoint and up to `batch_size` events after it (no transaction held).
    pub async fn next_batch(&self) -> Result<Option<Batch>, RelayError> {
        let pool = self.log.pool();
        let from = Checkpoint::load(pool, &self.config.reader).await?;
        let events = self
            .log
            .reader()
            .read_after(pool, from, self.config.batch_size)
            .await?;
        Ok((!events.is_empty()).then_some(Batch { from, events }))
    }

    /// Publishes the whole batch, then waits for every acknowledgement, all within
    /// `ack_timeout`. Safe to repeat: the message ids are the event ids.
    pub async fn publish(&self, batch: &Batch) -> Result<(), RelayError> {
        let timeout = self.config.ack_timeout;
        let duplicates = tokio::time::timeout(timeout, self.publish_all(batch))
            .await
            .map_err(|_| RelayError::AckTimeout(timeout))??;
        metrics::counter!("ri_relay_published_total").increment(batch.events.len() as u64);
        if duplicates > 0 {
            metrics::counter!("ri_relay_duplicates_total").increment(duplicates);
            tracing::info!(duplicates, "JetStream dropped re-published events");
        }
        Ok(())
    }

    async fn publish_all(&self, batch: &Batch) -> Result<u64, RelayError> {
        let mut acks = Vec::with_capacity(batch.events.len());
        for event in &batch.events {
            let mut out = message::outbound(&self.config.subject_prefix, event)?;
            let event_id = event.event_id.to_string();
            // A child of the request that committed the event; the message carries this span's
            // context on to consumers. Cheap when no OpenTelemetry layer records it.
            let span = tracing::info_span!(
                "relay.publish",
                otel.kind = "producer",
                messaging.system = "nats",
                messaging.destination.name = %out.subject,
                messaging.message.id = %event_id,
            );
            message::trace_publish(&span, &mut out);
            let ack = self
                .jetstream
                .publish_with_headers(out.subject, out.headers, out.payload.into())
                .instrument(span)
                .await
                .map_err(|source| RelayError::Publish {
                    event_id: event_id.clone(),
                    source,
                })?;
            acks.push(async move {
                ack.await
                    .map_err(|source| RelayError::Publish { event_id, source })
            });
        }
        let acks = try_join_all(acks).await?;
        Ok(acks.iter().filter(|a| a.duplicate).count() as u64)
    }

    /// Moves the checkpoint from the batch's start to its last event, by compare-and-set in a
    /// statement of its own. False: another relay had moved it (nothing lost, nothing doubled).
    pub async fn commit(&self, batch: &Batch) -> Result<bool, RelayError> {
        let Some(to) = batch.to() else {
            return Ok(true);
        };
        let pool = self.log.pool();
        let reader = self.config.reader.as_str();
        let mut moved = to.advance(pool, reader, batch.from).await?;
        if !moved && batch.from == Checkpoint::START {
            // A first run may have no checkpoint row yet.
            Checkpoint::ensure(pool, reader).await?;
            moved = to.advance(pool, reader, batch.from).await?;
        }
        if moved {
            metrics::gauge!("ri_relay_position").set(to.position as f64);
        } else {
            tracing::info!("relay checkpoint moved by another process; batch left to it");
        }
        Ok(moved)
    }

    /// Runs until `shutdown`: waits for the relay's advisory lock (held on a connection of its
    /// own, so it is released when this process dies), makes sure of the stream, then follows
    /// the log. Failures (NATS down, an ack timing out) are logged and the same batch is retried
    /// after a back-off; the checkpoint never moves past an unacknowledged event.
    pub async fn run(self, lock_options: PgConnectOptions, shutdown: CancellationToken) {
        let config = FollowConfig {
            idle_poll: self.config.idle_poll,
            takeover_poll: self.config.takeover_poll,
            lock_check: self.config.lock_check,
            max_backoff: self.config.max_backoff,
        };
        follow(&self, &self.log, &lock_options, &config, &shutdown).await;
    }
}

impl Follower for Relay {
    type Error = RelayError;

    fn reader(&self) -> &str {
        &self.config.reader
    }

    fn lock_namespace(&self) -> i32 {
        LOCK_NAMESPACE
    }

    async fn prepare(&self) -> Result<(), RelayError> {
        Checkpoint::ensure(self.log.pool(), &self.config.reader).await?;
        self.ensure_stream().await
    }

    async fn step(&self) -> Result<usize, RelayError> {
        Relay::step(self).await
    }

    fn leading(&self, leading: bool) {
        metrics::gauge!("ri_relay_leader").set(if leading { 1.0 } else { 0.0 });
    }

    fn lag(&self, position: i64, behind: i64) {
        metrics::gauge!("ri_relay_position").set(position as f64);
        metrics::gauge!("ri_relay_lag_events").set(behind as f64);
    }

    fn failed(&self) {
        metrics::counter!("ri_relay_failures_total").increment(1);
    }
}

#[cfg(test)]
mod backoff_tests {
    use super::*;

    #[test]
    fn the_relays_retry_at_least_every_two_seconds_while_nats_is_down() {
        let cap = RelayConfig::default().max_backoff;
        assert_eq!(cap, Duration::from_secs(2));
        assert_eq!(crate::NotificationRelayConfig::default().max_backoff, cap);
        // The pause the relay is in when NATS returns is at most the cap, however long the
        // outage was (the old 30 s cap let it grow to 12.8 s).
        let idle = RelayConfig::default().idle_poll;
        assert!((0..64).all(|f| ri_eventstore::backoff(idle, cap, f) <= cap));
        assert_eq!(ri_eventstore::backoff(idle, cap, 8), cap);
        assert!((0..200).all(|a| reconnect_delay(a, cap) <= cap));
        assert_eq!(reconnect_delay(3, cap), Duration::from_millis(8));
        assert_eq!(reconnect_delay(usize::MAX, cap), cap);
    }
}
