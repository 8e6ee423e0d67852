//! Object types: end-user areas, clusters, demo events, invitations and feedback.

use super::*;

/// An end-user centric area (public event security, CI operators' needs) of your tenant.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct EndUserArea {
    pub id: ID,
    /// Pass as `expectedVersion` to change it.
    pub version: i64,
    pub name: String,
    pub domain: AreaDomain,
    /// The name of the tenant's own domain, for `OWN`.
    pub own_domain: Option<String>,
    pub description: String,
    /// Your tenant's clusters formed for it.
    pub cluster_count: i64,
    pub named_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl From<read::AreaRow> for EndUserArea {
    fn from(row: read::AreaRow) -> Self {
        EndUserArea {
            id: ID(row.id),
            version: row.version,
            name: row.name,
            domain: AreaDomain::of(&row.domain),
            own_domain: row.domain.own_name().map(str::to_owned),
            description: row.description,
            cluster_count: row.clusters,
            named_at: row.named_at,
            updated_at: row.updated_at,
        }
    }
}

/// The area a cluster is formed for; name and domain are null while the area is not (yet) in
/// the read model.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct ClusterArea {
    pub id: ID,
    pub name: Option<String>,
    pub domain: Option<AreaDomain>,
    pub own_domain: Option<String>,
}

pub(super) fn cluster_area(row: &read::ClusterRow) -> ClusterArea {
    ClusterArea {
        id: ID(row.area_id.clone()),
        name: row.area_name.clone(),
        domain: row.area_domain.as_ref().map(AreaDomain::of),
        own_domain: row
            .area_domain
            .as_ref()
            .and_then(DomainArea::own_name)
            .map(str::to_owned),
    }
}

/// A cluster as the list shows it, with its counts.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct ClusterSummary {
    pub id: ID,
    /// Pass as `expectedVersion` to change it.
    pub version: i64,
    pub name: String,
    pub description: String,
    pub area: ClusterArea,
    /// The follow-up manager's subject.
    pub follow_up_manager: Option<String>,
    pub project_count: i64,
    /// Demo events starting later, not cancelled.
    pub upcoming_event_count: i64,
    pub open_step_count: i64,
    pub overdue_step_count: i64,
    pub formed_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl From<read::ClusterRow> for ClusterSummary {
    fn from(row: read::ClusterRow) -> Self {
        ClusterSummary {
            area: cluster_area(&row),
            id: ID(row.id),
            version: row.version,
            name: row.name,
            description: row.description,
            follow_up_manager: row.follow_up_manager,
            project_count: row.projects,
            upcoming_event_count: row.upcoming_events,
            open_step_count: row.open_steps,
            overdue_step_count: row.overdue_steps,
            formed_at: row.formed_at,
            updated_at: row.updated_at,
        }
    }
}

/// A project of a cluster.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct ClusterProject {
    pub id: ID,
    /// The current acronym (the one at assignment when the project is not registered).
    pub acronym: String,
    pub title: Option<String>,
    /// Whether your tenant may read the project (false for another tenant's project once
    /// it is no longer shared with yours).
    pub registered: bool,
    pub features: Vec<Feature>,
    pub open_call: Option<String>,
    pub assigned_at: OffsetDateTime,
    /// The tenant that shared it with yours; null for your own project.
    pub shared_by: Option<String>,
}

/// Someone else interested in the cluster's innovations: an investor, an integrator, EACTDA…
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct ClusterStakeholder {
    pub id: ID,
    pub kind: StakeholderKind,
    pub name: String,
    pub note: String,
    pub engaged_at: OffsetDateTime,
}

/// A project on a demo event's agenda.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct AgendaProject {
    pub id: ID,
    pub acronym: String,
    pub title: Option<String>,
    pub features: Vec<Feature>,
}

pub(super) fn agenda(items: Vec<read::AgendaItem>) -> Vec<AgendaProject> {
    items
        .into_iter()
        .map(|a| AgendaProject {
            id: ID(a.project_id),
            acronym: a.acronym,
            title: a.title,
            features: feature_list(a.features),
        })
        .collect()
}

