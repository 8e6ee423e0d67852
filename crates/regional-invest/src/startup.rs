//! When a starting process is ready: after the seed (when asked for), once every projection's
//! checkpoint has reached the log's head as it stood then, and so has this process's search
//! index. Checkpoints are read from the database, so this holds whether this process's runners
//! lead or another process's do.

use std::sync::Arc;
use std::time::Duration;

use ri_api::Startup;
use ri_eventstore::{Checkpoint, StoreError};
use ri_projections::SearchIndex;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// How often the checkpoints are compared with the head while catching up.
const POLL: Duration = Duration::from_millis(50);

/// The last committed event in the readers' (transaction id, position) order; `None` for an
/// empty log.
pub async fn log_head(pool: &PgPool) -> Result<Option<Checkpoint>, StoreError> {
    let head: Option<(String, i64)> = sqlx::query_as(
        "SELECT tx_id::text, position FROM events ORDER BY tx_id DESC, position DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    head.map(|(tx_id, position)| {
        let tx_id = tx_id
            .parse()
            .map_err(|_| StoreError::Malformed("tx_id", tx_id.clone()))?;
        Ok(Checkpoint { tx_id, position })
    })
    .transpose()
}

/// The projections still short of `head`, with where they stand.
async fn behind(
    pool: &PgPool,
    readers: &[&'static str],
    search: Option<&SearchIndex>,
    head: Checkpoint,
) -> Result<Vec<String>, StoreError> {
    let mut behind = Vec::new();
    for reader in readers {
        let at = Checkpoint::load(pool, reader).await?;
        if at < head {
            behind.push(format!("{reader} at {}", at.position));
        }
    }
    if let Some(search) = search {
        match search.reached() {
            Some(at) if search.is_ready() && at >= head => {}
            Some(at) => behind.push(format!("search index at {}", at.position)),
            None => behind.push("search index loading".to_owned()),
        }
    }
    Ok(behind)
}

/// Marks `startup` finished once every one of `readers` and the search index (when there is
/// one) have reached `head` (the projections at once when the log was empty; the index once it
/// has loaded); until then it names those still catching up.
pub async fn await_projections(
    pool: PgPool,
    readers: Vec<&'static str>,
    search: Option<Arc<SearchIndex>>,
    head: Option<Checkpoint>,
    startup: Startup,
    shutdown: CancellationToken,
) {
    // An empty log has nothing to catch up with, but the search index still loads the
    // catalogue's rows (written straight into the table by a benchmark, or restored).
    let head = head.unwrap_or(Checkpoint::START);
    loop {
        match behind(&pool, &readers, search.as_deref(), head).await {
            Ok(behind) if behind.is_empty() => {
                tracing::info!(position = head.position, "read models caught up; ready");
                startup.finish();
                return;
            }
            Ok(behind) => startup.wait_for(format!(
                "read models catching up with the log's head at start (position {}): {}",
                head.position,
                behind.join(", ")
            )),
            Err(e) => startup.wait_for(format!("cannot read the checkpoints: {e}")),
        }
        if shutdown
            .run_until_cancelled(tokio::time::sleep(POLL))
            .await
            .is_none()
        {
            return;
        }
    }
}
