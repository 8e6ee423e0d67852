//! Opaque page cursors: the sort key and id of the last item, as hex-encoded JSON.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::read::ReadError;

/// Longer than any cursor this module makes.
const MAX_LEN: usize = 2048;
/// Longer than any id a cursor carries.
const MAX_ID_LEN: usize = 512;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "s")]
pub(crate) enum Cursor {
    /// Deadline soonest: the deadline (none sorts last) and the id.
    #[serde(rename = "d")]
    Deadline {
        #[serde(with = "time::serde::rfc3339::option")]
        k: Option<OffsetDateTime>,
        id: String,
    },
    /// Recently updated: the update time and the id.
    #[serde(rename = "u")]
    Updated {
        #[serde(with = "time::serde::rfc3339")]
        k: OffsetDateTime,
        id: String,
    },
    /// Relevance: the rank's bits (an `f32`, compared exactly) and the id.
    #[serde(rename = "r")]
    Relevance { k: u32, id: String },
    /// Audit trail: the entry's position in the log.
    #[serde(rename = "a")]
    Audit { p: i64 },
}

impl Cursor {
    pub(crate) fn encode(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let json = serde_json::to_vec(self).unwrap_or_default();
        let mut hex = String::with_capacity(json.len() * 2);
        for b in json {
            hex.push(char::from(HEX[usize::from(b >> 4)]));
            hex.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
        hex
    }

    /// Reads a cursor given as `after`; anything this module did not make is refused.
    pub(crate) fn decode(raw: &str) -> Result<Self, ReadError> {
        let bad = || ReadError::BadInput {
            field: "after",
            reason: "not a cursor from a previous page".to_owned(),
        };
        if raw.len() > MAX_LEN || !raw.len().is_multiple_of(2) {
            return Err(bad());
        }
        let bytes = (0..raw.len())
            .step_by(2)
            .map(|i| {
                raw.get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(bad)?;
        let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        // A crafted cursor is still input: its instant goes to sqlx (which panics encoding one
        // PostgreSQL cannot hold) and its id to PostgreSQL (which refuses a NUL).
        let (k, id) = match &cursor {
            Cursor::Deadline { k, id } => (*k, Some(id)),
            Cursor::Updated { k, id } => (Some(*k), Some(id)),
            Cursor::Relevance { id, .. } => (None, Some(id)),
            Cursor::Audit { .. } => (None, None),
        };
        if k.is_some_and(|k| ri_domain::when::instant("after", k).is_err())
            || id.is_some_and(|id| id.len() > MAX_ID_LEN || id.chars().any(char::is_control))
        {
            return Err(bad());
        }
        Ok(cursor)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        for cursor in [
            Cursor::Deadline {
                k: Some(datetime!(2027-01-31 17:00:00.123456 +2)),
                id: "call-é".into(),
            },
            Cursor::Deadline {
                k: None,
                id: "x".into(),
            },
            Cursor::Updated {
                k: datetime!(2026-11-26 12:00 UTC),
                id: "y".into(),
            },
            Cursor::Relevance {
                k: 0.0607927_f32.to_bits(),
                id: "z".into(),
            },
            Cursor::Audit { p: 42 },
        ] {
            assert_eq!(Cursor::decode(&cursor.encode()).ok(), Some(cursor));
        }
        let crafted = |json: &str| json.bytes().map(|b| format!("{b:02x}")).collect::<String>();
        for garbage in [
            "",
            "zz",
            "abc",
            "7b7d",
            "éé",
            &"00".repeat(2000),
            &crafted(r#"{"s":"d","k":"9999-12-31T23:59:59-23:59","id":"x"}"#),
            &crafted(r#"{"s":"u","k":"1000-01-01T00:00:00Z","id":"x"}"#),
            &crafted(r#"{"s":"d","k":null,"id":"a\u0000b"}"#),
            &crafted(r#"{"s":"r","k":7,"id":"a\u0000b"}"#),
        ] {
            match Cursor::decode(garbage) {
                Err(ReadError::BadInput { field, .. }) => assert_eq!(field, "after"),
                other => panic!("{garbage:?} gave {other:?}"),
            }
        }
    }
}

#[cfg(test)]
#[path = "input_tests.rs"]
mod input_tests;