/// A demo event of a cluster: when, where, its agenda, and how its feedback goes.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub(crate) struct DemoEvent {
    pub id: ID,
    pub title: String,
    /// In UTC, as every `DateTime`; show it in `timeZone`.
    pub starts_at: OffsetDateTime,
    /// The IANA zone the organiser gave the time in, e.g. `Europe/Vilnius`.
    pub time_zone: String,
    pub place: Option<String>,
    pub online_link: Option<String>,
    /// In the order the projects demonstrate.
    pub agenda: Vec<AgendaProject>,
    pub status: DemoEventStatus,
    pub cancel_reason: Option<String>,
    pub feedback_window_days: i32,
    /// When practitioners can no longer give or edit feedback.
    pub feedback_closes_at: OffsetDateTime,
    /// Invitations not revoked.
    pub invitation_count: i64,
    /// Practitioners (links and paper sheets) who gave feedback.
    pub respondent_count: i64,
    /// Feedback given, one per practitioner and project.
    pub feedback_count: i64,
    pub scheduled_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    #[graphql(skip)]
    pub tenant: TenantSlug,
    #[graphql(skip)]
    pub cluster_id: String,
}

#[ComplexObject]
impl DemoEvent {
    /// The practitioners invited, by organisation (never their links).
    async fn invitations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<DemoInvitation>> {
        let api = ctx.data_unchecked::<Api>();
        let id = uuid(&self.id).ok_or_else(|| ApiError::not_found("demo event"))?;
        let rows = read::invitations(&api.db, &self.tenant, &self.cluster_id, id)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(DemoInvitation::from).collect())
    }

    /// Every feedback given at this event, oldest first.
    async fn feedback(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<FeedbackEntry>> {
        let api = ctx.data_unchecked::<Api>();
        let id = uuid(&self.id).ok_or_else(|| ApiError::not_found("demo event"))?;
        let rows = read::feedback_entries(&api.db, &self.tenant, &self.cluster_id, Some(id))
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(FeedbackEntry::from).collect())
    }
}

impl DemoEvent {
    pub(super) fn of(row: read::DemoEventRow, tenant: &TenantSlug, cluster_id: &str) -> Self {
        DemoEvent {
            id: ID(row.id.to_string()),
            title: row.title,
            starts_at: row.starts_at,
            time_zone: row.time_zone,
            place: row.place,
            online_link: row.online_link,
            agenda: agenda(row.agenda),
            status: row.status.into(),
            cancel_reason: row.cancel_reason,
            feedback_window_days: row.feedback_window_days,
            feedback_closes_at: row.feedback_closes_at,
            invitation_count: row.invitations,
            respondent_count: row.respondents,
            feedback_count: row.feedback,
            scheduled_at: row.scheduled_at,
            updated_at: row.updated_at,
            tenant: tenant.clone(),
            cluster_id: cluster_id.to_owned(),
        }
    }
}

/// A practitioner's invitation to a demo event, as its organisers see it.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct DemoInvitation {
    pub id: ID,
    pub event_id: ID,
    pub organisation: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub sector: PractitionerSector,
    pub email: String,
    /// Null: when the event's feedback window closes.
    pub expires_at: Option<OffsetDateTime>,
    pub revoked: bool,
    pub revoke_reason: Option<String>,
    /// Links issued: 1, plus one per reissue.
    pub links_issued: i64,
    /// Projects it gave feedback on.
    pub feedback_count: i64,
    pub invited_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl From<read::InvitationRow> for DemoInvitation {
    fn from(row: read::InvitationRow) -> Self {
        DemoInvitation {
            id: ID(row.id.to_string()),
            event_id: ID(row.event_id.to_string()),
            organisation: row.organisation,
            country: row.country,
            sector: row.sector.into(),
            email: row.email,
            expires_at: row.expires_at,
            revoked: row.revoked,
            revoke_reason: row.revoke_reason,
            links_issued: row.links_issued,
            feedback_count: row.feedback,
            invited_at: row.invited_at,
            updated_at: row.updated_at,
        }
    }
}

