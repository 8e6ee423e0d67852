//! The one mapping of failures to the API contract's closed set of codes. Whatever fails below
//! the application (the log, a read, the pool, the network) is classified here, once: a failure
//! about availability is [`Code::Unavailable`] (the client should try again after
//! [`RETRY_AFTER_SECONDS`]), anything else unexpected is [`Code::Internal`], logged here and
//! never described to the client.

use std::error::Error as StdError;

use cqrs_es::AggregateError;
use ri_eventstore::StoreError;

/// How long a client is asked to wait (`Retry-After`, seconds) after UNAVAILABLE.
pub const RETRY_AFTER_SECONDS: u64 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Unauthenticated,
    Forbidden,
    NotFound,
    BadUserInput,
    Conflict,
    RateLimited,
    Unavailable,
    Internal,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::Forbidden => "FORBIDDEN",
            Code::NotFound => "NOT_FOUND",
            Code::BadUserInput => "BAD_USER_INPUT",
            Code::Conflict => "CONFLICT",
            Code::RateLimited => "RATE_LIMITED",
            Code::Unavailable => "UNAVAILABLE",
            Code::Internal => "INTERNAL",
        }
    }
}

/// A failure as the application reports it: a code, a message fit for the caller, and the
/// input field at fault when there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct AppError {
    pub code: Code,
    pub message: String,
    pub field: Option<String>,
}

impl AppError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self {
            code: Code::BadUserInput,
            message: message.into(),
            field: Some(field.to_owned()),
        }
    }

    pub fn forbidden(why: impl Into<String>) -> Self {
        Self::new(Code::Forbidden, why)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(Code::NotFound, format!("no such {what}"))
    }

    pub fn conflict() -> Self {
        Self::new(
            Code::Conflict,
            "changed meanwhile: reload and apply your change to the current version",
        )
    }

    /// Logs the cause and reports only that something went wrong.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(Code::Internal, "internal error")
    }

    /// Logs the cause and asks the client to try again later.
    pub fn unavailable(cause: &dyn std::fmt::Display) -> Self {
        tracing::warn!(error = %cause, "a dependency is unavailable");
        Self::new(
            Code::Unavailable,
            "the service cannot reach its database right now; try again",
        )
    }

    /// UNAVAILABLE when `cause` (or anything it was caused by) is about availability,
    /// INTERNAL otherwise.
    pub fn unexpected(cause: &(dyn StdError + 'static)) -> Self {
        if let Some(bad) = unstorable_text(cause) {
            bad
        } else if is_unavailability(cause) {
            Self::unavailable(&Chain(cause))
        } else {
            Self::internal(&Chain(cause))
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::unexpected(&e)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => AppError::conflict(),
            StoreError::TenantMismatch { .. } => AppError::forbidden("not your tenant's"),
            other => AppError::unexpected(&other),
        }
    }
}

/// PostgreSQL refused a character of a text the caller sent (a NUL: `22021` in `text`,
/// `22P05` in `jsonb`). The fields the API parses refuse it first, naming themselves; this is
/// the net under the rest (an id, say), so that such input is never `INTERNAL`.
fn unstorable_text(err: &(dyn StdError + 'static)) -> Option<AppError> {
    let mut next = Some(err);
    while let Some(e) = next {
        let sqlx = e
            .downcast_ref::<sqlx::Error>()
            .or_else(|| match e.downcast_ref() {
                Some(StoreError::Database(sqlx)) => Some(sqlx),
                _ => None,
            });
        let code = sqlx
            .and_then(|s| s.as_database_error())
            .and_then(|d| d.code());
        if code.is_some_and(|c| matches!(c.as_ref(), "22021" | "22P05")) {
            return Some(AppError::new(
                Code::BadUserInput,
                "the input holds a character that cannot be stored (NUL)",
            ));
        }
        next = e.source();
    }
    None
}

/// SQLSTATEs that say the server cannot serve now, not that the request was wrong:
/// connection exceptions (08…), too many connections and other resource limits (53…),
/// operator intervention (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect
/// now, 57P05 idle session timeout), a cancelled statement (57014: `statement_timeout`) and a
/// lock not available in time (55P03: `lock_timeout`).
fn is_unavailable_state(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(
            code,
            "57P01" | "57P02" | "57P03" | "57P05" | "57014" | "55P03"
        )
}

/// Whether a sqlx failure is about availability rather than about the request.
pub fn is_unavailable_sqlx(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| is_unavailable_state(&c)),
        // A connection cut in the middle of a message reads as a protocol error.
        sqlx::Error::Protocol(_) => true,
        _ => false,
    }
}

