//! The feature matrix: its export, and its import ([`super::feature_matrix`] parses it).

use super::*;

// ---------------------------------------------------------------------------------------------
// The feature matrix: export and import

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Projects,
    Instruments,
}

#[derive(Debug, Deserialize)]
pub(super) struct TargetParams {
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

pub(super) async fn feature_matrix_csv(
    State(state): State<ExportState>,
    headers: HeaderMap,
    Query(params): Query<TargetParams>,
) -> Response {
    done(
        async {
            let principal = caller(&state, &headers).await?;
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
    let (instrument, _) = app(api).load::<FundingInstrument>(&user.tenant, id).await?;
    Ok(instrument.details.is_some().then_some(instrument.status))
}

/// The policy the import's commands run under.
fn policy_of(target: Target) -> &'static Policy {
    match target {
        Target::Projects => &policy::CHANGE_PROJECTS,
        Target::Instruments => &policy::CURATE_INSTRUMENTS,
    }
}

/// Sets one column's aggregate's features to exactly the column's: what it added and removed,
/// and its version; or what failed, with what was added before the failure.
async fn apply(
    api: &Api,
    caller: &Caller,
    target: Target,
    planned: &Planned,
) -> Result<Applied, (Vec<&'static str>, ApiError)> {
    let wanted = planned.column.features;
    let id = planned.id.as_str();
    let tenant = &caller.tenant;
    let app = app(api);
    let (before, loaded) = match target {
        Target::Projects => app
            .load::<ProjectAggregate>(tenant, id)
            .await
            .map(|(p, v)| (p.features, v)),
        Target::Instruments => app
            .load::<FundingInstrument>(tenant, id)
            .await
            .map(|(i, v)| (i.features, v)),
    }
    .map_err(|e| (vec![], ApiError::from(e)))?;
    let add = wanted.difference(before);
    let remove = before.difference(wanted);
    let mut version = loaded;
    if !add.is_empty() {
        version = run(api, caller, target, id, version, add, true)
            .await
            .map_err(|e| (vec![], e))?;
    }
    if !remove.is_empty() {
        version = run(api, caller, target, id, version, remove, false)
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

/// Adds (`declare`) or removes `features`, refused unless the aggregate is at `expected`. One
/// caller (one correlation) for the whole import; each command its own command id.
async fn run(
    api: &Api,
    caller: &Caller,
    target: Target,
    id: &str,
    expected: usize,
    features: FeatureSet,
    declare: bool,
) -> Result<usize, ApiError> {
    let app = app(api);
    let tenant = &caller.tenant;
    let policy = policy_of(target);
    match target {
        Target::Projects => {
            let command = if declare {
                ProjectCommand::DeclareFeatures { features }
            } else {
                ProjectCommand::RetractFeatures { features }
            };
            app.execute::<ProjectAggregate>(
                caller,
                policy,
                tenant,
                id,
                command,
                || (),
                Some(expected),
            )
            .await
            .map_err(|f| from_failure(f, "project", ApiError::from))
        }
        Target::Instruments => {
            let command = if declare {
                InstrumentCommand::TagFeatures { features }
            } else {
                InstrumentCommand::UntagFeatures { features }
            };
            let services = || InstrumentServices {
                clock: api.clock.clone(),
            };
            app.execute::<FundingInstrument>(
                caller,
                policy,
                tenant,
                id,
                command,
                services,
                Some(expected),
            )
            .await
            .map_err(|f| from_failure(f, "instrument", ApiError::from))
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

pub(super) async fn import_feature_matrix(
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
    let principal = caller(state, headers).await?;
    let target = params.target()?;
    let (roles, doing) = match target {
        Target::Projects => (&WRITE_ROLES[..], "importing project features"),
        Target::Instruments => (
            &[Role::Curator, Role::TenantAdmin][..],
            "importing instrument features",
        ),
    };
    let user = writer(&principal, roles, doing)?;
    // One caller for the whole import: its commands share the correlation id and the trace.
    let command_caller = crate::graphql::command::caller(user);
    // A suspended or unregistered tenant is refused before the file is read.
    app(api)
        .authorise(&command_caller, policy_of(target), &user.tenant)
        .await?;
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

    let mut applied = Vec::with_capacity(planned.len());
    for (index, column) in planned.iter().enumerate() {
        match apply(api, &command_caller, target, column).await {
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
                return Ok(retry_after(
                    error.code,
                    (status_of(error.code), axum::Json(body)).into_response(),
                ));
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
    fn targets_and_content_types_are_read_from_the_request() {
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
