//! GraphQL enums, mirroring the domain's (async-graphql's `remote` keeps them in step).

use async_graphql::Enum;
use ri_domain::{instrument, tenant};

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "instrument::InstrumentKind", name = "InstrumentKind")]
pub(crate) enum InstrumentKind {
    Call,
    Programme,
    StrategicDocument,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "instrument::CoverLevel", name = "CoverLevel")]
pub(crate) enum CoverLevel {
    Regional,
    National,
    Eu,
    International,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "instrument::Periodicity", name = "Periodicity")]
pub(crate) enum Periodicity {
    OneOff,
    Annual,
    Recurring,
    Continuous,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "instrument::TargetOrganisation", name = "TargetOrganisation")]
pub(crate) enum TargetOrganisation {
    Sme,
    Startup,
    LargeEnterprise,
    ResearchOrganisation,
    University,
    PublicBody,
    Cluster,
    NonProfit,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "instrument::InstrumentStatus", name = "InstrumentStatus")]
pub(crate) enum InstrumentStatus {
    Draft,
    Open,
    Closed,
    Withdrawn,
    Archived,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "tenant::TenantKind", name = "TenantKind")]
pub(crate) enum TenantKind {
    ConsortiumPartner,
    AmbassadorCluster,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "ri_domain::Role", name = "Role")]
pub(crate) enum Role {
    Curator,
    FollowUpManager,
    TenantAdmin,
    PlatformAdmin,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[graphql(name = "FeatureMatch")]
pub(crate) enum FeatureMatch {
    /// An instrument matches when it funds any of the features.
    #[default]
    Any,
    /// An instrument matches when it funds all of the features.
    All,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[graphql(name = "InstrumentSort")]
pub(crate) enum InstrumentSort {
    #[default]
    DeadlineSoonest,
    RecentlyUpdated,
    /// Best text match first; only meaningful with `filter.text`.
    Relevance,
}

/// The deliverable's three criteria of a project's success.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    remote = "ri_domain::project::SuccessCriterion",
    name = "SuccessCriterion"
)]
pub(crate) enum SuccessCriterion {
    /// Further funding, awards, new contracts.
    Recognition,
    /// New collaborations and new markets.
    NewCollaborationsMarkets,
    /// The innovation deployed in an operational environment.
    OperationalDeployment,
}
