//! The `audit` projection: one entry per Tenant and FundingInstrument event, naming the fields
//! it changed with their old and new values as people read them, and a sentence that says what
//! happened ("deadline moved from 2025-05-03 to 2025-05-17"). EndUserArea and ProjectCluster
//! events are told by [`crate::clusters::audit`]. A project's share and its withdrawal are in
//! the trails of both tenants (one entry each).

use std::collections::{BTreeMap, BTreeSet};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use ri_domain::TenantSlug;
use ri_domain::cluster::{AreaEvent, CLUSTER, ClusterEvent, END_USER_AREA};
use ri_domain::instrument::{INSTRUMENT, InstrumentDetails, InstrumentEvent, InstrumentStatus};
use ri_domain::project::{PROJECT, ProjectEvent};
use ri_domain::tenant::{TENANT, TenantEvent, TenantProfile, TenantStatus};
use ri_domain::values::{Change, FundingRange};
use ri_eventstore::StoredEvent;
use ri_taxonomy::FeatureSet;
use sqlx::PgConnection;
use sqlx::types::Json;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use super::codes::{actor, code, decode, from_code, list};
use super::read::FieldChange;
use crate::error::ProjectionError;
use crate::projection::Projection;

#[derive(Debug, Clone, Copy, Default)]
pub struct Audit;

const STATUS: &str = "status";

/// What an event changed and how to say it.
#[derive(Debug, Default)]
pub(crate) struct Entry {
    pub(crate) changes: Vec<FieldChange>,
    pub(crate) summary: String,
}

impl Entry {
    pub(crate) fn said(summary: impl Into<String>) -> Self {
        Entry {
            changes: vec![],
            summary: summary.into(),
        }
    }

    pub(crate) fn change(
        &mut self,
        field: &str,
        old: Option<String>,
        new: Option<String>,
    ) -> &mut Self {
        self.changes.push(FieldChange {
            field: field.to_owned(),
            old,
            new,
        });
        self
    }

    /// A changed field, shown with `show`.
    pub(crate) fn diff<T>(
        &mut self,
        field: &str,
        change: &Option<Change<T>>,
        show: impl Fn(&T) -> Option<String>,
    ) {
        if let Some(c) = change {
            self.change(field, show(&c.old), show(&c.new));
        }
    }
}

/// The instrument statuses the batch knows, by (tenant, aggregate id).
type Statuses = BTreeMap<(String, String), Option<InstrumentStatus>>;

