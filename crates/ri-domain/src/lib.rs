//! The pure domain of Regional Invest: value types shared by every aggregate, the metadata each
//! event carries, and the registry of event types and versions. Nothing here does I/O; adapters
//! (the event store, projections, the API) depend on this crate, never the reverse.

pub mod metadata;
pub mod tenant;
pub mod versioning;

pub use metadata::{EventMetadata, MetadataError, Role, TraceParent};
pub use tenant::{TenantSlug, TenantSlugError};
pub use versioning::{EventRegistry, RegistryError, StepUpcaster};

/// Every event type the service stores, at its current version, with its upcasters.
/// Each aggregate adds its events here as it arrives.
pub fn event_registry() -> EventRegistry {
    EventRegistry::new()
}
