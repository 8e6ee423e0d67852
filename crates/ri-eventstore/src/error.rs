use cqrs_es::AggregateError;
use cqrs_es::persist::PersistenceError;
use ri_domain::{MetadataError, RegistryError};

/// What the event log can refuse or fail with. Inside cqrs-es these travel boxed in
/// [`PersistenceError`]; [`StoreError::find`] gets them back out at the edge.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("event metadata names tenant {metadata:?} but the aggregate belongs to {aggregate:?}")]
    TenantMismatch { aggregate: String, metadata: String },
    #[error("event metadata refused: {0}")]
    Metadata(#[from] MetadataError),
    #[error("event refused: {0}")]
    Registry(#[from] RegistryError),
    #[error("event {0} is malformed: {1}")]
    Malformed(&'static str, String),
    #[error("the aggregate was changed concurrently")]
    Conflict,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl StoreError {
    /// Finds the store's own error inside what cqrs-es returned from a command.
    pub fn find<E: std::error::Error>(err: &AggregateError<E>) -> Option<&StoreError> {
        match err {
            AggregateError::UnexpectedError(e)
            | AggregateError::DeserializationError(e)
            | AggregateError::DatabaseConnectionError(e) => e.downcast_ref::<StoreError>(),
            _ => None,
        }
    }
}

impl From<StoreError> for PersistenceError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict => PersistenceError::OptimisticLockError,
            StoreError::Database(_) => PersistenceError::ConnectionError(Box::new(err)),
            StoreError::Registry(_) | StoreError::Malformed(..) => {
                PersistenceError::DeserializationError(Box::new(err))
            }
            StoreError::TenantMismatch { .. } | StoreError::Metadata(_) => {
                PersistenceError::UnknownError(Box::new(err))
            }
        }
    }
}