impl Projection for Audit {
    fn name(&self) -> &'static str {
        "audit"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["audit_entries"]
    }

    fn apply<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [StoredEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        async move {
            let mut mine = Vec::new();
            for e in events {
                match e.aggregate_type.as_str() {
                    TENANT => mine.push((e, Decoded::Tenant(decode(e)?))),
                    INSTRUMENT => mine.push((e, Decoded::Instrument(Box::new(decode(e)?)))),
                    END_USER_AREA => mine.push((e, Decoded::Area(decode(e)?))),
                    CLUSTER => mine.push((e, Decoded::Cluster(Box::new(decode(e)?)))),
                    // Of a project, its shares only: each in the trails of both tenants (its
                    // other events are not decoded here, so they cannot stop this projection).
                    PROJECT
                        if matches!(
                            e.event_type.as_str(),
                            "ProjectShared" | "ProjectShareWithdrawn"
                        ) =>
                    {
                        match decode::<ProjectEvent>(e)? {
                            ProjectEvent::ProjectShared { with } => {
                                mine.push((e, Decoded::Share(with, true)));
                            }
                            ProjectEvent::ProjectShareWithdrawn { from } => {
                                mine.push((e, Decoded::Share(from, false)));
                            }
                            _ => {}
                        }
                    }
                    _ => {}
                }
            }
            if mine.is_empty() {
                return Ok(());
            }
            super::as_projector(&mut *conn).await?;

            // An instrument's status before a status event is the last one its trail recorded.
            let keys = mine
                .iter()
                .filter(|(_, d)| matches!(d, Decoded::Instrument(_)))
                .map(|(e, _)| (e.tenant.clone(), e.aggregate_id.clone()))
                .collect::<BTreeSet<_>>();
            let mut statuses = last_statuses(&mut *conn, &keys).await?;

            let mut rows = Rows::default();
            for (e, decoded) in &mine {
                let entry = match decoded {
                    Decoded::Tenant(event) => tenant_entry(event),
                    Decoded::Instrument(event) => {
                        let key = (e.tenant.clone(), e.aggregate_id.clone());
                        let before = statuses.get(&key).copied().flatten();
                        let (entry, after) = instrument_entry(event, before);
                        if let Some(after) = after {
                            statuses.insert(key, Some(after));
                        }
                        entry
                    }
                    Decoded::Area(event) => crate::clusters::audit::area_entry(event),
                    Decoded::Cluster(event) => crate::clusters::audit::cluster_entry(event),
                    Decoded::Share(other, shared) => {
                        let (owner, other) = (e.tenant.as_str(), other.as_str());
                        let (theirs, ours) = if *shared {
                            (
                                format!("{owner} shared its project with this tenant"),
                                format!("shared with {other}"),
                            )
                        } else {
                            (
                                format!("{owner} withdrew its project's share with this tenant"),
                                format!("share with {other} withdrawn"),
                            )
                        };
                        let (old, new) = if *shared {
                            (None, Some(other.to_owned()))
                        } else {
                            (Some(other.to_owned()), None)
                        };
                        let mut entry = Entry::said(theirs);
                        entry.change("sharedWith", old.clone(), new.clone());
                        rows.push_for(e, other.to_owned(), actor(e)?, entry);
                        let mut entry = Entry::said(ours);
                        entry.change("sharedWith", old, new);
                        entry
                    }
                };
                rows.push(e, actor(e)?, entry);
            }
            rows.insert(conn).await
        }
        .boxed()
    }
}

#[derive(Debug)]
enum Decoded {
    Tenant(TenantEvent),
    Instrument(Box<InstrumentEvent>),
    Area(AreaEvent),
    Cluster(Box<ClusterEvent>),
    /// A project shared with (true) or withdrawn from (false) the tenant.
    Share(TenantSlug, bool),
}

async fn last_statuses(
    conn: &mut PgConnection,
    keys: &BTreeSet<(String, String)>,
) -> Result<Statuses, ProjectionError> {
    let (tenants, ids): (Vec<&str>, Vec<&str>) =
        keys.iter().map(|(t, i)| (t.as_str(), i.as_str())).unzip();
    if tenants.is_empty() {
        return Ok(Statuses::new());
    }
    let found: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT DISTINCT ON (a.tenant, a.aggregate_id) a.tenant, a.aggregate_id, ch ->> 'new' \
         FROM audit_entries a \
         JOIN UNNEST($1::text[], $2::text[]) AS k(tenant, aggregate_id) \
           ON (a.tenant, a.aggregate_id) = (k.tenant, k.aggregate_id) \
         CROSS JOIN LATERAL jsonb_array_elements(a.changes) AS ch \
         WHERE a.aggregate_type = $3 AND ch ->> 'field' = $4 \
         ORDER BY a.tenant, a.aggregate_id, a.sequence DESC",
    )
    .bind(&tenants)
    .bind(&ids)
    .bind(INSTRUMENT)
    .bind(STATUS)
    .fetch_all(conn)
    .await?;
    Ok(found
        .into_iter()
        .map(|(t, i, s)| ((t, i), s.as_deref().and_then(from_code)))
        .collect())
}

fn text(s: &impl ToString) -> Option<String> {
    Some(s.to_string())
}

fn codes<T: serde::Serialize + std::fmt::Debug>(items: &[T]) -> Option<String> {
    list(items.iter().map(code))
}

fn features(set: FeatureSet) -> Option<String> {
    list(set.iter().map(|c| c.as_str()))
}

