//! Mutations, one per command.

use super::*;

pub(super) async fn change(
    ctx: &Context<'_>,
    id: &ID,
    expected_version: Option<i64>,
    command: impl FnOnce() -> Result<ProjectCommand, ApiError>,
    recorded: Option<Uuid>,
) -> Result<ProjectChange, ApiError> {
    let api = ctx.data_unchecked::<Api>();
    let user = writer(principal(ctx), &WRITE_ROLES, "changing projects")?;
    let command = command()?;
    let expected = crate::graphql::command::expected(expected_version)?;
    let id = project_id(id.as_str())?;
    let v = execute(api, user, &id, expected, command).await?;
    Ok(ProjectChange {
        id: ID(id),
        version: version(v),
        recorded_id: recorded.map(|r| ID(r.to_string())),
    })
}

/// Projects: mutations, for the tenant's follow-up managers (and tenant admins).
#[derive(Debug, Default)]
pub struct ProjectMutation;

#[Object]
impl ProjectMutation {
    /// Registers a funded project of your tenant; declare its features next.
    async fn register_project(
        &self,
        ctx: &Context<'_>,
        input: RegisterProjectInput,
    ) -> async_graphql::Result<ProjectChange> {
        let api = ctx.data_unchecked::<Api>();
        let user = writer(principal(ctx), &WRITE_ROLES, "registering projects")?;
        let details = input.parse().map_err(ApiError::from)?;
        // A suspended tenant hears so before it hears about its acronyms.
        app(api)
            .authorise(&caller(user), &policy::CHANGE_PROJECTS, &user.tenant)
            .await
            .map_err(ApiError::from)?;
        let taken = read::projects(&api.db, &user.tenant)
            .await
            .map_err(ApiError::from)?
            .iter()
            .any(|p| p.acronym.to_lowercase() == details.acronym.as_str().to_lowercase());
        if taken {
            return Err(ApiError::field(
                "acronym",
                format!(
                    "your tenant already has a project {}",
                    details.acronym.as_str()
                ),
            )
            .into());
        }
        let id = Uuid::now_v7().to_string();
        let command = ProjectCommand::Register {
            tenant: user.tenant.clone(),
            details,
        };
        let v = execute(api, user, &id, Some(0), command).await?;
        Ok(ProjectChange {
            id: ID(id),
            version: version(v),
            recorded_id: None,
        })
    }

    /// Changes the given details; the history records old and new values.
    async fn revise_project(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        input: ReviseProjectInput,
    ) -> async_graphql::Result<ProjectChange> {
        let command = || -> Result<ProjectCommand, ApiError> {
            Ok(ProjectCommand::Revise {
                patch: input.parse()?,
            })
        };
        Ok(change(ctx, &id, expected_version, command, None).await?)
    }

    /// Adds features (taxonomy codes such as T1, D2).
    async fn declare_project_features(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        features: Vec<String>,
    ) -> async_graphql::Result<ProjectChange> {
        let command = || -> Result<ProjectCommand, ApiError> {
            Ok(ProjectCommand::DeclareFeatures {
                features: self::features("features", &features)?,
            })
        };
        Ok(change(ctx, &id, expected_version, command, None).await?)
    }

    /// Removes features.
    async fn retract_project_features(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        features: Vec<String>,
    ) -> async_graphql::Result<ProjectChange> {
        let command = || -> Result<ProjectCommand, ApiError> {
            Ok(ProjectCommand::RetractFeatures {
                features: self::features("features", &features)?,
            })
        };
        Ok(change(ctx, &id, expected_version, command, None).await?)
    }

    /// Where else the project applies (`environmental protection, construction`), as the whole
    /// new text; empty clears it.
    async fn note_project_applications_beyond_security(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        applications: String,
    ) -> async_graphql::Result<ProjectChange> {
        let command = || -> Result<ProjectCommand, ApiError> {
            Ok(ProjectCommand::NoteApplicationsBeyondSecurity {
                applications: ShortText::parse("applications", &applications)?,
            })
        };
        Ok(change(ctx, &id, expected_version, command, None).await?)
    }

    /// Records a success milestone; `recordedId` is its id.
    async fn record_project_milestone(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        input: MilestoneInput,
    ) -> async_graphql::Result<ProjectChange> {
        let milestone = Uuid::now_v7();
        let command = || -> Result<ProjectCommand, ApiError> {
            Ok(ProjectCommand::RecordMilestone {
                id: milestone,
                criterion: input.criterion.into(),
                date: input.date,
                description: MilestoneDescription::parse("description", &input.description)?,
                evidence_link: evidence(input.evidence_link.as_deref())?,
            })
        };
        Ok(change(ctx, &id, expected_version, command, Some(milestone)).await?)
    }

