use ri_eventstore::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event at position {position} cannot be projected: {reason}")]
    BadEvent { position: i64, reason: String },
    #[error("unknown projection {0:?}; known: {1}")]
    Unknown(String, String),
}
