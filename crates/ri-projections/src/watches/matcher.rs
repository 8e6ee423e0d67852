//! Which watches each instrument state of a run meets: every distinct state is matched once,
//! the plain columns in Rust ([`WatchRow::meets_columns`]) and the texts in one query
//! ([`TEXT_MATCHES`]), the same conditions as [`super::MATCHES`].

use std::collections::{BTreeMap, HashMap};

use sqlx::PgConnection;
use sqlx::types::Json;

use crate::catalogue::instruments::Row;
use crate::error::ProjectionError;

/// Which (state, watch) pairs meet the watch's text: `$1` is a JSON array of the states
/// {k, title, programme, summary}, `$2` of the watches' texts {w, text}, `$3` and `$4` the
/// pairs (k, w) to try; returns those that match. Each state's vector (as
/// `watch_instruments.search` holds it) and each text's query (as [`super::MATCHES`] reads it)
/// is made once.
const TEXT_MATCHES: &str = "WITH s AS MATERIALIZED ( \
         SELECT s.k, setweight(to_tsvector('simple', s.title), 'A') \
             || setweight(to_tsvector('simple', coalesce(s.programme, '')), 'B') \
             || setweight(to_tsvector('simple', s.summary), 'C') AS v \
         FROM jsonb_to_recordset($1) AS s(k int4, title text, programme text, summary text)), \
     q AS MATERIALIZED ( \
         SELECT q.w, websearch_to_tsquery('simple', q.text) AS q \
         FROM jsonb_to_recordset($2) AS q(w int4, text text)) \
     SELECT p.k, p.w FROM UNNEST($3::int4[], $4::int4[]) AS p(k, w) \
     JOIN s ON s.k = p.k JOIN q ON q.w = p.w \
     WHERE s.v @@ q.q";

/// A watch's filter as its row holds it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct WatchRow {
    pub(super) id: String,
    pub(super) tenant: String,
    pub(super) owner: String,
    cover_levels: Vec<String>,
    countries: Vec<String>,
    kinds: Vec<String>,
    features: i64,
    feature_match: String,
    text: Option<String>,
    tenant_filter: Option<String>,
}

/// Every watch, in id order.
pub(super) const WATCHES: &str = "SELECT id, tenant, owner, cover_levels, countries, kinds, \
     features, feature_match, text, tenant_filter FROM watches ORDER BY id";

/// Watch `$1`.
pub(super) const WATCH: &str = "SELECT id, tenant, owner, cover_levels, countries, kinds, \
     features, feature_match, text, tenant_filter FROM watches WHERE id = $1";

/// What the plain conditions of the match predicate read of a published instrument, as
/// `watch_instruments` holds it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct Columns {
    pub(super) id: String,
    tenant: String,
    kind: String,
    cover_level: String,
    countries: Vec<String>,
    features: i64,
}

/// Every instrument ever published, as [`Columns`].
pub(super) const PUBLISHED_COLUMNS: &str = "SELECT id, tenant, kind, cover_level, countries, \
     features FROM watch_instruments WHERE published";

impl WatchRow {
    pub(super) fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    /// [`super::MATCHES`] but its text condition, in Rust: every condition on plain columns.
    pub(super) fn meets_columns(&self, i: &Row) -> bool {
        self.meets(&i.tenant, &i.kind, &i.cover_level, &i.countries, i.features)
    }

    /// [`Self::meets_columns`] of a stored instrument.
    pub(super) fn meets_stored(&self, i: &Columns) -> bool {
        self.meets(&i.tenant, &i.kind, &i.cover_level, &i.countries, i.features)
    }

    fn meets(
        &self,
        tenant: &str,
        kind: &str,
        cover_level: &str,
        countries: &[String],
        features: i64,
    ) -> bool {
        (self.cover_levels.is_empty() || self.cover_levels.iter().any(|c| c == cover_level))
            && (self.countries.is_empty() || self.countries.iter().any(|c| countries.contains(c)))
            && (self.kinds.is_empty() || self.kinds.iter().any(|k| k == kind))
            && (self.features == 0
                || if self.feature_match == "ALL" {
                    features & self.features == self.features
                } else {
                    features & self.features != 0
                })
            && self.tenant_filter.as_ref().is_none_or(|t| t == tenant)
    }
}

