//! # Projects
//!
//! `seed/projects.json` is `data/projects.json` as the deliverable (D2.5) gives it, plus
//! PIT-SAT-M's lead country: the 21 projects of Open Call 1 with their feature map, stage,
//! follow-up partner and (for some) consortium and summary; the 21 of Open Call 2 with their
//! lead country only (Annex 2's country row).
//!
//! Open Call 1's countries are the ones the text states, all in the success stories of §3.2
//! (`docs/seed-countries.md` quotes each): the members of CyberSec2SME, RASAD, VASCREEN and
//! BIM2SIM, and PIT-SAT-M's lead, GeoKinesia (ES). The text gives no country for the other 16.
//!
//! - Id: UUID v5 of [`PROJECT_NAMESPACE`](super::PROJECT_NAMESPACE) and the acronym
//!   ([`project_id`]).
//! - Owner: the tenant of the consortium partner named as `follow_up_partner` (by name, as in
//!   `clusters.json`; an unknown name is an error). A project without one (SECURVERSE and every
//!   Open Call 2 project: follow-up was arranged per project cluster, which the data does not
//!   tie to a partner) goes by the instruments' rule: the first consortium partner of its lead
//!   country, else of a consortium member's country, else the coordinator SAFE. So AIRA (PL)
//!   goes to FundingBox, RoBriNet (DK) to CenSec, and SECURVERSE (no country) and the other 19
//!   to SAFE. Every Open Call 1 project with a country has a follow-up partner, so its
//!   countries do not decide its owner.
//! - Title: the data has none; the acronym stands in for it until a follow-up manager revises
//!   it.
//! - Open call: `SecurIT Open Call <n>`. Stage: `Prototyping` / `Demonstrator` as
//!   `PROTOTYPING` / `DEMONSTRATOR`, none when the data has none. Security domain: none (the
//!   data gives none per project). Consortium: the members with their countries; lead country
//!   as given. Summary: as given, else empty.
//! - Commands, as `SYSTEM_ACTOR` with the `follow_up_manager` role of the owner: `Register`,
//!   then `DeclareFeatures` when there are features (Open Call 1's feature map; Open Call 2's
//!   projects have none yet), then `NoteApplicationsBeyondSecurity` when the data names any.
//!   The match threshold stays at its default.
//!
//! Projects are part of the one-time seed: a database seeded before they shipped does not get
//! them from a later load (it holds tenants, so the load is skipped).

use anyhow::anyhow;
use ri_domain::TenantSlug;
use ri_domain::project::{Acronym, Consortium, ConsortiumMember, OpenCall, ProjectDetails, Stage};
use ri_domain::values::{CountryCode, FieldError, ShortText, Summary, Title};
use ri_taxonomy::FeatureSet;
use uuid::Uuid;

use super::project_id;
use super::records::ProjectRecord;
use super::tenants::TenantPlan;

#[derive(Debug)]
pub(super) struct ProjectPlan {
    pub(super) id: Uuid,
    pub(super) owner: TenantSlug,
    pub(super) details: ProjectDetails,
    pub(super) features: FeatureSet,
    pub(super) applications: Option<ShortText>,
}

pub(super) fn project_plan(
    record: &ProjectRecord,
    partners: &[&TenantPlan],
    coordinator: &TenantSlug,
) -> anyhow::Result<ProjectPlan> {
    let members = record
        .consortium
        .iter()
        .flatten()
        .map(|m| {
            Ok(ConsortiumMember {
                name: Title::parse("consortium", &m.name)?,
                country: CountryCode::parse("consortium", &m.country)?,
            })
        })
        .collect::<Result<Vec<_>, FieldError>>()?;
    let consortium = Consortium::parse(members)?;
    let lead_country = record
        .lead_country
        .as_deref()
        .map(|c| CountryCode::parse("leadCountry", c))
        .transpose()?;

    let owner = match record.follow_up_partner.as_deref().map(str::trim) {
        Some(name) => partners
            .iter()
            .find(|p| p.profile.name.as_str() == name)
            .map(|p| p.slug.clone())
            .ok_or_else(|| anyhow!("follow-up partner {name:?} is not a consortium partner"))?,
        // The instruments' rule: a partner of the lead's country, else of a member's country,
        // else the coordinator.
        None => lead_country
            .iter()
            .chain(consortium.members().iter().map(|m| &m.country))
            .find_map(|country| {
                partners
                    .iter()
                    .find(|p| p.profile.country == *country)
                    .map(|p| p.slug.clone())
            })
            .unwrap_or_else(|| coordinator.clone()),
    };

    let stage = match record.stage.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) if raw.eq_ignore_ascii_case("prototyping") => Some(Stage::Prototyping),
        Some(raw) if raw.eq_ignore_ascii_case("demonstrator") => Some(Stage::Demonstrator),
        Some(raw) => {
            return Err(FieldError::new("stage", format!("{raw:?} is not a stage")).into());
        }
    };
    let features = FeatureSet::parse(record.features.iter().map(String::as_str))
        .map_err(|e| FieldError::new("features", e.to_string()))?;
    let applications = record
        .application_beyond_security
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| ShortText::parse("applicationsBeyondSecurity", a))
        .transpose()?;

    Ok(ProjectPlan {
        id: project_id(&record.acronym),
        owner,
        details: ProjectDetails {
            acronym: Acronym::parse("acronym", &record.acronym)?,
            // The data has no titles: the acronym stands in.
            title: Title::parse("title", &record.acronym)?,
            open_call: Some(OpenCall::parse(
                "openCall",
                &format!("SecurIT Open Call {}", record.open_call),
            )?),
            stage,
            security_domain: None,
            consortium,
            lead_country,
            summary: Summary::parse("summary", record.summary.as_deref().unwrap_or(""))?,
        },
        features,
        applications,
    })
}
