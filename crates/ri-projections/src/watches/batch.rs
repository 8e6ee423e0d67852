//! The instrument side of the `watches` projection, set-based per batch: a run of instrument,
//! project and tenant events between two watch events reads what it needs in a few queries
//! (the instruments' states, which watches they were announced to, which watches each state
//! meets), folds the events in memory in log order with exactly the per-event rules of
//! [`super`], and writes what changed in a few statements ([`Batch::flush`]) at its end. A
//! watch event matches the watch against the instruments in memory too (the batch's states
//! and the table's plain columns, a text in SQL).
//!
//! A watch follows an instrument exactly while the instrument (ever published) meets the
//! watch's filter, so which watches followed an instrument before an event is matched from its
//! state before the event, not stored.

use std::collections::{BTreeMap, BTreeSet};

use ri_domain::instrument::{INSTRUMENT, InstrumentEvent, InstrumentStatus};
use ri_domain::project::PROJECT;
use ri_domain::tenant::TENANT;
use ri_eventstore::StoredEvent;
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use super::alerts::Alerts;
use super::matcher::{
    Columns, Matcher, Meeting, PUBLISHED_COLUMNS, WATCH, WATCHES, WatchRow, rows_meeting_text,
};
use super::{NOTIFICATION_NAMESPACE, NoticeRow, Recipient, changed_fields};
use crate::catalogue::FieldChange;
use crate::catalogue::audit::instrument_entry;
use crate::catalogue::codes::{code, decode, from_code};
use crate::catalogue::instruments::Row;
use crate::error::ProjectionError;

/// What a batch has read and changed of the projection's tables, written once by `flush`.
#[derive(Debug, Default)]
pub(super) struct Batch {
    /// The instruments' states (`watch_instruments.state`) read or made by this batch.
    instruments: BTreeMap<String, Row>,
    dirty_instruments: BTreeSet<String>,
    /// The watches each instrument was announced to (`watch_notified`), for the instruments
    /// this batch loaded.
    notified: BTreeMap<String, BTreeSet<String>>,
    dirty_notified: BTreeSet<String>,
    /// Every instrument ever published as the table held it when a watch event first needed
    /// them (the batch's own states in `instruments` are newer).
    stored: Option<BTreeMap<String, Columns>>,
    /// Every watch, in id order, loaded on first use.
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
    /// The instrument before the event, when it was published then.
    before: Option<Row>,
    /// Its matching state's key in the run, and the state's before the event.
    key: usize,
    before_key: Option<usize>,
}

