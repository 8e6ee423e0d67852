//! The `catalogue` projection: one row per funding instrument, as the search shows it.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use ri_domain::instrument::{INSTRUMENT, InstrumentDetails, InstrumentEvent, InstrumentStatus};
use ri_domain::values::FundingRange;
use ri_eventstore::StoredEvent;
use ri_taxonomy::FeatureSet;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use sqlx::types::Json;
use time::{Date, OffsetDateTime};

use super::codes::{code, decode_all, iso_date};
use crate::error::ProjectionError;
use crate::instants::storable_opt;
use crate::projection::Projection;

#[derive(Debug, Clone, Copy, Default)]
pub struct Catalogue;

/// A `catalogue_instruments` row without its `search` vector, which the upsert computes. It
/// travels to and from the table as JSON (`to_jsonb` / `jsonb_to_recordset`), because UNNEST
/// cannot carry an array per row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Row {
    pub(crate) id: String,
    pub(crate) tenant: String,
    pub(crate) version: i64,
    pub(crate) status: String,
    pub(crate) title: String,
    pub(crate) kind: String,
    pub(crate) cover_level: String,
    pub(crate) countries: Vec<String>,
    pub(crate) programme: Option<String>,
    pub(crate) link: Option<String>,
    pub(crate) summary: String,
    pub(crate) target_organisations: Vec<String>,
    pub(crate) funding_min: Option<i64>,
    pub(crate) funding_max: Option<i64>,
    pub(crate) currency: Option<String>,
    pub(crate) periodicity: Option<String>,
    pub(crate) languages: Vec<String>,
    pub(crate) features: i64,
    pub(crate) feature_codes: Vec<String>,
    #[serde(with = "iso_date::option")]
    pub(crate) opening_date: Option<Date>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub(crate) deadline: Option<OffsetDateTime>,
    pub(crate) time_zone: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) drafted_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub(crate) published_at: Option<OffsetDateTime>,
}

impl Row {
    pub(crate) fn drafted(e: &StoredEvent, d: &InstrumentDetails) -> Result<Self, ProjectionError> {
        let mut row = Row {
            id: e.aggregate_id.clone(),
            tenant: e.tenant.clone(),
            version: e.sequence,
            status: code(&InstrumentStatus::Draft),
            title: d.title.to_string(),
            kind: code(&d.kind),
            cover_level: code(&d.cover_level),
            countries: d.countries.iter().map(|c| c.to_string()).collect(),
            programme: d.programme.as_ref().map(|p| p.to_string()),
            link: d.link.as_ref().map(|l| l.as_str().to_owned()),
            summary: d.summary.to_string(),
            target_organisations: d.target_organisations.iter().map(code).collect(),
            funding_min: None,
            funding_max: None,
            currency: None,
            periodicity: d.periodicity.as_ref().map(code),
            languages: d.languages.iter().map(|l| l.as_str().to_owned()).collect(),
            features: 0,
            feature_codes: vec![],
            opening_date: None,
            deadline: None,
            time_zone: None,
            drafted_at: e.recorded_at,
            updated_at: e.recorded_at,
            published_at: None,
        };
        row.set_funding(e, d.funding.as_ref())?;
        Ok(row)
    }

    fn set_funding(
        &mut self,
        e: &StoredEvent,
        funding: Option<&FundingRange>,
    ) -> Result<(), ProjectionError> {
        let amount = |n: Option<u64>| {
            n.map(i64::try_from)
                .transpose()
                .map_err(|_| ProjectionError::BadEvent {
                    position: e.position,
                    reason: "a funding amount exceeds a bigint".to_owned(),
                })
        };
        self.funding_min = amount(funding.and_then(|f| f.min))?;
        self.funding_max = amount(funding.and_then(|f| f.max))?;
        self.currency = funding.map(|f| f.currency.as_str().to_owned());
        Ok(())
    }

    fn feature_set(&self, e: &StoredEvent) -> Result<FeatureSet, ProjectionError> {
        FeatureSet::from_bits(self.features).map_err(|err| ProjectionError::BadEvent {
            position: e.position,
            reason: format!("instrument {} holds features it cannot: {err}", self.id),
        })
    }

    fn set_features(&mut self, set: FeatureSet) {
        self.features = set.bits();
        self.feature_codes = set.iter().map(|c| c.as_str().to_owned()).collect();
    }

