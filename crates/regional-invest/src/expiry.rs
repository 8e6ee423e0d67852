//! Automatic expiry: an open call whose deadline has passed is closed by the platform (actor
//! `system`), so the event log says when it left the search.
//!
//! Every process runs this; exactly one close event is recorded per call anyway, because
//! closing is a command like any other: of two processes racing, both load the open call at the
//! same version and only one append can take the next sequence (the other gets a conflict, or,
//! if it loads after the first committed, a refusal: the call is no longer open). A deadline
//! that passed while the service was down is found by the first scan at start.
//!
//! The same loop makes the watches' deadline reminders, which depend on the clock too.

use std::time::Duration;

use ri_app::{App, Caller, Code, Failure, policy};
use ri_domain::TenantSlug;
use ri_domain::instrument::{
    FundingInstrument, InstrumentCommand, InstrumentError, InstrumentServices,
};
use ri_eventstore::EventLog;
use tokio_util::sync::CancellationToken;

/// Closes every open call past its deadline; returns how many this process closed.
pub async fn close_expired(log: &EventLog) -> anyhow::Result<usize> {
    // Published rows are public: the view needs no tenant.
    let due: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, tenant FROM catalogue_public \
         WHERE status = 'OPEN' AND kind = 'CALL' AND deadline <= now() \
         ORDER BY deadline LIMIT 500",
    )
    .fetch_all(log.pool())
    .await?;
    let app = App::new(log.clone());
    let mut closed = 0;
    for (id, tenant) in due {
        let Ok(tenant) = TenantSlug::parse(&tenant) else {
            tracing::warn!(%id, %tenant, "an instrument's tenant is not a valid slug");
            continue;
        };
        let outcome = app
            .execute::<FundingInstrument>(
                &Caller::system(tenant.clone(), vec![]),
                &policy::EXPIRE_CALLS,
                &tenant,
                &id,
                InstrumentCommand::Close,
                InstrumentServices::default,
                None,
            )
            .await;
        match outcome {
            Ok(_) => {
                closed += 1;
                tracing::info!(instrument = %id, tenant.id = %tenant, "call closed: deadline passed");
            }
            // Another process closed it first, or the read model lagged behind a change.
            Err(Failure::Refused(
                InstrumentError::WrongStatus(..) | InstrumentError::Invalid(_),
            )) => {}
            Err(Failure::Error(e)) if e.code == Code::Conflict => {}
            Err(Failure::Error(e)) => {
                tracing::warn!(instrument = %id, error = %e, "could not close an expired call")
            }
            Err(other) => {
                tracing::warn!(instrument = %id, error = ?other, "could not close an expired call")
            }
        }
    }
    Ok(closed)
}

/// Closes expired calls and makes the deadline reminders due, at start and then every
/// `interval`, until `shutdown`. Reminders are idempotent (ids derived from what they remind
/// of), so every process may run this.
pub async fn run(log: EventLog, interval: Duration, shutdown: CancellationToken) {
    loop {
        if let Err(e) = close_expired(&log).await {
            tracing::warn!(error = %e, "expiry scan failed");
        }
        match ri_projections::watches::issue_deadline_reminders(
            log.pool(),
            time::OffsetDateTime::now_utc(),
        )
        .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(reminders = n, "deadline reminders made"),
            Err(e) => tracing::warn!(error = %e, "deadline reminder scan failed"),
        }
        if shutdown
            .run_until_cancelled(tokio::time::sleep(interval))
            .await
            .is_none()
        {
            return;
        }
    }
}
