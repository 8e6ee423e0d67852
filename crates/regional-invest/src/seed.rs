//! The seed data the product ships: the SecurIT consortium partners and ambassador clusters as
//! tenants, the funding instruments the SecurIT deliverable D2.5 names, and the 42 projects its
//! two open calls funded, loaded as real commands through the event log so that every seeded
//! fact has its events and its history.
//!
//! The data is the project's own copy of the deliverable's facts (`seed/clusters.json`,
//! `seed/instruments.json`, `seed/projects.json`), embedded in the binary. Nothing here is
//! synthetic.
//!
//! [`load_if_empty`] first turns the whole seed into a plan, parsing every field through the
//! domain's value types, so that bad seed data fails with an error naming the record before
//! anything is written. It then runs the plan under an advisory lock, only when the log holds
//! no `Tenant` event yet; a second call, here or in another process, does nothing.
//!
//! # Tenants
//!
//! - Slug: the name in lower case, Latin letters with diacritics folded to their base letter
//!   (`ó` → `o`), every other run of non-alphanumerics turned into one `-`, trimmed of `-`, and
//!   cut to at most 63 characters at a word boundary. Two records with the same slug are an error.
//! - Kind: `CONSORTIUM_PARTNER` for `consortium_partners`, `AMBASSADOR_CLUSTER` for
//!   `ambassador_clusters`.
//! - `website`: an address given without a scheme (`www.cyberwales.net`) is read as `https://`.
//! - `domains`: the comma-separated list, each item trimmed of spaces and a final full stop.
//! - `sme_members`: the member count, a number or a numeric string. A value that is not a plain
//!   count (`"70+"`, a lower bound) is left out rather than guessed.
//! - `location` (a city and region) has no place in the tenant profile; it is not loaded.
//! - Registered with `Register` on aggregate id = slug, owned by that tenant, as
//!   [`SYSTEM_ACTOR`] with the `platform_admin` role.
//!
//! # Instruments
//!
//! - Id: UUID v5 of [`INSTRUMENT_NAMESPACE`] and the instrument's name ([`instrument_id`]), so a
//!   seed loaded anywhere gives the same ids.
//! - Owner: the first consortium partner (in `clusters.json` order) of one of the instrument's
//!   countries; otherwise the consortium partner SAFE (slug `safe`), our choice of steward for
//!   instruments no partner's country claims (the data names no owner for them). Only CenSec
//!   (DK) and L3CE (LT) own national instruments in this data; every EU and international
//!   instrument goes to `safe`.
//! - Countries: `countries`; when it is empty and the cover level is national or regional, the
//!   single `country`.
//! - Summary from `description`, programme from `programme`, funding from `amount_eur` as the
//!   maximum per beneficiary in EUR (the deliverable reports it as the amount one project got).
//! - Commands, as [`SYSTEM_ACTOR`] with the `curator` role of the owner: `Draft`, then
//!   `TagFeatures` when there are features, then
//!   - a programme or strategic document with features (and a country when national or
//!     regional): `Publish` (open-ended, so it stays `OPEN`);
//!   - a call: every call the deliverable names belongs to the 2022–2024 programmes and is
//!     closed today, so it is recorded as history: `SetSchedule` with its deadline when it has
//!     one, then `Close`, from draft;
//!   - anything else (no features, or no country for a national/regional one) cannot be
//!     published and stays `DRAFT` for a curator to complete; the load logs each one.
//! - A deadline date is read as 17:00 Europe/Brussels and stored with the fixed offset in force
//!   that day: `+02:00` from the last Sunday of March to the day before the last Sunday of
//!   October (CEST), `+01:00` otherwise (CET); the schedule names the zone `Europe/Brussels`.
//!
//! # Projects
//!
//! `seed/projects.json` is `data/projects.json` as the deliverable gives it: the 21 projects of
//! Open Call 1 with their feature map, stage, follow-up partner and (for some) consortium and
//! summary; the 21 of Open Call 2 with their lead country only.
//!
//! - Id: UUID v5 of [`PROJECT_NAMESPACE`] and the acronym ([`project_id`]).
//! - Owner: the tenant of the consortium partner named as `follow_up_partner` (by name, as in
//!   `clusters.json`; an unknown name is an error). A project without one (SECURVERSE and every
//!   Open Call 2 project: follow-up was arranged per project cluster, which the data does not
//!   tie to a partner) goes by the instruments' rule: the first consortium partner of its lead
//!   country, else of a consortium member's country, else the coordinator SAFE. So AIRA (PL)
//!   goes to FundingBox, RoBriNet (DK) to CenSec, and SECURVERSE and the other 19 to SAFE.
//! - Title: the data has none; the acronym stands in for it until a follow-up manager revises
//!   it.
//! - Open call: `SecurIT Open Call <n>`. Stage: `Prototyping` / `Demonstrator` as
//!   `PROTOTYPING` / `DEMONSTRATOR`, none when the data has none. Security domain: none (the
//!   data gives none per project). Consortium: the members with their countries; lead country
//!   as given. Summary: as given, else empty.
//! - Commands, as [`SYSTEM_ACTOR`] with the `follow_up_manager` role of the owner: `Register`,
//!   then `DeclareFeatures` when there are features (Open Call 1's feature map; Open Call 2's
//!   projects have none yet), then `NoteApplicationsBeyondSecurity` when the data names any.
//!   The match threshold stays at its default.
//!
//! Projects are part of the one-time seed: a database seeded before they shipped does not get
//! them from a later load (it holds tenants, so the load is skipped).
//!
//! # Project clusters
//!
//! `seed/project_clusters.json` is `data/project_clusters.json`: the two clusters of the
//! deliverable's section 3.3 (Public Space Protection with seven Open Call 2 projects; Critical
//! Infrastructure Protection with four) and the end users interested in each.
//!
//! - Owner: a cluster holds only its tenant's own projects, so each cluster goes to the tenant
//!   that owns all of its projects (found by acronym, ignoring case, among the seeded projects;
//!   an unknown acronym, or projects of two tenants in one cluster, is an error). With the
//!   projects' rule above every one of the eleven goes to SAFE, the coordinator, so both
//!   clusters are SAFE's. (L3CE led the clustering in SecurIT; its follow-up managers can be
//!   given SAFE's `follow_up_manager` role.)
//! - End-user area: id UUID v5 of [`CLUSTER_NAMESPACE`] and `area:<end_user_area>`
//!   ([`area_id`]); name the words in the brackets (`Public event security`, `CI operators:
//!   water, DSOs`), first letter upper-cased; domain from the words before them: Public Space
//!   Protection as `PUBLIC_SPACE_PROTECTION`, Critical Infrastructure Protection as
//!   `SENSITIVE_INFRASTRUCTURE_PROTECTION` (the deliverable's domain for CI operators),
//!   anything else as the tenant's own domain of that name; description: the interested end
//!   users.
//! - Cluster: id UUID v5 of [`CLUSTER_NAMESPACE`] and `<end_user_area>` ([`cluster_id`]); name
//!   the whole `end_user_area`; its projects assigned in the data's order; each interested end
//!   user engaged as an `END_USER_ORGANISATION` stakeholder (id UUID v5 of the cluster's id and
//!   the name). No follow-up manager, demo event or feedback: the data names none.
//! - Commands as [`SYSTEM_ACTOR`] with the `follow_up_manager` role of the owner: `Name` on the
//!   area, then `Form`, `AssignProject` for each project, `EngageStakeholder` for each end user.
//!
//! Every command of one load shares one correlation id and one trace id.

