//! Who is asking, and how project commands run through the application layer.

use super::*;

/// A signed-in member of a tenant who may read its projects.
pub(crate) fn reader(principal: &Principal) -> Result<&User, ApiError> {
    let user = principal.user().ok_or_else(ApiError::unauthenticated)?;
    if READ_ROLES.iter().any(|r| user.has_role(*r)) {
        Ok(user)
    } else {
        Err(ApiError::forbidden(
            "reading projects needs the follow_up_manager, curator or tenant_admin role",
        ))
    }
}

/// A signed-in member of a tenant holding one of `roles`, or why not. Whether the tenant is
/// active is decided with each command (and up front by an import), from its own events.
pub(crate) fn writer<'a>(
    principal: &'a Principal,
    roles: &[Role],
    what: &str,
) -> Result<&'a User, ApiError> {
    let user = principal.user().ok_or_else(ApiError::unauthenticated)?;
    if !roles.iter().any(|r| user.has_role(*r)) {
        let names = roles.iter().map(|r| r.as_str()).collect::<Vec<_>>();
        return Err(ApiError::forbidden(format!(
            "{what} needs the {} role",
            names.join(" or ")
        )));
    }
    Ok(user)
}

/// A project id as the log spells it; anything else names no project.
pub(crate) fn project_id(id: &str) -> Result<String, ApiError> {
    Uuid::parse_str(id)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::not_found("project"))
}

impl From<ProjectError> for ApiError {
    fn from(e: ProjectError) -> Self {
        match e {
            ProjectError::Invalid(f) => f.into(),
            ProjectError::NotFound => ApiError::not_found("project"),
            ProjectError::NoSuchFundingApplication(_) => ApiError::not_found("funding application"),
            ProjectError::AlreadyRegistered
            | ProjectError::MilestoneExists(_)
            | ProjectError::FundingApplicationExists(_) => {
                ApiError::new(Code::Conflict, e.to_string())
            }
            ProjectError::StatusTransition { .. } => ApiError::field("status", e.to_string()),
            ProjectError::Unchanged => ApiError::new(Code::BadUserInput, e.to_string()),
            ProjectError::NotShared(_) => ApiError::field("tenant", e.to_string()),
        }
    }
}

/// Runs `command` on the caller's tenant's project `id`; returns the new version.
pub(crate) async fn execute(
    api: &Api,
    user: &User,
    id: &str,
    expected: Option<usize>,
    command: ProjectCommand,
) -> Result<usize, ApiError> {
    execute_own::<ProjectAggregate>(
        api,
        user,
        &policy::CHANGE_PROJECTS,
        "project",
        id,
        command,
        || (),
        expected,
        ApiError::from,
    )
    .await
}
