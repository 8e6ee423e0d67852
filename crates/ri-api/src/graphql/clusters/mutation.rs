//! Mutations, one per command.

use super::*;

/// End-user areas and project clusters: mutations, one per command.
#[derive(Debug, Default)]
pub struct ClusterMutation;

#[Object]
impl ClusterMutation {
    /// Names an end-user centric area of your tenant within a security domain (step 1 of the
    /// clustering practice).
    async fn name_end_user_area(
        &self,
        ctx: &Context<'_>,
        input: NameEndUserAreaInput,
    ) -> async_graphql::Result<AreaChange> {
        let user = manager(ctx)?;
        let command = AreaCommand::Name {
            tenant: user.tenant.clone(),
            name: Title::parse("name", &input.name).map_err(ApiError::from)?,
            domain: domain(input.domain, input.own_domain.as_deref())?,
            description: Summary::parse("description", &input.description)
                .map_err(ApiError::from)?,
        };
        let id = Uuid::now_v7().to_string();
        Ok(run_area(ctx, user, &id, Some(0), command).await?)
    }

    /// Changes the given fields of an end-user area; the history records old and new values.
    async fn revise_end_user_area(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        input: ReviseEndUserAreaInput,
    ) -> async_graphql::Result<AreaChange> {
        let user = manager(ctx)?;
        let id = aggregate_id(&id, "end-user area")?;
        let domain = match (input.domain, input.own_domain.as_deref()) {
            (Some(kind), own) => Some(domain(kind, own)?),
            (None, Some(_)) => {
                return Err(ApiError::field("domain", "give domain: OWN with ownDomain").into());
            }
            (None, None) => None,
        };
        let command = AreaCommand::Revise {
            name: input
                .name
                .as_deref()
                .map(|n| Title::parse("name", n))
                .transpose()
                .map_err(ApiError::from)?,
            domain,
            description: input
                .description
                .as_deref()
                .map(|d| Summary::parse("description", d))
                .transpose()
                .map_err(ApiError::from)?,
        };
        Ok(run_area(ctx, user, &id, expected_version, command).await?)
    }

