//! The pure domain of Regional Invest: value types shared by every aggregate, the metadata each
//! event carries, and the registry of event types and versions. Nothing here does I/O; adapters
//! (the event store, projections, the API) depend on this crate, never the reverse.

pub mod cluster;
pub mod instrument;
pub mod metadata;
pub mod project;
pub mod tenant;
pub mod values;
pub mod versioning;
pub mod watch;
pub mod when;

pub use metadata::{EventMetadata, MetadataError, Role, TraceParent};
pub use tenant::{TenantSlug, TenantSlugError};
pub use versioning::{EventRegistry, RegistryError, StepUpcaster};

/// Every event type the service stores, at its current version, with its upcasters.
/// Each aggregate adds its events here as it arrives.
pub fn event_registry() -> EventRegistry {
    let mut registry = EventRegistry::new();
    for event in tenant::TenantEvent::TYPES {
        registry = registry.register(tenant::TENANT, event, 1);
    }
    for event in instrument::InstrumentEvent::TYPES {
        registry = registry.register(instrument::INSTRUMENT, event, 1);
    }
    for event in watch::WatchEvent::TYPES {
        registry = registry.register(watch::WATCH, event, 1);
    }
    for event in project::ProjectEvent::TYPES {
        registry = registry.register(project::PROJECT, event, 1);
    }
    for event in cluster::AreaEvent::TYPES {
        registry = registry.register(cluster::END_USER_AREA, event, 1);
    }
    for event in cluster::ClusterEvent::TYPES {
        registry = registry.register(cluster::CLUSTER, event, 1);
    }
    // Version 2 of a project's assignment names the sharing tenant; a version 1 assignment
    // was of the cluster's own project, which version 2 says by leaving `owner` out.
    registry = registry
        .register(
            cluster::CLUSTER,
            "ProjectAssignedToCluster",
            cluster::PROJECT_ASSIGNED_VERSION,
        )
        .upcaster(
            cluster::CLUSTER,
            StepUpcaster::new("ProjectAssignedToCluster", 1, |payload| payload),
        );
    registry
}

#[cfg(test)]
mod bounds_tests;