enum Decoded<'a> {
    Instrument(Option<Box<Step<'a>>>),
    Project(&'a StoredEvent, ri_domain::project::ProjectEvent),
    Tenant(&'a StoredEvent, ri_domain::tenant::TenantEvent),
}

impl Batch {
    /// After an event of watch `id`: the batch's copy of it as the table now holds it, and,
    /// when the event made it or changed its filter (`adopt`), every instrument it now follows
    /// counts as announced to it.
    pub(super) async fn after_watch_event(
        &mut self,
        conn: &mut PgConnection,
        id: &str,
        adopt: bool,
    ) -> Result<(), ProjectionError> {
        let row: Option<WatchRow> = sqlx::query_as(WATCH)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        if adopt && let Some(row) = &row {
            self.adopt(conn, row).await?;
        }
        let Some(watches) = self.watches.as_mut() else {
            return Ok(());
        };
        match (watches.binary_search_by(|w| w.id.as_str().cmp(id)), row) {
            (Ok(at), Some(row)) => {
                if let Some(w) = watches.get_mut(at) {
                    *w = row;
                }
            }
            (Ok(at), None) => {
                watches.remove(at);
            }
            (Err(at), Some(row)) => watches.insert(at, row),
            (Err(_), None) => {}
        }
        Ok(())
    }

    /// Watch `w` was made or its filter changed: every instrument it now follows counts as
    /// announced to it. Instruments this batch holds change here and are written by `flush`;
    /// the others in the table at once.
    async fn adopt(
        &mut self,
        conn: &mut PgConnection,
        w: &WatchRow,
    ) -> Result<(), ProjectionError> {
        let watch = w.id.as_str();
        let mut stored = Vec::new();
        for id in self.followed(conn, w).await? {
            match self.notified.get_mut(&id) {
                Some(watches) => {
                    if watches.insert(watch.to_owned()) {
                        self.dirty_notified.insert(id);
                    }
                }
                None => stored.push(id),
            }
        }
        if !stored.is_empty() {
            sqlx::query(
                "INSERT INTO watch_notified AS n (instrument_id, watches) \
                 SELECT unnest($2::text[]), ARRAY[$1::text] \
                 ON CONFLICT (instrument_id) DO UPDATE SET watches = n.watches || $1::text \
                 WHERE NOT $1 = ANY(n.watches)",
            )
            .bind(watch)
            .bind(&stored)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }

    /// The instruments ever published that meet watch `w`'s filter, as this batch holds them:
    /// its own states where it changed them, the table's for the others. Plain columns are
    /// matched in Rust, a text in SQL.
    async fn followed(
        &mut self,
        conn: &mut PgConnection,
        w: &WatchRow,
    ) -> Result<Vec<String>, ProjectionError> {
        if self.stored.is_none() {
            let rows: Vec<Columns> = sqlx::query_as(PUBLISHED_COLUMNS)
                .fetch_all(&mut *conn)
                .await?;
            self.stored = Some(rows.into_iter().map(|c| (c.id.clone(), c)).collect());
        }
        let held = self
            .instruments
            .values()
            .filter(|r| r.published_at.is_some() && w.meets_columns(r))
            .collect::<Vec<_>>();
        let stored = self
            .stored
            .iter()
            .flat_map(|s| s.values())
            .filter(|c| !self.instruments.contains_key(&c.id) && w.meets_stored(c))
            .map(|c| c.id.clone())
            .collect::<Vec<_>>();
        let Some(text) = w.text() else {
            let mut ids = stored;
            ids.extend(held.into_iter().map(|r| r.id.clone()));
            return Ok(ids);
        };
        let mut ids: Vec<String> = if stored.is_empty() {
            Vec::new()
        } else {
            sqlx::query_scalar(
                "SELECT id FROM watch_instruments WHERE id = ANY($1) \
                 AND search @@ websearch_to_tsquery('simple', $2)",
            )
            .bind(&stored)
            .bind(text)
            .fetch_all(&mut *conn)
            .await?
        };
        for k in rows_meeting_text(conn, &held, text).await? {
            if let Some(r) = held.get(k) {
                ids.push(r.id.clone());
            }
        }
        Ok(ids)
    }

    /// Watch `watch` was deleted: no instrument keeps it as announced.
    pub(super) async fn forget(
        &mut self,
        conn: &mut PgConnection,
        watch: &str,
    ) -> Result<(), ProjectionError> {
        for (id, watches) in &mut self.notified {
            if watches.remove(watch) {
                self.dirty_notified.insert(id.clone());
            }
        }
        sqlx::query(
            "UPDATE watch_notified SET watches = array_remove(watches, $1) \
             WHERE $1 = ANY(watches)",
        )
        .bind(watch)
        .execute(&mut *conn)
        .await?;
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
        // Which watches each state meets, before and after each event.
        if self.watches.is_none() {
            self.watches = Some(sqlx::query_as(WATCHES).fetch_all(&mut *conn).await?);
        }
        let mut matcher = Matcher::new(self.watches.as_deref().unwrap_or_default());
        for d in &mut decoded {
            if let Decoded::Instrument(Some(step)) = d {
                step.key = matcher.key(&step.row);
                step.before_key = step.before.as_ref().map(|b| matcher.key(b));
            }
        }
        let meeting = matcher.resolve(conn).await?;
        let visible = decoded
            .iter()
            .filter_map(|d| match d {
                Decoded::Instrument(Some(step)) => Some(step.e.aggregate_id.as_str()),
                _ => None,
            })
            .collect::<BTreeSet<_>>();
        self.load_notified(conn, &visible).await?;
        self.alerts.load_alerted(conn, &visible).await?;
        let none = Vec::new();
        for d in decoded {
            match d {
                Decoded::Instrument(Some(step)) => {
                    let meets = meeting.get(step.key).unwrap_or(&none);
                    let met = step
                        .before_key
                        .and_then(|k| meeting.get(k))
                        .unwrap_or(&none);
                    self.matched(conn, weights, &step, meets, met).await?;
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
        // What the watches followed before: the state before, when it was published.
        let was = before.filter(|r| r.published_at.is_some()).cloned();
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
            before: was,
            key: 0,
            before_key: None,
        }))
    }

    async fn load_notified(
        &mut self,
        conn: &mut PgConnection,
        instruments: &BTreeSet<&str>,
    ) -> Result<(), ProjectionError> {
        let missing = instruments
            .iter()
            .filter(|i| !self.notified.contains_key(**i))
            .map(|i| (*i).to_owned())
            .collect::<Vec<_>>();
        if missing.is_empty() {
            return Ok(());
        }
        let rows: Vec<(String, Vec<String>)> = sqlx::query_as(
            // One index probe per instrument, whatever the planner guesses of a table that
            // grew by thousands of rows since it was last analysed (a catch-up).
            "SELECT n.instrument_id, n.watches \
             FROM UNNEST($1::text[]) AS k(id) \
             CROSS JOIN LATERAL (SELECT * FROM watch_notified WHERE instrument_id = k.id) AS n",
        )
        .bind(&missing)
        .fetch_all(&mut *conn)
        .await?;
        for id in missing {
            self.notified.entry(id).or_default();
        }
        for (instrument, watches) in rows {
            self.notified
                .insert(instrument, watches.into_iter().collect());
        }
        Ok(())
    }

    /// The notices after `step`, which left the instrument meeting the watches `meets`; it met
    /// `met` before.
    async fn matched(
        &mut self,
        conn: &mut PgConnection,
        weights: &ri_matching::Weights,
        step: &Step<'_>,
        meets: &[Meeting],
        met: &[Meeting],
    ) -> Result<(), ProjectionError> {
        let (e, row) = (step.e, &step.row);
        let id = row.id.clone();
        let mut notified = self.notified.remove(&id).unwrap_or_default();
        let recipient = |(watch_id, tenant, owner): &Meeting| Recipient {
            id: Uuid::new_v5(
                &NOTIFICATION_NAMESPACE,
                format!("{}:{watch_id}", e.event_id).as_bytes(),
            ),
            tenant: tenant.clone(),
            user: owner.clone(),
            watch_id: Some(watch_id.clone()),
        };
        let followed = met.iter().map(|(w, _, _)| w).collect::<BTreeSet<_>>();
        let (mut new_match, mut changed) = (Vec::new(), Vec::new());
        let mut announced = false;
        for m in meets {
            if step.open && !notified.contains(&m.0) {
                new_match.push(recipient(m));
            } else if step.is_change && followed.contains(&m.0) {
                changed.push(recipient(m));
            }
            if step.open {
                announced |= notified.insert(m.0.clone());
            }
        }
        // Followed before, and no longer meeting the filter: a last change notice.
        let meeting = meets.iter().map(|(w, _, _)| w).collect::<BTreeSet<_>>();
        let unmet = if step.is_change {
            met.iter()
                .filter(|m| !meeting.contains(&m.0))
                .map(recipient)
                .collect()
        } else {
            Vec::new()
        };
        let notice = |recipients: Vec<Recipient>, kind, message: String| NoticeRow {
            recipients,
            kind,
            project_id: None,
            matches: Vec::new(),
            instrument_id: row.id.clone(),
            title: row.title.clone(),
            message,
            changes: serde_json::to_value(changed_fields(&step.changes))
                .unwrap_or_else(|_| serde_json::Value::Array(vec![])),
            deadline: row.deadline,
            created_at: e.recorded_at,
            cause: super::StoredCause::event(e),
        };
        if !new_match.is_empty() {
            let message = format!("\"{}\" matches your watch", row.title);
            self.notices.push(notice(new_match, "NEW_MATCH", message));
        }
        if !changed.is_empty() {
            let message = format!("\"{}\": {}", row.title, step.summary);
            self.notices.push(notice(changed, "CHANGED", message));
        }
        if !unmet.is_empty() {
            let message = format!(
                "\"{}\": {}; it no longer matches your watch",
                row.title, step.summary
            );
            self.notices.push(notice(unmet, "CHANGED", message));
        }
        // Written only when it changed: most events announce nothing new.
        if announced {
            self.dirty_notified.insert(id.clone());
        }
        self.notified.insert(id, notified);
        if step.open && step.is_announcing {
            self.alerts
                .instrument_changed(conn, weights, e, row, &mut self.notices)
                .await?;
        }
        Ok(())
    }

    /// Writes the instruments' states the batch changed.
    async fn flush_instruments(&mut self, conn: &mut PgConnection) -> Result<(), ProjectionError> {
        let rows = std::mem::take(&mut self.dirty_instruments)
            .into_iter()
            .filter_map(|id| self.instruments.get(&id))
            .collect::<Vec<_>>();
        if !rows.is_empty() {
            sqlx::query(
                "INSERT INTO watch_instruments AS w (id, tenant, status, kind, cover_level, \
                     countries, features, deadline, search, state, published) \
                 SELECT r.id, r.tenant, r.status, r.kind, r.cover_level, r.countries, \
                     r.features, r.deadline, \
                     setweight(to_tsvector('simple', r.title), 'A') \
                     || setweight(to_tsvector('simple', coalesce(r.programme, '')), 'B') \
                     || setweight(to_tsvector('simple', r.summary), 'C'), s.state, \
                     r.published_at IS NOT NULL \
                 FROM jsonb_array_elements($1) AS s(state) \
                 CROSS JOIN LATERAL jsonb_to_record(s.state) AS r(id text, tenant text, \
                     status text, kind text, cover_level text, countries text[], \
                     features int8, deadline timestamptz, title text, programme text, \
                     summary text, published_at text) \
                 ON CONFLICT (id) DO UPDATE SET tenant = EXCLUDED.tenant, \
                     status = EXCLUDED.status, kind = EXCLUDED.kind, \
                     cover_level = EXCLUDED.cover_level, countries = EXCLUDED.countries, \
                     features = EXCLUDED.features, deadline = EXCLUDED.deadline, \
                     search = EXCLUDED.search, state = EXCLUDED.state, \
                     published = EXCLUDED.published",
            )
            .bind(Json(&rows))
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }

    /// Writes the instruments' states, which watches they were announced to, and the notices
    /// the batch made.
    pub(super) async fn flush(&mut self, conn: &mut PgConnection) -> Result<(), ProjectionError> {
        self.flush_instruments(conn).await?;
        let dirty = std::mem::take(&mut self.dirty_notified)
            .into_iter()
            .filter_map(|id| {
                self.notified
                    .get(&id)
                    .map(|w| serde_json::json!({"i": id, "w": w}))
            })
            .collect::<Vec<_>>();
        if !dirty.is_empty() {
            sqlx::query(
                "INSERT INTO watch_notified (instrument_id, watches) \
                 SELECT i, w FROM jsonb_to_recordset($1) AS n(i text, w text[]) \
                 ON CONFLICT (instrument_id) DO UPDATE SET watches = EXCLUDED.watches",
            )
            .bind(Json(&dirty))
            .execute(&mut *conn)
            .await?;
        }
        super::insert_notices(conn, &std::mem::take(&mut self.notices)).await?;
        self.alerts.flush(conn).await
    }
}