    /// Forms a cluster of your tenant for one of its end-user areas (step 2).
    async fn form_cluster(
        &self,
        ctx: &Context<'_>,
        input: FormClusterInput,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx)?;
        let api = ctx.data_unchecked::<Api>();
        let area_id = AggregateRef::parse("areaId", &input.area_id).map_err(ApiError::from)?;
        let command = ClusterCommand::Form {
            tenant: user.tenant.clone(),
            area_id: area_id.clone(),
            name: Title::parse("name", &input.name).map_err(ApiError::from)?,
            description: Summary::parse("description", &input.description)
                .map_err(ApiError::from)?,
        };
        if !area_exists(api, &user.tenant, area_id.as_str()).await? {
            return Err(ApiError::field("areaId", "no such end-user area of your tenant").into());
        }
        let id = ID(Uuid::now_v7().to_string());
        Ok(change(ctx, user, &id, Some(0), command, None).await?)
    }

    /// Changes the given fields of a cluster (its area, name, description).
    async fn revise_cluster(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        input: ReviseClusterInput,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx)?;
        let api = ctx.data_unchecked::<Api>();
        let area_id = input
            .area_id
            .as_ref()
            .map(|a| AggregateRef::parse("areaId", a))
            .transpose()
            .map_err(ApiError::from)?;
        if let Some(area) = &area_id
            && !area_exists(api, &user.tenant, area.as_str()).await?
        {
            return Err(ApiError::field("areaId", "no such end-user area of your tenant").into());
        }
        let command = ClusterCommand::Revise {
            area_id,
            name: input
                .name
                .as_deref()
                .map(|n| Title::parse("name", n))
                .transpose()
                .map_err(ApiError::from)?,
            description: input
                .description
                .as_deref()
                .map(|d| Summary::parse("description", d))
                .transpose()
                .map_err(ApiError::from)?,
        };
        Ok(change(ctx, user, &id, expected_version, command, None).await?)
    }

    /// Adds one of your tenant's projects to the cluster (step 2). BAD_USER_INPUT on
    /// `projectId` for a project that is not your tenant's.
    async fn assign_project_to_cluster(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        project_id: ID,
        expected_version: Option<i64>,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx)?;
        let api = ctx.data_unchecked::<Api>();
        let project = own_project(api, &user.tenant, &project_id).await?;
        let command = ClusterCommand::AssignProject { project };
        Ok(change(ctx, user, &cluster_id, expected_version, command, None).await?)
    }

    /// Takes a project out of the cluster; not while it is on a coming demo event's agenda.
    async fn remove_project_from_cluster(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        project_id: ID,
        expected_version: Option<i64>,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx)?;
        let project_id = AggregateRef::parse("projectId", &project_id).map_err(ApiError::from)?;
        let command = ClusterCommand::RemoveProject { project_id };
        Ok(change(ctx, user, &cluster_id, expected_version, command, None).await?)
    }

    /// Makes a user (by subject) the cluster's follow-up manager (step 3).
    async fn assign_follow_up_manager(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        subject: String,
        expected_version: Option<i64>,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx)?;
        let command = ClusterCommand::AssignFollowUpManager { subject };
        Ok(change(ctx, user, &cluster_id, expected_version, command, None).await?)
    }

    /// Records a stakeholder interested in the cluster's innovations (step 7).
    async fn engage_stakeholder(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        expected_version: Option<i64>,
        input: StakeholderInput,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx)?;
        let id = entity_id("id", input.id.as_ref())?;
        let stakeholder = Stakeholder {
            id,
            kind: input.kind.into(),
            name: Title::parse("name", &input.name).map_err(ApiError::from)?,
            note: ShortText::parse("note", &input.note).map_err(ApiError::from)?,
        };
        let command = ClusterCommand::EngageStakeholder { stakeholder };
        Ok(change(ctx, user, &cluster_id, expected_version, command, Some(id)).await?)
    }

    async fn disengage_stakeholder(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        stakeholder_id: ID,
        expected_version: Option<i64>,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx)?;
        let id = known_id(&stakeholder_id, "stakeholder")?;
        let command = ClusterCommand::DisengageStakeholder { id };
        Ok(change(ctx, user, &cluster_id, expected_version, command, Some(id)).await?)
    }

    /// Schedules a demo event of the cluster's projects for end-users (step 4); `startsAt` must
    /// be in the future.
    async fn schedule_demo_event(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        expected_version: Option<i64>,
        input: ScheduleDemoEventInput,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx)?;
        let id = entity_id("id", input.id.as_ref())?;
        let command = ClusterCommand::ScheduleDemoEvent {
            id,
            title: Title::parse("title", &input.title).map_err(ApiError::from)?,
            starts_at: input.starts_at,
            time_zone: TimeZoneName::parse("timeZone", &input.time_zone).map_err(ApiError::from)?,
            venue: venue(input.place.as_deref(), input.online_link.as_deref())?,
            agenda: agenda_ids(&input.agenda)?,
            feedback_window: input
                .feedback_window_days
                .map(|d| FeedbackWindow::parse("feedbackWindowDays", i64::from(d)))
                .transpose()
                .map_err(ApiError::from)?
                .unwrap_or_default(),
        };
        let (cluster, version) = run(
            ctx,
            user,
            &cluster_id,
            expected_version,
            command,
            &naming_projects("agenda"),
        )
        .await?;
        Ok(ClusterChange {
            id: ID(cluster),
            version,
            entity_id: Some(ID(id.to_string())),
        })
    }

    /// Moves a scheduled demo event (no feedback yet) to a new future time; the venue stays
    /// unless a place or link is given.
    #[allow(clippy::too_many_arguments)]
    async fn reschedule_demo_event(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        event_id: ID,
        expected_version: Option<i64>,
        starts_at: OffsetDateTime,
        time_zone: String,
        place: Option<String>,
        online_link: Option<String>,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx)?;
        let id = known_id(&event_id, "demo event")?;
        let venue = if place.is_some() || online_link.is_some() {
            Some(venue(place.as_deref(), online_link.as_deref())?)
        } else {
            None
        };
        let command = ClusterCommand::RescheduleDemoEvent {
            id,
            starts_at,
            time_zone: TimeZoneName::parse("timeZone", &time_zone).map_err(ApiError::from)?,
            venue,
        };
        Ok(change(ctx, user, &cluster_id, expected_version, command, Some(id)).await?)
    }

    /// Replaces a scheduled demo event's agenda (no feedback yet).
    async fn revise_demo_agenda(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        event_id: ID,
        expected_version: Option<i64>,
        agenda: Vec<ID>,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx)?;
        let id = known_id(&event_id, "demo event")?;
        let command = ClusterCommand::ReviseDemoAgenda {
            id,
            agenda: agenda_ids(&agenda)?,
        };
        let (cluster, version) = run(
            ctx,
            user,
            &cluster_id,
            expected_version,
            command,
            &naming_projects("agenda"),
        )
        .await?;
        Ok(ClusterChange {
            id: ID(cluster),
            version,
            entity_id: Some(ID(id.to_string())),
        })
    }

    /// Cancels a scheduled demo event that has no feedback.
    async fn cancel_demo_event(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        event_id: ID,
        expected_version: Option<i64>,
        reason: String,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx)?;
        let id = known_id(&event_id, "demo event")?;
        let reason = ShortText::parse("reason", &reason).map_err(ApiError::from)?;
        let command = ClusterCommand::CancelDemoEvent { id, reason };
        Ok(change(ctx, user, &cluster_id, expected_version, command, Some(id)).await?)
    }

    /// Records that a demo event that has started took place.
    async fn mark_demo_event_held(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        event_id: ID,
        expected_version: Option<i64>,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx)?;
        let id = known_id(&event_id, "demo event")?;
        let command = ClusterCommand::MarkDemoEventHeld { id };
        Ok(change(ctx, user, &cluster_id, expected_version, command, Some(id)).await?)
    }

    /// Invites a security practitioner to give feedback on a demo event (step 5). The result
    /// holds their personal link, shown this once; only its token's SHA-256 is stored.
    async fn invite_practitioner(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        event_id: ID,
        expected_version: Option<i64>,
        input: InvitePractitionerInput,
    ) -> async_graphql::Result<InvitationLink> {
        let user = manager(ctx)?;
        let event_id = known_id(&event_id, "demo event")?;
        let invitation_id = entity_id("id", input.id.as_ref())?;
        let (token, token_sha256) = link_token()?;
        let command = ClusterCommand::InvitePractitioner {
            event_id,
            invitation: DomainInvitation {
                id: invitation_id,
                practitioner: input.practitioner.parse().map_err(ApiError::from)?,
                email: Email::parse("email", &input.email).map_err(ApiError::from)?,
                token_sha256,
                expires_at: input.expires_at,
            },
        };
        let (cluster, version) = run(
            ctx,
            user,
            &cluster_id,
            expected_version,
            command,
            &|e: ClusterError| e.into(),
        )
        .await?;
        Ok(InvitationLink {
            id: ID(cluster),
            version,
            invitation_id: ID(invitation_id.to_string()),
            link: link(&token),
        })
    }

    /// Issues a new link for an invitation (the old one was lost or leaked): the old link stops
    /// working, and reads as replaced.
    async fn reissue_invitation(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        invitation_id: ID,
        expected_version: Option<i64>,
        expires_at: Option<OffsetDateTime>,
    ) -> async_graphql::Result<InvitationLink> {
        let user = manager(ctx)?;
        let invitation_id = known_id(&invitation_id, "invitation")?;
        let (token, token_sha256) = link_token()?;
        let command = ClusterCommand::ReissueInvitation {
            invitation_id,
            token_sha256,
            expires_at,
        };
        let (cluster, version) = run(
            ctx,
            user,
            &cluster_id,
            expected_version,
            command,
            &|e: ClusterError| e.into(),
        )
        .await?;
        Ok(InvitationLink {
            id: ID(cluster),
            version,
            invitation_id: ID(invitation_id.to_string()),
            link: link(&token),
        })
    }

    async fn revoke_invitation(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        invitation_id: ID,
        expected_version: Option<i64>,
        reason: String,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx)?;
        let id = known_id(&invitation_id, "invitation")?;
        let reason = ShortText::parse("reason", &reason).map_err(ApiError::from)?;
        let command = ClusterCommand::RevokeInvitation {
            invitation_id: id,
            reason,
        };
        Ok(change(ctx, user, &cluster_id, expected_version, command, Some(id)).await?)
    }

    /// Gives feedback on a project of a demo event's agenda through a practitioner's link; no
    /// account needed, the link's token is the credential. A second answer on the same project
    /// replaces the first until the event's feedback window closes. Errors: NOT_FOUND for a
    /// wrong link; FORBIDDEN with `reason` REPLACED, REVOKED, CANCELLED, WINDOW_CLOSED or
    /// EXPIRED; BAD_USER_INPUT for a rating outside 1 to 5 (`relevance`, `usability`), a project
    /// not on the agenda (`projectId`), or before the event starts (`reason` NOT_OPEN_YET);
    /// RATE_LIMITED after too many attempts with the link or from the address.
    async fn submit_demo_feedback(
        &self,
        ctx: &Context<'_>,
        token: String,
        project_id: ID,
        input: FeedbackInput,
    ) -> async_graphql::Result<FeedbackReceipt> {
        submit_feedback(ctx, &token, &project_id, &input).await
    }

    /// Records one practitioner's answers from a paper sheet (after the event has started; not
    /// bound by the feedback window).
    async fn record_paper_feedback(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        event_id: ID,
        expected_version: Option<i64>,
        input: PaperFeedbackInput,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx)?;
        let event_id = known_id(&event_id, "demo event")?;
        let sheet_id = entity_id("sheetId", input.sheet_id.as_ref())?;
        let command = ClusterCommand::RecordPaperFeedback {
            event_id,
            sheet_id,
            practitioner: input.practitioner.parse().map_err(ApiError::from)?,
            project_id: AggregateRef::parse("projectId", &input.project_id)
                .map_err(ApiError::from)?,
            feedback: input.feedback.parse().map_err(ApiError::from)?,
        };
        Ok(change(
            ctx,
            user,
            &cluster_id,
            expected_version,
            command,
            Some(sheet_id),
        )
        .await?)
    }

    /// Records a follow-up session with the next steps agreed (step 6).
    async fn record_follow_up_session(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        expected_version: Option<i64>,
        input: FollowUpSessionInput,
    ) -> async_graphql::Result<FollowUpSessionChange> {
        let user = manager(ctx)?;
        let id = entity_id("id", input.id.as_ref())?;
        let names = input
            .attendees
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>();
        let next_steps = input
            .next_steps
            .iter()
            .map(next_step)
            .collect::<Result<Vec<_>, _>>()?;
        let step_ids = next_steps
            .iter()
            .map(|s| ID(s.id.to_string()))
            .collect::<Vec<_>>();
        let command = ClusterCommand::RecordFollowUpSession {
            id,
            date: input.date,
            demo_event_id: input
                .demo_event_id
                .as_ref()
                .map(|e| known_id(e, "demo event"))
                .transpose()?,
            attendees: Attendees::parse("attendees", &names).map_err(ApiError::from)?,
            notes: Summary::parse("notes", &input.notes).map_err(ApiError::from)?,
            next_steps,
        };
        let (cluster, version) = run(
            ctx,
            user,
            &cluster_id,
            expected_version,
            command,
            &naming_projects("nextSteps"),
        )
        .await?;
        Ok(FollowUpSessionChange {
            id: ID(cluster),
            version,
            session_id: ID(id.to_string()),
            next_step_ids: step_ids,
        })
    }

    /// Adds a next step to a follow-up session.
    async fn add_next_step(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        session_id: ID,
        expected_version: Option<i64>,
        input: NextStepInput,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx)?;
        let session_id = known_id(&session_id, "follow-up session")?;
        let step = next_step(&input)?;
        let id = step.id;
        let command = ClusterCommand::AddNextStep { session_id, step };
        Ok(change(ctx, user, &cluster_id, expected_version, command, Some(id)).await?)
    }

    /// Marks a next step done, today (UTC).
    async fn complete_next_step(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        step_id: ID,
        expected_version: Option<i64>,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx)?;
        let id = known_id(&step_id, "next step")?;
        let command = ClusterCommand::CompleteNextStep { step_id: id };
        Ok(change(ctx, user, &cluster_id, expected_version, command, Some(id)).await?)
    }
}

pub(super) fn venue(place: Option<&str>, online_link: Option<&str>) -> Result<Venue, ApiError> {
    let place = place.map(|p| ShortText::parse("place", p)).transpose()?;
    let online_link = online_link
        .filter(|l| !l.trim().is_empty())
        .map(|l| Link::parse("onlineLink", l))
        .transpose()?;
    Ok(Venue::new(place, online_link)?)
}

pub(super) fn agenda_ids(ids: &[ID]) -> Result<Vec<AggregateRef>, ApiError> {
    Ok(ids
        .iter()
        .map(|id| AggregateRef::parse("agenda", id))
        .collect::<Result<Vec<_>, _>>()?)
}
