//! Who may act, which aggregate is meant, and how commands run through the application
//! layer and how their failures read.

use super::*;

pub(super) fn signed_in<'a>(ctx: &'a Context<'_>) -> Result<&'a User, ApiError> {
    principal(ctx).user().ok_or_else(ApiError::unauthenticated)
}

/// A signed-in follow-up manager (or tenant admin), or why not (whether their tenant is active
/// is decided with the command, from the tenant's own events).
pub(super) fn manager<'a>(ctx: &'a Context<'_>) -> Result<&'a User, ApiError> {
    let user = signed_in(ctx)?;
    policy::RUN_CLUSTERS.permits(&caller(user))?;
    Ok(user)
}

pub(super) fn uuid(id: &ID) -> Option<Uuid> {
    Uuid::parse_str(id.as_str()).ok()
}

/// The id of an aggregate of ours (areas and clusters have UUIDs); anything else is `what`
/// NOT_FOUND.
pub(super) fn aggregate_id(id: &ID, what: &str) -> Result<String, ApiError> {
    uuid(id)
        .map(|u| u.to_string())
        .ok_or_else(|| ApiError::not_found(what))
}

/// The id of an entity within a cluster: the UUID given, or a new one.
pub(super) fn entity_id(field: &'static str, id: Option<&ID>) -> Result<Uuid, ApiError> {
    match id {
        None => Ok(Uuid::now_v7()),
        Some(id) => uuid(id).ok_or_else(|| ApiError::field(field, "must be a UUID")),
    }
}

/// The id of an entity the caller names (a demo event, an invitation): unknown when malformed.
pub(super) fn known_id(id: &ID, what: &str) -> Result<Uuid, ApiError> {
    uuid(id).ok_or_else(|| ApiError::not_found(what))
}

/// The aggregate `id` of `tenant` as its events in the log make it (default: none there).
pub(super) async fn load<A: Aggregate>(
    api: &Api,
    tenant: &TenantSlug,
    id: &str,
) -> Result<A, ApiError> {
    Ok(app(api).load::<A>(tenant, id).await?.0)
}

/// Whether `tenant` has the end-user area `id`: the read model, or, while it lags, the log.
pub(super) async fn area_exists(
    api: &Api,
    tenant: &TenantSlug,
    id: &str,
) -> Result<bool, ApiError> {
    if read::area(&api.db, tenant, id).await?.is_some() {
        return Ok(true);
    }
    Ok(load::<AreaAggregate>(api, tenant, id).await?.name.is_some())
}

/// The caller's tenant's project `raw`, as a cluster takes it: from the projects read model
/// (row-level security shows only the tenant's own), or, while it lags, from the log; or
/// another tenant's project that the read model shows shared with the caller's tenant.
/// Anything else (another tenant's project not shared, an unknown id) is BAD_USER_INPUT on
/// `projectId`.
pub(super) async fn own_project(
    api: &Api,
    tenant: &TenantSlug,
    raw: &str,
) -> Result<ProjectRef, ApiError> {
    let id = AggregateRef::parse("projectId", raw)?;
    let not_yours = || {
        ApiError::field(
            "projectId",
            format!("{raw} is not a project of your tenant"),
        )
    };
    let found = match ri_projections::projects::project(&api.db, tenant, id.as_str()).await? {
        Some(row) => Some((row.tenant, row.acronym)),
        None => {
            let project = load::<Project>(api, tenant, id.as_str()).await?;
            match (project.tenant, project.details) {
                (Some(owner), Some(details)) => Some((owner, details.acronym.to_string())),
                _ => None,
            }
        }
    };
    let (owner, acronym, shared) = match found {
        Some((owner, acronym)) if owner == *tenant => (owner, acronym, false),
        Some(_) => return Err(not_yours()),
        None => {
            let shared = ri_projections::projects::shared_projects(
                &api.db,
                tenant,
                Some(&[id.as_str().to_owned()]),
            )
            .await?;
            let row = shared.into_iter().next().ok_or_else(not_yours)?;
            (row.tenant, row.acronym, true)
        }
    };
    Ok(ProjectRef {
        id,
        tenant: owner,
        acronym: Acronym::parse("projectId", &acronym)?,
        shared,
    })
}

impl From<AreaError> for ApiError {
    fn from(e: AreaError) -> Self {
        match e {
            AreaError::Invalid(f) => f.into(),
            AreaError::NotFound => ApiError::not_found("end-user area"),
            AreaError::AlreadyExists => ApiError::new(Code::Conflict, e.to_string()),
            AreaError::Unchanged => ApiError::new(Code::BadUserInput, e.to_string()),
        }
    }
}

