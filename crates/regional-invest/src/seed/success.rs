//! # Success stories
//!
//! `seed/success_stories.json` holds the six success stories of D2.5's section 3.2 (FusionSec,
//! PIT-SAT-M, BIM2SIM, CyberSec2SME, RASAD, VASCREEN): each fact with a quote and the line of
//! the text it comes from, the days, amounts and programmes as the text gives them, and what
//! the text leaves out (`not_given`). The file's `rules` say how a fact without a day of its
//! own is dated (`date_basis`); nothing is made up.
//!
//! - Project: found by acronym among the seeded projects (an unknown one is an error); the
//!   commands run as `SYSTEM_ACTOR` with the
//!   `follow_up_manager` role of the project's owner, after its registration.
//! - Countries: the story's `countries` must equal the project's countries from
//!   `seed/projects.json` (lead and members), or the plan fails: the two files cannot drift.
//! - Milestone: `RecordMilestone` with id UUID v5 of the project's id and
//!   `milestone:<criterion>:<n>` (`n` counts from 1 per criterion), the criterion, day and
//!   description, and the source after the description (`D2.5 §3.2, line 618`; for a day the
//!   text does not give, what it is instead).
//! - Funding application: `RecordFundingApplication` with id UUID v5 of the project's id and
//!   `funding:<name>`, the catalogue's instrument of that name (its seeded id; an unknown name is
//!   an error), the name, status, day and amount in EUR when the text gives one. An `AWARDED`
//!   one records its RECOGNITION milestone in the same command, as the domain does for every
//!   award.

use anyhow::{Context, anyhow, bail};
use ri_app::{App, policy};
use ri_domain::Role;
use ri_domain::project::{
    FundingApplicationStatus, InstrumentRef, MilestoneDescription, Money, Project, ProjectCommand,
    SuccessCriterion,
};
use ri_domain::tenant::TenantSlug;
use ri_domain::values::{CurrencyCode, Title};
use serde::Deserialize;
use time::Date;
use time::macros::format_description;
use uuid::Uuid;

use super::instruments::InstrumentPlan;
use super::projects::ProjectPlan;
use super::{Run, failed};

