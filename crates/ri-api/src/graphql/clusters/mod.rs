//! Project clusters over GraphQL (docs/clusters.md): a tenant's end-user areas, its clusters of
//! projects around them, demo events with invited practitioners and their feedback, follow-up
//! sessions with next steps, engaged stakeholders; the dashboard of a cluster, the projects
//! suggested for it, the practitioner's feedback link, and the cluster's events as they happen.
//!
//! Who may do what:
//! - every mutation but `submitDemoFeedback` is for a `follow_up_manager` (or `tenant_admin`) of
//!   the tenant, acting on the tenant's own areas and clusters: another tenant's id loads an
//!   empty stream and is NOT_FOUND, and nothing is stored;
//! - the queries and `clusterActivity` are for any signed-in user of the tenant, and show only
//!   its own clusters (row-level security in the read model);
//! - `invitation(token)` and `submitDemoFeedback(token, …)` need no account: the link's token
//!   (256 random bits, of which only the SHA-256 is ever stored) is the credential. Every use of
//!   a token is counted first, per token and per client address, and refused with RATE_LIMITED
//!   (and `Retry-After`) beyond the limits of `ri_projections::clusters::AttemptLimit`.
//!
//! Mutations take `expectedVersion` (optional) and return the cluster's (or area's) version.
//! All writes to one cluster serialise on its version; a write without `expectedVersion`
//! (practitioners' feedback never has one) is retried a few times on a version conflict, the
//! command being decided again on the reloaded cluster.

use async_graphql::{
    ComplexObject, Context, Enum, ErrorExtensions, ID, InputObject, Json, Object, SimpleObject,
};
use cqrs_es::Aggregate;
use futures_util::{Stream, StreamExt};
use ri_app::{Caller, Failure, Policy, policy};
use ri_domain::TenantSlug;
use ri_domain::cluster::{
    AggregateRef, AreaCommand, AreaDomain as DomainArea, AreaError, Attendees, CLUSTER,
    ClusterCommand, ClusterError, ClusterEvent, ClusterServices, Email,
    EndUserArea as AreaAggregate, Feedback, FeedbackWindow, Invitation as DomainInvitation,
    NextStepPlan, Practitioner, ProjectCluster, ProjectRef, Rating, Stakeholder, TimeZoneName,
    TokenHash, Venue,
};
use ri_domain::project::{Acronym, Project};
use ri_domain::values::{CountryCode, FieldError, Link, ShortText, Summary, Title};
use ri_projections::clusters::{self as read, Attempt, AttemptLimit, InvitationAccess};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::command::{app, caller, execute_own, expected, version};
use super::enums::SuccessCriterion;
use super::error::{ApiError, Code, from_failure};
use super::http::ClientIp;
use super::inputs::features;
use super::objects::{Feature, features as feature_list};
use super::{Api, principal};
use crate::auth::User;
use crate::trace::current_traceparent;

/// Longer link tokens are not looked up (ours have 43 characters).
const MAX_TOKEN_CHARS: usize = 128;
/// Where a practitioner's link points, followed by the token.
const FEEDBACK_PATH: &str = "/feedback/";
/// Suggestions returned unless `first` says otherwise.
const DEFAULT_SUGGESTIONS: i32 = 10;

mod command;
mod dashboard;
mod enums;
mod inputs;
mod links;
mod mutation;
mod query;
mod types;

use command::*;
pub(crate) use dashboard::ClusterActivity;
use dashboard::*;
pub(crate) use enums::PractitionerSector;
use enums::*;
use inputs::*;
use links::*;
pub use mutation::ClusterMutation;
pub use query::ClusterQuery;
pub(crate) use query::activity;
use types::*;