/// Which of `rows` meet `text` (the states' texts as [`TEXT_MATCHES`] reads them).
pub(super) async fn rows_meeting_text(
    conn: &mut PgConnection,
    rows: &[&Row],
    text: &str,
) -> Result<Vec<usize>, ProjectionError> {
    let mut states = Vec::with_capacity(rows.len());
    let mut pair_k = Vec::with_capacity(rows.len());
    for (k, row) in rows.iter().enumerate() {
        if let Ok(k) = i32::try_from(k) {
            states.push(serde_json::json!({
                "k": k, "title": row.title, "programme": row.programme, "summary": row.summary,
            }));
            pair_k.push(k);
        }
    }
    if pair_k.is_empty() {
        return Ok(Vec::new());
    }
    let pair_w = vec![0i32; pair_k.len()];
    let hits: Vec<(i32, i32)> = sqlx::query_as(TEXT_MATCHES)
        .bind(Json(&states))
        .bind(Json(&[serde_json::json!({"w": 0, "text": text})]))
        .bind(&pair_k)
        .bind(&pair_w)
        .fetch_all(&mut *conn)
        .await?;
    Ok(hits
        .into_iter()
        .filter_map(|(k, _)| usize::try_from(k).ok())
        .collect())
}

/// A watch an instrument state meets: (watch id, tenant, owner).
pub(super) type Meeting = (String, String, String);

/// Collects the distinct states of a run, then resolves which watches each meets.
pub(super) struct Matcher<'w> {
    watches: &'w [WatchRow],
    keys: HashMap<String, usize>,
    /// Per state: the watches (indexes) it meets by plain columns and without a text.
    meeting: Vec<Vec<usize>>,
    states: Vec<serde_json::Value>,
    texts: BTreeMap<i32, &'w str>,
    pair_k: Vec<i32>,
    pair_w: Vec<i32>,
}

impl<'w> Matcher<'w> {
    pub(super) fn new(watches: &'w [WatchRow]) -> Self {
        Self {
            watches,
            keys: HashMap::new(),
            meeting: Vec::new(),
            states: Vec::new(),
            texts: BTreeMap::new(),
            pair_k: Vec::new(),
            pair_w: Vec::new(),
        }
    }

    /// The key of `row`'s matching state (equal states share one).
    pub(super) fn key(&mut self, row: &Row) -> usize {
        let state = matching_state(row).to_string();
        if let Some(k) = self.keys.get(&state) {
            return *k;
        }
        let k = self.meeting.len();
        let mut plain = Vec::new();
        let mut with_text = false;
        for (w, watch) in self.watches.iter().enumerate() {
            if !watch.meets_columns(row) {
                continue;
            }
            match (&watch.text, i32::try_from(k), i32::try_from(w)) {
                (None, _, _) => plain.push(w),
                (Some(text), Ok(k), Ok(w)) => {
                    self.texts.entry(w).or_insert(text);
                    self.pair_k.push(k);
                    self.pair_w.push(w);
                    with_text = true;
                }
                // More states or watches than an int4 holds: not reached by a run.
                (Some(_), _, _) => {}
            }
        }
        if with_text {
            self.states.push(serde_json::json!({
                "k": k, "title": row.title, "programme": row.programme, "summary": row.summary,
            }));
        }
        self.meeting.push(plain);
        self.keys.insert(state, k);
        k
    }

    /// The watches each key's state meets, in watch id order.
    pub(super) async fn resolve(
        mut self,
        conn: &mut PgConnection,
    ) -> Result<Vec<Vec<Meeting>>, ProjectionError> {
        if !self.pair_k.is_empty() {
            let texts = self
                .texts
                .iter()
                .map(|(w, text)| serde_json::json!({"w": w, "text": text}))
                .collect::<Vec<_>>();
            let hits: Vec<(i32, i32)> = sqlx::query_as(TEXT_MATCHES)
                .bind(Json(&self.states))
                .bind(Json(&texts))
                .bind(&self.pair_k)
                .bind(&self.pair_w)
                .fetch_all(&mut *conn)
                .await?;
            for (k, w) in hits {
                if let (Ok(k), Ok(w)) = (usize::try_from(k), usize::try_from(w))
                    && let Some(m) = self.meeting.get_mut(k)
                {
                    m.push(w);
                }
            }
        }
        let watches = self.watches;
        Ok(self
            .meeting
            .into_iter()
            .map(|mut ws| {
                ws.sort_unstable();
                ws.into_iter()
                    .filter_map(|w| watches.get(w))
                    .map(|w| (w.id.clone(), w.tenant.clone(), w.owner.clone()))
                    .collect()
            })
            .collect())
    }
}

/// What the match predicate reads of an instrument.
fn matching_state(row: &Row) -> serde_json::Value {
    serde_json::json!({
        "tenant": row.tenant,
        "kind": row.kind,
        "cover_level": row.cover_level,
        "countries": row.countries,
        "features": row.features,
        "title": row.title,
        "programme": row.programme,
        "summary": row.summary,
    })
}