#[derive(Debug, Deserialize)]
pub(super) struct StoriesFile {
    /// Where the facts come from; for the reader.
    #[serde(rename = "source")]
    _source: String,
    /// The day D2.5 was submitted, which dates the facts it gives no day for.
    reported_on: String,
    #[serde(rename = "rules")]
    _rules: Vec<String>,
    projects: Vec<StoryRecord>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoryRecord {
    acronym: String,
    countries: Vec<String>,
    #[serde(default, rename = "countries_note")]
    _countries_note: Option<String>,
    milestones: Vec<MilestoneRecord>,
    funding_applications: Vec<ApplicationRecord>,
    #[serde(rename = "not_given")]
    _not_given: Vec<String>,
}

/// Where a fact's day comes from: see the file's `rules`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum DateBasis {
    Given,
    HeldBy,
    Reported,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MilestoneRecord {
    criterion: SuccessCriterion,
    date: String,
    date_basis: DateBasis,
    description: String,
    #[serde(rename = "quote")]
    _quote: String,
    line: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplicationRecord {
    /// The seeded catalogue instrument's name.
    instrument: String,
    name: String,
    status: FundingApplicationStatus,
    date: String,
    date_basis: DateBasis,
    #[serde(default, rename = "date_note")]
    _date_note: Option<String>,
    #[serde(default)]
    amount_eur: Option<u64>,
    #[serde(rename = "quote")]
    _quote: String,
    #[serde(rename = "line")]
    _line: u32,
}

/// One project's story as the commands that tell it.
#[derive(Debug)]
pub(super) struct StoryPlan {
    pub(super) project: Uuid,
    pub(super) owner: TenantSlug,
    pub(super) acronym: String,
    pub(super) commands: Vec<ProjectCommand>,
}

fn day(raw: &str) -> anyhow::Result<Date> {
    Date::parse(raw.trim(), format_description!("[year]-[month]-[day]"))
        .with_context(|| format!("{raw:?} is not a date"))
}

pub(super) fn story_plans(
    file: &StoriesFile,
    projects: &[ProjectPlan],
    instruments: &[InstrumentPlan],
) -> anyhow::Result<Vec<StoryPlan>> {
    let reported_on = day(&file.reported_on).context("reported_on")?;
    file.projects
        .iter()
        .map(|record| {
            story_plan(record, reported_on, projects, instruments)
                .with_context(|| format!("project {:?}", record.acronym))
        })
        .collect()
}

fn story_plan(
    record: &StoryRecord,
    reported_on: Date,
    projects: &[ProjectPlan],
    instruments: &[InstrumentPlan],
) -> anyhow::Result<StoryPlan> {
    let project = projects
        .iter()
        .find(|p| p.details.acronym.as_str() == record.acronym.trim())
        .ok_or_else(|| anyhow!("not among the seeded projects"))?;
    let countries = project.details.countries();
    let mut theirs: Vec<&str> = countries.iter().map(|c| c.as_str()).collect();
    let mut ours: Vec<&str> = record.countries.iter().map(|c| c.trim()).collect();
    theirs.sort_unstable();
    ours.sort_unstable();
    if theirs != ours {
        bail!("the story gives the countries {ours:?}, seed/projects.json {theirs:?}");
    }

    let mut commands = Vec::new();
    let mut per_criterion = [0_u32; 3];
    for milestone in &record.milestones {
        let date = day(&milestone.date)?;
        let source = match milestone.date_basis {
            DateBasis::Given => format!("D2.5 §3.2, line {}", milestone.line),
            DateBasis::Reported if date == reported_on => format!(
                "D2.5 §3.2, line {}; the text gives no day: dated by D2.5's submission",
                milestone.line
            ),
            basis => bail!(
                "milestone of line {}: its day is the text's or the report's, not {basis:?} {date}",
                milestone.line
            ),
        };
        let slot = match milestone.criterion {
            SuccessCriterion::Recognition => 0,
            SuccessCriterion::NewCollaborationsMarkets => 1,
            SuccessCriterion::OperationalDeployment => 2,
        };
        // At most a handful per criterion: no overflow.
        per_criterion[slot] += 1;
        let key = format!(
            "milestone:{:?}:{}",
            milestone.criterion, per_criterion[slot]
        );
        commands.push(ProjectCommand::RecordMilestone {
            id: Uuid::new_v5(&project.id, key.as_bytes()),
            criterion: milestone.criterion,
            date,
            description: MilestoneDescription::parse(
                "description",
                &format!("{} ({source})", milestone.description.trim()),
            )?,
            evidence_link: None,
        });
    }
    for application in &record.funding_applications {
        let date = day(&application.date)?;
        if application.date_basis == DateBasis::Reported && date != reported_on {
            bail!("{:?}: a reported day is {reported_on}", application.name);
        }
        let instrument = instruments
            .iter()
            .find(|i| i.details.title.as_str() == application.instrument.trim())
            .ok_or_else(|| {
                anyhow!(
                    "{:?} is not a seeded instrument",
                    application.instrument.trim()
                )
            })?;
        let amount = application
            .amount_eur
            .map(|eur| Money::new(eur, CurrencyCode::parse("currency", "EUR")?))
            .transpose()?;
        commands.push(ProjectCommand::RecordFundingApplication {
            id: Uuid::new_v5(
                &project.id,
                format!("funding:{}", application.name.trim()).as_bytes(),
            ),
            instrument_id: Some(InstrumentRef::parse_id(
                "instrumentId",
                &instrument.id.to_string(),
            )?),
            instrument_name: Title::parse("instrumentName", &application.name)?,
            status: application.status,
            date,
            amount,
            evidence_link: None,
        });
    }
    Ok(StoryPlan {
        project: project.id,
        owner: project.owner.clone(),
        acronym: record.acronym.trim().to_owned(),
        commands,
    })
}

impl StoryPlan {
    pub(super) async fn run(&self, app: &App, run: &Run) -> anyhow::Result<()> {
        let manager = run.as_role(&self.owner, Role::FollowUpManager);
        let id = self.project.to_string();
        for command in &self.commands {
            app.execute::<Project>(
                &manager,
                &policy::CHANGE_PROJECTS,
                &self.owner,
                &id,
                command.clone(),
                || (),
                None,
            )
            .await
            .map_err(failed)
            .with_context(|| format!("seed: success story of {:?} ({id})", self.acronym))?;
        }
        Ok(())
    }
}
