//! The SQL of the instrument search: one filter, pushed into both the page query and the facet
//! query so that facet counts are always those of the current filter. Every value is a bound
//! parameter; only fixed SQL text is pushed.

use ri_domain::instrument::InstrumentStatus;
use sqlx::{Postgres, QueryBuilder};

use super::codes::code;
use super::cursor::Cursor;
use super::read::{FeatureMatch, InstrumentFilter, InstrumentSort, ReadError};

/// Longest accepted search text, in characters.
const MAX_TEXT_CHARS: usize = 500;

/// An instrument's status as of now: an open call whose deadline has passed is shown and
/// filtered as closed, without waiting for the platform's expiry to close it.
pub(crate) const EFFECTIVE_STATUS: &str = "CASE WHEN c.status = 'OPEN' AND c.deadline <= now() \
     THEN 'CLOSED' ELSE c.status END";

/// The sort actually applied: relevance needs a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    Deadline,
    Updated,
    Relevance,
}

/// A filter checked and in the tables' spelling.
#[derive(Debug)]
pub(crate) struct Search {
    text: Option<String>,
    cover_levels: Vec<String>,
    countries: Vec<String>,
    kinds: Vec<String>,
    features: Vec<String>,
    feature_match: FeatureMatch,
    statuses: Vec<InstrumentStatus>,
    deadline_from: Option<time::OffsetDateTime>,
    deadline_to: Option<time::OffsetDateTime>,
    tenant: Option<String>,
    pub(crate) order: Order,
}

impl Search {
    pub(crate) fn new(filter: &InstrumentFilter, sort: InstrumentSort) -> Result<Self, ReadError> {
        let text = filter
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if let Some(t) = &text
            && t.chars().count() > MAX_TEXT_CHARS
        {
            return Err(ReadError::BadInput {
                field: "text",
                reason: format!("must be at most {MAX_TEXT_CHARS} characters"),
            });
        }
        // PostgreSQL refuses a NUL in text; other control characters are no words either.
        if let Some(t) = &text
            && t.chars().any(|c| c.is_control() && !c.is_whitespace())
        {
            return Err(ReadError::BadInput {
                field: "text",
                reason: "must not contain control characters".to_owned(),
            });
        }
        // sqlx panics encoding an instant PostgreSQL cannot hold.
        for (field, at) in [
            ("deadlineFrom", filter.deadline_from),
            ("deadlineTo", filter.deadline_to),
        ] {
            if let Some(at) = at
                && let Err(e) = ri_domain::when::instant(field, at)
            {
                return Err(ReadError::BadInput {
                    field,
                    reason: e.reason,
                });
            }
        }
        let order = match sort {
            InstrumentSort::Relevance if text.is_some() => Order::Relevance,
            InstrumentSort::Relevance | InstrumentSort::DeadlineSoonest => Order::Deadline,
            InstrumentSort::RecentlyUpdated => Order::Updated,
        };
        let mut statuses = filter.statuses.clone();
        if statuses.is_empty() {
            statuses.push(InstrumentStatus::Open);
        }
        Ok(Search {
            text,
            cover_levels: filter.cover_levels.iter().map(code).collect(),
            countries: filter.countries.iter().map(|c| c.to_string()).collect(),
            kinds: filter.kinds.iter().map(code).collect(),
            features: filter
                .features
                .iter()
                .map(|f| f.as_str().to_owned())
                .collect(),
            feature_match: filter.feature_match,
            statuses,
            deadline_from: filter.deadline_from,
            deadline_to: filter.deadline_to,
            tenant: filter.tenant.as_ref().map(|t| t.as_str().to_owned()),
            order,
        })
    }

    /// `FROM <relation> c` and, with a text, the query `q`. Without drafts among the statuses
    /// the relation is the public view, where every index serves the filter; with drafts it is
    /// the table, where row-level security shows the viewer only its own tenant's drafts (and
    /// keeps the GIN indexes from serving non-leakproof conditions: see the migration).
    pub(crate) fn push_from(&self, qb: &mut QueryBuilder<Postgres>) {
        if self.statuses.contains(&InstrumentStatus::Draft) {
            qb.push(" FROM catalogue_instruments c");
        } else {
            qb.push(" FROM catalogue_public c");
        }
        if let Some(text) = &self.text {
            qb.push(" CROSS JOIN websearch_to_tsquery('simple', ")
                .push_bind(text.clone())
                .push(") AS q");
        }
    }