/// Whether `err` or any error in its chain of causes is about availability: a database,
/// pool, network or I/O failure rather than a fault of the request or the code.
pub fn is_unavailability(err: &(dyn StdError + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(sqlx) = e.downcast_ref::<sqlx::Error>() {
            if is_unavailable_sqlx(sqlx) {
                return true;
            }
        } else if let Some(StoreError::Database(sqlx)) = e.downcast_ref::<StoreError>() {
            if is_unavailable_sqlx(sqlx) {
                return true;
            }
        } else if e.downcast_ref::<std::io::Error>().is_some() {
            return true;
        }
        next = e.source();
    }
    false
}

/// What cqrs-es returned from loading or from a command, when it is not the aggregate's own
/// refusal. `None` for [`AggregateError::UserError`], which only the caller can word.
pub fn from_aggregate<E: StdError>(err: &AggregateError<E>) -> Option<AppError> {
    if let Some(store) = StoreError::find(err) {
        return Some(match store {
            StoreError::Conflict => AppError::conflict(),
            StoreError::TenantMismatch { .. } => AppError::forbidden("not your tenant's"),
            other => AppError::unexpected(other),
        });
    }
    Some(match err {
        AggregateError::UserError(_) => return None,
        AggregateError::AggregateConflict => AppError::conflict(),
        AggregateError::DatabaseConnectionError(e) => AppError::unavailable(e),
        AggregateError::DeserializationError(e) | AggregateError::UnexpectedError(e) => {
            AppError::unexpected(e.as_ref())
        }
    })
}

/// Whether cqrs-es reports a version conflict (someone else appended first).
pub fn is_conflict<E: StdError>(err: &AggregateError<E>) -> bool {
    matches!(err, AggregateError::AggregateConflict)
        || matches!(StoreError::find(err), Some(StoreError::Conflict))
}

/// An error with its causes, for the log.
struct Chain<'a>(&'a (dyn StdError + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut next = self.0.source();
        while let Some(e) = next {
            write!(f, ": {e}")?;
            next = e.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn availability_states_are_unavailable_and_request_faults_are_not() {
        for code in [
            "57P01", "57P02", "57P03", "53300", "53100", "08006", "08001", "57014", "55P03",
        ] {
            assert!(is_unavailable_state(code), "{code}");
        }
        for code in ["23505", "42P01", "22008", "40001", "42501"] {
            assert!(!is_unavailable_state(code), "{code}");
        }
    }

    #[test]
    fn pool_and_io_failures_are_unavailable_wherever_they_sit_in_the_chain() {
        assert!(is_unavailable_sqlx(&sqlx::Error::PoolTimedOut));
        assert!(is_unavailable_sqlx(&sqlx::Error::PoolClosed));
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let store = StoreError::Database(sqlx::Error::Io(refused));
        assert!(is_unavailability(&store));
        assert_eq!(AppError::from(store).code, Code::Unavailable);
        assert_eq!(
            AppError::from(sqlx::Error::RowNotFound).code,
            Code::Internal
        );
        assert_eq!(
            AppError::from(sqlx::Error::ColumnNotFound("x".into())).code,
            Code::Internal
        );
    }
}
