//! Watches (saved searches) and notifications: inputs, objects, and what the query and mutation
//! roots call. Any signed-in user keeps their own watches and inbox; another user's watch, in
//! the same tenant or another, is NOT_FOUND, as if it did not exist.

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, SimpleObject};
use ri_app::policy;
use ri_domain::TenantSlug;
use ri_domain::values::{CountryCode, SearchText, Title};
use ri_domain::watch::{self, ReminderDays, Watch as WatchAggregate, WatchCommand, WatchError};
use ri_projections::watches::{self as read, NotificationKind as ReadKind};
use time::OffsetDateTime;
use uuid::Uuid;

use super::command::{execute_own, expected, version};
use super::enums::{CoverLevel, FeatureMatch, InstrumentKind};
use super::error::{ApiError, Code};
use super::inputs::features;
use super::objects::{Feature, FieldChange, Instrument, PageInfo};
use super::projects::MatchExplanation;
use super::{Api, principal};
use crate::auth::User;

/// Instruments listed per watch, at most.
const MAX_WATCHED: i64 = 100;

/// The search filter a watch runs: the instrument search's filter without statuses and dates
/// (a watch follows published instruments and announces open ones).
#[derive(InputObject, Debug, Clone, Default)]
pub(crate) struct WatchFilterInput {
    /// Words to find in title, programme and summary (web-search syntax).
    pub text: Option<String>,
    #[graphql(default)]
    pub cover_levels: Vec<CoverLevel>,
    /// ISO 3166-1 alpha-2 codes.
    #[graphql(default)]
    pub countries: Vec<String>,
    #[graphql(default)]
    pub kinds: Vec<InstrumentKind>,
    /// Taxonomy codes, e.g. T1, D2.
    #[graphql(default)]
    pub features: Vec<String>,
    #[graphql(default)]
    pub feature_match: FeatureMatch,
    /// A tenant's slug: only its instruments.
    pub tenant: Option<String>,
}

impl WatchFilterInput {
    fn parse(&self) -> Result<watch::WatchFilter, ApiError> {
        let text = self
            .text
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .map(|t| SearchText::parse("filter.text", t))
            .transpose()?;
        let countries = self
            .countries
            .iter()
            .map(|c| CountryCode::parse("filter.countries", c))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(watch::WatchFilter {
            text,
            cover_levels: distinct(self.cover_levels.iter().map(|c| (*c).into())),
            countries: distinct(countries),
            kinds: distinct(self.kinds.iter().map(|k| (*k).into())),
            features: features("filter.features", &self.features)?,
            feature_match: match self.feature_match {
                FeatureMatch::Any => watch::FeatureMatch::Any,
                FeatureMatch::All => watch::FeatureMatch::All,
            },
            tenant: self
                .tenant
                .as_deref()
                .map(|t| {
                    TenantSlug::parse(t)
                        .map_err(|e| ApiError::field("filter.tenant", e.to_string()))
                })
                .transpose()?,
        })
    }
}

fn distinct<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

#[derive(InputObject, Debug, Clone)]
pub(crate) struct CreateWatchInput {
    pub name: String,
    #[graphql(default)]
    pub filter: WatchFilterInput,
    /// Days before a deadline to remind (1 to 60, at most 5). Default: 7 and 1.
    pub reminder_days: Option<Vec<i32>>,
}

/// The fields to change; the others stay.
#[derive(InputObject, Debug, Clone)]
pub(crate) struct UpdateWatchInput {
    pub name: Option<String>,
    pub filter: Option<WatchFilterInput>,
    pub reminder_days: Option<Vec<i32>>,
}

fn reminder_days(raw: Option<&[i32]>) -> Result<Option<ReminderDays>, ApiError> {
    Ok(raw
        .map(|days| ReminderDays::parse("reminderDays", days))
        .transpose()?)
}

/// The result of a watch mutation.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct WatchChange {
    pub id: ID,
    /// The watch's version after the change; pass it as `expectedVersion` next time.
    pub version: i64,
    /// Path of the watch's iCalendar feed of deadlines, with its secret token: shown once, on
    /// creation and on rotation. Subscribe to it from a calendar (prefix the server's address).
    pub calendar_path: Option<String>,
}