fn funding(f: &Option<FundingRange>) -> Option<String> {
    f.as_ref().map(|f| {
        let cur = f.currency.as_str();
        match (f.min, f.max) {
            (Some(min), Some(max)) => format!("{min}–{max} {cur}"),
            (Some(min), None) => format!("from {min} {cur}"),
            (None, Some(max)) => format!("up to {max} {cur}"),
            (None, None) => cur.to_owned(),
        }
    })
}

fn instant(at: &Option<OffsetDateTime>) -> Option<String> {
    at.map(|at| at.format(&Rfc3339).unwrap_or_else(|_| at.to_string()))
}

fn day(d: &Option<Date>) -> Option<String> {
    d.map(|d| d.to_string())
}

/// `cover_level` → "cover level".
fn spoken(field: &str) -> String {
    field.replace('_', " ")
}

fn status_change(entry: &mut Entry, before: Option<InstrumentStatus>, after: InstrumentStatus) {
    entry.change(STATUS, before.map(|s| code(&s)), Some(code(&after)));
}

fn details_entry(entry: &mut Entry, d: &InstrumentDetails) {
    entry
        .change("title", None, text(&d.title))
        .change("kind", None, Some(code(&d.kind)))
        .change("cover_level", None, Some(code(&d.cover_level)));
    let optional = [
        ("countries", list(d.countries.iter().map(|c| c.as_str()))),
        ("programme", d.programme.as_ref().map(|p| p.to_string())),
        ("link", d.link.as_ref().map(|l| l.as_str().to_owned())),
        (
            "summary",
            Some(d.summary.to_string()).filter(|s| !s.is_empty()),
        ),
        ("target_organisations", codes(&d.target_organisations)),
        ("funding", funding(&d.funding)),
        ("periodicity", d.periodicity.as_ref().map(code)),
        ("languages", list(d.languages.iter().map(|l| l.as_str()))),
    ];
    for (field, value) in optional {
        if value.is_some() {
            entry.change(field, None, value);
        }
    }
}

