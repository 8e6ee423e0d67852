//! Matching projects and instruments: matches, matching projects, the match matrix.

use super::*;

pub(super) fn match_country(code: &CountryCode) -> Result<Country, ApiError> {
    code.as_str()
        .parse()
        .map_err(|e: ri_matching::InvalidCountry| ApiError::internal(&e))
}

/// An instrument of the catalogue as the matcher sees it (its status as of now).
pub(crate) fn instrument_profile(row: &InstrumentRow) -> Result<InstrumentProfile, ApiError> {
    Ok(InstrumentProfile {
        id: row.id.clone(),
        features: row.features,
        kind: match row.kind {
            instrument::InstrumentKind::Call => MatchKind::Call,
            instrument::InstrumentKind::Programme => MatchKind::Programme,
            instrument::InstrumentKind::StrategicDocument => MatchKind::StrategicDocument,
        },
        cover_level: match row.cover_level {
            instrument::CoverLevel::Regional => MatchCoverLevel::Regional,
            instrument::CoverLevel::National => MatchCoverLevel::National,
            instrument::CoverLevel::Eu => MatchCoverLevel::Eu,
            instrument::CoverLevel::International => MatchCoverLevel::International,
        },
        countries: row
            .countries
            .iter()
            .map(match_country)
            .collect::<Result<_, _>>()?,
        status: match row.status {
            DomainInstrumentStatus::Draft => MatchStatus::Draft,
            DomainInstrumentStatus::Open => MatchStatus::Open,
            DomainInstrumentStatus::Closed => MatchStatus::Closed,
            DomainInstrumentStatus::Withdrawn => MatchStatus::Withdrawn,
            DomainInstrumentStatus::Archived => MatchStatus::Archived,
        },
        deadline: row.deadline,
    })
}

/// Soonest deadline first, open-ended last, then by id: what wins a tie in the ranking.
pub(super) fn by_deadline(a: &InstrumentProfile, b: &InstrumentProfile) -> Ordering {
    match (a.deadline, b.deadline) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
    .then_with(|| a.id.cmp(&b.id))
}

/// The `n` best published instruments for `project`, with their catalogue rows.
pub(crate) async fn matches_of(
    api: &Api,
    viewer: &Viewer,
    project: &ProjectRow,
    n: usize,
    min_score: f64,
) -> Result<Vec<ProjectMatch>, ApiError> {
    let profile = project.match_profile()?;
    let mut instruments = read::instrument_profiles(&api.db).await?;
    instruments.sort_by(by_deadline);
    let ranked = ri_matching::top_matches(
        &api.matching_weights,
        &profile,
        &instruments,
        n,
        min_score,
        api.clock.now(),
    );
    let mut out = Vec::with_capacity(ranked.len());
    for (index, m) in ranked {
        let Some(profile) = instruments.get(index) else {
            continue;
        };
        // Left out if it changed status between the two reads (withdrawn meanwhile, say).
        if let Some(row) = catalogue::instrument(&api.db, viewer, &profile.id).await? {
            out.push(ProjectMatch {
                instrument: Instrument(row),
                score: m.score,
                explanation: MatchExplanation::from(&m.explanation),
            });
        }
    }
    Ok(out)
}

/// The caller's tenant's projects that `instrument` fits, best first (ties by acronym).
pub(crate) async fn matching_projects(
    ctx: &Context<'_>,
    instrument: &InstrumentRow,
    first: Option<i32>,
    min_score: Option<f64>,
) -> Result<Vec<MatchingProject>, ApiError> {
    let n = crate::graphql::query::first(first, DEFAULT_MATCHES)? as usize;
    let min_score = min_score_of(min_score)?;
    let Ok(user) = reader(principal(ctx)) else {
        return Ok(Vec::new());
    };
    let api = ctx.data_unchecked::<Api>();
    let profile = instrument_profile(instrument)?;
    let now = api.clock.now();
    let mut scored = Vec::new();
    for project in read::projects(&api.db, &user.tenant).await? {
        let Ok(m) = ri_matching::score(
            &api.matching_weights,
            &project.match_profile()?,
            &profile,
            now,
        ) else {
            continue;
        };
        if m.score > 0.0 && m.score >= min_score {
            scored.push((project, m));
        }
    }
    // Stable: equal scores keep the acronym order.
    scored.sort_by(|a, b| b.1.score.total_cmp(&a.1.score));
    scored.truncate(n);
    Ok(scored
        .into_iter()
        .map(|(project, m)| MatchingProject {
            project: Project(project),
            score: m.score,
            explanation: MatchExplanation::from(&m.explanation),
        })
        .collect())
}

/// Projects by instruments, every pair scored or excluded.
#[derive(Debug)]
pub(crate) struct Matrix {
    pub projects: Vec<ProjectRow>,
    pub instruments: Vec<InstrumentRow>,
    /// `cells[p][i]`: project `p` against instrument `i`.
    pub cells: Vec<Vec<Result<Match, ExclusionRule>>>,
}

pub(super) fn distinct_ids(ids: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.iter()
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty() && seen.insert(id.clone()))
        .collect()
}