    /// Records an application to a funding instrument; `recordedId` is its id. One recorded as
    /// AWARDED also records its RECOGNITION milestone.
    async fn record_funding_application(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        input: FundingApplicationInput,
    ) -> async_graphql::Result<ProjectChange> {
        let api = ctx.data_unchecked::<Api>();
        // Checked before the catalogue is asked for the instrument's name.
        writer(principal(ctx), &WRITE_ROLES, "changing projects")?;
        let instrument_id = input
            .instrument_id
            .as_ref()
            .map(|i| InstrumentRef::parse_id("instrumentId", i.as_str()))
            .transpose()
            .map_err(ApiError::from)?;
        let instrument_name = match (&input.instrument_name, &instrument_id) {
            (Some(name), _) => Title::parse("instrumentName", name).map_err(ApiError::from)?,
            (None, Some(instrument)) => {
                let viewer = crate::graphql::query::viewer(ctx);
                let row = catalogue::instrument(&api.db, &viewer, instrument.as_str())
                    .await
                    .map_err(ApiError::from)?;
                let Some(row) = row else {
                    return Err(ApiError::field(
                        "instrumentName",
                        "give the instrument's name: the catalogue has no such instrument",
                    )
                    .into());
                };
                Title::parse("instrumentName", &row.title).map_err(ApiError::from)?
            }
            (None, None) => {
                return Err(ApiError::field(
                    "instrumentName",
                    "give instrumentName or instrumentId",
                )
                .into());
            }
        };
        let application = Uuid::now_v7();
        let command = || -> Result<ProjectCommand, ApiError> {
            Ok(ProjectCommand::RecordFundingApplication {
                id: application,
                instrument_id,
                instrument_name,
                status: input.status.into(),
                date: input.date,
                amount: money(input.amount.as_ref())?,
                evidence_link: evidence(input.evidence_link.as_deref())?,
            })
        };
        Ok(change(ctx, &id, expected_version, command, Some(application)).await?)
    }

    /// Moves a funding application forward; AWARDED also records its RECOGNITION milestone.
    async fn change_funding_application_status(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        application_id: ID,
        input: FundingApplicationStatusInput,
    ) -> async_graphql::Result<ProjectChange> {
        let application = Uuid::parse_str(application_id.as_str())
            .map_err(|_| ApiError::not_found("funding application"))?;
        let command = || -> Result<ProjectCommand, ApiError> {
            Ok(ProjectCommand::UpdateFundingApplication {
                id: application,
                status: input.status.into(),
                date: input.date,
                amount: money(input.amount.as_ref())?,
                evidence_link: evidence(input.evidence_link.as_deref())?,
            })
        };
        Ok(change(ctx, &id, expected_version, command, Some(application)).await?)
    }

    /// Shares the project with another tenant (its slug): that tenant may then read it,
    /// assign it to its clusters and see it among their suggestions, and both tenants read
    /// the practitioners' feedback on it. Recorded in both tenants' audit trails.
    async fn share_project(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        tenant: String,
    ) -> async_graphql::Result<ProjectChange> {
        let api = ctx.data_unchecked::<Api>();
        writer(principal(ctx), &WRITE_ROLES, "sharing projects")?;
        let with = super::sharing::share_target(api, &tenant).await?;
        let command = || -> Result<ProjectCommand, ApiError> { Ok(ProjectCommand::Share { with }) };
        Ok(change(ctx, &id, expected_version, command, None).await?)
    }

    /// Withdraws the project's share with a tenant: from now on nothing more of it reaches
    /// that tenant (its clusters keep the acronym and the feedback they collected).
    async fn withdraw_project_share(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        tenant: String,
    ) -> async_graphql::Result<ProjectChange> {
        writer(principal(ctx), &WRITE_ROLES, "sharing projects")?;
        let from =
            TenantSlug::parse(&tenant).map_err(|e| ApiError::field("tenant", e.to_string()))?;
        let command =
            || -> Result<ProjectCommand, ApiError> { Ok(ProjectCommand::WithdrawShare { from }) };
        Ok(change(ctx, &id, expected_version, command, None).await?)
    }

    /// Sets the score (0 to 1) from which a newly matching instrument is notified.
    async fn set_project_match_threshold(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        match_threshold: f64,
    ) -> async_graphql::Result<ProjectChange> {
        let command = || -> Result<ProjectCommand, ApiError> {
            Ok(ProjectCommand::SetMatchThreshold {
                threshold: MatchThreshold::parse("matchThreshold", match_threshold)?,
            })
        };
        Ok(change(ctx, &id, expected_version, command, None).await?)
    }
}
