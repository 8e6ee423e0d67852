//! Downloads and the feature-matrix upload, beside `/graphql` and signed in the same way
//! (`Authorization: Bearer <JWT>`, verified by the same [`Authenticator`]).
//!
//! | request | who | answers |
//! |---|---|---|
//! | `GET /exports/match-matrix.csv?projects=ID,…&instruments=ID,…` | a projects reader of the tenant | the tenant's projects (rows) by instruments (columns): the score to two decimals, or the rule that excludes the pair (`CALL_NOT_OPEN`) |
//! | `GET /exports/projects.csv`, `/exports/projects.json` | a projects reader | the tenant's projects, with their milestones and funding applications (JSON) |
//! | `GET /exports/instruments.csv`, `/exports/instruments.json` `?statuses=OPEN,CLOSED&tenant=SLUG` | anyone | the catalogue as the public search shows it (default OPEN and CLOSED); `DRAFT` lists the caller's own tenant's drafts only |
//! | `GET /exports/feature-matrix.csv?target=projects\|instruments` | a projects reader | the tenant's projects, or its instruments but archived ones, in the import's layout |
//! | `POST /imports/feature-matrix?target=projects\|instruments` (`text/csv`) | `follow_up_manager` or `tenant_admin` (projects); `curator` or `tenant_admin` (instruments) | sets each column's features to exactly its `Y` cells |
//!
//! Errors are JSON, `{"error": {"code", "message", "field"}}`, with the GraphQL API's codes and
//! the HTTP status that goes with each (401, 403, 404, 400, 409, 503, 500). Text cells that a
//! spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`) are written with a
//! leading `'`.
//!
//! The import validates the whole file first (every cell, every header: see
//! [`feature_matrix`]); any problem answers 422 with every problem's row, column and header,
//! and nothing is stored. A valid file then runs, column by column in the file's order, one
//! `DeclareFeatures`/`TagFeatures` command for the features to add and one
//! `RetractFeatures`/`UntagFeatures` for those to remove, each against the aggregate as the log
//! has it (not the read model) and refused if it changed meanwhile. The log has no transaction
//! across aggregates: should a command fail (a concurrent change, the database going away),
//! the import stops there and answers with the failure's status, the columns applied before
//! it, the failed one (and what of it was applied) and those not attempted. Importing the same
//! file again is safe: applied columns have nothing left to change.

mod feature_matrix;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cqrs_es::EventStore;
use cqrs_es::persist::PersistedEventStore;
use ri_domain::instrument::{FundingInstrument, InstrumentCommand, InstrumentServices};
use ri_domain::project::{Project as ProjectAggregate, ProjectCommand};
use ri_domain::{EventMetadata, Role, TenantSlug};
use ri_projections::catalogue::{self, InstrumentRow, Viewer};
use ri_projections::projects::{self as read, ProjectRow};
use ri_taxonomy::FeatureSet;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::auth::{Authenticator, Principal, User};
use crate::graphql::Api;
use crate::graphql::error::{ApiError, Code, from_command};
use crate::graphql::projects::{
    MatchExclusionRule, WRITE_ROLES, match_matrix, metadata, project_error, reader, writer,
};
use crate::trace::adopt_remote_parent;

/// Largest upload accepted.
pub const MAX_IMPORT_BYTES: usize = 1024 * 1024;
/// Most instruments one export lists.
const MAX_EXPORT_INSTRUMENTS: usize = 20_000;

#[derive(Clone, Debug)]
struct ExportState {
    api: Api,
    auth: Authenticator,
}

pub fn routes(api: Api, auth: Authenticator) -> Router {
    Router::new()
        .route("/exports/match-matrix.csv", get(match_matrix_csv))
        .route("/exports/projects.csv", get(projects_csv))
        .route("/exports/projects.json", get(projects_json))
        .route("/exports/instruments.csv", get(instruments_csv))
        .route("/exports/instruments.json", get(instruments_json))
        .route("/exports/feature-matrix.csv", get(feature_matrix_csv))
        .route("/imports/feature-matrix", post(import_feature_matrix))
        .layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES))
        .with_state(ExportState { api, auth })
}

