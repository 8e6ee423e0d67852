//! The public search: from this replica's in-memory index when it can answer (published
//! instruments), from PostgreSQL otherwise (drafts, or while the index loads); read-your-writes
//! with `consistentWith`; and typeahead (`suggest`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::{Context, Enum, Object, SimpleObject};
use ri_eventstore::{Checkpoint, StoreError};
use ri_projections::catalogue::{
    self as read, InstrumentFilter, InstrumentPage, InstrumentSort, Viewer,
};
use ri_projections::search_index::{HistoryError, Suggestion as Found};
use sqlx::PgPool;
use time::OffsetDateTime;

use super::Api;
use super::error::{ApiError, Code};

/// How often the SQL path looks at the catalogue's checkpoint while waiting for a position.
const POLL: Duration = Duration::from_millis(20);

/// `consistentWith` as a checkpoint: the `logPosition` a mutation's response carried.
pub(crate) fn position(raw: Option<&str>) -> Result<Option<Checkpoint>, ApiError> {
    raw.map(|raw| {
        raw.parse::<Checkpoint>().map_err(|_| {
            ApiError::field(
                "consistentWith",
                "not a log position (the `logPosition` of a mutation's response, `<tx>:<position>`)",
            )
        })
    })
    .transpose()
}

fn not_yet(wanted: Checkpoint, reached: &str, waited: Duration) -> ApiError {
    ApiError::new(
        Code::Unavailable,
        format!(
            "this replica has not yet read the log to {wanted} (it stands at {reached}) after \
             waiting {} ms; try again",
            waited.as_millis()
        ),
    )
}

/// A page of the public search for `viewer`, once this replica has read the log to `at`.
pub(crate) async fn page(
    api: &Api,
    viewer: &Viewer,
    filter: InstrumentFilter,
    sort: InstrumentSort,
    first: u32,
    after: Option<String>,
    at: Option<Checkpoint>,
) -> Result<InstrumentPage, ApiError> {
    if let Some(index) = api.search.as_ref().filter(|i| i.answers(&filter)) {
        if let Some(at) = at {
            index
                .wait_for(at, api.consistency_wait)
                .await
                .map_err(|e| not_yet(e.wanted, &e.reached, api.consistency_wait))?;
        }
        let now = api.clock.now();
        if index.is_quick(&filter) {
            return index
                .search(&filter, sort, first, after.as_deref(), now)
                .map_err(ApiError::from);
        }
        let index = Arc::clone(index);
        // CPU-bound for longer, and it may wait in line behind other searches: off the async
        // workers.
        let answered = tokio::task::spawn_blocking(move || {
            index.search(&filter, sort, first, after.as_deref(), now)
        })
        .await
        .map_err(|e| ApiError::internal(&e))?;
        return answered.map_err(ApiError::from);
    }
    if let Some(at) = at {
        // The SQL path reads the catalogue projection.
        projection_reached(&api.db, "catalogue", at, api.consistency_wait).await?;
    }
    read::search_instruments(&api.db, viewer, &filter, sort, first, after.as_deref())
        .await
        .map_err(ApiError::from)
}

/// A page of the public search as it was answered at `as_of`, once this replica has read the
/// log to `at` (so that what `at` names is below the horizon the historical read takes).
pub(crate) async fn page_as_of(
    api: &Api,
    filter: InstrumentFilter,
    sort: InstrumentSort,
    first: u32,
    after: Option<String>,
    at: Option<Checkpoint>,
    as_of: OffsetDateTime,
) -> Result<InstrumentPage, ApiError> {
    let Some(index) = api.search.as_ref() else {
        return Err(ApiError::new(
            Code::Unavailable,
            "asOf: searching the past needs the in-memory search index, which this replica \
             runs without (search_index)",
        ));
    };
    if let Some(at) = at {
        if index.is_ready() {
            index
                .wait_for(at, api.consistency_wait)
                .await
                .map_err(|e| not_yet(e.wanted, &e.reached, api.consistency_wait))?;
        } else {
            projection_reached(&api.db, "catalogue", at, api.consistency_wait).await?;
        }
    }
    let now = api.clock.now();
    index
        .search_as_of(&api.log, &filter, sort, first, after.as_deref(), as_of, now)
        .await
        .map_err(history_error)
}