/// A saved search of yours.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub(crate) struct Watch {
    pub id: ID,
    pub name: String,
    pub version: i64,
    pub filter: WatchFilter,
    pub reminder_days: Vec<i32>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[ComplexObject]
impl Watch {
    /// The published instruments that meet the filter now, soonest deadline first.
    async fn instruments(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Instrument>> {
        let api = ctx.data_unchecked::<Api>();
        let ids = read::watched_instruments(&api.db, self.id.as_str(), MAX_WATCHED)
            .await
            .map_err(ApiError::from)?;
        let viewer = super::query::viewer(ctx);
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(row) = ri_projections::catalogue::instrument(&api.db, &viewer, &id)
                .await
                .map_err(ApiError::from)?
            {
                out.push(Instrument(row));
            }
        }
        Ok(out)
    }
}

/// A watch's filter as saved.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct WatchFilter {
    pub text: Option<String>,
    pub cover_levels: Vec<CoverLevel>,
    pub countries: Vec<String>,
    pub kinds: Vec<InstrumentKind>,
    pub features: Vec<Feature>,
    pub feature_match: FeatureMatch,
    pub tenant: Option<String>,
}

impl From<watch::WatchFilter> for WatchFilter {
    fn from(f: watch::WatchFilter) -> Self {
        WatchFilter {
            text: f.text.map(|t| t.to_string()),
            cover_levels: f.cover_levels.into_iter().map(Into::into).collect(),
            countries: f.countries.iter().map(|c| c.to_string()).collect(),
            kinds: f.kinds.into_iter().map(Into::into).collect(),
            features: super::objects::features(f.features),
            feature_match: f.feature_match.into(),
            tenant: f.tenant.map(|t| t.to_string()),
        }
    }
}

impl From<watch::FeatureMatch> for FeatureMatch {
    fn from(m: watch::FeatureMatch) -> Self {
        match m {
            watch::FeatureMatch::Any => FeatureMatch::Any,
            watch::FeatureMatch::All => FeatureMatch::All,
        }
    }
}

