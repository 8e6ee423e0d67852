//! The one place where failures become GraphQL errors. Every error carries
//! `extensions.code` from the closed set of the API contract, and `extensions.field` when an
//! input was wrong. Internal details are logged here, once, and never sent to clients.

use async_graphql::ErrorExtensions;
use cqrs_es::AggregateError;
use ri_app::{AppError, Failure};
use ri_domain::instrument::InstrumentError;
use ri_domain::tenant::TenantError;
use ri_domain::values::FieldError;

pub use ri_app::Code;

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

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        Self {
            code: e.code,
            message: e.message,
            field: e.field,
        }
    }
}

/// Database failures are classified once, by the application layer: availability is
/// UNAVAILABLE, anything else INTERNAL.
impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        AppError::from(e).into()
    }
}

/// Maps what a command returned: the aggregate's own refusal through its `Into<ApiError>`,
/// everything else through the application layer's one mapping.
pub fn from_command<E: std::error::Error + Into<ApiError>>(err: AggregateError<E>) -> ApiError {
    match ri_app::error::from_aggregate(&err) {
        Some(mapped) => mapped.into(),
        None => match err {
            AggregateError::UserError(e) => e.into(),
            other => ApiError::internal(&other),
        },
    }
}

/// A command's failure from the application layer: `refusal` words the aggregate's own, another
/// tenant's stream is `what` NOT_FOUND, as if it did not exist.
pub(crate) fn from_failure<E>(
    failure: Failure<E>,
    what: &str,
    refusal: impl FnOnce(E) -> ApiError,
) -> ApiError {
    match failure {
        Failure::Refused(e) => refusal(e),
        Failure::OtherTenant => ApiError::not_found(what),
        Failure::Error(e) => e.into(),
    }
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
            TenantError::NotGrantable => ApiError::field("role", e.to_string()),
            TenantError::NotSuspended
            | TenantError::Unchanged
            | TenantError::RoleNotHeld { .. } => ApiError::new(Code::BadUserInput, e.to_string()),
        }
    }
}