use std::collections::HashMap;

use anyhow::{Context, anyhow, bail};
use ri_app::{App, Caller, Failure, policy};
use ri_domain::cluster::{
    AggregateRef, AreaCommand, AreaDomain, ClusterCommand, ClusterServices, EndUserArea,
    ProjectCluster, ProjectRef, Stakeholder, StakeholderKind,
};
use ri_domain::instrument::{
    CoverLevel, FundingInstrument, InstrumentCommand, InstrumentDetails, InstrumentKind,
    InstrumentServices, Schedule,
};
use ri_domain::project::{
    Acronym, Consortium, ConsortiumMember, OpenCall, Project, ProjectCommand, ProjectDetails, Stage,
};
use ri_domain::tenant::{Tenant, TenantCommand, TenantKind, TenantProfile};
use ri_domain::values::{
    CountryCode, CurrencyCode, FieldError, FundingRange, Link, ShortText, Summary, Title, distinct,
};
use ri_domain::{Role, TenantSlug, TraceParent};
use ri_eventstore::EventLog;
use ri_taxonomy::FeatureSet;
use serde::Deserialize;
use time::macros::{format_description, offset, time};
use time::{Date, Month, OffsetDateTime, Weekday};
use uuid::Uuid;

const CLUSTERS_JSON: &str = include_str!("../seed/clusters.json");
const INSTRUMENTS_JSON: &str = include_str!("../seed/instruments.json");
const PROJECTS_JSON: &str = include_str!("../seed/projects.json");
const PROJECT_CLUSTERS_JSON: &str = include_str!("../seed/project_clusters.json");

/// The namespace of the seeded instruments' ids. Fixed forever: changing it would give the same
/// instruments other ids in a database seeded later.
pub const INSTRUMENT_NAMESPACE: Uuid = Uuid::from_u128(0x6b1f_0c3e_8d2a_4e57_9c41_52a9_e0d7_3b18);

/// The namespace of the seeded projects' ids, fixed forever like [`INSTRUMENT_NAMESPACE`].
pub const PROJECT_NAMESPACE: Uuid = Uuid::from_u128(0x3c0e_52a1_7b94_4f08_a6d3_1e8b_94c2_7f50);

/// The namespace of the seeded end-user areas' and clusters' ids, fixed forever like
/// [`INSTRUMENT_NAMESPACE`].
pub const CLUSTER_NAMESPACE: Uuid = Uuid::from_u128(0x7a51_c3d0_2e64_4b19_8f07_d1a6_5c83_e924);

/// The partner that stewards the instruments no partner's country claims, and the projects no
/// partner follows up or claims by country (our choice).
const COORDINATOR: &str = "SAFE";

/// Namespace of the seed's advisory lock ("RISD"); the projections use "RIPR".
const LOCK_NAMESPACE: i32 = 0x5249_5344;

/// The IANA zone deadlines are given in.
const DEADLINE_ZONE: &str = "Europe/Brussels";

/// What [`load_if_empty`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedReport {
    /// Tenants registered.
    pub tenants: usize,
    /// Instruments drafted (whatever their final status).
    pub instruments: usize,
    /// Projects registered.
    pub projects: usize,
    /// True when the log already held a tenant, so nothing was written.
    pub skipped: bool,
}

/// The id a seeded instrument of this name gets, in every database.
pub fn instrument_id(name: &str) -> Uuid {
    Uuid::new_v5(&INSTRUMENT_NAMESPACE, name.trim().as_bytes())
}

