//! How the catalogue's tables spell domain values, and how events are decoded.

use std::fmt::Debug;

use ri_eventstore::StoredEvent;
use serde::Serialize;
use serde::de::value::{Error as ValueError, StrDeserializer};
use serde::de::{DeserializeOwned, IntoDeserializer};
use serde_json::Value;

use crate::error::ProjectionError;

time::serde::format_description!(pub(crate) iso_date, Date, "[year]-[month]-[day]");

/// The payload of `event` as the aggregate's event enum (externally tagged serde form).
pub(crate) fn decode<T: DeserializeOwned>(event: &StoredEvent) -> Result<T, ProjectionError> {
    T::deserialize(&event.payload).map_err(|e| ProjectionError::BadEvent {
        position: event.position,
        reason: format!("{} payload does not decode: {e}", event.event_type),
    })
}

/// The batch's events of one aggregate type, decoded.
pub(crate) fn decode_all<'a, T: DeserializeOwned>(
    events: &'a [StoredEvent],
    aggregate_type: &str,
) -> Result<Vec<(&'a StoredEvent, T)>, ProjectionError> {
    events
        .iter()
        .filter(|e| e.aggregate_type == aggregate_type)
        .map(|e| Ok((e, decode::<T>(e)?)))
        .collect()
}

/// The acting subject recorded in the event's metadata.
pub(crate) fn actor(event: &StoredEvent) -> Result<String, ProjectionError> {
    event
        .metadata
        .get(ri_domain::metadata::ACTOR)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ProjectionError::BadEvent {
            position: event.position,
            reason: "its metadata names no actor".to_owned(),
        })
}

/// A unit enum's serde name (`OPEN`, `STRATEGIC_DOCUMENT`, `curator`): the spelling the tables
/// and the API use.
pub(crate) fn code<T: Serialize + Debug>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        // Only unit enums are passed here; their serde form is always a string.
        _ => format!("{value:?}"),
    }
}

/// The unit enum spelled `raw` in the tables, if any.
pub(crate) fn from_code<T: DeserializeOwned>(raw: &str) -> Option<T> {
    let de: StrDeserializer<'_, ValueError> = raw.into_deserializer();
    T::deserialize(de).ok()
}

/// A list for people: items joined by ", "; nothing for an empty list.
pub(crate) fn list<I, S>(items: I) -> Option<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let joined = items
        .into_iter()
        .map(|s| s.as_ref().to_owned())
        .collect::<Vec<_>>()
        .join(", ");
    (!joined.is_empty()).then_some(joined)
}

#[cfg(test)]
mod tests {
    use ri_domain::instrument::{InstrumentKind, InstrumentStatus};

    use super::*;

    #[test]
    fn codes_round_trip() {
        assert_eq!(
            code(&InstrumentKind::StrategicDocument),
            "STRATEGIC_DOCUMENT"
        );
        assert_eq!(
            from_code::<InstrumentKind>("STRATEGIC_DOCUMENT"),
            Some(InstrumentKind::StrategicDocument)
        );
        assert_eq!(from_code::<InstrumentStatus>("open"), None);
        assert_eq!(list(["LT", "LV"]).as_deref(), Some("LT, LV"));
        assert_eq!(list(Vec::<String>::new()), None);
    }
}