/// The entry of an instrument event, and the instrument's status after it when it changed.
pub(crate) fn instrument_entry(
    event: &InstrumentEvent,
    before: Option<InstrumentStatus>,
) -> (Entry, Option<InstrumentStatus>) {
    let status = |mut entry: Entry, after: InstrumentStatus| {
        status_change(&mut entry, before, after);
        (entry, Some(after))
    };
    match event {
        InstrumentEvent::InstrumentDrafted { details, .. } => {
            let mut entry = Entry::said(format!("drafted \"{}\"", details.title));
            details_entry(&mut entry, details);
            status(entry, InstrumentStatus::Draft)
        }
        InstrumentEvent::InstrumentRevised { changes } => {
            let mut e = Entry::default();
            e.diff("title", &changes.title, text);
            e.diff("kind", &changes.kind, |k| Some(code(k)));
            e.diff("cover_level", &changes.cover_level, |c| Some(code(c)));
            e.diff("countries", &changes.countries, |cs| {
                list(cs.iter().map(|c| c.as_str()))
            });
            e.diff("programme", &changes.programme, |p| {
                p.as_ref().map(|p| p.to_string())
            });
            e.diff("link", &changes.link, |l| {
                l.as_ref().map(|l| l.as_str().to_owned())
            });
            e.diff("summary", &changes.summary, text);
            e.diff("target_organisations", &changes.target_organisations, |t| {
                codes(t)
            });
            e.diff("funding", &changes.funding, funding);
            e.diff("periodicity", &changes.periodicity, |p| {
                p.as_ref().map(code)
            });
            e.diff("languages", &changes.languages, |ls| {
                list(ls.iter().map(|l| l.as_str()))
            });
            let fields = changes.fields().into_iter().map(spoken).collect::<Vec<_>>();
            e.summary = format!("revised {}", fields.join(", "));
            (e, None)
        }
        InstrumentEvent::InstrumentFeaturesTagged { features: added } => {
            let shown = features(*added);
            let mut e = Entry::said(format!(
                "features added: {}",
                shown.clone().unwrap_or_default()
            ));
            e.change("features", None, shown);
            (e, None)
        }
        InstrumentEvent::InstrumentFeaturesUntagged { features: removed } => {
            let shown = features(*removed);
            let mut e = Entry::said(format!(
                "features removed: {}",
                shown.clone().unwrap_or_default()
            ));
            e.change("features", shown, None);
            (e, None)
        }
        InstrumentEvent::InstrumentScheduleSet { old, new } => {
            let mut e = Entry::default();
            let mut said = Vec::new();
            let none = || "none".to_owned();
            if let Some(c) = Change::between(&old.opening_date, &new.opening_date) {
                e.change("opening_date", day(&c.old), day(&c.new));
                said.push(format!(
                    "opening date moved from {} to {}",
                    day(&c.old).unwrap_or_else(none),
                    day(&c.new).unwrap_or_else(none)
                ));
            }
            // Compared as shown: the same instant in another offset is a change of the stored
            // value (recorded), though not of the deadline (no sentence).
            let (was, is) = (instant(&old.deadline), instant(&new.deadline));
            if was != is {
                e.change("deadline", was, is);
            }
            if let Some(sentence) = old.deadline_change(new) {
                said.push(sentence);
            }
            if let Some(c) = Change::between(&old.time_zone, &new.time_zone) {
                e.change("time_zone", c.old.clone(), c.new.clone());
                said.push(format!(
                    "time zone changed from {} to {}",
                    c.old.unwrap_or_else(none),
                    c.new.unwrap_or_else(none)
                ));
            }
            e.summary = if said.is_empty() {
                "schedule changed".to_owned()
            } else {
                said.join("; ")
            };
            (e, None)
        }
        InstrumentEvent::InstrumentPublished => {
            status(Entry::said("published"), InstrumentStatus::Open)
        }
        InstrumentEvent::InstrumentWithdrawn { reason } => {
            let summary = match reason.as_str() {
                "" => "withdrawn".to_owned(),
                reason => format!("withdrawn: {reason}"),
            };
            status(Entry::said(summary), InstrumentStatus::Withdrawn)
        }
        InstrumentEvent::InstrumentArchived => {
            status(Entry::said("archived"), InstrumentStatus::Archived)
        }
        InstrumentEvent::InstrumentClosed => {
            status(Entry::said("closed"), InstrumentStatus::Closed)
        }
        InstrumentEvent::InstrumentReopened { old, new } => {
            let summary = match old.deadline_change(new) {
                Some(sentence) => format!("reopened; {sentence}"),
                None => "reopened".to_owned(),
            };
            let mut entry = Entry::said(summary);
            entry.change("deadline", instant(&old.deadline), instant(&new.deadline));
            status(entry, InstrumentStatus::Open)
        }
    }
}

fn profile_entry(entry: &mut Entry, p: &TenantProfile) {
    entry
        .change("name", None, text(&p.name))
        .change("kind", None, Some(code(&p.kind)))
        .change("country", None, text(&p.country));
    let optional = [
        ("website", p.website.as_ref().map(|w| w.as_str().to_owned())),
        ("domains", list(p.domains.iter().map(|d| d.as_str()))),
        ("member_count", p.member_count.map(|n| n.to_string())),
    ];
    for (field, value) in optional {
        if value.is_some() {
            entry.change(field, None, value);
        }
    }
}

