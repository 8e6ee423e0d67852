//! The tenant's projects as CSV and JSON.

use super::*;

// ---------------------------------------------------------------------------------------------
// Projects

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MemberJson {
    name: String,
    country: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MoneyJson {
    amount: u64,
    currency: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MilestoneJson {
    id: String,
    criterion: String,
    date: String,
    description: String,
    evidence_link: Option<String>,
    funding_application_id: Option<String>,
    recorded_at: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ApplicationJson {
    id: String,
    instrument_id: Option<String>,
    instrument_name: String,
    status: String,
    date: String,
    amount: Option<MoneyJson>,
    recorded_at: String,
    updated_at: String,
}

/// A project as the JSON export writes it: the GraphQL `Project`'s fields.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ProjectJson {
    id: String,
    version: i64,
    acronym: String,
    title: String,
    open_call: Option<String>,
    stage: Option<String>,
    security_domain: Option<String>,
    consortium: Vec<MemberJson>,
    lead_country: Option<String>,
    countries: Vec<String>,
    summary: String,
    features: Vec<&'static str>,
    applications_beyond_security: Option<String>,
    match_threshold: f64,
    milestones: Vec<MilestoneJson>,
    funding_applications: Vec<ApplicationJson>,
    registered_at: String,
    updated_at: String,
}

impl From<&ProjectRow> for ProjectJson {
    fn from(p: &ProjectRow) -> Self {
        ProjectJson {
            id: p.id.clone(),
            version: p.version,
            acronym: p.acronym.clone(),
            title: p.title.clone(),
            open_call: p.open_call.clone(),
            stage: p.stage.as_ref().map(code),
            security_domain: p.security_domain.as_ref().map(code),
            consortium: p
                .consortium
                .iter()
                .map(|m| MemberJson {
                    name: m.name.as_str().to_owned(),
                    country: m.country.to_string(),
                })
                .collect(),
            lead_country: p.lead_country.map(|c| c.to_string()),
            countries: p.countries.iter().map(ToString::to_string).collect(),
            summary: p.summary.clone(),
            features: codes(p.features),
            applications_beyond_security: p.applications_beyond_security.clone(),
            match_threshold: p.match_threshold.value(),
            milestones: p
                .milestones
                .iter()
                .map(|m| MilestoneJson {
                    id: m.id.to_string(),
                    criterion: code(&m.criterion),
                    date: m.date.to_string(),
                    description: m.description.clone(),
                    evidence_link: m.evidence_link.clone(),
                    funding_application_id: m.funding_application.map(|a| a.to_string()),
                    recorded_at: instant(m.recorded_at),
                })
                .collect(),
            funding_applications: p
                .funding_applications
                .iter()
                .map(|a| ApplicationJson {
                    id: a.id.to_string(),
                    instrument_id: a.instrument_id.clone(),
                    instrument_name: a.instrument_name.clone(),
                    status: code(&a.status),
                    date: a.status_date.to_string(),
                    amount: a.amount.as_ref().map(|m| MoneyJson {
                        amount: m.amount,
                        currency: m.currency.as_str().to_owned(),
                    }),
                    recorded_at: instant(a.recorded_at),
                    updated_at: instant(a.updated_at),
                })
                .collect(),
            registered_at: instant(p.registered_at),
            updated_at: instant(p.updated_at),
        }
    }
}

const PROJECT_COLUMNS: [&str; 18] = [
    "id",
    "acronym",
    "title",
    "openCall",
    "stage",
    "securityDomain",
    "leadCountry",
    "countries",
    "consortium",
    "features",
    "applicationsBeyondSecurity",
    "matchThreshold",
    "milestones",
    "fundingApplications",
    "awarded",
    "summary",
    "version",
    "updatedAt",
];

fn project_csv_row(p: &ProjectRow) -> Vec<String> {
    let consortium = p
        .consortium
        .iter()
        .map(|m| format!("{} ({})", m.name.as_str(), m.country))
        .collect::<Vec<_>>()
        .join("; ");
    let awarded = p
        .funding_applications
        .iter()
        .filter(|a| a.status == ri_domain::project::FundingApplicationStatus::Awarded)
        .count();
    vec![
        p.id.clone(),
        text(&p.acronym),
        text(&p.title),
        text(p.open_call.as_deref().unwrap_or_default()),
        p.stage.as_ref().map(code).unwrap_or_default(),
        p.security_domain.as_ref().map(code).unwrap_or_default(),
        p.lead_country.map(|c| c.to_string()).unwrap_or_default(),
        p.countries
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" "),
        text(&consortium),
        codes(p.features).join(" "),
        text(
            p.applications_beyond_security
                .as_deref()
                .unwrap_or_default(),
        ),
        p.match_threshold.value().to_string(),
        p.milestones.len().to_string(),
        p.funding_applications.len().to_string(),
        awarded.to_string(),
        text(&p.summary),
        p.version.to_string(),
        instant(p.updated_at),
    ]
}

async fn tenant_projects(
    state: &ExportState,
    headers: &HeaderMap,
) -> Result<Vec<ProjectRow>, ApiError> {
    let principal = caller(state, headers).await?;
    let user = reader(&principal)?;
    Ok(read::projects(&state.api.db, &user.tenant).await?)
}

pub(super) async fn projects_csv(State(state): State<ExportState>, headers: HeaderMap) -> Response {
    done(
        async {
            let projects = tenant_projects(&state, &headers).await?;
            let mut rows = vec![PROJECT_COLUMNS.map(str::to_owned).to_vec()];
            rows.extend(projects.iter().map(project_csv_row));
            csv_response("projects.csv", rows)
        }
        .await,
    )
}

pub(super) async fn projects_json(
    State(state): State<ExportState>,
    headers: HeaderMap,
) -> Response {
    done(
        async {
            let projects = tenant_projects(&state, &headers).await?;
            let out: Vec<ProjectJson> = projects.iter().map(ProjectJson::from).collect();
            json_response("projects.json", &out)
        }
        .await,
    )
}
