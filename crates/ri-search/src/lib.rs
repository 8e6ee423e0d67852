//! The public instrument search, in memory: what `instruments(filter…)` answers, without a
//! database.
//!
//! - Documents ([`InstrumentDoc`]) get dense ordinals, grouped in blocks of 65,536; each block
//!   holds columns and one bitmap (a list or 1,024 words) per facet value. Filters are unions and
//!   intersections; each facet is counted "sideways" (every selection but its own) by
//!   intersecting bitmaps or, for small sets, document by document.
//! - Full text is a tantivy index in RAM whose documents carry the same ordinals: BM25 over
//!   English stems, a typo forgiven in words of 5 letters or more, the last word matched as a
//!   prefix while typed; feature labels, programme and tenant name are searched too.
//! - One writer ([`Index::apply`]) publishes immutable [`Snapshot`]s; readers load the current
//!   one without locking and never wait for the writer.
//!
//! Pure: no I/O, no async. Feeding it from the event log and serving it over GraphQL are the
//! service's part. See `docs/decisions/0006-search-index.md`.

mod bits;
mod block;
mod doc;
mod facets;
mod filter;
mod gate;
mod index;
mod page;
mod query;
mod suggest;
mod tally;
mod text;

pub use doc::InstrumentDoc;
pub use index::{Applied, Change, Index, IndexConfig, IndexError, MemoryUsage, Snapshot};
pub use query::{
    After, Facets, FeatureMatch, FundingFilter, Hit, MAX_PAGE, MAX_TEXT_CHARS, Order, Page, Query,
    SearchError, Sort,
};
pub use suggest::{MAX_SUGGESTIONS, Suggestion, SuggestionKind};
pub use text::TextConfig;
