//! What the search index is fed: every instrument (drafts too, which the index leaves out but
//! the next event may publish) and every tenant's name and state, folded from a snapshot of the
//! catalogue tables and then from the log, exactly as the `catalogue` and `tenants` projections
//! fold them (`Row::apply`), so that every replica's index equals the catalogue's public rows.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::TryStreamExt;
use ri_domain::instrument::{INSTRUMENT, InstrumentEvent};
use ri_domain::tenant::{TENANT, TenantEvent};
use ri_eventstore::{Checkpoint, StoredEvent};
use ri_search::{Change, InstrumentDoc};
use sqlx::PgPool;
use sqlx::types::Json;

use super::convert::{TenantInfo, Unreadable, to_doc, to_row};
use crate::catalogue::codes::decode;
use crate::catalogue::instruments::Row;
use crate::error::ProjectionError;

/// The fold: every instrument's document and every tenant's directory entry.
#[derive(Debug, Default)]
pub(crate) struct Feed {
    docs: HashMap<String, Arc<InstrumentDoc>>,
    tenants: HashMap<String, TenantInfo>,
}

/// A consistent snapshot of the catalogue: the fold, its documents for the index, and the
/// checkpoint to read the log from.
pub(crate) struct Loaded {
    pub(crate) feed: Feed,
    pub(crate) public: Vec<Change>,
    pub(crate) from: Checkpoint,
    /// Rows that do not make a document (logged and left out).
    pub(crate) unreadable: u64,
}

/// Reads the catalogue and the tenant directory in one repeatable-read snapshot, with the
/// checkpoints of the projections that wrote them. The log is read from the lower of the two:
/// an event a table already reflects is recognised by its sequence (at or below the row's
/// version) and not applied twice.
pub(crate) async fn load(pool: &PgPool) -> Result<Loaded, ProjectionError> {
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    // Drafts too: the index must know a draft to publish it.
    crate::catalogue::as_projector(&mut tx).await?;
    // The service's statement time-out is for requests; streaming a million rows into the
    // index takes longer (the server waits on this reader), and is bounded by the table.
    sqlx::query("SET LOCAL statement_timeout = '15min'")
        .execute(&mut *tx)
        .await?;
    let catalogue = Checkpoint::load(&mut *tx, "catalogue").await?;
    let directory = Checkpoint::load(&mut *tx, "tenants").await?;
    let tenants: Vec<(String, String, String, i64)> =
        sqlx::query_as("SELECT slug, name, status, version FROM tenants")
            .fetch_all(&mut *tx)
            .await?;
    let mut feed = Feed {
        docs: HashMap::new(),
        tenants: tenants
            .into_iter()
            .map(|(slug, name, status, version)| {
                let info = TenantInfo {
                    name: Some(name),
                    suspended: status == "SUSPENDED",
                    version,
                };
                (slug, info)
            })
            .collect(),
    };
    let mut public = Vec::new();
    let mut unreadable = 0_u64;
    {
        let mut rows = sqlx::query_scalar::<_, Json<Row>>(
            "SELECT to_jsonb(c) - 'search' FROM catalogue_instruments c",
        )
        .fetch(&mut *tx);
        while let Some(Json(row)) = rows.try_next().await? {
            match to_doc(&row, feed.tenants.get(&row.tenant)) {
                Ok(doc) => {
                    let doc = Arc::new(doc);
                    if doc.is_public() {
                        public.push(Change::Upsert(Arc::clone(&doc)));
                    }
                    feed.docs.insert(row.id, doc);
                }
                Err(Unreadable(reason)) => {
                    unreadable = unreadable.saturating_add(1);
                    tracing::warn!(
                        id = row.id,
                        reason,
                        "catalogue row left out of the search index"
                    );
                }
            }
        }
    }
    tx.commit().await?;
    Ok(Loaded {
        feed,
        public,
        from: catalogue.min(directory),
        unreadable,
    })
}

/// What one batch of the log changes in the index, and the events it could not apply.
#[derive(Debug, Default)]
pub(crate) struct Folded {
    pub(crate) changes: Vec<Change>,
    pub(crate) skipped: u64,
}

