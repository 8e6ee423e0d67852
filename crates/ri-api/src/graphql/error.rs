//! The one place where failures become GraphQL errors. Every error carries
//! `extensions.code` from the closed set of the API contract, and `extensions.field` when an
//! input was wrong. Internal details are logged here, once, and never sent to clients.

use async_graphql::ErrorExtensions;
use cqrs_es::AggregateError;
use ri_domain::instrument::InstrumentError;
use ri_domain::tenant::TenantError;
use ri_domain::values::FieldError;
use ri_eventstore::StoreError;

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

/// An error as the API reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: Code,
    pub message: String,
    pub field: Option<String>,
}

impl ApiError {
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

    pub fn unauthenticated() -> Self {
        Self::new(Code::Unauthenticated, "sign in to do this")
    }

    pub fn forbidden(why: impl Into<String>) -> Self {
        Self::new(Code::Forbidden, why)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(Code::NotFound, format!("no such {what}"))
    }

    /// Logs the cause and reports only that something went wrong.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(Code::Internal, "internal error")
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::field(e.field, e.to_string())
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(e: ApiError) -> Self {
        let code = e.code.as_str();
        async_graphql::Error::new(e.message).extend_with(|_, ext| {
            ext.set("code", code);
            if let Some(field) = &e.field {
                ext.set("field", field.as_str());
            }
        })
    }
}

/// PostgreSQL refused a character of a text the caller sent (a NUL: `22021` in `text`,
/// `22P05` in `jsonb`). The fields the API parses refuse it first, naming themselves; this is
/// the net under the rest (an id, say), so that such input is never `INTERNAL`.
fn unstorable_text(e: &sqlx::Error) -> Option<ApiError> {
    let code = e.as_database_error()?.code()?;
    matches!(code.as_ref(), "22021" | "22P05").then(|| {
        ApiError::new(
            Code::BadUserInput,
            "the input holds a character that cannot be stored (NUL)",
        )
    })
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if let Some(bad) = unstorable_text(&e) {
            return bad;
        }
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::new(
                    Code::Unavailable,
                    "the database is not answering; try again",
                )
            }
            other => ApiError::internal(&other),
        }
    }
}

/// Maps what a command returned. `what` names the aggregate for NOT_FOUND.
pub fn from_command<E: std::error::Error + Into<ApiError>>(err: AggregateError<E>) -> ApiError {
    if let Some(store) = StoreError::find(&err) {
        return match store {
            StoreError::TenantMismatch { .. } => ApiError::forbidden("not your tenant's"),
            StoreError::Conflict => conflict(),
            StoreError::Database(e) => {
                unstorable_text(e).unwrap_or_else(|| ApiError::internal(store))
            }
            other => ApiError::internal(other),
        };
    }
    match err {
        AggregateError::UserError(e) => e.into(),
        AggregateError::AggregateConflict => conflict(),
        AggregateError::DatabaseConnectionError(e) => {
            tracing::warn!(error = %e, "database unavailable");
            ApiError::new(
                Code::Unavailable,
                "the database is not answering; try again",
            )
        }
        other => ApiError::internal(&other),
    }
}

fn conflict() -> ApiError {
    ApiError::new(
        Code::Conflict,
        "changed meanwhile: reload and apply your change to the current version",
    )
}

impl From<InstrumentError> for ApiError {
    fn from(e: InstrumentError) -> Self {
        match e {
            InstrumentError::Invalid(f) => f.into(),
            InstrumentError::NotFound => ApiError::not_found("instrument"),
            InstrumentError::AlreadyExists => ApiError::new(Code::Conflict, e.to_string()),
            InstrumentError::WrongStatus(..) => ApiError::field("status", e.to_string()),
            InstrumentError::Unchanged => ApiError::new(Code::BadUserInput, e.to_string()),
        }
    }
}

impl From<TenantError> for ApiError {
    fn from(e: TenantError) -> Self {
        match e {
            TenantError::Invalid(f) => f.into(),
            TenantError::NotRegistered => ApiError::not_found("tenant"),
            TenantError::AlreadyRegistered => ApiError::field("slug", e.to_string()),
            TenantError::Suspended => ApiError::forbidden(e.to_string()),
            TenantError::NotSuspended
            | TenantError::Unchanged
            | TenantError::RoleNotHeld { .. } => ApiError::new(Code::BadUserInput, e.to_string()),
        }
    }
}
