//! What a search asks and what it answers.

use std::sync::Arc;

use ri_domain::TenantSlug;
use ri_domain::instrument::{CoverLevel, InstrumentKind, InstrumentStatus};
use ri_domain::values::{CountryCode, CurrencyCode, LanguageCode};
use ri_taxonomy::{FeatureCode, FeatureSet};
use time::OffsetDateTime;

use crate::doc::InstrumentDoc;

/// Most hits a page holds, whatever `first` asks for (the API's `MAX_PAGE`).
pub const MAX_PAGE: usize = 100;

/// Longest accepted search text, in characters (as the SQL search).
pub const MAX_TEXT_CHARS: usize = 500;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FeatureMatch {
    /// At least one of the features.
    #[default]
    Any,
    /// Every one of the features.
    All,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sort {
    /// Soonest deadline first; instruments without a deadline last; then by id.
    #[default]
    DeadlineSoonest,
    /// Most recently changed first; then by id, descending.
    RecentlyUpdated,
    /// Best text match first (BM25), then by id; without a text, `DeadlineSoonest`.
    Relevance,
}

/// The sort a search actually applied (relevance needs a text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Deadline,
    Updated,
    Relevance,
}

/// Instruments funding, in `currency`, a range that meets `[min, max]` (either bound open).
/// Instruments without a funding range, or in another currency, do not match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundingFilter {
    pub currency: CurrencyCode,
    pub min: Option<u64>,
    pub max: Option<u64>,
}

/// A keyset position: the sort key and id of the last hit of the previous page. The same
/// meaning as the SQL search's cursor (`ri-projections` `catalogue::cursor::Cursor`), so the
/// API can map one onto the other.
#[derive(Debug, Clone, PartialEq)]
pub enum After {
    /// Deadline soonest: the deadline (`None` sorts last) and the id.
    Deadline {
        deadline: Option<OffsetDateTime>,
        id: String,
    },
    /// Recently updated: the update time and the id.
    Updated { at: OffsetDateTime, id: String },
    /// Relevance: the score's bits (an `f32`, compared exactly) and the id.
    Relevance { score_bits: u32, id: String },
}

impl After {
    pub fn id(&self) -> &str {
        match self {
            After::Deadline { id, .. }
            | After::Updated { id, .. }
            | After::Relevance { id, .. } => id,
        }
    }
}

/// A search. Empty lists and `None` filter nothing, except `statuses`: empty means open only.
/// Every list means "any of" (features: as `feature_match` says).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// Web-search syntax: words (all must match), `"a phrase"`, `-excluded`, `a or b`.
    pub text: Option<String>,
    pub features: FeatureSet,
    pub feature_match: FeatureMatch,
    pub cover_levels: Vec<CoverLevel>,
    pub countries: Vec<CountryCode>,
    pub kinds: Vec<InstrumentKind>,
    /// Statuses as of the search's `now` (see [`InstrumentDoc::status_at`]).
    pub statuses: Vec<InstrumentStatus>,
    /// Instruments with a deadline at or after this instant.
    pub deadline_from: Option<OffsetDateTime>,
    /// Instruments with a deadline at or before this instant.
    pub deadline_to: Option<OffsetDateTime>,
    pub tenants: Vec<TenantSlug>,
    pub languages: Vec<LanguageCode>,
    pub funding: Option<FundingFilter>,
    pub sort: Sort,
    /// Page size, at most [`MAX_PAGE`].
    pub first: usize,
    pub after: Option<After>,
}

/// One hit: the document and its keyset position (for `after`).
#[derive(Debug, Clone)]
pub struct Hit {
    pub doc: Arc<InstrumentDoc>,
    pub position: After,
    /// The BM25 score, when sorted by relevance.
    pub score: Option<f32>,
}

/// Counts by value, each facet most frequent first, then by value (features in taxonomy order,
/// the others by their spelling). "Sideways": each facet is counted with its own selection
/// removed and every other selection applied, so choosing one country still shows what each
/// other country would give. Features that must ALL match are the exception: choosing one more
/// narrows the result, so they are counted within it. Values counting zero are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facets {
    pub features: Vec<(FeatureCode, u64)>,
    pub countries: Vec<(CountryCode, u64)>,
    pub cover_levels: Vec<(CoverLevel, u64)>,
    pub kinds: Vec<(InstrumentKind, u64)>,
    /// Statuses as of the search's `now`.
    pub statuses: Vec<(InstrumentStatus, u64)>,
    pub tenants: Vec<(TenantSlug, u64)>,
    pub languages: Vec<(LanguageCode, u64)>,
}

#[derive(Debug, Clone)]
pub struct Page {
    pub hits: Vec<Hit>,
    /// Instruments matching the whole query, on every page.
    pub total: u64,
    pub has_next_page: bool,
    pub facets: Facets,
    pub order: Order,
}

/// A search the index refuses to run: bad input, naming the argument.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    #[error("{field}: {reason}")]
    BadInput { field: &'static str, reason: String },
    /// The text engine failed: a bug, not bad input.
    #[error("text index: {0}")]
    Text(String),
}

impl SearchError {
    pub(crate) fn bad(field: &'static str, reason: impl Into<String>) -> Self {
        SearchError::BadInput {
            field,
            reason: reason.into(),
        }
    }
}

impl Query {
    /// The order the search applies.
    pub fn order(&self) -> Order {
        match self.sort {
            Sort::Relevance if self.text_or_none().is_some() => Order::Relevance,
            Sort::Relevance | Sort::DeadlineSoonest => Order::Deadline,
            Sort::RecentlyUpdated => Order::Updated,
        }
    }

    /// The text, trimmed; `None` when blank.
    pub fn text_or_none(&self) -> Option<&str> {
        self.text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }

    /// The statuses asked for: open when none.
    pub fn statuses_or_open(&self) -> Vec<InstrumentStatus> {
        if self.statuses.is_empty() {
            vec![InstrumentStatus::Open]
        } else {
            self.statuses.clone()
        }
    }

    pub(crate) fn check(&self) -> Result<(), SearchError> {
        if let Some(text) = self.text_or_none() {
            if text.chars().count() > MAX_TEXT_CHARS {
                return Err(SearchError::bad(
                    "text",
                    format!("must be at most {MAX_TEXT_CHARS} characters"),
                ));
            }
            if text.chars().any(|c| c.is_control() && !c.is_whitespace()) {
                return Err(SearchError::bad(
                    "text",
                    "must not contain control characters",
                ));
            }
        }
        let fits = matches!(
            (self.order(), &self.after),
            (_, None)
                | (Order::Deadline, Some(After::Deadline { .. }))
                | (Order::Updated, Some(After::Updated { .. }))
                | (Order::Relevance, Some(After::Relevance { .. }))
        );
        if !fits {
            return Err(SearchError::bad(
                "after",
                "the cursor belongs to another sort order",
            ));
        }
        Ok(())
    }
}