/// One practitioner's feedback on one project.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct FeedbackEntry {
    pub event_id: ID,
    /// The invitation's id, or the paper sheet's.
    pub respondent_id: ID,
    pub source: FeedbackSource,
    pub project_id: ID,
    pub acronym: String,
    pub organisation: String,
    pub country: String,
    pub sector: PractitionerSector,
    /// 1 (poor) to 5 (excellent).
    pub relevance: i32,
    pub usability: i32,
    pub would_pilot: bool,
    pub relevant_features: Vec<Feature>,
    pub comment: String,
    pub submitted_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// Times it was edited.
    pub revisions: i32,
}

impl From<read::FeedbackRow> for FeedbackEntry {
    fn from(row: read::FeedbackRow) -> Self {
        FeedbackEntry {
            event_id: ID(row.event_id.to_string()),
            respondent_id: ID(row.respondent_id.to_string()),
            source: if row.paper {
                FeedbackSource::Paper
            } else {
                FeedbackSource::Invitation
            },
            project_id: ID(row.project_id),
            acronym: row.acronym,
            organisation: row.organisation,
            country: row.country,
            sector: row.sector.into(),
            relevance: i32::from(row.relevance),
            usability: i32::from(row.usability),
            would_pilot: row.would_pilot,
            relevant_features: feature_list(row.relevant_features),
            comment: row.comment,
            submitted_at: row.submitted_at,
            updated_at: row.updated_at,
            revisions: row.revisions,
        }
    }
}

#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct FeedbackFeatureCount {
    pub feature: Feature,
    /// Feedback citing it as relevant.
    pub count: i64,
}

#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct FeedbackCountryCount {
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub count: i64,
}

#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct FeedbackSectorCount {
    pub sector: PractitionerSector,
    pub count: i64,
}

/// What practitioners said about one project of the cluster, over all its demo events.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct ProjectFeedbackSummary {
    pub project_id: ID,
    pub acronym: String,
    pub count: i64,
    /// Null without feedback.
    pub mean_relevance: Option<f64>,
    pub mean_usability: Option<f64>,
    /// The share (0 to 1) of practitioners who would pilot it.
    pub would_pilot_share: Option<f64>,
    /// The five features most cited as relevant, most cited first (taxonomy order on a tie).
    pub top_features: Vec<FeedbackFeatureCount>,
    /// By practitioners' country, most first, then by code.
    pub by_country: Vec<FeedbackCountryCount>,
    /// By practitioners' sector, most first, then by code.
    pub by_sector: Vec<FeedbackSectorCount>,
}

impl From<read::ProjectFeedbackSummary> for ProjectFeedbackSummary {
    fn from(s: read::ProjectFeedbackSummary) -> Self {
        ProjectFeedbackSummary {
            project_id: ID(s.project_id),
            acronym: s.acronym,
            count: s.count,
            mean_relevance: s.mean_relevance,
            mean_usability: s.mean_usability,
            would_pilot_share: s.would_pilot_share,
            top_features: s
                .top_features
                .into_iter()
                .map(|c| FeedbackFeatureCount {
                    feature: Feature(c.value),
                    count: c.count,
                })
                .collect(),
            by_country: s
                .by_country
                .into_iter()
                .map(|c| FeedbackCountryCount {
                    country: c.value,
                    count: c.count,
                })
                .collect(),
            by_sector: s
                .by_sector
                .into_iter()
                .map(|c| FeedbackSectorCount {
                    sector: c.value.into(),
                    count: c.count,
                })
                .collect(),
        }
    }
}

/// A step agreed at a follow-up session.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct NextStep {
    pub id: ID,
    pub session_id: ID,
    pub project_id: ID,
    pub acronym: String,
    pub action: String,
    /// A person or an organisation.
    pub owner: String,
    pub due: Date,
    pub completed_on: Option<Date>,
    /// Due before today (UTC) and not completed.
    pub overdue: bool,
}

impl From<read::NextStepRow> for NextStep {
    fn from(row: read::NextStepRow) -> Self {
        NextStep {
            id: ID(row.id.to_string()),
            session_id: ID(row.session_id.to_string()),
            project_id: ID(row.project_id),
            acronym: row.acronym,
            action: row.action,
            owner: row.owner,
            due: row.due,
            completed_on: row.completed_on,
            overdue: row.overdue,
        }
    }
}
