//! An instrument or a tenant as it stood at a moment: its events recorded until then, upcast
//! as the log upcasts them today and folded by the projection's own rules, so a fold as of now
//! is what the catalogue or the directory holds.

use ri_domain::TenantSlug;
use ri_domain::instrument::{INSTRUMENT, InstrumentEvent};
use ri_domain::tenant::{TENANT, TenantStatus};
use ri_eventstore::EventLog;
use sqlx::PgPool;
use time::OffsetDateTime;

use super::codes::decode;
use super::instruments::Row;
use super::read::{self, InstrumentRow, ReadError, TenantRow, Viewer};
use super::tenants;
use crate::search_index::convert::{TenantInfo, Unreadable, to_doc, to_instrument_row};

/// A history the log could not give back (a bug, not bad input).
pub(crate) fn malformed(reason: impl std::fmt::Display) -> ReadError {
    ReadError::Malformed {
        what: "history",
        reason: reason.to_string(),
    }
}

/// The tenant `slug` as the directory showed it at `at`; `None` before it was registered.
/// The directory is public, as `tenant(slug)` is.
pub async fn tenant_as_of(
    pool: &PgPool,
    log: &EventLog,
    slug: &TenantSlug,
    at: OffsetDateTime,
) -> Result<Option<TenantRow>, ReadError> {
    let events = log
        .reader()
        .aggregate_until(pool, slug.as_str(), TENANT, slug.as_str(), at)
        .await
        .map_err(malformed)?;
    match tenants::Row::fold(&events) {
        Some(row) => Ok(Some(row.to_tenant_row().map_err(malformed)?)),
        None => Ok(None),
    }
}

/// The instrument `id` as it stood at `at`: its fields, status (an open call past its
/// deadline at `at` reads closed), version and last change as of then. `None` when it did not
/// exist yet, or when `viewer` may not see it: another tenant's instrument only once it had
/// been published by then (and never one the viewer cannot see now: public means ever
/// published, so what is hidden now was never public). The curating tenant's name and state
/// are those of that moment too.
pub async fn instrument_as_of(
    pool: &PgPool,
    log: &EventLog,
    viewer: &Viewer,
    id: &str,
    at: OffsetDateTime,
) -> Result<Option<InstrumentRow>, ReadError> {
    let Some(now) = read::instrument(pool, viewer, id).await? else {
        return Ok(None);
    };
    let events = log
        .reader()
        .aggregate_until(pool, now.tenant.as_str(), INSTRUMENT, id, at)
        .await
        .map_err(malformed)?;
    // An event the catalogue could not apply is skipped here too (decision 0004), so the fold
    // stays what the catalogue holds.
    let mut row: Option<Row> = None;
    for e in &events {
        let applied = decode::<InstrumentEvent>(e).and_then(|event| match (&mut row, event) {
            (None, InstrumentEvent::InstrumentDrafted { details, .. }) => {
                row = Some(Row::drafted(e, &details)?);
                Ok(())
            }
            (None, _) => Ok(()),
            (Some(row), event) => row.apply(e, event),
        });
        if let Err(error) = applied {
            tracing::warn!(position = e.position, %error, "event skipped in an as-of read");
        }
    }
    let Some(row) = row else {
        return Ok(None);
    };
    let curator = tenant_as_of(pool, log, &now.tenant, at).await?;
    let tenant = TenantInfo {
        name: curator.as_ref().map(|t| t.name.clone()),
        suspended: curator
            .as_ref()
            .is_some_and(|t| t.status == TenantStatus::Suspended),
        version: 0,
    };
    let doc = to_doc(&row, Some(&tenant)).map_err(|Unreadable(r)| malformed(r))?;
    let own = viewer.platform_admin || viewer.tenant.as_ref() == Some(&now.tenant);
    if !own && !doc.is_public() {
        return Ok(None);
    }
    Ok(Some(to_instrument_row(&doc, at)))
}
