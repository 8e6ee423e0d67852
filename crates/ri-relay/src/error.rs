use std::time::Duration;

use async_nats::jetstream::context::{CreateStreamError, PublishError};
use ri_eventstore::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event {event_id}: cannot publish on subject {subject:?}: {reason}")]
    Subject {
        event_id: String,
        subject: String,
        reason: &'static str,
    },
    #[error("event {event_id}: cannot format its time: {source}")]
    Time {
        event_id: String,
        source: time::error::Format,
    },
    #[error("publish of event {event_id} failed: {source}")]
    Publish {
        event_id: String,
        source: PublishError,
    },
    #[error("no acknowledgement for the whole batch within {0:?}")]
    AckTimeout(Duration),
    #[error("create or update stream {stream}: {source}")]
    Stream {
        stream: String,
        source: CreateStreamError,
    },
}