    /// ` WHERE …` with every condition of the filter.
    pub(crate) fn push_where(&self, qb: &mut QueryBuilder<Postgres>) {
        qb.push(" WHERE ");
        self.push_statuses(qb);
        if self.text.is_some() {
            qb.push(" AND c.search @@ q");
        }
        if !self.cover_levels.is_empty() {
            qb.push(" AND c.cover_level = ANY(")
                .push_bind(self.cover_levels.clone())
                .push(")");
        }
        if !self.countries.is_empty() {
            qb.push(" AND c.countries && ")
                .push_bind(self.countries.clone());
        }
        if !self.kinds.is_empty() {
            qb.push(" AND c.kind = ANY(")
                .push_bind(self.kinds.clone())
                .push(")");
        }
        if !self.features.is_empty() {
            qb.push(match self.feature_match {
                FeatureMatch::Any => " AND c.feature_codes && ",
                FeatureMatch::All => " AND c.feature_codes @> ",
            })
            .push_bind(self.features.clone());
        }
        if let Some(from) = self.deadline_from {
            qb.push(" AND c.deadline >= ").push_bind(from);
        }
        if let Some(to) = self.deadline_to {
            qb.push(" AND c.deadline <= ").push_bind(to);
        }
        if let Some(tenant) = &self.tenant {
            qb.push(" AND c.tenant = ").push_bind(tenant.clone());
        }
    }

    /// The statuses asked for, as of now (see [`EFFECTIVE_STATUS`]), written so that the
    /// (status, deadline) index serves them.
    fn push_statuses(&self, qb: &mut QueryBuilder<Postgres>) {
        let mut others = Vec::new();
        let mut any = qb.separated(" OR ");
        any.push_unseparated("(");
        for status in &self.statuses {
            match status {
                InstrumentStatus::Open => {
                    any.push("(c.status = 'OPEN' AND (c.deadline IS NULL OR c.deadline > now()))");
                }
                InstrumentStatus::Closed => {
                    any.push("c.status = 'CLOSED' OR (c.status = 'OPEN' AND c.deadline <= now())");
                }
                other => others.push(code(other)),
            }
        }
        if !others.is_empty() {
            any.push("c.status = ANY(")
                .push_bind_unseparated(others)
                .push_unseparated(")");
        }
        any.push_unseparated(")");
    }

    /// The column the page query adds for its sort key (none: the key is a plain column).
    pub(crate) fn sort_column(&self) -> &'static str {
        match self.order {
            Order::Relevance => ", ts_rank(c.search, q) AS rank",
            Order::Deadline | Order::Updated => "",
        }
    }

    /// ` AND (sort key, id) beyond the cursor`; a cursor of another order is refused.
    pub(crate) fn push_after(
        &self,
        qb: &mut QueryBuilder<Postgres>,
        after: Option<&Cursor>,
    ) -> Result<(), ReadError> {
        match (self.order, after) {
            (_, None) => {}
            (Order::Deadline, Some(Cursor::Deadline { k, id })) => {
                qb.push(
                    " AND (coalesce(c.deadline, 'infinity'::timestamptz), c.id) > \
                     (coalesce(",
                )
                .push_bind(*k)
                .push("::timestamptz, 'infinity'::timestamptz), ")
                .push_bind(id.clone())
                .push(")");
            }
            (Order::Updated, Some(Cursor::Updated { k, id })) => {
                qb.push(" AND (c.updated_at, c.id) < (")
                    .push_bind(*k)
                    .push(", ")
                    .push_bind(id.clone())
                    .push(")");
            }
            (Order::Relevance, Some(Cursor::Relevance { k, id })) => {
                let rank = f32::from_bits(*k);
                qb.push(" AND (ts_rank(c.search, q) < ")
                    .push_bind(rank)
                    .push(" OR (ts_rank(c.search, q) = ")
                    .push_bind(rank)
                    .push(" AND c.id > ")
                    .push_bind(id.clone())
                    .push("))");
            }
            (_, Some(_)) => {
                return Err(ReadError::BadInput {
                    field: "after",
                    reason: "the cursor belongs to another sort order".to_owned(),
                });
            }
        }
        Ok(())
    }

    pub(crate) fn push_order(&self, qb: &mut QueryBuilder<Postgres>) {
        qb.push(match self.order {
            Order::Deadline => " ORDER BY coalesce(c.deadline, 'infinity'::timestamptz), c.id",
            Order::Updated => " ORDER BY c.updated_at DESC, c.id DESC",
            Order::Relevance => " ORDER BY ts_rank(c.search, q) DESC, c.id",
        });
    }
}
