//! Input types, parsed into domain values (BAD_USER_INPUT naming the field).

use super::*;

#[derive(InputObject, Debug, Clone)]
pub(crate) struct NameEndUserAreaInput {
    pub name: String,
    pub domain: AreaDomain,
    /// The tenant's own domain's name; only with `domain: OWN`.
    pub own_domain: Option<String>,
    #[graphql(default)]
    pub description: String,
}

/// The fields to change; the others stay.
#[derive(InputObject, Debug, Clone, Default)]
pub(crate) struct ReviseEndUserAreaInput {
    pub name: Option<String>,
    pub domain: Option<AreaDomain>,
    /// With `domain: OWN`.
    pub own_domain: Option<String>,
    pub description: Option<String>,
}

#[derive(InputObject, Debug, Clone)]
pub(crate) struct FormClusterInput {
    /// One of your tenant's end-user areas.
    pub area_id: ID,
    pub name: String,
    #[graphql(default)]
    pub description: String,
}

/// The fields to change; the others stay.
#[derive(InputObject, Debug, Clone, Default)]
pub(crate) struct ReviseClusterInput {
    pub area_id: Option<ID>,
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(InputObject, Debug, Clone)]
pub(crate) struct StakeholderInput {
    /// A UUID of your choosing; one is made when absent.
    pub id: Option<ID>,
    pub kind: StakeholderKind,
    pub name: String,
    #[graphql(default)]
    pub note: String,
}

#[derive(InputObject, Debug, Clone)]
pub(crate) struct ScheduleDemoEventInput {
    /// A UUID of your choosing; one is made when absent.
    pub id: Option<ID>,
    pub title: String,
    /// RFC 3339, in the future.
    pub starts_at: OffsetDateTime,
    /// The IANA zone to show the time in, e.g. `Europe/Vilnius`.
    pub time_zone: String,
    /// A place, an online link, or both.
    pub place: Option<String>,
    pub online_link: Option<String>,
    /// The cluster's projects that demonstrate, in order (1 to 50).
    pub agenda: Vec<ID>,
    /// Days after the start during which practitioners give feedback (1 to 90; 14).
    pub feedback_window_days: Option<i32>,
}

#[derive(InputObject, Debug, Clone)]
pub(crate) struct PractitionerInput {
    pub organisation: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub sector: PractitionerSector,
}

impl PractitionerInput {
    pub(super) fn parse(&self) -> Result<Practitioner, FieldError> {
        Ok(Practitioner {
            organisation: Title::parse("organisation", &self.organisation)?,
            country: CountryCode::parse("country", &self.country)?,
            sector: self.sector.into(),
        })
    }
}

#[derive(InputObject, Debug, Clone)]
pub(crate) struct InvitePractitionerInput {
    /// A UUID of your choosing; one is made when absent.
    pub id: Option<ID>,
    pub practitioner: PractitionerInput,
    pub email: String,
    /// When the link stops working; default: when the event's feedback window closes.
    pub expires_at: Option<OffsetDateTime>,
}

/// A practitioner's answers on one project.
#[derive(InputObject, Debug, Clone)]
pub(crate) struct FeedbackInput {
    /// 1 (poor) to 5 (excellent).
    pub relevance: i32,
    /// 1 (poor) to 5 (excellent).
    pub usability: i32,
    pub would_pilot: bool,
    /// Taxonomy codes of the features found relevant.
    #[graphql(default)]
    pub relevant_features: Vec<String>,
    #[graphql(default)]
    pub comment: String,
}

impl FeedbackInput {
    pub(super) fn parse(&self) -> Result<Feedback, FieldError> {
        Ok(Feedback {
            relevance: Rating::parse("relevance", i64::from(self.relevance))?,
            usability: Rating::parse("usability", i64::from(self.usability))?,
            would_pilot: self.would_pilot,
            relevant_features: features("relevantFeatures", &self.relevant_features)?,
            comment: Summary::parse("comment", &self.comment)?,
        })
    }
}

#[derive(InputObject, Debug, Clone)]
pub(crate) struct PaperFeedbackInput {
    /// The sheet's UUID (one sheet is one practitioner's answers); one is made when absent.
    pub sheet_id: Option<ID>,
    pub practitioner: PractitionerInput,
    pub project_id: ID,
    pub feedback: FeedbackInput,
}

#[derive(InputObject, Debug, Clone)]
pub(crate) struct NextStepInput {
    /// A UUID of your choosing; one is made when absent.
    pub id: Option<ID>,
    /// A project of the cluster.
    pub project_id: ID,
    pub action: String,
    /// A person or an organisation.
    pub owner: String,
    /// On or after the session's date.
    pub due: Date,
}

#[derive(InputObject, Debug, Clone)]
pub(crate) struct FollowUpSessionInput {
    /// A UUID of your choosing; one is made when absent.
    pub id: Option<ID>,
    pub date: Date,
    /// The demo event it follows up, if any.
    pub demo_event_id: Option<ID>,
    pub attendees: Vec<String>,
    #[graphql(default)]
    pub notes: String,
    #[graphql(default)]
    pub next_steps: Vec<NextStepInput>,
}

pub(super) fn next_step(input: &NextStepInput) -> Result<NextStepPlan, ApiError> {
    Ok(NextStepPlan {
        id: entity_id("nextSteps.id", input.id.as_ref())?,
        project_id: AggregateRef::parse("projectId", &input.project_id)?,
        action: Title::parse("action", &input.action)?,
        owner: Title::parse("owner", &input.owner)?,
        due: input.due,
    })
}
