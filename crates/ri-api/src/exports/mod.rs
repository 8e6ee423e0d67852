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
mod import;
mod instruments;
mod projects;

use import::{feature_matrix_csv, import_feature_matrix};
use instruments::{all_instruments, instruments_csv, instruments_json};
use projects::{projects_csv, projects_json};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ri_app::{Caller, Policy, policy};
use ri_domain::instrument::{FundingInstrument, InstrumentCommand, InstrumentServices};
use ri_domain::project::{Project as ProjectAggregate, ProjectCommand};
use ri_domain::{Role, TenantSlug};
use ri_projections::catalogue::{self, InstrumentRow, Viewer};
use ri_projections::projects::{self as read, ProjectRow};
use ri_taxonomy::FeatureSet;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::access::Access;
use crate::auth::{Principal, User};
use crate::graphql::Api;
use crate::graphql::command::app;
use crate::graphql::error::{ApiError, Code, from_failure};
use crate::graphql::projects::{MatchExclusionRule, WRITE_ROLES, match_matrix, reader, writer};
use crate::trace::adopt_remote_parent;

/// Largest upload accepted.
pub const MAX_IMPORT_BYTES: usize = 1024 * 1024;
/// Most instruments one export lists.
const MAX_EXPORT_INSTRUMENTS: usize = 20_000;

#[derive(Clone, Debug)]
struct ExportState {
    api: Api,
    access: Access,
}

pub fn routes(api: Api, access: Access) -> Router {
    Router::new()
        .route("/exports/match-matrix.csv", get(match_matrix_csv))
        .route("/exports/projects.csv", get(projects_csv))
        .route("/exports/projects.json", get(projects_json))
        .route("/exports/instruments.csv", get(instruments_csv))
        .route("/exports/instruments.json", get(instruments_json))
        .route("/exports/feature-matrix.csv", get(feature_matrix_csv))
        .route("/imports/feature-matrix", post(import_feature_matrix))
        .layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES))
        .with_state(ExportState { api, access })
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
    retry_after(e.code, response)
}

/// UNAVAILABLE says when to try again.
fn retry_after(code: Code, mut response: Response) -> Response {
    if code == Code::Unavailable {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(ri_app::RETRY_AFTER_SECONDS),
        );
    }
    response
}

/// Who is calling; a bad token is 401, as on `/graphql`.
async fn caller(state: &ExportState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    Ok(state.access.principal_of(headers).await?)
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
            let principal = caller(&state, &headers).await?;
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
    fn lists_are_read_from_the_query() {
        assert_eq!(
            list(Some("a, b,,c")),
            Some(vec!["a".to_owned(), "b".to_owned(), "c".to_owned()])
        );
        assert_eq!(list(None), None);
    }
}