/// A cluster's refusal as a follow-up manager reads it.
impl From<ClusterError> for ApiError {
    fn from(e: ClusterError) -> Self {
        let message = e.to_string();
        match e {
            ClusterError::Invalid(f) => f.into(),
            ClusterError::NotFound => ApiError::not_found("cluster"),
            ClusterError::AlreadyExists
            | ClusterError::StakeholderExists(_)
            | ClusterError::DemoEventExists(_)
            | ClusterError::InvitationExists(_)
            | ClusterError::SessionExists(_)
            | ClusterError::NextStepExists(_) => ApiError::new(Code::Conflict, message),
            ClusterError::Unchanged => ApiError::new(Code::BadUserInput, message),
            ClusterError::ForeignProject(_)
            | ClusterError::ProjectAlreadyAssigned(_)
            | ClusterError::ProjectNotAssigned(_)
            | ClusterError::ProjectOnAgenda { .. }
            | ClusterError::ProjectNotOnAgenda(_) => ApiError::field("projectId", message),
            ClusterError::NoSuchStakeholder(_) => ApiError::not_found("stakeholder"),
            ClusterError::NoSuchDemoEvent(_) => ApiError::not_found("demo event"),
            ClusterError::DemoEventStatus { .. }
            | ClusterError::DemoEventHasFeedback(_)
            | ClusterError::DemoEventCancelled
            | ClusterError::FeedbackNotOpen
            | ClusterError::FeedbackWindowClosed => ApiError::field("eventId", message),
            ClusterError::AlreadyInvited(_) => ApiError::field("email", message),
            ClusterError::NoSuchInvitation => ApiError::not_found("invitation"),
            ClusterError::TokenSuperseded
            | ClusterError::InvitationRevoked
            | ClusterError::InvitationExpired => ApiError::field("invitationId", message),
            ClusterError::NoSuchSession(_) => ApiError::not_found("follow-up session"),
            ClusterError::NoSuchNextStep(_) => ApiError::not_found("next step"),
            ClusterError::NextStepAlreadyCompleted(_) => ApiError::field("stepId", message),
        }
    }
}

/// Maps a cluster's refusal; `project_field` names where a project that is not the cluster's
/// came from (`agenda`, `nextSteps`).
pub(super) fn naming_projects(project_field: &'static str) -> impl Fn(ClusterError) -> ApiError {
    move |e| match e {
        ClusterError::ProjectNotAssigned(_) => ApiError::field(project_field, e.to_string()),
        other => other.into(),
    }
}

/// Runs `command` for `caller` under `policy` on the cluster `id` of the caller's tenant.
/// Without `expected`, a version conflict is tried again (the policy says how often), the
/// command decided anew on the reloaded cluster.
pub(super) async fn execute_cluster(
    api: &Api,
    caller: &Caller,
    policy: &Policy,
    id: &str,
    expected: Option<usize>,
    command: ClusterCommand,
) -> Result<i64, Failure<ClusterError>> {
    let services = || ClusterServices {
        clock: api.clock.clone(),
    };
    app(api)
        .execute::<ProjectCluster>(
            caller,
            policy,
            &caller.tenant,
            id,
            command,
            services,
            expected,
        )
        .await
        .map(version)
}

/// Runs a follow-up manager's `command` on their tenant's cluster `id`.
pub(super) async fn run(
    ctx: &Context<'_>,
    user: &User,
    id: &ID,
    expected_version: Option<i64>,
    command: ClusterCommand,
    refusal: &(dyn Fn(ClusterError) -> ApiError + Sync),
) -> Result<(String, i64), ApiError> {
    let api = ctx.data_unchecked::<Api>();
    let id = aggregate_id(id, "cluster")?;
    let expected = expected(expected_version)?;
    let v = execute_cluster(
        api,
        &caller(user),
        &policy::RUN_CLUSTERS,
        &id,
        expected,
        command,
    )
    .await
    .map_err(|f| from_failure(f, "cluster", refusal))?;
    Ok((id, v))
}

pub(super) async fn change(
    ctx: &Context<'_>,
    user: &User,
    id: &ID,
    expected_version: Option<i64>,
    command: ClusterCommand,
    entity: Option<Uuid>,
) -> Result<ClusterChange, ApiError> {
    let (id, version) = run(
        ctx,
        user,
        id,
        expected_version,
        command,
        &|e: ClusterError| e.into(),
    )
    .await?;
    Ok(ClusterChange {
        id: ID(id),
        version,
        entity_id: entity.map(|e| ID(e.to_string())),
    })
}

pub(super) async fn run_area(
    ctx: &Context<'_>,
    user: &User,
    id: &str,
    expected_version: Option<i64>,
    command: AreaCommand,
) -> Result<AreaChange, ApiError> {
    let api = ctx.data_unchecked::<Api>();
    let v = execute_own::<AreaAggregate>(
        api,
        user,
        &policy::RUN_CLUSTERS,
        "end-user area",
        id,
        command,
        || (),
        expected(expected_version)?,
        AreaError::into,
    )
    .await?;
    Ok(AreaChange {
        id: ID(id.to_owned()),
        version: version(v),
    })
}

pub(super) fn domain(kind: AreaDomain, own: Option<&str>) -> Result<DomainArea, ApiError> {
    Ok(DomainArea::parse(kind.code(), own)?)
}