    /// Applies every event but the draft (which makes a new row).
    pub(crate) fn apply(
        &mut self,
        e: &StoredEvent,
        event: InstrumentEvent,
    ) -> Result<(), ProjectionError> {
        match event {
            InstrumentEvent::InstrumentDrafted { details, .. } => {
                *self = Row::drafted(e, &details)?;
            }
            InstrumentEvent::InstrumentRevised { changes } => {
                if let Some(c) = changes.title {
                    self.title = c.new.to_string();
                }
                if let Some(c) = changes.kind {
                    self.kind = code(&c.new);
                }
                if let Some(c) = changes.cover_level {
                    self.cover_level = code(&c.new);
                }
                if let Some(c) = changes.countries {
                    self.countries = c.new.iter().map(|c| c.to_string()).collect();
                }
                if let Some(c) = changes.programme {
                    self.programme = c.new.map(|p| p.to_string());
                }
                if let Some(c) = changes.link {
                    self.link = c.new.map(|l| l.as_str().to_owned());
                }
                if let Some(c) = changes.summary {
                    self.summary = c.new.to_string();
                }
                if let Some(c) = changes.target_organisations {
                    self.target_organisations = c.new.iter().map(code).collect();
                }
                if let Some(c) = changes.funding {
                    self.set_funding(e, c.new.as_ref())?;
                }
                if let Some(c) = changes.periodicity {
                    self.periodicity = c.new.as_ref().map(code);
                }
                if let Some(c) = changes.languages {
                    self.languages = c.new.iter().map(|l| l.as_str().to_owned()).collect();
                }
            }
            InstrumentEvent::InstrumentFeaturesTagged { features } => {
                let set = self.feature_set(e)?.union(features);
                self.set_features(set);
            }
            InstrumentEvent::InstrumentFeaturesUntagged { features } => {
                let set = self.feature_set(e)?.difference(features);
                self.set_features(set);
            }
            InstrumentEvent::InstrumentScheduleSet { new, .. } => {
                storable_opt(e.position, "deadline", new.deadline)?;
                self.opening_date = new.opening_date;
                self.deadline = new.deadline;
                self.time_zone = new.time_zone;
            }
            InstrumentEvent::InstrumentPublished => {
                self.status = code(&InstrumentStatus::Open);
                self.published_at = Some(e.recorded_at);
            }
            InstrumentEvent::InstrumentWithdrawn { .. } => {
                self.status = code(&InstrumentStatus::Withdrawn);
            }
            InstrumentEvent::InstrumentArchived => {
                self.status = code(&InstrumentStatus::Archived);
            }
            InstrumentEvent::InstrumentClosed => {
                // A draft is closed only to record a past call (the seed): it is public
                // history from then on, as if published when recorded.
                if self.published_at.is_none() {
                    self.published_at = Some(e.recorded_at);
                }
                self.status = code(&InstrumentStatus::Closed);
            }
            InstrumentEvent::InstrumentReopened { new, .. } => {
                storable_opt(e.position, "deadline", new.deadline)?;
                self.opening_date = new.opening_date;
                self.deadline = new.deadline;
                self.time_zone = new.time_zone;
                self.status = code(&InstrumentStatus::Open);
                self.published_at = Some(e.recorded_at);
            }
        }
        self.version = e.sequence;
        self.updated_at = e.recorded_at;
        Ok(())
    }
}