fn status_of(code: Code) -> StatusCode {
    match code {
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::Forbidden => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::BadUserInput => StatusCode::BAD_REQUEST,
        Code::Conflict => StatusCode::CONFLICT,
        Code::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn error_json(e: &ApiError) -> serde_json::Value {
    json!({"code": e.code.as_str(), "message": e.message, "field": e.field})
}

/// An error as JSON with its status.
fn failure(e: ApiError) -> Response {
    let mut response = (
        status_of(e.code),
        axum::Json(json!({ "error": error_json(&e) })),
    )
        .into_response();
    if e.code == Code::Unauthenticated {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// Who is calling; a bad token is 401, as on `/graphql`.
fn caller(state: &ExportState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    crate::auth::authorization_header(headers)
        .and_then(|authorization| state.auth.authenticate(authorization))
        .map_err(|e| ApiError::new(Code::Unauthenticated, e.to_string()))
}

fn done(result: Result<Response, ApiError>) -> Response {
    result.unwrap_or_else(failure)
}

/// A cell of free text as a spreadsheet should show it: not as a formula.
fn text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

fn csv_response(file: &str, rows: Vec<Vec<String>>) -> Result<Response, ApiError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in &rows {
        writer
            .write_record(row)
            .map_err(|e| ApiError::internal(&e))?;
    }
    let body = writer.into_inner().map_err(|e| ApiError::internal(&e))?;
    Ok(download("text/csv; charset=utf-8", file, body))
}

fn json_response(file: &str, value: &impl Serialize) -> Result<Response, ApiError> {
    let body = serde_json::to_vec_pretty(value).map_err(|e| ApiError::internal(&e))?;
    Ok(download("application/json", file, body))
}

fn download(content_type: &'static str, file: &str, body: Vec<u8>) -> Response {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        body,
    )
        .into_response()
}

/// `a,b, c` as its non-empty items.
fn list(raw: Option<&str>) -> Option<Vec<String>> {
    raw.map(|r| {
        r.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

/// The code a domain enum serialises to (`OPEN`, `NATIONAL`).
fn code<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn instant(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn codes(set: FeatureSet) -> Vec<&'static str> {
    set.iter().map(|c| c.as_str()).collect()
}

// ---------------------------------------------------------------------------------------------
// The match matrix

#[derive(Debug, Deserialize)]
struct MatrixParams {
    projects: Option<String>,
    instruments: Option<String>,
}

async fn match_matrix_csv(
    State(state): State<ExportState>,
    headers: HeaderMap,
    Query(params): Query<MatrixParams>,
) -> Response {
    done(
        async {
            let principal = caller(&state, &headers)?;
            let user = reader(&principal)?;
            let projects = list(params.projects.as_deref());
            let instruments = list(params.instruments.as_deref());
            let matrix = match_matrix(
                &state.api,
                user,
                projects.as_deref(),
                instruments.as_deref(),
            )
            .await?;
            let mut rows = Vec::with_capacity(matrix.projects.len() + 1);
            let mut header = vec!["Project".to_owned()];
            header.extend(matrix.instruments.iter().map(|i| text(&i.title)));
            rows.push(header);
            for (project, cells) in matrix.projects.iter().zip(&matrix.cells) {
                let mut row = vec![text(&project.acronym)];
                row.extend(cells.iter().map(|cell| match cell {
                    Ok(m) => format!("{:.2}", m.score),
                    Err(rule) => MatchExclusionRule::of(rule).code().to_owned(),
                }));
                rows.push(row);
            }
            csv_response("match-matrix.csv", rows)
        }
        .await,
    )
}

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
    let principal = caller(state, headers)?;
    let user = reader(&principal)?;
    Ok(read::projects(&state.api.db, &user.tenant).await?)
}

async fn projects_csv(State(state): State<ExportState>, headers: HeaderMap) -> Response {
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

async fn projects_json(State(state): State<ExportState>, headers: HeaderMap) -> Response {
    done(
        async {
            let projects = tenant_projects(&state, &headers).await?;
            let out: Vec<ProjectJson> = projects.iter().map(ProjectJson::from).collect();
            json_response("projects.json", &out)
        }
        .await,
    )
}

// ---------------------------------------------------------------------------------------------
// Instruments

#[derive(Debug, Deserialize)]
struct InstrumentParams {
    statuses: Option<String>,
    tenant: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct FundingJson {
    min: Option<u64>,
    max: Option<u64>,
    currency: String,
}

/// An instrument as the JSON export writes it: the GraphQL `Instrument`'s fields.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct InstrumentJson {
    id: String,
    version: i64,
    curator: String,
    curator_name: Option<String>,
    status: String,
    title: String,
    kind: String,
    cover_level: String,
    countries: Vec<String>,
    programme: Option<String>,
    link: Option<String>,
    summary: String,
    target_organisations: Vec<String>,
    funding: Option<FundingJson>,
    periodicity: Option<String>,
    languages: Vec<String>,
    features: Vec<&'static str>,
    opening_date: Option<String>,
    deadline: Option<String>,
    time_zone: Option<String>,
    updated_at: String,
    published_at: Option<String>,
}

impl From<&InstrumentRow> for InstrumentJson {
    fn from(i: &InstrumentRow) -> Self {
        InstrumentJson {
            id: i.id.clone(),
            version: i.version,
            curator: i.tenant.to_string(),
            curator_name: i.tenant_name.clone(),
            status: code(&i.status),
            title: i.title.clone(),
            kind: code(&i.kind),
            cover_level: code(&i.cover_level),
            countries: i.countries.iter().map(ToString::to_string).collect(),
            programme: i.programme.clone(),
            link: i.link.clone(),
            summary: i.summary.clone(),
            target_organisations: i.target_organisations.iter().map(code).collect(),
            funding: i.funding.as_ref().map(|f| FundingJson {
                min: f.min,
                max: f.max,
                currency: f.currency.as_str().to_owned(),
            }),
            periodicity: i.periodicity.as_ref().map(code),
            languages: i.languages.iter().map(|l| l.as_str().to_owned()).collect(),
            features: codes(i.features),
            opening_date: i.opening_date.map(|d| d.to_string()),
            deadline: i.deadline.map(instant),
            time_zone: i.time_zone.clone(),
            updated_at: instant(i.updated_at),
            published_at: i.published_at.map(instant),
        }
    }
}

const INSTRUMENT_COLUMNS: [&str; 20] = [
    "id",
    "title",
    "curator",
    "status",
    "kind",
    "coverLevel",
    "countries",
    "programme",
    "link",
    "openingDate",
    "deadline",
    "timeZone",
    "fundingMin",
    "fundingMax",
    "currency",
    "features",
    "targetOrganisations",
    "languages",
    "periodicity",
    "summary",
];

fn instrument_csv_row(i: &InstrumentRow) -> Vec<String> {
    let number = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    vec![
        i.id.clone(),
        text(&i.title),
        i.tenant.to_string(),
        code(&i.status),
        code(&i.kind),
        code(&i.cover_level),
        i.countries
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" "),
        text(i.programme.as_deref().unwrap_or_default()),
        text(i.link.as_deref().unwrap_or_default()),
        i.opening_date.map(|d| d.to_string()).unwrap_or_default(),
        i.deadline.map(instant).unwrap_or_default(),
        i.time_zone.clone().unwrap_or_default(),
        number(i.funding.as_ref().and_then(|f| f.min)),
        number(i.funding.as_ref().and_then(|f| f.max)),
        i.funding
            .as_ref()
            .map(|f| f.currency.as_str().to_owned())
            .unwrap_or_default(),
        codes(i.features).join(" "),
        i.target_organisations
            .iter()
            .map(code)
            .collect::<Vec<_>>()
            .join(" "),
        i.languages
            .iter()
            .map(|l| l.as_str().to_owned())
            .collect::<Vec<_>>()
            .join(" "),
        i.periodicity.as_ref().map(code).unwrap_or_default(),
        text(&i.summary),
    ]
}

fn instrument_status(raw: &str) -> Result<ri_domain::instrument::InstrumentStatus, ApiError> {
    use ri_domain::instrument::InstrumentStatus as S;
    match raw.to_ascii_uppercase().as_str() {
        "DRAFT" => Ok(S::Draft),
        "OPEN" => Ok(S::Open),
        "CLOSED" => Ok(S::Closed),
        "WITHDRAWN" => Ok(S::Withdrawn),
        "ARCHIVED" => Ok(S::Archived),
        _ => Err(ApiError::field(
            "statuses",
            format!("{raw:?} is not DRAFT, OPEN, CLOSED, WITHDRAWN or ARCHIVED"),
        )),
    }
}

/// Every instrument `viewer` finds with `filter`, soonest deadline first.
async fn all_instruments(
    api: &Api,
    viewer: &Viewer,
    filter: &catalogue::InstrumentFilter,
) -> Result<Vec<InstrumentRow>, ApiError> {
    let mut rows = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = catalogue::search_instruments(
            &api.db,
            viewer,
            filter,
            catalogue::InstrumentSort::DeadlineSoonest,
            catalogue::read::MAX_PAGE,
            after.as_deref(),
        )
        .await?;
        rows.extend(page.items);
        if rows.len() > MAX_EXPORT_INSTRUMENTS {
            return Err(ApiError::field(
                "statuses",
                format!(
                    "more than {MAX_EXPORT_INSTRUMENTS} instruments: narrow with statuses or tenant"
                ),
            ));
        }
        match (page.has_next_page, page.end_cursor) {
            (true, Some(cursor)) => after = Some(cursor),
            _ => return Ok(rows),
        }
    }
}

async fn catalogue_export(
    state: &ExportState,
    headers: &HeaderMap,
    params: &InstrumentParams,
) -> Result<Vec<InstrumentRow>, ApiError> {
    let principal = caller(state, headers)?;
    let viewer = Viewer {
        tenant: principal.tenant().cloned(),
        platform_admin: principal.is_platform_admin(),
    };
    let statuses = match list(params.statuses.as_deref()) {
        Some(list) if !list.is_empty() => list
            .iter()
            .map(|s| instrument_status(s))
            .collect::<Result<Vec<_>, _>>()?,
        _ => {
            use ri_domain::instrument::InstrumentStatus as S;
            vec![S::Open, S::Closed]
        }
    };
    let tenant = params
        .tenant
        .as_deref()
        .map(|t| TenantSlug::parse(t).map_err(|e| ApiError::field("tenant", e.to_string())))
        .transpose()?;
    let filter = catalogue::InstrumentFilter {
        statuses,
        tenant,
        ..Default::default()
    };
    all_instruments(&state.api, &viewer, &filter).await
}

async fn instruments_csv(
    State(state): State<ExportState>,
    headers: HeaderMap,
    Query(params): Query<InstrumentParams>,
) -> Response {
    done(
        async {
            let instruments = catalogue_export(&state, &headers, &params).await?;
            let mut rows = vec![INSTRUMENT_COLUMNS.map(str::to_owned).to_vec()];
            rows.extend(instruments.iter().map(instrument_csv_row));
            csv_response("instruments.csv", rows)
        }
        .await,
    )
}

async fn instruments_json(
    State(state): State<ExportState>,
    headers: HeaderMap,
    Query(params): Query<InstrumentParams>,
) -> Response {
    done(
        async {
            let instruments = catalogue_export(&state, &headers, &params).await?;
            let out: Vec<InstrumentJson> = instruments.iter().map(InstrumentJson::from).collect();
            json_response("instruments.json", &out)
        }
        .await,
    )
}

// ---------------------------------------------------------------------------------------------
// The feature matrix: export and import

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Projects,
    Instruments,
}

#[derive(Debug, Deserialize)]
struct TargetParams {
    target: Option<String>,
}

impl TargetParams {
    fn target(&self) -> Result<Target, ApiError> {
        match self.target.as_deref() {
            Some("projects") => Ok(Target::Projects),
            Some("instruments") => Ok(Target::Instruments),
            _ => Err(ApiError::field(
                "target",
                "give target=projects or target=instruments",
            )),
        }
    }
}

/// The caller's tenant's instruments that can still change (all but archived ones).
async fn own_instruments(api: &Api, tenant: &TenantSlug) -> Result<Vec<InstrumentRow>, ApiError> {
    use ri_domain::instrument::InstrumentStatus as S;
    let filter = catalogue::InstrumentFilter {
        statuses: vec![S::Draft, S::Open, S::Closed, S::Withdrawn],
        tenant: Some(tenant.clone()),
        ..Default::default()
    };
    all_instruments(api, &Viewer::member_of(tenant.clone()), &filter).await
}

async fn feature_matrix_csv(
    State(state): State<ExportState>,
    headers: HeaderMap,
    Query(params): Query<TargetParams>,
) -> Response {
    done(
        async {
            let principal = caller(&state, &headers)?;
            let user = reader(&principal)?;
            let columns: Vec<(String, FeatureSet)> = match params.target()? {
                Target::Projects => read::projects(&state.api.db, &user.tenant)
                    .await?
                    .into_iter()
                    .map(|p| (p.acronym, p.features))
                    .collect(),
                Target::Instruments => own_instruments(&state.api, &user.tenant)
                    .await?
                    .into_iter()
                    .map(|i| (i.id, i.features))
                    .collect(),
            };
            let rows = feature_matrix::rows(&columns)
                .into_iter()
                .map(|row| row.iter().map(|cell| text(cell)).collect())
                .collect();
            csv_response("feature-matrix.csv", rows)
        }
        .await,
    )
}

/// A column of a valid import and the aggregate it sets.
#[derive(Debug)]
struct Planned {
    column: feature_matrix::Column,
    id: String,
}

/// What the import did to one column.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Applied {
    column: usize,
    header: String,
    id: String,
    /// The features added (those already there are not repeated).
    declared: Vec<&'static str>,
    /// The features removed.
    retracted: Vec<&'static str>,
    /// The aggregate's version afterwards.
    version: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Failed {
    column: usize,
    header: String,
    id: String,
    code: &'static str,
    message: String,
    /// Applied before the failure: the features added (when the removal failed).
    declared: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct NotAttempted {
    column: usize,
    header: String,
}

/// Problems with the file: 422, nothing stored.
fn refused(problems: Vec<feature_matrix::Problem>) -> Response {
    let message = format!(
        "{} problem{} in the file; nothing was stored",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        axum::Json(json!({
            "imported": false,
            "error": {"code": Code::BadUserInput.as_str(), "message": message},
            "problems": problems,
        })),
    )
        .into_response()
}

fn header_problem(column: &feature_matrix::Column, reason: String) -> feature_matrix::Problem {
    feature_matrix::Problem {
        row: 1,
        column: column.number,
        header: Some(column.header.clone()),
        feature: None,
        value: column.header.clone(),
        reason,
    }
}

/// Which project each column names: its acronym (ignoring case) or its id.
async fn plan_projects(
    api: &Api,
    user: &User,
    columns: Vec<feature_matrix::Column>,
    problems: &mut Vec<feature_matrix::Problem>,
) -> Result<Vec<Planned>, ApiError> {
    let projects = read::projects(&api.db, &user.tenant).await?;
    let mut planned: Vec<Planned> = Vec::with_capacity(columns.len());
    for column in columns {
        let wanted = column.header.to_lowercase();
        let found: Vec<&ProjectRow> = projects
            .iter()
            .filter(|p| p.id == column.header || p.acronym.to_lowercase() == wanted)
            .collect();
        match found.as_slice() {
            [] => problems.push(header_problem(
                &column,
                "no project of your tenant has this acronym or id".to_owned(),
            )),
            [project] => {
                if let Some(other) = planned.iter().find(|p| p.id == project.id) {
                    problems.push(header_problem(
                        &column,
                        format!("column {} names the same project", other.column.number),
                    ));
                } else {
                    planned.push(Planned {
                        id: project.id.clone(),
                        column,
                    });
                }
            }
            _ => problems.push(header_problem(
                &column,
                "several projects of your tenant have this acronym: use the project's id"
                    .to_owned(),
            )),
        }
    }
    Ok(planned)
}

/// Which instrument each column names: the id of one of the tenant's instruments.
async fn plan_instruments(
    api: &Api,
    user: &User,
    columns: Vec<feature_matrix::Column>,
    problems: &mut Vec<feature_matrix::Problem>,
) -> Result<Vec<Planned>, ApiError> {
    let viewer = Viewer::member_of(user.tenant.clone());
    let mut planned: Vec<Planned> = Vec::with_capacity(columns.len());
    for column in columns {
        let row = catalogue::instrument(&api.db, &viewer, &column.header).await?;
        match row {
            // The catalogue follows the log by a moment: an instrument drafted just now is in the
            // caller's stream before it is in the catalogue.
            None => match own_instrument_status(api, user, &column.header).await? {
                Some(ri_domain::instrument::InstrumentStatus::Archived) => {
                    problems.push(header_problem(
                        &column,
                        "the instrument is archived and cannot change".to_owned(),
                    ));
                }
                Some(_) => {
                    if let Some(other) = planned.iter().find(|p| p.id == column.header) {
                        problems.push(header_problem(
                            &column,
                            format!("column {} names the same instrument", other.column.number),
                        ));
                    } else {
                        planned.push(Planned {
                            id: column.header.clone(),
                            column,
                        });
                    }
                }
                None => problems.push(header_problem(
                    &column,
                    "no instrument has this id".to_owned(),
                )),
            },
            Some(row) if row.tenant != user.tenant => problems.push(header_problem(
                &column,
                format!("the instrument is {}'s, not your tenant's", row.tenant),
            )),
            Some(row) if row.status == ri_domain::instrument::InstrumentStatus::Archived => {
                problems.push(header_problem(
                    &column,
                    "the instrument is archived and cannot change".to_owned(),
                ));
            }
            Some(row) => {
                if let Some(other) = planned.iter().find(|p| p.id == row.id) {
                    problems.push(header_problem(
                        &column,
                        format!("column {} names the same instrument", other.column.number),
                    ));
                } else {
                    planned.push(Planned { id: row.id, column });
                }
            }
        }
    }
    Ok(planned)
}

/// The status of instrument `id` in the caller's tenant's stream of the log, if it was drafted
/// there.
async fn own_instrument_status(
    api: &Api,
    user: &User,
    id: &str,
) -> Result<Option<ri_domain::instrument::InstrumentStatus>, ApiError> {
    let store = PersistedEventStore::<_, FundingInstrument>::new_event_store(
        api.log.for_tenant(user.tenant.clone()),
    );
    let context = store.load_aggregate(id).await.map_err(from_command)?;
    Ok(context
        .aggregate
        .details
        .is_some()
        .then_some(context.aggregate.status))
}

/// Sets one column's aggregate's features to exactly the column's: what it added and removed,
/// and its version; or what failed, with what was added before the failure.
async fn apply(
    api: &Api,
    tenant: &TenantSlug,
    meta: &EventMetadata,
    target: Target,
    planned: &Planned,
) -> Result<Applied, (Vec<&'static str>, ApiError)> {
    let wanted = planned.column.features;
    let id = planned.id.as_str();
    let repository = || api.log.for_tenant(tenant.clone());
    let (before, loaded) = match target {
        Target::Projects => {
            let store = PersistedEventStore::<_, ProjectAggregate>::new_event_store(repository());
            let context = store
                .load_aggregate(id)
                .await
                .map_err(|e| (vec![], project_error(e)))?;
            (context.aggregate.features, context.current_sequence)
        }
        Target::Instruments => {
            let store = PersistedEventStore::<_, FundingInstrument>::new_event_store(repository());
            let context = store
                .load_aggregate(id)
                .await
                .map_err(|e| (vec![], from_command(e)))?;
            (context.aggregate.features, context.current_sequence)
        }
    };
    let add = wanted.difference(before);
    let remove = before.difference(wanted);
    let mut version = loaded;
    if !add.is_empty() {
        version = run(api, tenant, meta, target, id, version, add, true)
            .await
            .map_err(|e| (vec![], e))?;
    }
    if !remove.is_empty() {
        version = run(api, tenant, meta, target, id, version, remove, false)
            .await
            .map_err(|e| (codes(add), e))?;
    }
    Ok(Applied {
        column: planned.column.number,
        header: planned.column.header.clone(),
        id: planned.id.clone(),
        declared: codes(add),
        retracted: codes(remove),
        version: i64::try_from(version).unwrap_or(i64::MAX),
    })
}

/// Adds (`declare`) or removes `features`, refused unless the aggregate is at `expected`.
#[allow(clippy::too_many_arguments)]
async fn run(
    api: &Api,
    tenant: &TenantSlug,
    meta: &EventMetadata,
    target: Target,
    id: &str,
    expected: usize,
    features: FeatureSet,
    declare: bool,
) -> Result<usize, ApiError> {
    // One correlation for the whole import; each command its own id.
    let meta = meta.caused_by(meta.command_id);
    match target {
        Target::Projects => {
            let command = if declare {
                ProjectCommand::DeclareFeatures { features }
            } else {
                ProjectCommand::RetractFeatures { features }
            };
            api.log
                .execute_at::<ProjectAggregate>(tenant, id, command, &meta, (), Some(expected))
                .await
                .map_err(project_error)
        }
        Target::Instruments => {
            let command = if declare {
                InstrumentCommand::TagFeatures { features }
            } else {
                InstrumentCommand::UntagFeatures { features }
            };
            let services = InstrumentServices {
                clock: api.clock.clone(),
            };
            api.log
                .execute_at::<FundingInstrument>(
                    tenant,
                    id,
                    command,
                    &meta,
                    services,
                    Some(expected),
                )
                .await
                .map_err(from_command)
        }
    }
}

fn is_csv(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| {
            let t = t.trim();
            t.eq_ignore_ascii_case("text/csv") || t.eq_ignore_ascii_case("application/csv")
        })
}

async fn import_feature_matrix(
    State(state): State<ExportState>,
    headers: HeaderMap,
    Query(params): Query<TargetParams>,
    body: Bytes,
) -> Response {
    let span = tracing::info_span!(
        "feature_matrix_import",
        otel.kind = "server",
        tenant.id = tracing::field::Empty
    );
    adopt_remote_parent(&span, &headers);
    let work = import(&state, &headers, &params, &body, span.clone());
    done(tracing::Instrument::instrument(work, span).await)
}

async fn import(
    state: &ExportState,
    headers: &HeaderMap,
    params: &TargetParams,
    body: &[u8],
    span: tracing::Span,
) -> Result<Response, ApiError> {
    let api = &state.api;
    let principal = caller(state, headers)?;
    let target = params.target()?;
    let user = match target {
        Target::Projects => {
            writer(api, &principal, &WRITE_ROLES, "importing project features").await?
        }
        Target::Instruments => {
            writer(
                api,
                &principal,
                &[Role::Curator, Role::TenantAdmin],
                "importing instrument features",
            )
            .await?
        }
    };
    span.record("tenant.id", user.tenant.as_str());
    if !is_csv(headers) {
        return Ok((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            axum::Json(json!({"error": {"code": Code::BadUserInput.as_str(), "message": "send the file as text/csv"}})),
        )
            .into_response());
    }

    // Everything is checked before anything is written.
    let parsed = feature_matrix::parse(body);
    let mut problems = parsed.problems;
    let columns = parsed.columns;
    if columns.is_empty() && problems.is_empty() {
        problems.push(feature_matrix::Problem {
            row: 1,
            column: 2,
            header: None,
            feature: None,
            value: String::new(),
            reason: "row 1 names no column".to_owned(),
        });
    }
    let planned = match target {
        Target::Projects => plan_projects(api, user, columns, &mut problems).await?,
        Target::Instruments => plan_instruments(api, user, columns, &mut problems).await?,
    };
    if !problems.is_empty() {
        problems.sort_by_key(|p| (p.row, p.column));
        return Ok(refused(problems));
    }

    let meta = metadata(user);
    let mut applied = Vec::with_capacity(planned.len());
    for (index, column) in planned.iter().enumerate() {
        match apply(api, &user.tenant, &meta, target, column).await {
            Ok(done) => applied.push(done),
            Err((declared, error)) => {
                tracing::warn!(
                    column = column.column.number,
                    error = %error.message,
                    "feature matrix import stopped"
                );
                let not_attempted: Vec<NotAttempted> = planned[index + 1..]
                    .iter()
                    .map(|p| NotAttempted {
                        column: p.column.number,
                        header: p.column.header.clone(),
                    })
                    .collect();
                let message = format!(
                    "column {} ({}) failed: {}; the {} column(s) before it were applied, the \
                     {} after it were not; import the file again to finish",
                    column.column.number,
                    column.column.header,
                    error.message,
                    applied.len(),
                    not_attempted.len()
                );
                let body = json!({
                    "imported": false,
                    "error": {"code": error.code.as_str(), "message": message},
                    "applied": applied,
                    "failed": Failed {
                        column: column.column.number,
                        header: column.column.header.clone(),
                        id: column.id.clone(),
                        code: error.code.as_str(),
                        message: error.message.clone(),
                        declared,
                    },
                    "notAttempted": not_attempted,
                });
                return Ok((status_of(error.code), axum::Json(body)).into_response());
            }
        }
    }
    let target_name = match target {
        Target::Projects => "projects",
        Target::Instruments => "instruments",
    };
    Ok(axum::Json(json!({
        "imported": true,
        "target": target_name,
        "columns": applied,
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_not_run_by_spreadsheets() {
        assert_eq!(text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text("Border call, 2030"), "Border call, 2030");
        assert_eq!(text(""), "");
    }

    #[test]
    fn error_codes_have_their_http_status() {
        assert_eq!(status_of(Code::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(status_of(Code::Unauthenticated), StatusCode::UNAUTHORIZED);
        assert_eq!(status_of(Code::Conflict), StatusCode::CONFLICT);
        let response = failure(ApiError::unauthenticated());
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }

    #[test]
    fn lists_and_targets_are_read_from_the_query() {
        assert_eq!(
            list(Some("a, b,,c")),
            Some(vec!["a".to_owned(), "b".to_owned(), "c".to_owned()])
        );
        assert_eq!(list(None), None);
        let target = |t: &str| {
            TargetParams {
                target: Some(t.to_owned()),
            }
            .target()
        };
        assert_eq!(target("projects").ok(), Some(Target::Projects));
        assert_eq!(
            target("clusters")
                .map_err(|e| e.field)
                .err()
                .flatten()
                .as_deref(),
            Some("target")
        );
        let mut headers = HeaderMap::new();
        assert!(!is_csv(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        assert!(is_csv(&headers));
    }
}
