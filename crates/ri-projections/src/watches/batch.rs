//! The instrument side of the `watches` projection, set-based per batch: a run of instrument,
//! project and tenant events between two watch events reads what it needs in a few queries
//! (the instruments' states, the watches' standings towards them, which watches each new state
//! meets), folds the events in memory in log order with exactly the per-event rules of
//! [`super`], and writes what changed in a few statements ([`Batch::flush`]). A watch event
//! is a barrier: the batch is flushed before it, since it reads the tables.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ri_domain::instrument::{INSTRUMENT, InstrumentEvent, InstrumentStatus};
use ri_domain::project::PROJECT;
use ri_domain::tenant::TENANT;
use ri_eventstore::StoredEvent;
use sqlx::PgConnection;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::alerts::Alerts;
use super::{NOTIFICATION_NAMESPACE, NoticeRow, changed_fields};
use crate::catalogue::FieldChange;
use crate::catalogue::audit::instrument_entry;
use crate::catalogue::codes::{code, decode, from_code};
use crate::catalogue::instruments::Row;
use crate::error::ProjectionError;

/// Which (state, watch) pairs meet the watch's text: `$1` is a JSON array of
/// {k, w, title, programme, summary, text}; returns the (k, w) that do. The instrument's
/// vector as `watch_instruments.search` holds it, the text as [`super::MATCHES`] reads it.
const TEXT_MATCHES: &str = "SELECT p.k, p.w FROM jsonb_to_recordset($1) AS p(k int4, w int4, \
         title text, programme text, summary text, text text) \
     WHERE (setweight(to_tsvector('simple', p.title), 'A') \
         || setweight(to_tsvector('simple', coalesce(p.programme, '')), 'B') \
         || setweight(to_tsvector('simple', p.summary), 'C')) \
         @@ websearch_to_tsquery('simple', p.text)";

/// A watch's filter as its row holds it.
#[derive(Debug, Clone, sqlx::FromRow)]
struct WatchRow {
    id: String,
    tenant: String,
    owner: String,
    cover_levels: Vec<String>,
    countries: Vec<String>,
    kinds: Vec<String>,
    features: i64,
    feature_match: String,
    text: Option<String>,
    tenant_filter: Option<String>,
}

impl WatchRow {
    /// [`super::MATCHES`] but its text condition, in Rust: every condition on plain columns.
    fn meets_columns(&self, i: &Row) -> bool {
        (self.cover_levels.is_empty() || self.cover_levels.contains(&i.cover_level))
            && (self.countries.is_empty() || self.countries.iter().any(|c| i.countries.contains(c)))
            && (self.kinds.is_empty() || self.kinds.contains(&i.kind))
            && (self.features == 0
                || if self.feature_match == "ALL" {
                    i.features & self.features == self.features
                } else {
                    i.features & self.features != 0
                })
            && self.tenant_filter.as_ref().is_none_or(|t| *t == i.tenant)
    }
}

/// A watch's standing towards an instrument.
#[derive(Debug, Clone, Copy)]
struct Standing {
    current: bool,
    notified: bool,
    since: OffsetDateTime,
}

/// What a batch has read and changed of the projection's tables, written once by `flush`.
#[derive(Debug, Default)]
pub(super) struct Batch {
    /// The instruments' states (`watch_instruments.state`) read or made by this batch.
    instruments: BTreeMap<String, Row>,
    dirty_instruments: BTreeSet<String>,
    /// instrument -> watch -> standing, for the instruments loaded since the last barrier.
    standings: BTreeMap<String, BTreeMap<String, Standing>>,
    dirty_standings: BTreeSet<(String, String)>,
    /// Every watch, in id order, loaded on first use after a barrier.
    watches: Option<Vec<WatchRow>>,
    notices: Vec<NoticeRow>,
    pub(super) alerts: Alerts,
}