/// The matrix of the caller's tenant's projects `project_ids` (all of them when `None`) by the
/// instruments `instrument_ids` (every instrument open now, soonest deadline first, when
/// `None`), in the order given. An id that is not one of the tenant's projects, or not an
/// instrument the caller can see, is NOT_FOUND.
pub(crate) async fn match_matrix(
    api: &Api,
    user: &User,
    project_ids: Option<&[String]>,
    instrument_ids: Option<&[String]>,
) -> Result<Matrix, ApiError> {
    let projects = match project_ids {
        None => read::projects(&api.db, &user.tenant).await?,
        Some(ids) => {
            let ids = distinct_ids(ids);
            if ids.len() > MAX_MATRIX_PROJECTS {
                return Err(ApiError::field(
                    "projectIds",
                    format!("at most {MAX_MATRIX_PROJECTS} projects"),
                ));
            }
            let found = read::projects_by_ids(&api.db, &user.tenant, &ids).await?;
            let mut ordered = Vec::with_capacity(ids.len());
            for id in &ids {
                match found.iter().find(|p| &p.id == id) {
                    Some(p) => ordered.push(p.clone()),
                    None => {
                        return Err(ApiError::new(
                            Code::NotFound,
                            format!("no such project: {id}"),
                        ));
                    }
                }
            }
            ordered
        }
    };
    if projects.len() > MAX_MATRIX_PROJECTS {
        return Err(ApiError::field(
            "projectIds",
            format!("your tenant has more than {MAX_MATRIX_PROJECTS} projects: name them"),
        ));
    }
    let viewer = Viewer::member_of(user.tenant.clone());
    let instruments = match instrument_ids {
        None => open_instruments(api, &viewer).await?,
        Some(ids) => {
            let ids = distinct_ids(ids);
            if ids.len() > MAX_MATRIX_INSTRUMENTS {
                return Err(ApiError::field(
                    "instrumentIds",
                    format!("at most {MAX_MATRIX_INSTRUMENTS} instruments"),
                ));
            }
            let mut rows = Vec::with_capacity(ids.len());
            for id in &ids {
                match catalogue::instrument(&api.db, &viewer, id).await? {
                    Some(row) => rows.push(row),
                    None => {
                        return Err(ApiError::new(
                            Code::NotFound,
                            format!("no such instrument: {id}"),
                        ));
                    }
                }
            }
            rows
        }
    };
    let profiles = instruments
        .iter()
        .map(instrument_profile)
        .collect::<Result<Vec<_>, _>>()?;
    let now = api.clock.now();
    let mut cells = Vec::with_capacity(projects.len());
    for project in &projects {
        let profile = project.match_profile()?;
        cells.push(
            profiles
                .iter()
                .map(|i| {
                    ri_matching::score(&api.matching_weights, &profile, i, now).map_err(|e| e.rule)
                })
                .collect(),
        );
    }
    Ok(Matrix {
        projects,
        instruments,
        cells,
    })
}

/// Every instrument open now (at most [`MAX_MATRIX_INSTRUMENTS`]), soonest deadline first.
pub(super) async fn open_instruments(
    api: &Api,
    viewer: &Viewer,
) -> Result<Vec<InstrumentRow>, ApiError> {
    let filter = catalogue::InstrumentFilter {
        statuses: vec![DomainInstrumentStatus::Open],
        ..Default::default()
    };
    let mut rows = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = catalogue::search_instruments(
            &api.db,
            viewer,
            &filter,
            catalogue::InstrumentSort::DeadlineSoonest,
            catalogue::read::MAX_PAGE,
            after.as_deref(),
        )
        .await?;
        rows.extend(page.items);
        if rows.len() > MAX_MATRIX_INSTRUMENTS {
            return Err(ApiError::field(
                "instrumentIds",
                format!("more than {MAX_MATRIX_INSTRUMENTS} instruments are open: name them"),
            ));
        }
        match (page.has_next_page, page.end_cursor) {
            (true, Some(cursor)) => after = Some(cursor),
            _ => return Ok(rows),
        }
    }
}

impl From<Matrix> for MatchMatrix {
    fn from(m: Matrix) -> Self {
        let rows = m
            .projects
            .into_iter()
            .zip(m.cells)
            .map(|(project, cells)| MatchMatrixRow {
                project: Project(project),
                cells: cells
                    .iter()
                    .zip(&m.instruments)
                    .map(|(cell, instrument)| match cell {
                        Ok(found) => MatchMatrixCell {
                            instrument_id: ID(instrument.id.clone()),
                            score: Some(found.score),
                            excluded_by: None,
                            reason: None,
                            explanation: Some(MatchExplanation::from(&found.explanation)),
                        },
                        Err(rule) => MatchMatrixCell {
                            instrument_id: ID(instrument.id.clone()),
                            score: None,
                            excluded_by: Some(MatchExclusionRule::of(rule)),
                            reason: Some(rule.to_string()),
                            explanation: None,
                        },
                    })
                    .collect(),
            })
            .collect();
        MatchMatrix {
            instruments: m.instruments.into_iter().map(Instrument).collect(),
            rows,
        }
    }
}
