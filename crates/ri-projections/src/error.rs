use ri_eventstore::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event at position {position} cannot be projected: {reason}")]
    BadEvent { position: i64, reason: String },
    #[error("applying events panicked: {0}")]
    Panicked(String),
    /// The in-memory search index refused a batch (it is rebuilt from a fresh snapshot).
    #[error("search index: {0}")]
    Index(String),
    #[error("unknown projection {0:?}; known: {1}")]
    Unknown(String, String),
}

impl ProjectionError {
    /// A failure of the event at `position`: `what` says which value of it cannot be projected.
    pub(crate) fn bad(position: i64, what: impl Into<String>) -> Self {
        ProjectionError::BadEvent {
            position,
            reason: what.into(),
        }
    }

    /// Whether this failure is about the environment, not the events being applied: the same
    /// batch must be retried later, never skipped. See [`crate::failures`] for the argument.
    pub fn is_transient(&self) -> bool {
        match self {
            ProjectionError::Store(StoreError::Database(e)) | ProjectionError::Database(e) => {
                crate::failures::sqlx_is_transient(e)
            }
            ProjectionError::Store(_)
            | ProjectionError::BadEvent { .. }
            | ProjectionError::Panicked(_)
            | ProjectionError::Index(_)
            | ProjectionError::Unknown(..) => false,
        }
    }
}