impl Projection for Catalogue {
    fn name(&self) -> &'static str {
        "catalogue"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["catalogue_instruments"]
    }

    fn apply<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [StoredEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        async move {
            let mine = decode_all::<InstrumentEvent>(events, INSTRUMENT)?;
            if mine.is_empty() {
                return Ok(());
            }
            super::as_projector(&mut *conn).await?;

            // Fold the batch over the rows it touches, then write each of them once.
            let ids = mine
                .iter()
                .map(|(e, _)| e.aggregate_id.as_str())
                .collect::<BTreeSet<_>>();
            let mut rows = load(&mut *conn, &ids).await?;
            let mut touched = BTreeSet::new();
            for (e, event) in mine {
                let id = e.aggregate_id.as_str();
                match (rows.get_mut(id), event) {
                    // Instrument ids are meant to be unique across tenants; should two tenants
                    // ever use one, the first keeps it and the other is left out, the same way
                    // in every replay.
                    (Some(row), _) if row.tenant != e.tenant => {
                        tracing::warn!(
                            position = e.position,
                            id,
                            tenant = e.tenant,
                            owner = row.tenant,
                            "instrument id already taken by another tenant; event not projected"
                        );
                    }
                    (Some(row), event) => {
                        row.apply(e, event)?;
                        touched.insert(id);
                    }
                    (None, InstrumentEvent::InstrumentDrafted { details, .. }) => {
                        rows.insert(id.to_owned(), Row::drafted(e, &details)?);
                        touched.insert(id);
                    }
                    (None, _) => {
                        tracing::warn!(
                            position = e.position,
                            id,
                            "event of an instrument never drafted; not projected"
                        );
                    }
                }
            }
            let changed = rows
                .values()
                .filter(|r| touched.contains(r.id.as_str()))
                .collect::<Vec<_>>();
            upsert(conn, &changed).await
        }
        .boxed()
    }
}

async fn load(
    conn: &mut PgConnection,
    ids: &BTreeSet<&str>,
) -> Result<BTreeMap<String, Row>, ProjectionError> {
    let ids = ids.iter().copied().collect::<Vec<_>>();
    let rows: Vec<Json<Row>> = sqlx::query_scalar(
        "SELECT to_jsonb(c) - 'search' FROM catalogue_instruments c WHERE c.id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|Json(row)| (row.id.clone(), row))
        .collect())
}

async fn upsert(conn: &mut PgConnection, rows: &[&Row]) -> Result<(), ProjectionError> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO catalogue_instruments AS c (id, tenant, version, status, title, kind, \
             cover_level, countries, programme, link, summary, target_organisations, \
             funding_min, funding_max, currency, periodicity, languages, features, \
             feature_codes, opening_date, deadline, time_zone, drafted_at, updated_at, \
             published_at, search) \
         SELECT r.id, r.tenant, r.version, r.status, r.title, r.kind, r.cover_level, \
             r.countries, r.programme, r.link, r.summary, r.target_organisations, \
             r.funding_min, r.funding_max, r.currency, r.periodicity, r.languages, r.features, \
             r.feature_codes, r.opening_date, r.deadline, r.time_zone, r.drafted_at, \
             r.updated_at, r.published_at, \
             setweight(to_tsvector('simple', r.title), 'A') \
             || setweight(to_tsvector('simple', coalesce(r.programme, '')), 'B') \
             || setweight(to_tsvector('simple', r.summary), 'C') \
         FROM jsonb_to_recordset($1) AS r(id text, tenant text, version int8, status text, \
             title text, kind text, cover_level text, countries text[], programme text, \
             link text, summary text, target_organisations text[], funding_min int8, \
             funding_max int8, currency text, periodicity text, languages text[], \
             features int8, feature_codes text[], opening_date date, deadline timestamptz, \
             time_zone text, drafted_at timestamptz, updated_at timestamptz, \
             published_at timestamptz) \
         ON CONFLICT (id) DO UPDATE SET \
             tenant = EXCLUDED.tenant, version = EXCLUDED.version, status = EXCLUDED.status, \
             title = EXCLUDED.title, kind = EXCLUDED.kind, cover_level = EXCLUDED.cover_level, \
             countries = EXCLUDED.countries, programme = EXCLUDED.programme, \
             link = EXCLUDED.link, summary = EXCLUDED.summary, \
             target_organisations = EXCLUDED.target_organisations, \
             funding_min = EXCLUDED.funding_min, funding_max = EXCLUDED.funding_max, \
             currency = EXCLUDED.currency, periodicity = EXCLUDED.periodicity, \
             languages = EXCLUDED.languages, features = EXCLUDED.features, \
             feature_codes = EXCLUDED.feature_codes, opening_date = EXCLUDED.opening_date, \
             deadline = EXCLUDED.deadline, time_zone = EXCLUDED.time_zone, \
             drafted_at = EXCLUDED.drafted_at, updated_at = EXCLUDED.updated_at, \
             published_at = EXCLUDED.published_at, search = EXCLUDED.search",
    )
    .bind(Json(rows))
    .execute(conn)
    .await?;
    Ok(())
}