/// The id a seeded project of this acronym gets, in every database.
pub fn project_id(acronym: &str) -> Uuid {
    Uuid::new_v5(&PROJECT_NAMESPACE, acronym.trim().as_bytes())
}

/// The id a seeded end-user area gets, in every database.
pub fn area_id(end_user_area: &str) -> Uuid {
    Uuid::new_v5(
        &CLUSTER_NAMESPACE,
        format!("area:{}", end_user_area.trim()).as_bytes(),
    )
}

/// The id a seeded project cluster gets, in every database.
pub fn cluster_id(end_user_area: &str) -> Uuid {
    Uuid::new_v5(&CLUSTER_NAMESPACE, end_user_area.trim().as_bytes())
}

/// Loads the seed when the database holds no tenant yet; returns what it did. Idempotent: a
/// second call does nothing.
pub async fn load_if_empty(log: &EventLog) -> anyhow::Result<SeedReport> {
    // Bad seed data is found before anything is written.
    let plan = plan()?;

    // One seeder at a time across processes; the lock lives on a connection closed at the
    // end (or dropped on error), so it can never stay behind in the pool.
    let mut conn = log
        .pool()
        .acquire()
        .await
        .context("seed: connect to PostgreSQL")?;
    conn.close_on_drop();
    loop {
        let won: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, 0)")
            .bind(LOCK_NAMESPACE)
            .fetch_one(&mut *conn)
            .await
            .context("seed: take the seed lock")?;
        if won {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let has_tenant: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM events WHERE aggregate_type = $1)")
            .bind(ri_domain::tenant::TENANT)
            .fetch_one(&mut *conn)
            .await
            .context("seed: look for tenants in the log")?;
    let report = if has_tenant {
        tracing::info!("the log already holds tenants; seed skipped");
        SeedReport {
            tenants: 0,
            instruments: 0,
            projects: 0,
            skipped: true,
        }
    } else {
        plan.run(log).await?
    };

    // Closing the connection releases the lock; a failed close drops it, which closes it too.
    if let Err(e) = conn.close().await {
        tracing::warn!(error = %e, "seed: closing the lock connection failed");
    }
    Ok(report)
}