impl From<read::WatchRow> for Watch {
    fn from(row: read::WatchRow) -> Self {
        Watch {
            id: ID(row.id),
            name: row.name,
            version: row.version,
            filter: row.filter.into(),
            reminder_days: row.reminder_days,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotificationKind {
    /// An instrument newly matches one of your watches.
    NewMatch,
    /// An instrument one of your watches follows changed.
    Changed,
    /// The deadline of an instrument one of your watches follows is near.
    DeadlineReminder,
    /// An instrument newly scores at or above the match threshold of one of your tenant's
    /// projects (for its follow-up managers).
    ProjectMatch,
}

impl From<ReadKind> for NotificationKind {
    fn from(kind: ReadKind) -> Self {
        match kind {
            ReadKind::NewMatch => NotificationKind::NewMatch,
            ReadKind::Changed => NotificationKind::Changed,
            ReadKind::DeadlineReminder => NotificationKind::DeadlineReminder,
            ReadKind::ProjectMatch => NotificationKind::ProjectMatch,
        }
    }
}

#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub(crate) struct Notification {
    pub id: ID,
    pub kind: NotificationKind,
    pub watch_id: Option<ID>,
    /// For PROJECT_MATCH: the best-scoring project of `matches`.
    pub project_id: Option<ID>,
    /// For PROJECT_MATCH: every project of your tenant that the instrument's change made score
    /// at or above its threshold, best first (one notice per instrument change and tenant).
    pub matches: Vec<MatchedProject>,
    pub instrument_id: Option<ID>,
    /// The instrument's title.
    pub title: String,
    /// What happened, in a sentence.
    pub message: String,
    /// For CHANGED: each changed field with its old and new value.
    pub changes: Vec<FieldChange>,
    pub deadline: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub read_at: Option<OffsetDateTime>,
    #[graphql(skip)]
    pub source: read::Notification,
}

#[ComplexObject]
impl Notification {
    /// Why it was made: the event(s) that triggered it, the watch's filter as it stood then,
    /// and what of it the instrument met (null for notices made before causes were recorded).
    async fn cause(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<super::cause::NotificationCause>> {
        let api = ctx.data_unchecked::<Api>();
        let cause = read::notification_cause(&api.db, &api.log, &self.source)
            .await
            .map_err(ApiError::from)?;
        Ok(cause.map(|c| super::cause::cause(&self.source, c)))
    }
}

impl From<read::Notification> for Notification {
    fn from(n: read::Notification) -> Self {
        let source = n.clone();
        Notification {
            source,
            id: ID(n.id.to_string()),
            kind: n.kind.into(),
            watch_id: n.watch_id.map(ID),
            project_id: n.project_id.map(ID),
            matches: n
                .matches
                .into_iter()
                .map(|m| MatchedProject {
                    project_id: ID(m.project_id),
                    acronym: m.acronym,
                    score: m.score,
                    threshold: m.threshold,
                    explanation: m.explanation.as_ref().map(MatchExplanation::from),
                })
                .collect(),
            instrument_id: n.instrument_id.map(ID),
            title: n.title,
            message: n.message,
            changes: n
                .changes
                .into_iter()
                .map(|c| FieldChange {
                    field: c.field,
                    old: c.old,
                    new: c.new,
                })
                .collect(),
            deadline: n.deadline,
            created_at: n.created_at,
            read_at: n.read_at,
        }
    }
}

/// A project that newly scores at or above its match threshold for an instrument.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct MatchedProject {
    pub project_id: ID,
    pub acronym: String,
    /// The project's score for the instrument when it changed (0 to 1).
    pub score: f64,
    /// The project's match threshold then.
    pub threshold: f64,
    /// Why it scored what it did, as explained then (null for notices made before this was
    /// recorded).
    pub explanation: Option<MatchExplanation>,
}

/// A page of your notifications, newest first.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct NotificationConnection {
    pub nodes: Vec<Notification>,
    pub page_info: PageInfo,
    /// Unread notifications in your whole inbox.
    pub unread_count: i64,
}

fn signed_in<'a>(ctx: &'a Context<'_>) -> Result<&'a User, ApiError> {
    principal(ctx).user().ok_or_else(ApiError::unauthenticated)
}

fn watch_id(id: &ID) -> Result<String, ApiError> {
    Uuid::parse_str(id.as_str())
        .map(|u| u.to_string())
        .map_err(|_| ApiError::not_found("watch"))
}

fn calendar_path(id: &str, token: &str) -> String {
    format!("/watches/{id}/deadlines.ics?token={token}")
}

impl From<WatchError> for ApiError {
    fn from(e: WatchError) -> Self {
        match e {
            WatchError::Invalid(f) => f.into(),
            WatchError::NotFound => ApiError::not_found("watch"),
            WatchError::AlreadyExists => ApiError::new(Code::Conflict, e.to_string()),
            WatchError::Unchanged => ApiError::new(Code::BadUserInput, e.to_string()),
        }
    }
}

/// Runs `command` on the caller's watch `id`; another tenant's watch is NOT_FOUND too.
async fn run(
    ctx: &Context<'_>,
    user: &User,
    id: &str,
    expected_version: Option<i64>,
    command: WatchCommand,
) -> Result<i64, ApiError> {
    let api = ctx.data_unchecked::<Api>();
    let v = execute_own::<WatchAggregate>(
        api,
        user,
        &policy::KEEP_WATCHES,
        "watch",
        id,
        command,
        || (),
        expected(expected_version)?,
        ApiError::from,
    )
    .await?;
    Ok(version(v))
}

pub(crate) async fn create(
    ctx: &Context<'_>,
    input: CreateWatchInput,
) -> Result<WatchChange, ApiError> {
    let user = signed_in(ctx)?;
    let name = Title::parse("name", &input.name)?;
    let filter = input.filter.parse()?;
    let days = reminder_days(input.reminder_days.as_deref())?.unwrap_or_default();
    let id = Uuid::now_v7().to_string();
    let (token, hash) = crate::secret::new_token();
    let command = WatchCommand::Create {
        owner: user.subject.clone(),
        name,
        filter,
        reminder_days: days,
        calendar_token_sha256: hash,
    };
    let version = run(ctx, user, &id, Some(0), command).await?;
    Ok(WatchChange {
        calendar_path: Some(calendar_path(&id, &token)),
        id: ID(id),
        version,
    })
}

pub(crate) async fn update(
    ctx: &Context<'_>,
    id: ID,
    expected_version: Option<i64>,
    input: UpdateWatchInput,
) -> Result<WatchChange, ApiError> {
    let user = signed_in(ctx)?;
    let name = input
        .name
        .as_deref()
        .map(|n| Title::parse("name", n))
        .transpose()?;
    let filter = input.filter.as_ref().map(|f| f.parse()).transpose()?;
    let days = reminder_days(input.reminder_days.as_deref())?;
    let id = watch_id(&id)?;
    let command = WatchCommand::Update {
        by: user.subject.clone(),
        name,
        filter,
        reminder_days: days,
    };
    let version = run(ctx, user, &id, expected_version, command).await?;
    Ok(WatchChange {
        id: ID(id),
        version,
        calendar_path: None,
    })
}

pub(crate) async fn rotate_calendar_token(
    ctx: &Context<'_>,
    id: ID,
) -> Result<WatchChange, ApiError> {
    let user = signed_in(ctx)?;
    let id = watch_id(&id)?;
    let (token, hash) = crate::secret::new_token();
    let command = WatchCommand::RotateCalendarToken {
        by: user.subject.clone(),
        calendar_token_sha256: hash,
    };
    let version = run(ctx, user, &id, None, command).await?;
    Ok(WatchChange {
        calendar_path: Some(calendar_path(&id, &token)),
        id: ID(id),
        version,
    })
}

pub(crate) async fn delete(
    ctx: &Context<'_>,
    id: ID,
    expected_version: Option<i64>,
) -> Result<WatchChange, ApiError> {
    let user = signed_in(ctx)?;
    let id = watch_id(&id)?;
    let command = WatchCommand::Delete {
        by: user.subject.clone(),
    };
    let version = run(ctx, user, &id, expected_version, command).await?;
    Ok(WatchChange {
        id: ID(id),
        version,
        calendar_path: None,
    })
}

pub(crate) async fn mark_read(
    ctx: &Context<'_>,
    ids: Option<Vec<ID>>,
    all: bool,
) -> Result<i64, ApiError> {
    let user = signed_in(ctx)?;
    let ids = match (ids, all) {
        (Some(_), true) => {
            return Err(ApiError::field("all", "give either ids or all, not both"));
        }
        (None, false) => return Err(ApiError::field("ids", "give ids, or all: true")),
        (None, true) => None,
        (Some(ids), false) => Some(
            ids.iter()
                .map(|id| {
                    Uuid::parse_str(id.as_str())
                        .map_err(|_| ApiError::field("ids", format!("{} is not an id", id.0)))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let api = ctx.data_unchecked::<Api>();
    let n = read::mark_notifications_read(
        &api.db,
        user.tenant.as_str(),
        &user.subject,
        ids.as_deref(),
        OffsetDateTime::now_utc(),
    )
    .await
    .map_err(ApiError::from)?;
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

pub(crate) async fn watches(
    ctx: &Context<'_>,
    consistent_with: Option<String>,
) -> Result<Vec<Watch>, ApiError> {
    let user = signed_in(ctx)?;
    let api = ctx.data_unchecked::<Api>();
    super::search::reflects(api, "watches", consistent_with.as_deref()).await?;
    let rows = read::watches_of(&api.db, user.tenant.as_str(), &user.subject).await?;
    Ok(rows.into_iter().map(Watch::from).collect())
}

pub(crate) async fn watch(ctx: &Context<'_>, id: ID) -> Result<Option<Watch>, ApiError> {
    let user = signed_in(ctx)?;
    let Ok(id) = watch_id(&id) else {
        return Ok(None);
    };
    let api = ctx.data_unchecked::<Api>();
    let row = read::watch(&api.db, user.tenant.as_str(), &user.subject, &id).await?;
    Ok(row.map(Watch::from))
}

pub(crate) async fn notifications(
    ctx: &Context<'_>,
    unread_only: bool,
    first: u32,
    after: Option<String>,
) -> Result<NotificationConnection, ApiError> {
    let user = signed_in(ctx)?;
    let before = after
        .map(|a| {
            a.parse::<i64>()
                .map_err(|_| ApiError::field("after", "not a cursor of this list"))
        })
        .transpose()?;
    let api = ctx.data_unchecked::<Api>();
    let page = read::notifications(
        &api.db,
        user.tenant.as_str(),
        &user.subject,
        unread_only,
        first,
        before,
    )
    .await?;
    let end_cursor = page.items.last().map(|n| n.seq.to_string());
    Ok(NotificationConnection {
        nodes: page.items.into_iter().map(Notification::from).collect(),
        page_info: PageInfo {
            has_next_page: page.has_next,
            end_cursor,
        },
        unread_count: page.unread,
    })
}

/// Watches and notifications: queries.
#[derive(Debug, Default)]
pub struct WatchQuery;

#[Object]
impl WatchQuery {
    /// Your watches (saved searches), newest first. `consistentWith`: a mutation's
    /// `logPosition` (the response's `extensions.logPosition`); the list answers once it
    /// reflects that mutation (a watch just saved or deleted), or UNAVAILABLE after a few
    /// seconds.
    async fn watches(
        &self,
        ctx: &Context<'_>,
        consistent_with: Option<String>,
    ) -> async_graphql::Result<Vec<Watch>> {
        Ok(watches(ctx, consistent_with).await?)
    }

    /// One of your watches; null for an unknown id or someone else's watch.
    async fn watch(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Watch>> {
        Ok(watch(ctx, id).await?)
    }

    /// Your notifications, newest first; `after` is the previous page's `endCursor`.
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Default: false.")] unread_only: Option<bool>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<NotificationConnection> {
        let unread_only = unread_only.unwrap_or(false);
        Ok(notifications(ctx, unread_only, super::query::first(first, 20)?, after).await?)
    }
}

/// Watches and notifications: mutations.
#[derive(Debug, Default)]
pub struct WatchMutation;

#[Object]
impl WatchMutation {
    /// Saves a search as a watch of yours: you are notified when an instrument newly matches
    /// it, when one it follows changes, and before their deadlines. The result carries the
    /// path of the watch's calendar feed, with its secret token, this once.
    async fn create_watch(
        &self,
        ctx: &Context<'_>,
        input: CreateWatchInput,
    ) -> async_graphql::Result<WatchChange> {
        Ok(create(ctx, input).await?)
    }

    /// Changes the given fields of a watch of yours.
    async fn update_watch(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        input: UpdateWatchInput,
    ) -> async_graphql::Result<WatchChange> {
        Ok(update(ctx, id, expected_version, input).await?)
    }

    /// Issues a new calendar feed token for a watch of yours; the old link stops working.
    async fn rotate_watch_calendar_token(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<WatchChange> {
        Ok(rotate_calendar_token(ctx, id).await?)
    }

    async fn delete_watch(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
    ) -> async_graphql::Result<WatchChange> {
        Ok(delete(ctx, id, expected_version).await?)
    }

    /// Marks notifications of yours read: those in `ids`, or all with `all: true`. Returns how
    /// many were unread.
    async fn mark_notifications_read(
        &self,
        ctx: &Context<'_>,
        ids: Option<Vec<ID>>,
        all: Option<bool>,
    ) -> async_graphql::Result<i64> {
        Ok(mark_read(ctx, ids, all.unwrap_or(false)).await?)
    }
}