/// A historical search's failure as the API reports it: bad input names its field, a build
/// that could not run now is UNAVAILABLE (try again), a moment beyond the configured size is
/// BAD_USER_INPUT on `asOf` (trying again will not help).
fn history_error(e: HistoryError) -> ApiError {
    match e {
        HistoryError::Read(e) => e.into(),
        HistoryError::Busy { .. } | HistoryError::TimedOut { .. } | HistoryError::Abandoned => {
            ApiError::new(Code::Unavailable, e.to_string())
        }
        HistoryError::TooLarge { .. } => ApiError::field("asOf", e.to_string()),
        HistoryError::Store(StoreError::Database(e)) => e.into(),
        other @ (HistoryError::Store(_) | HistoryError::Index(_)) => ApiError::internal(&other),
    }
}

/// For a read of `projection` asked `consistentWith` a mutation's logPosition: waits until the
/// projection reflects it (UNAVAILABLE after the configured wait); nothing without one. A
/// malformed position is BAD_USER_INPUT on `consistentWith`.
pub(crate) async fn reflects(
    api: &super::Api,
    projection: &str,
    consistent_with: Option<&str>,
) -> Result<(), ApiError> {
    match position(consistent_with)? {
        Some(at) => projection_reached(&api.db, projection, at, api.consistency_wait).await,
        None => Ok(()),
    }
}

/// Waits until `projection` has passed `at`; UNAVAILABLE after `within`.
pub(crate) async fn projection_reached(
    pool: &PgPool,
    projection: &str,
    at: Checkpoint,
    within: Duration,
) -> Result<(), ApiError> {
    let started = Instant::now();
    loop {
        // In a transaction of its own: the pool may be a pooler in transaction mode.
        let mut tx = pool.begin().await?;
        let reached = Checkpoint::load(&mut *tx, projection)
            .await
            .map_err(|e| ApiError::internal(&e))?;
        tx.commit().await?;
        if reached >= at {
            return Ok(());
        }
        if started.elapsed() >= within {
            return Err(not_yet(at, &reached.to_string(), within));
        }
        tokio::time::sleep(POLL).await;
    }
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SuggestionKind {
    /// A feature of the taxonomy, by its label.
    Feature,
    Programme,
    /// An instrument, by its title.
    Title,
}

/// A completion for the search box.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct Suggestion {
    pub kind: SuggestionKind,
    /// As written: the label, the programme, the title.
    pub text: String,
    /// The feature's code, for a label (to filter by it).
    pub feature: Option<String>,
    /// The instrument, for a title (to open it).
    pub instrument_id: Option<async_graphql::ID>,
    /// Published instruments with the feature or programme; 1 for a title.
    pub count: u64,
}

impl From<Found> for Suggestion {
    fn from(found: Found) -> Self {
        use ri_projections::search_index::SuggestionKind as K;
        Suggestion {
            kind: match found.kind {
                K::Feature => SuggestionKind::Feature,
                K::Programme => SuggestionKind::Programme,
                K::Title => SuggestionKind::Title,
            },
            text: found.text,
            feature: found.feature.map(|f| f.as_str().to_owned()),
            instrument_id: found.id.map(async_graphql::ID),
            count: found.count,
        }
    }
}

/// Typeahead for the public search.
#[derive(Debug, Default)]
pub(crate) struct SearchQuery;

#[Object]
impl SearchQuery {
    /// Completions for what is typed in the search box (2 characters or more): feature labels,
    /// programmes and instrument titles of published instruments, at most `first` (default 8,
    /// at most 20).
    async fn suggest(
        &self,
        ctx: &Context<'_>,
        prefix: String,
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<Suggestion>> {
        let limit = match first.unwrap_or(8) {
            n if n < 0 => return Err(ApiError::field("first", "must not be negative").into()),
            n => usize::try_from(n.min(20)).unwrap_or(20),
        };
        if prefix.chars().count() > 100 {
            return Err(ApiError::field("prefix", "at most 100 characters").into());
        }
        let api = ctx.data_unchecked::<Api>();
        let Some(index) = api.search.as_ref().filter(|i| i.is_ready()) else {
            return Err(ApiError::new(
                Code::Unavailable,
                "suggestions are not available on this replica yet; try again",
            )
            .into());
        };
        let found = index.suggest(&prefix, limit).map_err(ApiError::from)?;
        Ok(found.into_iter().map(Into::into).collect())
    }
}
