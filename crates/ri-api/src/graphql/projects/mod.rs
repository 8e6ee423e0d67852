//! Projects (issue 5): the funded projects a tenant follows up, their ranked and explained
//! matches with funding instruments, the features they need that few open instruments fund,
//! and the Figure-3-style matrix of projects by instruments.
//!
//! Who may do what:
//!
//! - Reading (`projects`, `project`, `featureGaps`, `matchMatrix`) needs a signed-in member of
//!   the tenant with the `follow_up_manager`, `curator`, `tenant_admin` or `platform_admin`
//!   role (anonymous: UNAUTHENTICATED; no such role: FORBIDDEN). Every read is of the caller's
//!   own tenant: another tenant's project is not there (`project` is null, a mutation on it is
//!   NOT_FOUND). Only `featureGaps(tenant)` reads another tenant, for platform admins.
//! - `Instrument.matchingProjects` lists the caller's tenant's projects only; for anonymous
//!   callers and members without one of those roles it is an empty list (the instrument itself
//!   is public, so asking is not an error).
//! - Every mutation needs `follow_up_manager` or `tenant_admin` in an active tenant, and runs
//!   under the caller's tenant.
//!
//! Scores are `ri_matching` with the configured weights ([`Api::matching_weights`]) at the
//! server's clock; an excluded pair (a rule says the project cannot apply) is never a match.
//! The same functions serve the CSV and JSON downloads of [`crate::exports`].

use std::cmp::Ordering;
use std::collections::HashSet;

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use ri_app::policy;
use ri_domain::instrument::{self, InstrumentStatus as DomainInstrumentStatus};
use ri_domain::project::{
    Acronym, Consortium, ConsortiumMember as DomainMember, InstrumentRef, MatchThreshold,
    MilestoneDescription, Money as DomainMoney, OpenCall, Project as ProjectAggregate,
    ProjectCommand, ProjectDetails, ProjectError, ProjectPatch,
};
use ri_domain::values::{CountryCode, CurrencyCode, FieldError, Link, ShortText, Summary, Title};
use ri_domain::{Role, TenantSlug};
use ri_matching::{
    Country, CoverLevel as MatchCoverLevel, ExclusionRule, Explanation,
    InstrumentKind as MatchKind, InstrumentProfile, InstrumentStatus as MatchStatus, Match,
};
use ri_projections::catalogue::{self, InstrumentRow, Viewer};
use ri_projections::projects::{self as read, ProjectRow};
use ri_taxonomy::FeatureSet;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::command::{app, caller, execute_own, version};
use super::enums::{FeatureMatch, SuccessCriterion};
use super::error::{ApiError, Code};
use super::inputs::features;
use super::objects::{Category, Feature, Instrument, PageInfo};
use super::{Api, principal};
use crate::auth::{Principal, User};

/// Matches listed per project (or projects per instrument) unless `first` says otherwise.
const DEFAULT_MATCHES: i32 = 10;
/// Most projects one matrix has as rows.
pub(crate) const MAX_MATRIX_PROJECTS: usize = 500;
/// Most instruments one matrix has as columns.
pub(crate) const MAX_MATRIX_INSTRUMENTS: usize = 200;

/// Roles that read the tenant's projects.
const READ_ROLES: [Role; 4] = [
    Role::FollowUpManager,
    Role::Curator,
    Role::TenantAdmin,
    Role::PlatformAdmin,
];
/// Roles that change the tenant's projects.
pub(crate) const WRITE_ROLES: [Role; 2] = [Role::FollowUpManager, Role::TenantAdmin];

mod command;
mod inputs;
mod matching;
mod mutation;
mod query;
mod sharing;
mod types;

use command::*;
use inputs::*;
use matching::*;
use types::*;

pub(crate) use command::{reader, writer};
pub(crate) use matching::{match_matrix, matching_projects};
pub use mutation::ProjectMutation;
pub use query::ProjectQuery;
pub(crate) use types::MatchExclusionRule;
pub(crate) use types::MatchExplanation;
pub(crate) use types::MatchingProject;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn inputs_name_the_offending_field() {
        let input = RegisterProjectInput {
            acronym: "C-SHIELD".into(),
            title: "Shield".into(),
            open_call: None,
            stage: Some(ProjectStage::Demonstrator),
            security_domain: None,
            consortium: vec![
                ConsortiumMemberInput {
                    name: "Acme".into(),
                    country: "LT".into(),
                },
                ConsortiumMemberInput {
                    name: "acme".into(),
                    country: "DK".into(),
                },
            ],
            lead_country: None,
            summary: String::new(),
        };
        assert_eq!(input.parse().map(|_| ()).unwrap_err().field, "consortium");
        let bad_country = RegisterProjectInput {
            consortium: vec![ConsortiumMemberInput {
                name: "Acme".into(),
                country: "XX".into(),
            }],
            ..input.clone()
        };
        assert_eq!(
            bad_country.parse().map(|_| ()).unwrap_err().field,
            "consortium.country"
        );
        let ok = RegisterProjectInput {
            consortium: vec![],
            lead_country: Some("lt".into()),
            ..input
        };
        let details = ok.parse().unwrap();
        assert_eq!(details.lead_country.unwrap().as_str(), "LT");

        let negative = MoneyInput {
            amount: -5,
            currency: "EUR".into(),
        };
        assert_eq!(money(Some(&negative)).unwrap_err().field, "amount");
        let currency = MoneyInput {
            amount: 5,
            currency: "EURO".into(),
        };
        assert_eq!(money(Some(&currency)).unwrap_err().field, "amount.currency");
        assert_eq!(
            min_score_of(Some(1.5)).unwrap_err().field.as_deref(),
            Some("minScore")
        );
        assert_eq!(min_score_of(None).unwrap(), 0.0);
    }

    #[test]
    fn a_revision_clears_with_null_and_keeps_what_is_undefined() {
        let patch = ReviseProjectInput {
            open_call: MaybeUndefined::Null,
            lead_country: MaybeUndefined::Value("DK".into()),
            ..Default::default()
        }
        .parse()
        .unwrap();
        assert_eq!(patch.open_call, Some(None));
        assert_eq!(patch.stage, None);
        assert_eq!(
            patch.lead_country.flatten().map(|c| c.to_string()),
            Some("DK".to_owned())
        );
    }

    #[test]
    fn exclusion_rules_have_stable_codes() {
        let rule = ExclusionRule::CallNotOpen {
            status: MatchStatus::Closed,
        };
        assert_eq!(MatchExclusionRule::of(&rule).code(), "CALL_NOT_OPEN");
        assert_eq!(
            MatchExclusionRule::of(&ExclusionRule::Draft).code(),
            "DRAFT"
        );
    }

    #[test]
    fn ids_are_deduplicated_in_order() {
        let ids = ["b", " a", "b", "", "c"].map(String::from);
        assert_eq!(distinct_ids(&ids), vec!["b", "a", "c"]);
    }
}
