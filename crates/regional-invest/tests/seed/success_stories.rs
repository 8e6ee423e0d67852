//! The six success stories of D2.5's section 3.2, as a follow-up manager of each project's
//! tenant reads them over the GraphQL API after the seed: the milestones under the three
//! criteria, the funding applications with their programmes, days and amounts, and the
//! projects' countries, as the text gives them (the expectations are written out here from the
//! text, not read from the seed file, so a wrong fact in the file fails).

use std::collections::BTreeSet;

use regional_invest::seed;
use ri_domain::Role;
use serde_json::{Value, json};

use crate::common::{TestApp, operation};

const STORIES: &str = include_str!("../../seed/success_stories.json");

/// A story as the API must show it.
struct Expected {
    acronym: &'static str,
    owner: &'static str,
    countries: &'static [&'static str],
    /// (criterion, day, from an award); sorted for comparison.
    milestones: &'static [(&'static str, &'static str, bool)],
    /// (name, status, day, amount in EUR, catalogue instrument).
    applications: &'static [(
        &'static str,
        &'static str,
        &'static str,
        Option<i64>,
        &'static str,
    )],
}

/// The day D2.5 was submitted, which dates what the text gives no day for.
const REPORTED: &str = "2024-02-29";

const EXPECTED: [Expected; 6] = [
    Expected {
        acronym: "FusionSec",
        owner: "l3ce",
        countries: &[],
        milestones: &[
            ("NEW_COLLABORATIONS_MARKETS", REPORTED, false),
            ("OPERATIONAL_DEPLOYMENT", REPORTED, false),
            ("RECOGNITION", "2023-11-23", false),
        ],
        applications: &[(
            "HORIZON-CL3-2023-SSRI-01-02: LEAD-Pro",
            "SUBMITTED",
            "2023-11-23",
            None,
            "HORIZON-CL3-2023-SSRI-01-02",
        )],
    },
    Expected {
        acronym: "PIT-SAT-M",
        owner: "systematic",
        countries: &["ES"],
        milestones: &[
            ("NEW_COLLABORATIONS_MARKETS", REPORTED, false),
            ("RECOGNITION", REPORTED, true),
        ],
        applications: &[(
            "HORIZON-EUSPA-2022-SPACE-02-54 (Horizon Europe CL4): MOSMIN",
            "AWARDED",
            REPORTED,
            None,
            "HORIZON-EUSPA-2022-SPACE-02-54 Copernicus downstream applications and the European Data Economy",
        )],
    },
    Expected {
        acronym: "BIM2SIM",
        owner: "safe",
        countries: &["FR"],
        milestones: &[
            ("NEW_COLLABORATIONS_MARKETS", REPORTED, false),
            ("RECOGNITION", REPORTED, false),
        ],
        applications: &[],
    },
    Expected {
        acronym: "CyberSec2SME",
        owner: "lsec",
        countries: &["NL", "RO"],
        milestones: &[
            ("NEW_COLLABORATIONS_MARKETS", REPORTED, false),
            ("OPERATIONAL_DEPLOYMENT", REPORTED, false),
            ("RECOGNITION", "2023-12-01", true),
            ("RECOGNITION", REPORTED, false),
        ],
        applications: &[
            (
                "Digital Europe Programme CYBER-03 UPTAKE: CYSSME",
                "AWARDED",
                "2023-12-01",
                None,
                "Digital Europe Programme CYBER-03 UPTAKE",
            ),
            (
                "HORIZON-CL3-2023-CS-01-01 (Innovation Action)",
                "SUBMITTED",
                REPORTED,
                None,
                "HORIZON-CL3-2023-CS-01-01 (Innovation Action)",
            ),
        ],
    },
    Expected {
        acronym: "RASAD",
        owner: "hsd",
        countries: &["BE", "FR"],
        milestones: &[
            ("NEW_COLLABORATIONS_MARKETS", REPORTED, false),
            ("OPERATIONAL_DEPLOYMENT", REPORTED, false),
            ("RECOGNITION", "2023-12-01", true),
            ("RECOGNITION", REPORTED, false),
        ],
        applications: &[(
            "Digital Europe Programme CYBER-03 UPTAKE: CYSSME",
            "AWARDED",
            "2023-12-01",
            None,
            "Digital Europe Programme CYBER-03 UPTAKE",
        )],
    },
    Expected {
        acronym: "VASCREEN",
        owner: "pole-scs",
        countries: &["ES", "FR"],
        milestones: &[
            ("NEW_COLLABORATIONS_MARKETS", REPORTED, false),
            ("RECOGNITION", REPORTED, true),
        ],
        applications: &[(
            "Silicon Eurocluster cascade funding for demonstration projects: MAISOR",
            "AWARDED",
            REPORTED,
            Some(80_000),
            "Silicon Eurocluster cascade funding for demonstration projects",
        )],
    },
];