/// An instrument event with the instrument as it leaves it, when it was ever published.
struct Step<'a> {
    e: &'a StoredEvent,
    row: Row,
    summary: String,
    changes: Vec<FieldChange>,
    is_change: bool,
    is_announcing: bool,
    open: bool,
    /// Index of its distinct matching state in the run.
    key: i32,
}

enum Decoded<'a> {
    Instrument(Option<Box<Step<'a>>>),
    Project(&'a StoredEvent, ri_domain::project::ProjectEvent),
    Tenant(&'a StoredEvent, ri_domain::tenant::TenantEvent),
}

impl Batch {
    /// Before a watch event: everything written, the standings and watchers forgotten (the
    /// watch event changes them in the tables).
    pub(super) async fn barrier(&mut self, conn: &mut PgConnection) -> Result<(), ProjectionError> {
        self.flush(conn).await?;
        self.standings.clear();
        self.watches = None;
        Ok(())
    }

    /// Handles a run of instrument, project and tenant events (no watch event among them), in
    /// log order.
    pub(super) async fn run(
        &mut self,
        conn: &mut PgConnection,
        weights: &ri_matching::Weights,
        events: &[&StoredEvent],
    ) -> Result<(), ProjectionError> {
        if events.is_empty() {
            return Ok(());
        }
        self.load_instruments(conn, events).await?;
        // Fold the instrument events, in order.
        let mut decoded = Vec::with_capacity(events.len());
        for e in events {
            match e.aggregate_type.as_str() {
                INSTRUMENT => {
                    decoded.push(Decoded::Instrument(self.fold(e, decode(e)?)?.map(Box::new)))
                }
                PROJECT => decoded.push(Decoded::Project(e, decode(e)?)),
                TENANT => decoded.push(Decoded::Tenant(e, decode(e)?)),
                _ => {}
            }
        }
        // Which watches each distinct state meets: the plain columns here, the texts in one
        // query.
        self.watches(conn).await?;
        let watches = self.watches.as_deref().unwrap_or_default();
        let mut keys: HashMap<String, i32> = HashMap::new();
        let mut meeting: Vec<Vec<usize>> = Vec::new();
        let mut texts = Vec::new();
        for d in &mut decoded {
            let Decoded::Instrument(Some(step)) = d else {
                continue;
            };
            let state = matching_state(&step.row).to_string();
            let next = i32::try_from(meeting.len()).unwrap_or(i32::MAX);
            step.key = *keys.entry(state).or_insert_with(|| {
                let mut plain = Vec::new();
                for (w, watch) in watches.iter().enumerate() {
                    if !watch.meets_columns(&step.row) {
                        continue;
                    }
                    match &watch.text {
                        None => plain.push(w),
                        Some(text) => texts.push(serde_json::json!({
                            "k": next, "w": w, "title": step.row.title,
                            "programme": step.row.programme, "summary": step.row.summary,
                            "text": text,
                        })),
                    }
                }
                meeting.push(plain);
                next
            });
        }
        if !texts.is_empty() {
            let hits: Vec<(i32, i32)> = sqlx::query_as(TEXT_MATCHES)
                .bind(Json(&texts))
                .fetch_all(&mut *conn)
                .await?;
            for (k, w) in hits {
                if let (Ok(k), Ok(w)) = (usize::try_from(k), usize::try_from(w))
                    && let Some(m) = meeting.get_mut(k)
                {
                    m.push(w);
                }
            }
        }
        for m in &mut meeting {
            m.sort_unstable();
        }
        let meeting = meeting
            .into_iter()
            .map(|ws| {
                ws.into_iter()
                    .filter_map(|w| watches.get(w))
                    .map(|w| (w.id.clone(), w.tenant.clone(), w.owner.clone()))
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>();
        let visible = decoded
            .iter()
            .filter_map(|d| match d {
                Decoded::Instrument(Some(step)) => Some(step.e.aggregate_id.as_str()),
                _ => None,
            })
            .collect::<BTreeSet<_>>();
        self.load_standings(conn, &visible).await?;
        self.alerts.load_alerted(conn, &visible).await?;
        let none = Vec::new();
        for d in decoded {
            match d {
                Decoded::Instrument(Some(step)) => {
                    let meets = usize::try_from(step.key)
                        .ok()
                        .and_then(|k| meeting.get(k))
                        .unwrap_or(&none);
                    self.matched(conn, weights, &step, meets).await?;
                }
                Decoded::Instrument(None) => {}
                Decoded::Project(e, event) => self.alerts.project_event(conn, e, event).await?,
                Decoded::Tenant(e, event) => self.alerts.tenant_event(conn, e, event).await?,
            }
        }
        Ok(())
    }

    async fn load_instruments(
        &mut self,
        conn: &mut PgConnection,
        events: &[&StoredEvent],
    ) -> Result<(), ProjectionError> {
        let missing = events
            .iter()
            .filter(|e| e.aggregate_type == INSTRUMENT)
            .map(|e| e.aggregate_id.as_str())
            .filter(|id| !self.instruments.contains_key(*id))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>();
        if missing.is_empty() {
            return Ok(());
        }
        let rows: Vec<Json<Row>> =
            sqlx::query_scalar("SELECT state FROM watch_instruments WHERE id = ANY($1)")
                .bind(&missing)
                .fetch_all(&mut *conn)
                .await?;
        for Json(row) in rows {
            self.instruments.insert(row.id.clone(), row);
        }
        Ok(())
    }

    /// Applies `event` to the instrument's state; the step to match when it was ever
    /// published (the others are invisible to every watch, whatever their status).
    fn fold<'a>(
        &mut self,
        e: &'a StoredEvent,
        event: InstrumentEvent,
    ) -> Result<Option<Step<'a>>, ProjectionError> {
        let id = e.aggregate_id.as_str();
        let before = self.instruments.get(id);
        if before.is_some_and(|row| row.tenant != e.tenant) {
            // The catalogue leaves such events out too (instrument ids are unique in practice).
            return Ok(None);
        }
        let mut row = match (before, &event) {
            (Some(row), _) => row.clone(),
            (None, InstrumentEvent::InstrumentDrafted { details, .. }) => Row::drafted(e, details)?,
            (None, _) => return Ok(None),
        };
        let before_status = before.and_then(|r| from_code::<InstrumentStatus>(&r.status));
        let (entry, _) = instrument_entry(&event, before_status);
        let is_change = !matches!(
            event,
            InstrumentEvent::InstrumentDrafted { .. } | InstrumentEvent::InstrumentPublished
        );
        // Published, or revised in what matching reads: what may make a project a new match.
        let is_announcing = !matches!(
            event,
            InstrumentEvent::InstrumentDrafted { .. }
                | InstrumentEvent::InstrumentWithdrawn { .. }
                | InstrumentEvent::InstrumentArchived
                | InstrumentEvent::InstrumentClosed
        );
        row.apply(e, event)?;
        self.instruments.insert(id.to_owned(), row.clone());
        self.dirty_instruments.insert(id.to_owned());
        if row.published_at.is_none() {
            return Ok(None);
        }
        let open = row.status == code(&InstrumentStatus::Open)
            && row.deadline.is_none_or(|d| d > e.recorded_at);
        Ok(Some(Step {
            e,
            row,
            summary: entry.summary,
            changes: entry.changes,
            is_change,
            is_announcing,
            open,
            key: 0,
        }))
    }

    async fn load_standings(
        &mut self,
        conn: &mut PgConnection,
        instruments: &BTreeSet<&str>,
    ) -> Result<(), ProjectionError> {
        let missing = instruments
            .iter()
            .filter(|i| !self.standings.contains_key(**i))
            .map(|i| (*i).to_owned())
            .collect::<Vec<_>>();
        if missing.is_empty() {
            return Ok(());
        }
        let rows: Vec<(String, String, bool, bool, OffsetDateTime)> = sqlx::query_as(
            // One index probe per instrument, whatever the planner guesses of a table that
            // grew by thousands of rows since it was last analysed (a catch-up).
            "SELECT m.instrument_id, m.watch_id, m.current, m.notified, m.since \
             FROM UNNEST($1::text[]) AS k(id) \
             CROSS JOIN LATERAL (SELECT * FROM watch_matches WHERE instrument_id = k.id) AS m",
        )
        .bind(&missing)
        .fetch_all(&mut *conn)
        .await?;
        for id in missing {
            self.standings.entry(id).or_default();
        }
        for (instrument, watch, current, notified, since) in rows {
            self.standings.entry(instrument).or_default().insert(
                watch,
                Standing {
                    current,
                    notified,
                    since,
                },
            );
        }
        Ok(())
    }

    async fn watches(&mut self, conn: &mut PgConnection) -> Result<(), ProjectionError> {
        if self.watches.is_none() {
            self.watches = Some(
                sqlx::query_as(
                    "SELECT id, tenant, owner, cover_levels, countries, kinds, features, \
                         feature_match, text, tenant_filter FROM watches ORDER BY id",
                )
                .fetch_all(&mut *conn)
                .await?,
            );
        }
        Ok(())
    }

    /// The notices and standings after `step`, which left the instrument meeting `meets`.
    async fn matched(
        &mut self,
        conn: &mut PgConnection,
        weights: &ri_matching::Weights,
        step: &Step<'_>,
        meets: &[(String, String, String)],
    ) -> Result<(), ProjectionError> {
        let (e, row) = (step.e, &step.row);
        let id = row.id.clone();
        let standing = self.standings.get(&id).cloned().unwrap_or_default();
        let notice = |watch_id: &str, tenant: &str, owner: &str, kind, message: String| NoticeRow {
            id: Uuid::new_v5(
                &NOTIFICATION_NAMESPACE,
                format!("{}:{watch_id}", e.event_id).as_bytes(),
            ),
            tenant: tenant.to_owned(),
            recipient: owner.to_owned(),
            kind,
            watch_id: Some(watch_id.to_owned()),
            project_id: None,
            instrument_id: row.id.clone(),
            title: row.title.clone(),
            message,
            changes: serde_json::to_value(changed_fields(&step.changes))
                .unwrap_or_else(|_| serde_json::Value::Array(vec![])),
            deadline: row.deadline,
            created_at: e.recorded_at,
        };
        let mut after = standing.clone();
        for (watch_id, tenant, owner) in meets {
            let was = standing.get(watch_id);
            if step.open && !was.is_some_and(|s| s.notified) {
                self.notices.push(notice(
                    watch_id,
                    tenant,
                    owner,
                    "NEW_MATCH",
                    format!("\"{}\" matches your watch", row.title),
                ));
            } else if step.is_change && was.is_some_and(|s| s.current) {
                self.notices.push(notice(
                    watch_id,
                    tenant,
                    owner,
                    "CHANGED",
                    format!("\"{}\": {}", row.title, step.summary),
                ));
            }
            let s = after.entry(watch_id.clone()).or_insert(Standing {
                current: true,
                notified: false,
                since: e.recorded_at,
            });
            s.current = true;
            s.notified = s.notified || step.open;
            // Written only when it changed: most events leave most standings as they were.
            if was.is_none_or(|w| !w.current || w.notified != s.notified) {
                self.dirty_standings.insert((watch_id.clone(), id.clone()));
            }
        }
        // Followed before, and no longer meeting the filter: a last change notice, then
        // unfollowed.
        let met = meets.iter().map(|(w, _, _)| w).collect::<BTreeSet<_>>();
        let left = standing
            .iter()
            .filter(|(w, s)| s.current && !met.contains(w))
            .map(|(w, _)| w.clone())
            .collect::<Vec<_>>();
        if !left.is_empty() {
            self.watches(conn).await?;
            let watches = self.watches.as_deref().unwrap_or_default();
            let owners = left
                .iter()
                .map(|w| {
                    let owner = watches
                        .iter()
                        .find(|x| x.id == *w)
                        .map(|x| (x.tenant.clone(), x.owner.clone()));
                    (w.clone(), owner)
                })
                .collect::<Vec<_>>();
            for (watch_id, owner) in owners {
                if step.is_change
                    && let Some((tenant, owner)) = owner
                {
                    self.notices.push(notice(
                        &watch_id,
                        &tenant,
                        &owner,
                        "CHANGED",
                        format!(
                            "\"{}\": {}; it no longer matches your watch",
                            row.title, step.summary
                        ),
                    ));
                }
                if let Some(s) = after.get_mut(&watch_id) {
                    s.current = false;
                }
                self.dirty_standings.insert((watch_id, id.clone()));
            }
        }
        self.standings.insert(id, after);
        if step.open && step.is_announcing {
            self.alerts
                .instrument_changed(conn, weights, e, row, &mut self.notices)
                .await?;
        }
        Ok(())
    }

    /// Writes the instruments' states, the standings and the notices the batch made.
    pub(super) async fn flush(&mut self, conn: &mut PgConnection) -> Result<(), ProjectionError> {
        let rows = std::mem::take(&mut self.dirty_instruments)
            .into_iter()
            .filter_map(|id| self.instruments.get(&id))
            .collect::<Vec<_>>();
        if !rows.is_empty() {
            sqlx::query(
                "INSERT INTO watch_instruments AS w (id, tenant, status, kind, cover_level, \
                     countries, features, deadline, search, state) \
                 SELECT r.id, r.tenant, r.status, r.kind, r.cover_level, r.countries, \
                     r.features, r.deadline, \
                     setweight(to_tsvector('simple', r.title), 'A') \
                     || setweight(to_tsvector('simple', coalesce(r.programme, '')), 'B') \
                     || setweight(to_tsvector('simple', r.summary), 'C'), s.state \
                 FROM jsonb_array_elements($1) AS s(state) \
                 CROSS JOIN LATERAL jsonb_to_record(s.state) AS r(id text, tenant text, \
                     status text, kind text, cover_level text, countries text[], \
                     features int8, deadline timestamptz, title text, programme text, \
                     summary text) \
                 ON CONFLICT (id) DO UPDATE SET tenant = EXCLUDED.tenant, \
                     status = EXCLUDED.status, kind = EXCLUDED.kind, \
                     cover_level = EXCLUDED.cover_level, countries = EXCLUDED.countries, \
                     features = EXCLUDED.features, deadline = EXCLUDED.deadline, \
                     search = EXCLUDED.search, state = EXCLUDED.state",
            )
            .bind(Json(&rows))
            .execute(&mut *conn)
            .await?;
        }
        let dirty = std::mem::take(&mut self.dirty_standings);
        if !dirty.is_empty() {
            let (mut watches, mut instruments) = (Vec::new(), Vec::new());
            let (mut current, mut notified, mut since) = (Vec::new(), Vec::new(), Vec::new());
            for (w, i) in dirty {
                if let Some(s) = self.standings.get(&i).and_then(|m| m.get(&w)) {
                    current.push(s.current);
                    notified.push(s.notified);
                    since.push(s.since);
                    watches.push(w);
                    instruments.push(i);
                }
            }
            sqlx::query(
                "INSERT INTO watch_matches (watch_id, instrument_id, current, notified, since) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::bool[], $4::bool[], \
                     $5::timestamptz[]) \
                 ON CONFLICT (watch_id, instrument_id) DO UPDATE \
                 SET current = EXCLUDED.current, notified = EXCLUDED.notified",
            )
            .bind(&watches)
            .bind(&instruments)
            .bind(&current)
            .bind(&notified)
            .bind(&since)
            .execute(&mut *conn)
            .await?;
        }
        super::insert_notices(conn, &std::mem::take(&mut self.notices)).await?;
        self.alerts.flush(conn).await
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
