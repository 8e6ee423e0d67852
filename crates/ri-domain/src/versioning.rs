//! Event types and versions. A shipped event's shape is frozen: when it must change, the new
//! shape gets the next version and a [`StepUpcaster`] turns the old payload into the new one as it
//! is read, on load and on replay alike. The registry knows every (aggregate, event) pair the
//! service can read, so an unknown or future event is a clear error instead of a panic later.

use std::collections::HashMap;

use cqrs_es::persist::{EventUpcaster, SerializedEvent};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("unknown event type {event_type:?} of aggregate {aggregate_type:?}")]
    UnknownEventType {
        aggregate_type: String,
        event_type: String,
    },
    #[error(
        "event {event_type:?} of {aggregate_type:?} has version {found:?}; this build reads versions 1 to {current}"
    )]
    UnsupportedVersion {
        aggregate_type: String,
        event_type: String,
        found: String,
        current: u32,
    },
    #[error("event {event_type:?} version {from} has no upcaster to version {}", from + 1)]
    MissingUpcaster { event_type: String, from: u32 },
}

type UpcastFn = dyn Fn(Value) -> Value + Send + Sync;

/// Turns version `from` of one event type into version `from + 1`.
pub struct StepUpcaster {
    event_type: String,
    from: u32,
    f: Box<UpcastFn>,
}

impl std::fmt::Debug for StepUpcaster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepUpcaster")
            .field("event_type", &self.event_type)
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl StepUpcaster {
    pub fn new(
        event_type: &str,
        from: u32,
        f: impl Fn(Value) -> Value + Send + Sync + 'static,
    ) -> Self {
        Self {
            event_type: event_type.to_owned(),
            from,
            f: Box::new(f),
        }
    }
}

impl EventUpcaster for StepUpcaster {
    fn can_upcast(&self, event_type: &str, event_version: &str) -> bool {
        event_type == self.event_type && event_version.parse::<u32>() == Ok(self.from)
    }

    fn upcast(&self, event: SerializedEvent) -> SerializedEvent {
        SerializedEvent {
            payload: (self.f)(event.payload),
            event_version: (self.from + 1).to_string(),
            ..event
        }
    }
}

/// Every event type the service reads, with its current version and the upcasters that bring
/// older versions up to it.
#[derive(Debug, Default)]
pub struct EventRegistry {
    current: HashMap<(String, String), u32>,
    upcasters: HashMap<(String, String), Vec<StepUpcaster>>,
}

impl EventRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares an event type of an aggregate at its current version (the first version is 1).
    pub fn register(mut self, aggregate_type: &str, event_type: &str, current: u32) -> Self {
        self.current
            .insert((aggregate_type.to_owned(), event_type.to_owned()), current);
        self
    }

    /// Adds the upcaster from `upcaster.from` to the next version of its event type.
    pub fn upcaster(mut self, aggregate_type: &str, upcaster: StepUpcaster) -> Self {
        let steps = self
            .upcasters
            .entry((aggregate_type.to_owned(), upcaster.event_type.clone()))
            .or_default();
        steps.push(upcaster);
        steps.sort_by_key(|s| s.from);
        self
    }

    /// Checks that every registered type has an unbroken chain of upcasters from version 1 to
    /// its current version. Call it once at start-up.
    pub fn validate(&self) -> Result<(), RegistryError> {
        for ((aggregate_type, event_type), current) in &self.current {
            let key = (aggregate_type.clone(), event_type.clone());
            let steps = self.upcasters.get(&key).map(Vec::as_slice).unwrap_or(&[]);
            for from in 1..*current {
                if !steps.iter().any(|s| s.from == from) {
                    return Err(RegistryError::MissingUpcaster {
                        event_type: event_type.clone(),
                        from,
                    });
                }
            }
        }
        Ok(())
    }

    pub fn current_version(&self, aggregate_type: &str, event_type: &str) -> Option<u32> {
        self.current
            .get(&(aggregate_type.to_owned(), event_type.to_owned()))
            .copied()
    }

    /// Brings a stored event to the current version of its type, or says why it cannot.
    pub fn upcast(&self, mut event: SerializedEvent) -> Result<SerializedEvent, RegistryError> {
        let key = (event.aggregate_type.clone(), event.event_type.clone());
        let Some(&current) = self.current.get(&key) else {
            return Err(RegistryError::UnknownEventType {
                aggregate_type: event.aggregate_type,
                event_type: event.event_type,
            });
        };
        let unsupported = |event: &SerializedEvent| RegistryError::UnsupportedVersion {
            aggregate_type: event.aggregate_type.clone(),
            event_type: event.event_type.clone(),
            found: event.event_version.clone(),
            current,
        };
        let steps = self.upcasters.get(&key).map(Vec::as_slice).unwrap_or(&[]);
        loop {
            let version = match event.event_version.parse::<u32>() {
                Ok(v) if (1..=current).contains(&v) => v,
                _ => return Err(unsupported(&event)),
            };
            if version == current {
                return Ok(event);
            }
            let step = steps
                .iter()
                .find(|s| s.can_upcast(&event.event_type, &event.event_version))
                .ok_or_else(|| RegistryError::MissingUpcaster {
                    event_type: event.event_type.clone(),
                    from: version,
                })?;
            event = step.upcast(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stored(event_type: &str, version: &str, payload: Value) -> SerializedEvent {
        SerializedEvent::new(
            "id-1".into(),
            1,
            "Thing".into(),
            event_type.into(),
            version.into(),
            payload,
            json!({}),
        )
    }

    fn registry() -> EventRegistry {
        EventRegistry::new()
            .register("Thing", "Renamed", 3)
            .upcaster(
                "Thing",
                StepUpcaster::new("Renamed", 2, |mut p| {
                    p["language"] = json!("en");
                    p
                }),
            )
            .upcaster(
                "Thing",
                StepUpcaster::new("Renamed", 1, |p| json!({ "title": p["name"] })),
            )
    }

    #[test]
    fn upcasts_step_by_step_to_the_current_version() {
        let out = registry()
            .upcast(stored("Renamed", "1", json!({"name": "C-SHIELD"})))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.event_version, "3");
        assert_eq!(out.payload, json!({"title": "C-SHIELD", "language": "en"}));
    }

    #[test]
    fn leaves_a_current_event_alone() {
        let event = stored("Renamed", "3", json!({"title": "x", "language": "fr"}));
        assert_eq!(registry().upcast(event.clone()), Ok(event));
    }

    #[test]
    fn unknown_types_and_versions_are_errors() {
        assert!(matches!(
            registry().upcast(stored("Exploded", "1", json!({}))),
            Err(RegistryError::UnknownEventType { .. })
        ));
        for v in ["4", "0", "one"] {
            assert!(matches!(
                registry().upcast(stored("Renamed", v, json!({}))),
                Err(RegistryError::UnsupportedVersion { .. })
            ));
        }
    }

    #[test]
    fn validate_finds_a_broken_chain() {
        assert_eq!(registry().validate(), Ok(()));
        let broken = EventRegistry::new().register("Thing", "Renamed", 2);
        assert_eq!(
            broken.validate(),
            Err(RegistryError::MissingUpcaster {
                event_type: "Renamed".into(),
                from: 1
            })
        );
    }
}