#[tokio::test]
async fn the_six_success_stories_show_their_milestones_and_funding_applications() {
    let app = TestApp::start().await;
    let report = seed::load_if_empty(&app.app.log).await.unwrap();
    assert!(!report.skipped);

    // The seed file tells the same six stories, no more.
    let file: Value = serde_json::from_str(STORIES).unwrap();
    let in_file: BTreeSet<&str> = file["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["acronym"].as_str().unwrap())
        .collect();
    assert_eq!(in_file, EXPECTED.iter().map(|e| e.acronym).collect());

    for expected in &EXPECTED {
        let token = app
            .token("seed-test", expected.owner, &[Role::FollowUpManager])
            .await;
        let id = seed::project_id(expected.acronym).to_string();
        let milestones = expected.milestones.len();
        let body = app
            .eventually_with(
                |b| b["data"]["project"]["milestones"].as_array().map(Vec::len) == Some(milestones),
                &operation("Project"),
                json!({ "id": id }),
                Some(&token),
            )
            .await;
        let project = &body["data"]["project"];
        let acronym = expected.acronym;
        assert_eq!(project["acronym"], acronym);
        assert_eq!(project["countries"], json!(expected.countries), "{acronym}");

        let mut shown: Vec<(String, String, bool)> = project["milestones"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let description = m["description"].as_str().unwrap();
                // Every milestone names its source: the line of the text, or the award.
                assert!(
                    description.contains("D2.5 §3.2, line ")
                        || description.starts_with("Funding awarded: "),
                    "{acronym}: {description}"
                );
                (
                    m["criterion"].as_str().unwrap().to_owned(),
                    m["date"].as_str().unwrap().to_owned(),
                    m["fundingApplicationId"].is_string(),
                )
            })
            .collect();
        shown.sort();
        let want: Vec<(String, String, bool)> = expected
            .milestones
            .iter()
            .map(|(c, d, award)| ((*c).to_owned(), (*d).to_owned(), *award))
            .collect();
        assert_eq!(shown, want, "{acronym}: milestones");

        let applications: Vec<(String, String, String, Option<i64>, String)> =
            project["fundingApplications"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    if !a["amount"].is_null() {
                        assert_eq!(a["amount"]["currency"], "EUR", "{acronym}");
                    }
                    (
                        a["instrumentName"].as_str().unwrap().to_owned(),
                        a["status"].as_str().unwrap().to_owned(),
                        a["date"].as_str().unwrap().to_owned(),
                        a["amount"]["amount"].as_i64(),
                        a["instrumentId"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
        let want: Vec<(String, String, String, Option<i64>, String)> = expected
            .applications
            .iter()
            .map(|(name, status, date, amount, instrument)| {
                (
                    (*name).to_owned(),
                    (*status).to_owned(),
                    (*date).to_owned(),
                    *amount,
                    seed::instrument_id(instrument).to_string(),
                )
            })
            .collect();
        assert_eq!(applications, want, "{acronym}: funding applications");
    }

    // The award of MAISOR's 80 k€ is its RECOGNITION milestone, amount included.
    let token = app
        .token("seed-test", "pole-scs", &[Role::FollowUpManager])
        .await;
    let vascreen = app
        .ok(
            Some(&token),
            &operation("Project"),
            json!({ "id": seed::project_id("VASCREEN").to_string() }),
        )
        .await;
    let award = vascreen["project"]["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["fundingApplicationId"].is_string())
        .unwrap();
    assert_eq!(
        award["description"],
        "Funding awarded: Silicon Eurocluster cascade funding for demonstration projects: MAISOR (80000 EUR)"
    );

    // No other project has a story: the six are all the milestones and applications seeded.
    let counted: Vec<(String, i64)> = sqlx::query_as(
        "SELECT event_type, count(*) FROM events \
         WHERE event_type IN ('SuccessMilestoneRecorded', 'FundingApplicationRecorded') \
         GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(app.app.log.pool())
    .await
    .unwrap();
    let milestones: usize = EXPECTED.iter().map(|e| e.milestones.len()).sum();
    let applications: usize = EXPECTED.iter().map(|e| e.applications.len()).sum();
    assert_eq!(
        counted,
        [
            ("FundingApplicationRecorded".to_owned(), applications as i64),
            ("SuccessMilestoneRecorded".to_owned(), milestones as i64),
        ]
    );
}
