use std::sync::Arc;

use futures_util::future::BoxFuture;
use ri_eventstore::StoredEvent;
use sqlx::PgConnection;

use crate::catalogue::{Audit, Catalogue, Tenants};
use crate::clusters::Clusters;
use crate::error::ProjectionError;
use crate::projects::Projects;
use crate::streams::Streams;
use crate::watches::Watches;

/// A read model built from the log.
///
/// `apply` gets events in log order, many at a time, inside the transaction that also moves the
/// projection's checkpoint. It must write only its own [`tables`](Projection::tables), by
/// unqualified name: replay points `search_path` at fresh copies of them.
pub trait Projection: Send + Sync + std::fmt::Debug + 'static {
    /// Stable name: the checkpoint key, the advisory-lock key and the `replay` argument.
    fn name(&self) -> &'static str;

    /// The tables this projection owns and replay rebuilds.
    fn tables(&self) -> &'static [&'static str];

    fn apply<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [StoredEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>>;
}

/// Every projection the service runs, with the default matching weights.
pub fn all() -> Vec<Arc<dyn Projection>> {
    all_with(ri_matching::Weights::default())
}

/// Every projection the service runs; match alerts score with `weights`.
pub fn all_with(weights: ri_matching::Weights) -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(Streams),
        Arc::new(Catalogue),
        Arc::new(Tenants),
        Arc::new(Audit),
        Arc::new(Watches::with_weights(weights)),
        Arc::new(Projects),
        Arc::new(Clusters),
    ]
}

pub fn by_name(name: &str) -> Result<Arc<dyn Projection>, ProjectionError> {
    by_name_with(name, ri_matching::Weights::default())
}

/// The projection called `name`, its match alerts scoring with `weights`.
pub fn by_name_with(
    name: &str,
    weights: ri_matching::Weights,
) -> Result<Arc<dyn Projection>, ProjectionError> {
    let all = all_with(weights);
    let known = all.iter().map(|p| p.name()).collect::<Vec<_>>().join(", ");
    all.into_iter()
        .find(|p| p.name() == name)
        .ok_or_else(|| ProjectionError::Unknown(name.to_owned(), known))
}
