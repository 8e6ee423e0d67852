//! The catalogue as CSV and JSON, as the public search shows it.

use super::*;

// ---------------------------------------------------------------------------------------------
// Instruments

#[derive(Debug, Deserialize)]
pub(super) struct InstrumentParams {
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
pub(super) async fn all_instruments(
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
    let principal = caller(state, headers).await?;
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

pub(super) async fn instruments_csv(
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

pub(super) async fn instruments_json(
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