// ---------------------------------------------------------------------------------------------
// The seed files, as they are.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClustersFile {
    consortium_partners: Vec<ClusterRecord>,
    ambassador_clusters: Vec<ClusterRecord>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterRecord {
    name: String,
    country: String,
    /// City and region: the tenant profile has no place for it.
    #[serde(default, rename = "location")]
    _location: Option<String>,
    #[serde(default)]
    sme_members: Option<Number>,
    #[serde(default)]
    domains: Option<String>,
    #[serde(default)]
    website: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InstrumentRecord {
    name: String,
    kind: InstrumentKind,
    cover_level: CoverLevel,
    #[serde(default)]
    features: Vec<String>,
    #[serde(default)]
    countries: Vec<String>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    deadline: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    programme: Option<String>,
    #[serde(default)]
    amount_eur: Option<Number>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectRecord {
    acronym: String,
    open_call: u8,
    #[serde(default)]
    stage: Option<String>,
    #[serde(default)]
    follow_up_partner: Option<String>,
    #[serde(default)]
    features: Vec<String>,
    #[serde(default)]
    application_beyond_security: Option<String>,
    /// Empty or absent (`null`) when the data names no member.
    #[serde(default)]
    consortium: Option<Vec<MemberRecord>>,
    #[serde(default)]
    lead_country: Option<String>,
    #[serde(default)]
    summary: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberRecord {
    name: String,
    country: String,
}

/// A number the data may give as a JSON number or as a string (`"sme_members": "70"`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Number {
    Integer(u64),
    Text(String),
}

impl Number {
    /// The value, when it is a plain non-negative integer.
    fn value(&self) -> Option<u64> {
        match self {
            Number::Integer(n) => Some(*n),
            Number::Text(text) => text.trim().parse().ok(),
        }
    }
}

impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Number::Integer(n) => write!(f, "{n}"),
            Number::Text(text) => write!(f, "{text:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The plan: every command the seed issues, built and checked before any is run.

#[derive(Debug)]
struct Plan {
    tenants: Vec<TenantPlan>,
    instruments: Vec<InstrumentPlan>,
    projects: Vec<ProjectPlan>,
    clusters: Vec<ClusterPlan>,
}

#[derive(Debug)]
struct ProjectPlan {
    id: Uuid,
    owner: TenantSlug,
    details: ProjectDetails,
    features: FeatureSet,
    applications: Option<ShortText>,
}

#[derive(Debug)]
struct TenantPlan {
    slug: TenantSlug,
    profile: TenantProfile,
}

#[derive(Debug)]
struct InstrumentPlan {
    id: Uuid,
    owner: TenantSlug,
    details: InstrumentDetails,
    features: FeatureSet,
    end: End,
}

/// Where an instrument's history ends.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// Open-ended programme or strategic document.
    Published,
    /// A call of the past, with its deadline when the deliverable gives one.
    Closed { deadline: Option<OffsetDateTime> },
    /// Cannot be published as the data stands.
    Draft { why: &'static str },
}

fn plan() -> anyhow::Result<Plan> {
    let clusters: ClustersFile =
        serde_json::from_str(CLUSTERS_JSON).context("seed/clusters.json is malformed")?;
    let instruments: Vec<InstrumentRecord> =
        serde_json::from_str(INSTRUMENTS_JSON).context("seed/instruments.json is malformed")?;
    let projects: Vec<ProjectRecord> =
        serde_json::from_str(PROJECTS_JSON).context("seed/projects.json is malformed")?;

    let mut tenants = Vec::new();
    let mut names_by_slug: HashMap<TenantSlug, &str> = HashMap::new();
    let records = clusters
        .consortium_partners
        .iter()
        .map(|r| (TenantKind::ConsortiumPartner, r))
        .chain(
            clusters
                .ambassador_clusters
                .iter()
                .map(|r| (TenantKind::AmbassadorCluster, r)),
        );
    for (kind, record) in records {
        let tenant = tenant_plan(kind, record)
            .with_context(|| format!("seed/clusters.json: tenant {:?}", record.name))?;
        if let Some(other) = names_by_slug.insert(tenant.slug.clone(), &record.name) {
            bail!(
                "seed/clusters.json: tenants {other:?} and {:?} both get the slug {:?}",
                record.name,
                tenant.slug.as_str()
            );
        }
        tenants.push(tenant);
    }

    let partners: Vec<&TenantPlan> = tenants
        .iter()
        .filter(|t| t.profile.kind == TenantKind::ConsortiumPartner)
        .collect();
    let coordinator = partners
        .iter()
        .find(|t| t.profile.name.as_str() == COORDINATOR)
        .map(|t| t.slug.clone())
        .ok_or_else(|| {
            anyhow!("seed/clusters.json: the coordinator {COORDINATOR:?} is not a partner")
        })?;

    let mut planned = Vec::new();
    let mut ids: HashMap<Uuid, &str> = HashMap::new();
    for record in &instruments {
        let instrument = instrument_plan(record, &partners, &coordinator)
            .with_context(|| format!("seed/instruments.json: instrument {:?}", record.name))?;
        if let Some(other) = ids.insert(instrument.id, &record.name) {
            bail!(
                "seed/instruments.json: instruments {other:?} and {:?} have the same name",
                record.name
            );
        }
        planned.push(instrument);
    }

    let mut planned_projects = Vec::new();
    let mut project_ids: HashMap<Uuid, &str> = HashMap::new();
    for record in &projects {
        let project = project_plan(record, &partners, &coordinator)
            .with_context(|| format!("seed/projects.json: project {:?}", record.acronym))?;
        if let Some(other) = project_ids.insert(project.id, &record.acronym) {
            bail!(
                "seed/projects.json: projects {other:?} and {:?} have the same acronym",
                record.acronym
            );
        }
        planned_projects.push(project);
    }
    let project_clusters: ProjectClustersFile = serde_json::from_str(PROJECT_CLUSTERS_JSON)
        .context("seed/project_clusters.json is malformed")?;
    let clusters = project_clusters
        .clusters
        .iter()
        .map(|record| {
            cluster_plan(record, &planned_projects).with_context(|| {
                format!(
                    "seed/project_clusters.json: cluster {:?}",
                    record.end_user_area
                )
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Plan {
        tenants,
        instruments: planned,
        projects: planned_projects,
        clusters,
    })
}

fn project_plan(
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

fn tenant_plan(kind: TenantKind, record: &ClusterRecord) -> anyhow::Result<TenantPlan> {
    let slug = slug_of(&record.name)?;
    let website = record
        .website
        .as_deref()
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(|w| {
            // The deliverable writes some addresses without a scheme.
            if w.contains("://") {
                Link::parse("website", w)
            } else {
                Link::parse("website", &format!("https://{w}"))
            }
        })
        .transpose()?;
    let domains = record
        .domains
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(|d| d.trim().trim_end_matches('.').trim())
        .filter(|d| !d.is_empty())
        .map(|d| ShortText::parse("domains", d))
        .collect::<Result<Vec<_>, _>>()?;
    let member_count = match &record.sme_members {
        None => None,
        Some(raw) => match raw.value().and_then(|n| u32::try_from(n).ok()) {
            Some(n) => Some(n),
            None => {
                // Not a plain count ("70+" is a lower bound): better no count than a wrong one.
                tracing::debug!(tenant = %record.name, sme_members = %raw, "member count left out");
                None
            }
        },
    };
    Ok(TenantPlan {
        slug,
        profile: TenantProfile {
            name: Title::parse("name", &record.name)?,
            kind,
            country: CountryCode::parse("country", &record.country)?,
            website,
            domains: distinct("domains", domains, 50)?,
            member_count,
        },
    })
}

/// The slug a tenant's name gives: see the module documentation.
fn slug_of(name: &str) -> anyhow::Result<TenantSlug> {
    const MAX: usize = 63;
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase).map(fold) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    if slug.len() > MAX {
        // Cut at a word boundary when the cut falls inside a word.
        let cut_in_word = slug.as_bytes().get(MAX).is_some_and(|b| *b != b'-');
        slug.truncate(MAX);
        if cut_in_word && let Some(boundary) = slug.rfind('-') {
            slug.truncate(boundary);
        }
    }
    let slug = slug.trim_matches('-');
    TenantSlug::parse(slug).with_context(|| format!("name {name:?} gives the slug {slug:?}"))
}

/// A lower-case Latin letter with a diacritic, as its base letter; anything else unchanged.
fn fold(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ą' => 'a',
        'ç' | 'ć' | 'č' => 'c',
        'ď' => 'd',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' => 'i',
        'ķ' => 'k',
        'ļ' | 'ł' => 'l',
        'ñ' | 'ń' | 'ņ' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ő' => 'o',
        'ř' => 'r',
        'ś' | 'š' | 'ș' | 'ş' => 's',
        'ț' | 'ţ' | 'ť' => 't',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ų' | 'ů' | 'ű' => 'u',
        'ý' | 'ÿ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        other => other,
    }
}

fn instrument_plan(
    record: &InstrumentRecord,
    partners: &[&TenantPlan],
    coordinator: &TenantSlug,
) -> anyhow::Result<InstrumentPlan> {
    let national = matches!(
        record.cover_level,
        CoverLevel::National | CoverLevel::Regional
    );
    let listed = record
        .countries
        .iter()
        .map(|c| CountryCode::parse("countries", c))
        .collect::<Result<Vec<_>, _>>()?;
    let single = record
        .country
        .as_deref()
        .map(|c| CountryCode::parse("country", c))
        .transpose()?;
    let countries = if listed.is_empty() && national {
        single.into_iter().collect()
    } else {
        distinct("countries", listed, 250)?
    };

    // The first partner of one of the instrument's countries, else the coordinator.
    let owner = countries
        .iter()
        .chain(single.iter())
        .find_map(|country| {
            partners
                .iter()
                .find(|p| p.profile.country == *country)
                .map(|p| p.slug.clone())
        })
        .unwrap_or_else(|| coordinator.clone());

    let features = FeatureSet::parse(record.features.iter().map(String::as_str))
        .map_err(|e| FieldError::new("features", e.to_string()))?;
    let funding = record
        .amount_eur
        .as_ref()
        .map(|amount| {
            let max = amount.value().ok_or_else(|| {
                FieldError::new("amount_eur", format!("{amount} is not an amount in euro"))
            })?;
            FundingRange::new(None, Some(max), CurrencyCode::parse("currency", "EUR")?)
        })
        .transpose()?;
    let deadline = record.deadline.as_deref().map(deadline_at).transpose()?;

    let end = match record.kind {
        InstrumentKind::Call => End::Closed { deadline },
        InstrumentKind::Programme | InstrumentKind::StrategicDocument => {
            if deadline.is_some() {
                bail!("only a call has a deadline in the seed");
            }
            if features.is_empty() {
                End::Draft {
                    why: "the deliverable names no feature for it",
                }
            } else if national && countries.is_empty() {
                End::Draft {
                    why: "it is national or regional but the deliverable names no country",
                }
            } else {
                End::Published
            }
        }
    };

    Ok(InstrumentPlan {
        id: instrument_id(&record.name),
        owner,
        details: InstrumentDetails {
            title: Title::parse("name", &record.name)?,
            kind: record.kind,
            cover_level: record.cover_level,
            countries,
            programme: record
                .programme
                .as_deref()
                .map(|p| ShortText::parse("programme", p))
                .transpose()?,
            link: None,
            summary: Summary::parse("description", record.description.as_deref().unwrap_or(""))?,
            target_organisations: Vec::new(),
            funding,
            periodicity: None,
            languages: Vec::new(),
        },
        features,
        end,
    })
}

/// A deadline date as 17:00 in Brussels, with the offset in force that day.
fn deadline_at(raw: &str) -> Result<OffsetDateTime, FieldError> {
    let date = Date::parse(raw.trim(), format_description!("[year]-[month]-[day]"))
        .map_err(|e| FieldError::new("deadline", format!("{raw:?} is not a date: {e}")))?;
    let last_sunday = |month_after: Month| {
        Date::from_calendar_date(date.year(), month_after, 1)
            .map(|first| first.prev_occurrence(Weekday::Sunday))
            .map_err(|e| FieldError::new("deadline", e.to_string()))
    };
    // EU summer time runs from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last
    // Sunday of October: 17:00 on the first of those days is summer time, on the second not.
    let summer = last_sunday(Month::April)? <= date && date < last_sunday(Month::November)?;
    let offset = if summer { offset!(+2) } else { offset!(+1) };
    Ok(date.with_time(time!(17:00)).assume_offset(offset))
}

// ---------------------------------------------------------------------------------------------
// Running the plan.

impl Plan {
    async fn run(self, log: &EventLog) -> anyhow::Result<SeedReport> {
        let app = App::new(log.clone());
        let run = Run::new();
        for tenant in &self.tenants {
            app.execute::<Tenant>(
                &run.as_role(&tenant.slug, Role::PlatformAdmin),
                &policy::ADMINISTER_TENANTS,
                &tenant.slug,
                tenant.slug.as_str(),
                TenantCommand::Register {
                    slug: tenant.slug.clone(),
                    profile: tenant.profile.clone(),
                },
                || (),
                None,
            )
            .await
            .map_err(failed)
            .with_context(|| format!("seed: register the tenant {}", tenant.slug))?;
        }

        let (mut open, mut closed, mut drafts) = (0, 0, 0);
        for instrument in &self.instruments {
            let title = instrument.details.title.as_str();
            let mut commands = vec![InstrumentCommand::Draft {
                tenant: instrument.owner.clone(),
                details: instrument.details.clone(),
            }];
            if !instrument.features.is_empty() {
                commands.push(InstrumentCommand::TagFeatures {
                    features: instrument.features,
                });
            }
            match &instrument.end {
                End::Published => {
                    open += 1;
                    commands.push(InstrumentCommand::Publish);
                }
                End::Closed { deadline } => {
                    closed += 1;
                    if let Some(deadline) = deadline {
                        let schedule = Schedule::new(None, Some(*deadline), Some(DEADLINE_ZONE))?;
                        commands.push(InstrumentCommand::SetSchedule { schedule });
                    }
                    commands.push(InstrumentCommand::Close);
                }
                End::Draft { why } => {
                    // Left for a curator of the owner to complete and publish.
                    drafts += 1;
                    tracing::info!(instrument = title, owner = %instrument.owner, why, "seeded instrument stays a draft");
                }
            }
            let id = instrument.id.to_string();
            let curator = run.as_role(&instrument.owner, Role::Curator);
            for command in commands {
                app.execute::<FundingInstrument>(
                    &curator,
                    &policy::CURATE_INSTRUMENTS,
                    &instrument.owner,
                    &id,
                    command,
                    InstrumentServices::default,
                    None,
                )
                .await
                .map_err(failed)
                .with_context(|| format!("seed: instrument {title:?} ({id})"))?;
            }
        }

        for project in &self.projects {
            let acronym = project.details.acronym.as_str();
            let mut commands = vec![ProjectCommand::Register {
                tenant: project.owner.clone(),
                details: project.details.clone(),
            }];
            if !project.features.is_empty() {
                commands.push(ProjectCommand::DeclareFeatures {
                    features: project.features,
                });
            }
            if let Some(applications) = &project.applications {
                commands.push(ProjectCommand::NoteApplicationsBeyondSecurity {
                    applications: applications.clone(),
                });
            }
            let id = project.id.to_string();
            let manager = run.as_role(&project.owner, Role::FollowUpManager);
            for command in commands {
                app.execute::<Project>(
                    &manager,
                    &policy::CHANGE_PROJECTS,
                    &project.owner,
                    &id,
                    command,
                    || (),
                    None,
                )
                .await
                .map_err(failed)
                .with_context(|| format!("seed: project {acronym:?} ({id})"))?;
            }
        }

        for cluster in &self.clusters {
            cluster.run(&app, &run).await?;
        }

        tracing::info!(
            tenants = self.tenants.len(),
            instruments = self.instruments.len(),
            open,
            closed,
            drafts,
            projects = self.projects.len(),
            clusters = self.clusters.len(),
            "seed loaded"
        );
        Ok(SeedReport {
            tenants: self.tenants.len(),
            instruments: self.instruments.len(),
            projects: self.projects.len(),
            skipped: false,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Project clusters.

#[derive(Debug, Deserialize)]
struct ProjectClustersFile {
    clusters: Vec<ProjectClusterRecord>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectClusterRecord {
    end_user_area: String,
    projects: Vec<String>,
    #[serde(default)]
    interested_end_users: Vec<String>,
}

#[derive(Debug)]
struct ClusterPlan {
    owner: TenantSlug,
    area_id: Uuid,
    area_name: Title,
    domain: AreaDomain,
    area_description: Summary,
    id: Uuid,
    name: Title,
    projects: Vec<ProjectRef>,
    stakeholders: Vec<Stakeholder>,
}

/// "Public Space Protection (public event security)": the domain and the area's name.
fn area_parts(end_user_area: &str) -> anyhow::Result<(AreaDomain, Title)> {
    let text = end_user_area.trim();
    let (domain, rest) = text
        .split_once(" (")
        .ok_or_else(|| anyhow!("{text:?} is not \"<domain> (<area>)\""))?;
    let area = rest
        .strip_suffix(')')
        .ok_or_else(|| anyhow!("{text:?} does not end with \")\""))?;
    let mut chars = area.trim().chars();
    let area = chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect::<String>())
        .unwrap_or_default();
    let domain = match domain.trim() {
        "Public Space Protection" => AreaDomain::PublicSpaceProtection,
        "Critical Infrastructure Protection" | "Sensitive Infrastructure Protection" => {
            AreaDomain::SensitiveInfrastructureProtection
        }
        "Disaster Resilience" => AreaDomain::DisasterResilience,
        own => AreaDomain::Own(Title::parse("ownDomain", own)?),
    };
    Ok((domain, Title::parse("name", &area)?))
}

fn cluster_plan(
    record: &ProjectClusterRecord,
    projects: &[ProjectPlan],
) -> anyhow::Result<ClusterPlan> {
    let (domain, area_name) = area_parts(&record.end_user_area)?;
    let members = record
        .projects
        .iter()
        .map(|acronym| {
            projects
                .iter()
                .find(|p| {
                    p.details
                        .acronym
                        .as_str()
                        .eq_ignore_ascii_case(acronym.trim())
                })
                .ok_or_else(|| anyhow!("project {acronym:?} is not among the seeded projects"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let owner = members
        .first()
        .map(|p| p.owner.clone())
        .ok_or_else(|| anyhow!("a cluster needs projects"))?;
    if let Some(other) = members.iter().find(|p| p.owner != owner) {
        bail!(
            "its projects belong to {owner} and {} ({}); a cluster holds one tenant's projects",
            other.owner,
            other.details.acronym
        );
    }
    let id = cluster_id(&record.end_user_area);
    let stakeholders = record
        .interested_end_users
        .iter()
        .map(|name| {
            Ok(Stakeholder {
                id: Uuid::new_v5(&id, name.trim().as_bytes()),
                kind: StakeholderKind::EndUserOrganisation,
                name: Title::parse("name", name)?,
                note: ShortText::parse(
                    "note",
                    "Interested in the demonstrations (SecurIT D2.5, section 3.3)",
                )?,
            })
        })
        .collect::<Result<Vec<_>, FieldError>>()?;
    let interested = record
        .interested_end_users
        .iter()
        .map(|n| n.trim())
        .collect::<Vec<_>>()
        .join("; ");
    Ok(ClusterPlan {
        area_id: area_id(&record.end_user_area),
        area_name,
        domain,
        area_description: Summary::parse(
            "description",
            &format!("Interested end users: {interested}"),
        )?,
        id,
        name: Title::parse("name", &record.end_user_area)?,
        projects: members
            .iter()
            .map(|p| {
                Ok(ProjectRef {
                    id: AggregateRef::parse("projectId", &p.id.to_string())?,
                    tenant: p.owner.clone(),
                    acronym: p.details.acronym.clone(),
                })
            })
            .collect::<Result<Vec<_>, FieldError>>()?,
        stakeholders,
        owner,
    })
}

impl ClusterPlan {
    async fn run(&self, app: &App, run: &Run) -> anyhow::Result<()> {
        let manager = run.as_role(&self.owner, Role::FollowUpManager);
        let area = self.area_id.to_string();
        app.execute::<EndUserArea>(
            &manager,
            &policy::RUN_CLUSTERS,
            &self.owner,
            &area,
            AreaCommand::Name {
                tenant: self.owner.clone(),
                name: self.area_name.clone(),
                domain: self.domain.clone(),
                description: self.area_description.clone(),
            },
            || (),
            None,
        )
        .await
        .map_err(failed)
        .with_context(|| format!("seed: end-user area {:?} ({area})", self.area_name.as_str()))?;
        let mut commands = vec![ClusterCommand::Form {
            tenant: self.owner.clone(),
            area_id: AggregateRef::parse("areaId", &area)?,
            name: self.name.clone(),
            description: Summary::parse(
                "description",
                "Clustered in the SecurIT project (D2.5, section 3.3).",
            )?,
        }];
        commands.extend(
            self.projects
                .iter()
                .map(|project| ClusterCommand::AssignProject {
                    project: project.clone(),
                }),
        );
        commands.extend(self.stakeholders.iter().map(|stakeholder| {
            ClusterCommand::EngageStakeholder {
                stakeholder: stakeholder.clone(),
            }
        }));
        let id = self.id.to_string();
        for command in commands {
            app.execute::<ProjectCluster>(
                &manager,
                &policy::RUN_CLUSTERS,
                &self.owner,
                &id,
                command,
                ClusterServices::default,
                None,
            )
            .await
            .map_err(failed)
            .with_context(|| format!("seed: cluster {:?} ({id})", self.name.as_str()))?;
        }
        Ok(())
    }
}

/// One load is one conversation: every command shares its correlation id and trace, and gets
/// a command id of its own (the application layer gives each command one).
#[derive(Debug)]
struct Run {
    correlation_id: Uuid,
    traceparent: TraceParent,
}

impl Run {
    fn new() -> Self {
        Self {
            correlation_id: Uuid::now_v7(),
            traceparent: TraceParent::detached(),
        }
    }

    /// The platform acting for `tenant` in `role`, in this load's conversation.
    fn as_role(&self, tenant: &TenantSlug, role: Role) -> Caller {
        let mut caller =
            Caller::system(tenant.clone(), vec![role]).with_traceparent(self.traceparent.clone());
        caller.correlation_id = self.correlation_id;
        caller.causation_id = self.correlation_id;
        caller
    }
}

/// A command's failure as the seed reports it.
fn failed<E: std::fmt::Debug>(failure: Failure<E>) -> anyhow::Error {
    match failure {
        Failure::Refused(e) => anyhow::anyhow!("refused: {e:?}"),
        Failure::OtherTenant => anyhow::anyhow!("the aggregate belongs to another tenant"),
        Failure::Error(e) => anyhow::anyhow!("{}: {}", e.code.as_str(), e.message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lower_case_words_joined_by_dashes() {
        let slug = |name: &str| slug_of(name).map(String::from).unwrap();
        assert_eq!(slug("Pole SCS"), "pole-scs");
        assert_eq!(slug("TICE.PT"), "tice-pt");
        assert_eq!(slug("  L3CE "), "l3ce");
        assert_eq!(slug("Cluj IT cluster"), "cluj-it-cluster");
        assert_eq!(
            slug("AERTIC Agrupación Empresarial Innovadora del sector TIC de La Rioja"),
            "aertic-agrupacion-empresarial-innovadora-del-sector-tic-de-la"
        );
        assert!(slug_of("3D Cluster").is_err());
        assert!(slug_of("!!").is_err());
        let long = slug(&"abcdefghij".repeat(8));
        assert_eq!(long.len(), 63);
    }

    #[test]
    fn the_two_clusters_of_section_3_3_are_safes_with_their_projects() {
        let plan = plan().unwrap();
        let summary = plan
            .clusters
            .iter()
            .map(|c| {
                (
                    c.owner.as_str(),
                    c.area_name.as_str(),
                    c.domain.clone(),
                    c.projects
                        .iter()
                        .map(|p| p.acronym.as_str())
                        .collect::<Vec<_>>(),
                    c.stakeholders.len(),
                )
            })
            .collect::<Vec<_>>();
        assert_eq!(
            summary,
            [
                (
                    "safe",
                    "Public event security",
                    AreaDomain::PublicSpaceProtection,
                    vec![
                        "Safe Festivals",
                        "AIR-T4S",
                        "CMD BOX",
                        "AI-Disaster Emergency Communication",
                        "ERRATA",
                        "RESPO Communication",
                        "Serval Management"
                    ],
                    3
                ),
                (
                    "safe",
                    "CI operators: water, DSOs",
                    AreaDomain::SensitiveInfrastructureProtection,
                    vec!["DISGRID", "RS2DG", "EV-Safe", "FlowGuard"],
                    1
                ),
            ]
        );
        assert!(
            area_parts("Maritime (ports)").is_ok_and(|(d, _)| d.own_name() == Some("Maritime"))
        );
        assert!(area_parts("No brackets").is_err());
    }

    #[test]
    fn deadlines_are_five_pm_in_brussels() {
        let at = |raw: &str| deadline_at(raw).unwrap().to_string();
        assert_eq!(at("2024-08-01"), "2024-08-01 17:00:00.0 +02:00:00");
        assert_eq!(at("2024-01-15"), "2024-01-15 17:00:00.0 +01:00:00");
        // 2024's changes: 31 March and 27 October.
        assert_eq!(at("2024-03-30"), "2024-03-30 17:00:00.0 +01:00:00");
        assert_eq!(at("2024-03-31"), "2024-03-31 17:00:00.0 +02:00:00");
        assert_eq!(at("2024-10-26"), "2024-10-26 17:00:00.0 +02:00:00");
        assert_eq!(at("2024-10-27"), "2024-10-27 17:00:00.0 +01:00:00");
        assert_eq!(deadline_at("1 August").unwrap_err().field, "deadline");
    }

    #[test]
    fn the_shipped_seed_plans_without_error() {
        let plan = plan().unwrap();
        assert_eq!(plan.tenants.len(), 27);
        assert_eq!(plan.instruments.len(), 14);
        let by_name = |name: &str| {
            plan.instruments
                .iter()
                .find(|i| i.details.title.as_str() == name)
                .unwrap()
        };
        assert_eq!(by_name("Innovation Fund Denmark").owner.as_str(), "censec");
        assert_eq!(
            by_name("Start-up (Startas / InoStartas)").owner.as_str(),
            "l3ce"
        );
        assert_eq!(
            by_name("NATO DIANA accelerator challenge programme")
                .owner
                .as_str(),
            "safe"
        );
        assert!(matches!(
            by_name("Industrial Fund Denmark").end,
            End::Draft { .. }
        ));
        let silicon = by_name("Silicon Eurocluster cascade funding for demonstration projects");
        assert_eq!(
            silicon.details.funding.as_ref().and_then(|f| f.max),
            Some(80_000)
        );
        assert_eq!(silicon.end, End::Closed { deadline: None });

        let latvian = plan
            .tenants
            .iter()
            .find(|t| t.slug.as_str() == "latvian-it-cluster")
            .unwrap();
        assert_eq!(latvian.profile.member_count, None, "70+ is not a count");
        let wales = plan
            .tenants
            .iter()
            .find(|t| t.slug.as_str() == "cyber-wales")
            .unwrap();
        assert_eq!(
            wales.profile.website.as_ref().map(Link::as_str),
            Some("https://www.cyberwales.net/")
        );
        assert_eq!(wales.profile.member_count, Some(400));
    }

    #[test]
    fn the_shipped_projects_go_to_their_follow_up_partners() {
        let plan = plan().unwrap();
        assert_eq!(plan.projects.len(), 42);
        let by_acronym = |acronym: &str| {
            plan.projects
                .iter()
                .find(|p| p.details.acronym.as_str() == acronym)
                .unwrap()
        };
        let shield = by_acronym("C-SHIELD");
        assert_eq!(shield.owner.as_str(), "l3ce");
        assert_eq!(shield.details.title.as_str(), "C-SHIELD");
        assert_eq!(shield.details.stage, Some(Stage::Demonstrator));
        assert_eq!(
            shield.details.open_call.as_ref().map(OpenCall::as_str),
            Some("SecurIT Open Call 1")
        );
        assert_eq!(
            shield.applications.as_ref().map(ShortText::as_str),
            Some("environmental protection")
        );
        assert_eq!(by_acronym("Helia").owner.as_str(), "pole-scs");
        // Without a follow-up partner: by the lead's country, else the coordinator.
        assert_eq!(by_acronym("AIRA").owner.as_str(), "fundingbox");
        assert_eq!(by_acronym("RoBriNet").owner.as_str(), "censec");
        assert_eq!(by_acronym("SECURVERSE").owner.as_str(), "safe");
        let disgrid = by_acronym("DISGRID");
        assert_eq!(disgrid.owner.as_str(), "safe");
        assert_eq!(disgrid.details.stage, None);
        assert!(disgrid.features.is_empty());
        assert_eq!(
            disgrid
                .details
                .lead_country
                .map(|c| c.to_string())
                .as_deref(),
            Some("GR")
        );
        let rasad = by_acronym("RASAD");
        assert_eq!(
            rasad
                .details
                .countries()
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>(),
            ["BE", "FR"]
        );
        assert_eq!(project_id("RASAD"), rasad.id);
        assert_eq!(project_id("x").get_version_num(), 5);
    }

    #[test]
    fn numbers_may_be_strings() {
        let parse = |json: &str| serde_json::from_str::<Number>(json).unwrap().value();
        assert_eq!(parse("70"), Some(70));
        assert_eq!(parse("\" 70 \""), Some(70));
        assert_eq!(parse("\"70+\""), None);
    }

    #[test]
    fn instrument_ids_are_stable() {
        assert_eq!(
            instrument_id("Innovation Fund Denmark"),
            instrument_id(" Innovation Fund Denmark")
        );
        assert_eq!(instrument_id("x").get_version_num(), 5);
    }
}