impl Feed {
    /// Folds `events` (a batch of the whole log, in the reader's order). An event that cannot
    /// be applied is logged and skipped, as the projections skip it: nothing a command accepted
    /// stops the feed.
    pub(crate) fn fold(&mut self, events: &[StoredEvent]) -> Folded {
        let mut changed: HashMap<String, Change> = HashMap::new();
        let mut skipped = 0_u64;
        for e in events {
            let outcome = if e.aggregate_type == INSTRUMENT {
                self.instrument(e, &mut changed)
            } else if e.aggregate_type == TENANT {
                self.tenant(e, &mut changed)
            } else {
                Ok(())
            };
            if let Err(reason) = outcome {
                skipped = skipped.saturating_add(1);
                tracing::warn!(
                    position = e.position,
                    event_type = e.event_type,
                    reason,
                    "event not applied to the search index"
                );
            }
        }
        Folded {
            changes: changed.into_values().collect(),
            skipped,
        }
    }

    fn instrument(
        &mut self,
        e: &StoredEvent,
        changed: &mut HashMap<String, Change>,
    ) -> Result<(), String> {
        let event: InstrumentEvent = decode(e).map_err(|err| err.to_string())?;
        let id = e.aggregate_id.as_str();
        let known = self.docs.get(id);
        let was_public = known.is_some_and(|d| d.is_public());
        let row = match (known, event) {
            // The first tenant keeps an id, as in the catalogue.
            (Some(doc), _) if doc.tenant.as_str() != e.tenant => return Ok(()),
            // Already in the snapshot this feed started from.
            (Some(doc), _) if e.sequence <= doc.version => return Ok(()),
            (Some(doc), event) => {
                let mut row = to_row(doc);
                row.apply(e, event).map_err(|err| err.to_string())?;
                row
            }
            (None, InstrumentEvent::InstrumentDrafted { details, .. }) => {
                Row::drafted(e, &details).map_err(|err| err.to_string())?
            }
            (None, _) => return Ok(()),
        };
        let doc = to_doc(&row, self.tenants.get(&row.tenant)).map_err(|Unreadable(r)| r)?;
        let doc = Arc::new(doc);
        if doc.is_public() {
            changed.insert(id.to_owned(), Change::Upsert(Arc::clone(&doc)));
        } else if was_public {
            changed.insert(id.to_owned(), Change::Remove(id.to_owned()));
        }
        self.docs.insert(id.to_owned(), doc);
        Ok(())
    }

    fn tenant(
        &mut self,
        e: &StoredEvent,
        changed: &mut HashMap<String, Change>,
    ) -> Result<(), String> {
        let event: TenantEvent = decode(e).map_err(|err| err.to_string())?;
        let slug = e.aggregate_id.as_str();
        let known = self.tenants.get(slug);
        if known.is_some_and(|t| e.sequence <= t.version) {
            return Ok(());
        }
        let mut info = match (known, &event) {
            (_, TenantEvent::TenantRegistered { slug: named, .. }) if named.as_str() != slug => {
                return Err(format!(
                    "tenant {named} is registered under the id {slug:?}"
                ));
            }
            (Some(known), _) => known.clone(),
            (None, TenantEvent::TenantRegistered { .. }) => TenantInfo::default(),
            (None, _) => return Ok(()),
        };
        match event {
            TenantEvent::TenantRegistered { profile, .. } => {
                info.name = Some(profile.name.to_string());
                info.suspended = false;
            }
            TenantEvent::TenantProfileUpdated { name, .. } => {
                if let Some(name) = name {
                    info.name = Some(name.new.to_string());
                }
            }
            TenantEvent::TenantSuspended { .. } => info.suspended = true,
            TenantEvent::TenantReinstated => info.suspended = false,
            TenantEvent::RoleGranted { .. } | TenantEvent::RoleRevoked { .. } => {}
        }
        info.version = e.sequence;
        let shown = |t: &TenantInfo| (t.name.clone(), t.suspended);
        let differs = known.is_none_or(|k| shown(k) != shown(&info));
        let (name, suspended) = shown(&info);
        self.tenants.insert(slug.to_owned(), info);
        if differs {
            // Every document of the tenant shows its name and state.
            for doc in self.docs.values_mut() {
                if doc.tenant.as_str() != slug {
                    continue;
                }
                let mut next = InstrumentDoc::clone(doc);
                next.tenant_name = name.clone();
                next.tenant_suspended = suspended;
                *doc = Arc::new(next);
                if doc.is_public() {
                    changed.insert(doc.id.clone(), Change::Upsert(Arc::clone(doc)));
                }
            }
        }
        Ok(())
    }

    /// Instruments known (drafts included).
    pub(crate) fn len(&self) -> usize {
        self.docs.len()
    }
}
