//! The public search and typeahead on the index, in the read API's terms: the SQL search's
//! filter, sort, cursors and page (`catalogue::read`), so the API can take either path.

use ri_search::{FeatureMatch, Page, Query, SearchError, Sort};
use time::OffsetDateTime;

use ri_eventstore::EventLog;

use super::SearchIndex;
use super::convert::{to_after, to_cursor, to_instrument_row};
use super::history::{self, HistoryError};
use crate::catalogue::cursor::Cursor;
use crate::catalogue::{
    self, Facets, InstrumentFilter, InstrumentPage, InstrumentSort, MAX_PAGE, ReadError,
};

pub use ri_search::{Suggestion, SuggestionKind};

/// See [`SearchIndex::is_quick`]: structured searches cost about 0.1 ms at 100,000 documents
/// and 1–3 ms at a million (docs/performance.md).
pub(crate) const QUICK_DOCUMENTS: u64 = 250_000;

impl SearchIndex {
    /// Whether the index can answer `filter`: it holds the public instruments only, so a search
    /// that asks for drafts takes the SQL path, under row-level security.
    pub fn answers(&self, filter: &InstrumentFilter) -> bool {
        self.is_ready()
            && !filter
                .statuses
                .contains(&ri_domain::instrument::InstrumentStatus::Draft)
    }

    /// Whether a search for `filter` is short enough to run on an async worker: no text, and
    /// an index of at most [`QUICK_DOCUMENTS`] documents (such a search costs well under a
    /// millisecond of CPU, about what handing it to another thread and back costs on a
    /// virtual machine). Others belong on a blocking thread.
    pub fn is_quick(&self, filter: &InstrumentFilter) -> bool {
        filter.text.is_none() && self.index().snapshot().len() <= QUICK_DOCUMENTS
    }

    /// `catalogue::search_instruments` from memory, for a filter [`SearchIndex::answers`]:
    /// the same items, order, cursors and total; facets counted sideways (each with its own
    /// selection removed).
    pub fn search(
        &self,
        filter: &InstrumentFilter,
        sort: InstrumentSort,
        first: u32,
        after: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<InstrumentPage, ReadError> {
        let query = query(filter, sort, first, after)?;
        // A quick search runs where it is called (an async worker: there are only as many as
        // cores, so they need no line); the others wait in the index's line.
        let index = self.index();
        let page = if self.is_quick(filter) {
            index.snapshot().search(&query, now)
        } else {
            index.search(&query, now)
        }
        .map_err(read_error)?;
        Ok(to_page(&page, now))
    }

    /// The public search as it was answered at `at` (`now`: the server's clock, which `at`
    /// must not be after): the same filter, sort, page and cursors over what was published
    /// then, with the fields, status and curator it had then (an open call whose deadline had
    /// passed by then reads closed). Built from the log for that moment (or kept from a
    /// previous page) within the bounds of [`super::HistoryConfig`]; drafts are not searched.
    #[allow(clippy::too_many_arguments)] // the search's own arguments and the two moments
    pub async fn search_as_of(
        &self,
        log: &EventLog,
        filter: &InstrumentFilter,
        sort: InstrumentSort,
        first: u32,
        after: Option<&str>,
        at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<InstrumentPage, HistoryError> {
        if at > now {
            return Err(ReadError::BadInput {
                field: "asOf",
                reason: format!("{at} lies in the future (the server's time is {now})"),
            }
            .into());
        }
        if history::asks_for_drafts(&filter.statuses) {
            return Err(ReadError::BadInput {
                field: "asOf",
                reason: "a search as of a past moment covers published instruments only;                          search drafts without asOf"
                    .to_owned(),
            }
            .into());
        }
        // Checked before anything is built.
        let query = query(filter, sort, first, after)?;
        let index = self.history.index_at(log, at, now).await?;
        let page = tokio::task::spawn_blocking(move || index.search(&query, at))
            .await
            .map_err(|e| HistoryError::Index(format!("the search failed: {e}")))?
            .map_err(read_error)?;
        Ok(to_page(&page, at))
    }

    /// Up to `limit` typeahead suggestions for `typed`: feature labels, programmes, titles.
    pub fn suggest(&self, typed: &str, limit: usize) -> Result<Vec<Suggestion>, ReadError> {
        self.index()
            .snapshot()
            .suggest(typed, limit)
            .map_err(read_error)
    }
}

/// The index's query for the read API's filter, sort, page size and cursor (`after`, checked:
/// BAD_USER_INPUT naming it).
pub(crate) fn query(
    filter: &InstrumentFilter,
    sort: InstrumentSort,
    first: u32,
    after: Option<&str>,
) -> Result<Query, ReadError> {
    let after = match after.map(Cursor::decode).transpose()? {
        None => None,
        Some(cursor) => Some(to_after(cursor).ok_or_else(|| ReadError::BadInput {
            field: "after",
            reason: "the cursor belongs to another list".to_owned(),
        })?),
    };
    Ok(Query {
        text: filter.text.clone(),
        features: filter.features,
        feature_match: match filter.feature_match {
            catalogue::FeatureMatch::Any => FeatureMatch::Any,
            catalogue::FeatureMatch::All => FeatureMatch::All,
        },
        cover_levels: filter.cover_levels.clone(),
        countries: filter.countries.clone(),
        kinds: filter.kinds.clone(),
        statuses: filter.statuses.clone(),
        deadline_from: filter.deadline_from,
        deadline_to: filter.deadline_to,
        tenants: filter.tenant.iter().cloned().collect(),
        languages: Vec::new(),
        funding: None,
        sort: match sort {
            InstrumentSort::DeadlineSoonest => Sort::DeadlineSoonest,
            InstrumentSort::RecentlyUpdated => Sort::RecentlyUpdated,
            InstrumentSort::Relevance => Sort::Relevance,
        },
        first: first.min(MAX_PAGE) as usize,
        after,
    })
}

/// The index's page in the read API's terms, its rows as they read at `now`.
pub(crate) fn to_page(page: &Page, now: OffsetDateTime) -> InstrumentPage {
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let cursors = page
        .hits
        .iter()
        .map(|hit| to_cursor(&hit.position).encode())
        .collect::<Vec<_>>();
    InstrumentPage {
        items: page
            .hits
            .iter()
            .map(|hit| to_instrument_row(&hit.doc, now))
            .collect(),
        end_cursor: cursors.last().cloned(),
        cursors,
        total_count: count(page.total),
        facets: Facets {
            features: page
                .facets
                .features
                .iter()
                .map(|(f, n)| (*f, count(*n)))
                .collect(),
            countries: page
                .facets
                .countries
                .iter()
                .map(|(c, n)| (c.to_string(), count(*n)))
                .collect(),
            cover_levels: page
                .facets
                .cover_levels
                .iter()
                .map(|(c, n)| (*c, count(*n)))
                .collect(),
            kinds: page
                .facets
                .kinds
                .iter()
                .map(|(k, n)| (*k, count(*n)))
                .collect(),
        },
        has_next_page: page.has_next_page,
    }
}

/// A search's refusal in the read API's terms: bad input names its field; a failure of the
/// text engine is a bug, not the caller's.
pub(crate) fn read_error(e: SearchError) -> ReadError {
    match e {
        SearchError::BadInput { field, reason } => ReadError::BadInput { field, reason },
        SearchError::Text(reason) => ReadError::Malformed {
            what: "search index",
            reason,
        },
    }
}