fn tenant_entry(event: &TenantEvent) -> Entry {
    let active = code(&TenantStatus::Active);
    let suspended = code(&TenantStatus::Suspended);
    match event {
        TenantEvent::TenantRegistered { profile, .. } => {
            let mut e = Entry::said(format!("registered \"{}\"", profile.name));
            profile_entry(&mut e, profile);
            e.change(STATUS, None, Some(active));
            e
        }
        TenantEvent::TenantProfileUpdated {
            name,
            kind,
            country,
            website,
            domains,
            member_count,
        } => {
            let mut e = Entry::default();
            e.diff("name", name, text);
            e.diff("kind", kind, |k| Some(code(k)));
            e.diff("country", country, text);
            e.diff("website", website, |w| {
                w.as_ref().map(|w| w.as_str().to_owned())
            });
            e.diff("domains", domains, |ds| list(ds.iter().map(|d| d.as_str())));
            e.diff("member_count", member_count, |n| n.map(|n| n.to_string()));
            let fields = e
                .changes
                .iter()
                .map(|c| spoken(&c.field))
                .collect::<Vec<_>>();
            e.summary = format!("profile changed: {}", fields.join(", "));
            e
        }
        TenantEvent::TenantSuspended { reason } => {
            let mut e = Entry::said(match reason.as_str() {
                "" => "suspended".to_owned(),
                reason => format!("suspended: {reason}"),
            });
            e.change(STATUS, Some(active), Some(suspended));
            e
        }
        TenantEvent::TenantReinstated => {
            let mut e = Entry::said("reinstated");
            e.change(STATUS, Some(suspended), Some(active));
            e
        }
        TenantEvent::RoleGranted { subject, role } => {
            let mut e = Entry::said(format!("granted {} to {subject}", role.as_str()));
            e.change(
                &format!("roles of {subject}"),
                None,
                Some(role.as_str().to_owned()),
            );
            e
        }
        TenantEvent::RoleRevoked { subject, role } => {
            let mut e = Entry::said(format!("revoked {} from {subject}", role.as_str()));
            e.change(
                &format!("roles of {subject}"),
                Some(role.as_str().to_owned()),
                None,
            );
            e
        }
    }
}

/// The columns of the entries to insert, for one UNNEST.
#[derive(Debug, Default)]
struct Rows<'a> {
    positions: Vec<i64>,
    tenants: Vec<String>,
    types: Vec<&'a str>,
    ids: Vec<&'a str>,
    sequences: Vec<i64>,
    event_types: Vec<&'a str>,
    actors: Vec<String>,
    recorded: Vec<OffsetDateTime>,
    changes: Vec<Json<Vec<FieldChange>>>,
    summaries: Vec<String>,
}

impl<'a> Rows<'a> {
    fn push(&mut self, e: &'a StoredEvent, actor: String, entry: Entry) {
        self.push_for(e, e.tenant.clone(), actor, entry);
    }

    /// An entry of `e` in `tenant`'s trail (a share is in the other tenant's too).
    fn push_for(&mut self, e: &'a StoredEvent, tenant: String, actor: String, entry: Entry) {
        self.positions.push(e.position);
        self.tenants.push(tenant);
        self.types.push(&e.aggregate_type);
        self.ids.push(&e.aggregate_id);
        self.sequences.push(e.sequence);
        self.event_types.push(&e.event_type);
        self.actors.push(actor);
        self.recorded.push(e.recorded_at);
        self.changes.push(Json(entry.changes));
        self.summaries.push(entry.summary);
    }

    async fn insert(self, conn: &mut PgConnection) -> Result<(), ProjectionError> {
        sqlx::query(
            "INSERT INTO audit_entries (position, tenant, aggregate_type, aggregate_id, sequence, \
                 event_type, actor, recorded_at, changes, summary) \
             SELECT * FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::text[], $5::int8[], \
                                  $6::text[], $7::text[], $8::timestamptz[], $9::jsonb[], \
                                  $10::text[])",
        )
        .bind(&self.positions)
        .bind(&self.tenants)
        .bind(&self.types)
        .bind(&self.ids)
        .bind(&self.sequences)
        .bind(&self.event_types)
        .bind(&self.actors)
        .bind(&self.recorded)
        .bind(&self.changes)
        .bind(&self.summaries)
        .execute(conn)
        .await?;
        Ok(())
    }
}
