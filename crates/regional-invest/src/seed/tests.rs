//! The seed's plan, checked without a database.

use super::clusters::area_parts;
use super::instruments::deadline_at;
use super::records::Number;
use super::tenants::slug_of;
use super::*;
use ri_domain::cluster::AreaDomain;
use ri_domain::project::{OpenCall, Stage};
use ri_domain::values::{Link, ShortText};

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
fn the_two_clusters_of_section_3_3_are_l3ces_with_safes_projects_shared() {
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
                c.projects
                    .iter()
                    .all(|p| p.tenant.as_str() == "safe" && p.shared),
                c.stakeholders.len(),
            )
        })
        .collect::<Vec<_>>();
    assert_eq!(
        summary,
        [
            (
                "l3ce",
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
                true,
                3
            ),
            (
                "l3ce",
                "CI operators: water, DSOs",
                AreaDomain::SensitiveInfrastructureProtection,
                vec!["DISGRID", "RS2DG", "EV-Safe", "FlowGuard"],
                true,
                1
            ),
        ]
    );
    assert!(area_parts("Maritime (ports)").is_ok_and(|(d, _)| d.own_name() == Some("Maritime")));
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

#[test]
fn the_six_success_stories_plan_their_milestones_and_applications() {
    let plan = plan().unwrap();
    let stories = plan
        .stories
        .iter()
        .map(|s| {
            let milestones = s
                .commands
                .iter()
                .filter(|c| matches!(c, ProjectCommand::RecordMilestone { .. }))
                .count();
            (
                s.acronym.as_str(),
                s.owner.as_str(),
                milestones,
                s.commands.len() - milestones,
            )
        })
        .collect::<Vec<_>>();
    assert_eq!(
        stories,
        [
            ("FusionSec", "l3ce", 3, 1),
            ("PIT-SAT-M", "systematic", 1, 1),
            ("BIM2SIM", "safe", 2, 0),
            ("CyberSec2SME", "lsec", 3, 2),
            ("RASAD", "hsd", 3, 1),
            ("VASCREEN", "pole-scs", 1, 1),
        ]
    );
    let maisor = plan
        .stories
        .iter()
        .flat_map(|s| &s.commands)
        .find_map(|c| match c {
            ProjectCommand::RecordFundingApplication {
                instrument_name,
                amount,
                instrument_id,
                ..
            } if instrument_name.as_str().ends_with("MAISOR") => {
                Some((amount.clone(), instrument_id.clone()))
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(
        maisor.0.map(|m| m.to_string()).as_deref(),
        Some("80000 EUR")
    );
    assert_eq!(
        maisor.1.map(|i| i.as_str().to_owned()),
        Some(
            instrument_id("Silicon Eurocluster cascade funding for demonstration projects")
                .to_string()
        )
    );
}

#[test]
fn a_story_must_agree_with_the_projects_countries_and_the_catalogue() {
    let plan = plan().unwrap();
    let story = |countries: &str, instrument: &str| {
        let json = format!(
            r#"{{"source": "", "reported_on": "2024-02-29", "rules": [], "projects": [{{
                "acronym": "RASAD", "countries": {countries}, "milestones": [],
                "funding_applications": [{{"instrument": "{instrument}", "name": "x",
                    "status": "AWARDED", "date": "2023-12-01", "date_basis": "held_by",
                    "quote": "", "line": 712}}],
                "not_given": []}}]}}"#
        );
        let file: success::StoriesFile = serde_json::from_str(&json).unwrap();
        success::story_plans(&file, &plan.projects, &plan.instruments)
    };
    let catalogued = "Digital Europe Programme CYBER-03 UPTAKE";
    assert!(story(r#"["FR", "BE"]"#, catalogued).is_ok());
    assert!(story(r#"["BE"]"#, catalogued).is_err());
    assert!(story(r#"["BE", "FR"]"#, "CYSSME").is_err());
}
