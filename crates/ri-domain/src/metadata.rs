//! The metadata every event carries: who acted, for which tenant, with which roles, as part of
//! which command and conversation, and under which trace. cqrs-es stores metadata as a string
//! map; [`EventMetadata`] is the typed view of it and the only way the service builds one.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::tenant::TenantSlug;

pub const ACTOR: &str = "actor";
pub const TENANT: &str = "tenant";
pub const ROLES: &str = "roles";
pub const COMMAND_ID: &str = "command_id";
pub const CORRELATION_ID: &str = "correlation_id";
pub const CAUSATION_ID: &str = "causation_id";
pub const TRACEPARENT: &str = "traceparent";

/// The subject recorded for actions the platform takes by itself (expiry, reminders).
pub const SYSTEM_ACTOR: &str = "system";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Curator,
    FollowUpManager,
    TenantAdmin,
    PlatformAdmin,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Curator,
        Role::FollowUpManager,
        Role::TenantAdmin,
        Role::PlatformAdmin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Curator => "curator",
            Role::FollowUpManager => "follow_up_manager",
            Role::TenantAdmin => "tenant_admin",
            Role::PlatformAdmin => "platform_admin",
        }
    }
}

impl FromStr for Role {
    type Err = MetadataError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| MetadataError::Invalid {
                key: ROLES,
                reason: format!("unknown role {s:?}"),
            })
    }
}

/// A W3C trace context `traceparent` header value (version 00).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TraceParent(String);

impl TraceParent {
    pub fn parse(raw: &str) -> Result<Self, MetadataError> {
        let invalid = |reason: &str| MetadataError::Invalid {
            key: TRACEPARENT,
            reason: reason.to_owned(),
        };
        let parts: Vec<&str> = raw.split('-').collect();
        let [version, trace_id, span_id, flags] = parts.as_slice() else {
            return Err(invalid("expected version-traceid-spanid-flags"));
        };
        let lower_hex = |s: &str, len: usize| {
            s.len() == len
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if *version != "00" {
            return Err(invalid("only version 00 is supported"));
        }
        if !lower_hex(trace_id, 32) || trace_id.bytes().all(|b| b == b'0') {
            return Err(invalid(
                "trace id must be 32 lower-case hex digits, not all zero",
            ));
        }
        if !lower_hex(span_id, 16) || span_id.bytes().all(|b| b == b'0') {
            return Err(invalid(
                "span id must be 16 lower-case hex digits, not all zero",
            ));
        }
        if !lower_hex(flags, 2) {
            return Err(invalid("flags must be 2 lower-case hex digits"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// Builds a traceparent from OpenTelemetry-style ids.
    pub fn from_ids(trace_id: u128, span_id: u64, sampled: bool) -> Result<Self, MetadataError> {
        Self::parse(&format!(
            "00-{trace_id:032x}-{span_id:016x}-{:02x}",
            u8::from(sampled)
        ))
    }

    /// A new, unsampled root context, for work that starts outside any trace, so that every
    /// event can still be followed downstream.
    pub fn detached() -> Self {
        let trace = Uuid::new_v4().as_u128();
        let span = Uuid::new_v4().as_u64_pair().0 | 1;
        Self(format!("00-{trace:032x}-{span:016x}-00"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TraceParent {
    type Error = MetadataError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TraceParent> for String {
    fn from(value: TraceParent) -> Self {
        value.0
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("event metadata lacks {0:?}")]
    Missing(&'static str),
    #[error("event metadata {key:?} is invalid: {reason}")]
    Invalid { key: &'static str, reason: String },
}

/// Who did what, for whom, and as part of what. Stored with every event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMetadata {
    /// The subject (`sub` claim) of the acting user, or [`SYSTEM_ACTOR`].
    pub actor: String,
    /// The tenant the event belongs to; the store refuses it when it is not the aggregate's.
    pub tenant: TenantSlug,
    pub roles: Vec<Role>,
    /// Unique per command; every event of one command shares it.
    pub command_id: Uuid,
    /// Shared by everything one user request caused, across aggregates and services.
    pub correlation_id: Uuid,
    /// The command or event that directly caused this command.
    pub causation_id: Uuid,
    pub traceparent: TraceParent,
}

impl EventMetadata {
    /// Metadata for a command that starts a new conversation (a user request).
    pub fn new(actor: impl Into<String>, tenant: TenantSlug, roles: Vec<Role>) -> Self {
        let command_id = Uuid::now_v7();
        Self {
            actor: actor.into(),
            tenant,
            roles,
            command_id,
            correlation_id: command_id,
            causation_id: command_id,
            traceparent: TraceParent::detached(),
        }
    }

    pub fn with_traceparent(mut self, traceparent: TraceParent) -> Self {
        self.traceparent = traceparent;
        self
    }

    /// Metadata for a command caused by an earlier event or command, in the same conversation.
    pub fn caused_by(&self, cause: Uuid) -> Self {
        Self {
            command_id: Uuid::now_v7(),
            causation_id: cause,
            ..self.clone()
        }
    }

    pub fn to_map(&self) -> HashMap<String, String> {
        let roles = self
            .roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",");
        HashMap::from([
            (ACTOR.to_owned(), self.actor.clone()),
            (TENANT.to_owned(), self.tenant.to_string()),
            (ROLES.to_owned(), roles),
            (COMMAND_ID.to_owned(), self.command_id.to_string()),
            (CORRELATION_ID.to_owned(), self.correlation_id.to_string()),
            (CAUSATION_ID.to_owned(), self.causation_id.to_string()),
            (TRACEPARENT.to_owned(), self.traceparent.to_string()),
        ])
    }

    pub fn from_map(map: &HashMap<String, String>) -> Result<Self, MetadataError> {
        let get = |key: &'static str| {
            map.get(key)
                .map(String::as_str)
                .ok_or(MetadataError::Missing(key))
        };
        let uuid = |key: &'static str| {
            get(key)?
                .parse::<Uuid>()
                .map_err(|e| MetadataError::Invalid {
                    key,
                    reason: e.to_string(),
                })
        };
        let actor = get(ACTOR)?;
        if actor.trim().is_empty() {
            return Err(MetadataError::Invalid {
                key: ACTOR,
                reason: "must not be empty".to_owned(),
            });
        }
        let tenant = TenantSlug::parse(get(TENANT)?).map_err(|e| MetadataError::Invalid {
            key: TENANT,
            reason: e.to_string(),
        })?;
        let roles = get(ROLES)?
            .split(',')
            .filter(|r| !r.is_empty())
            .map(Role::from_str)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            actor: actor.to_owned(),
            tenant,
            roles,
            command_id: uuid(COMMAND_ID)?,
            correlation_id: uuid(CORRELATION_ID)?,
            causation_id: uuid(CAUSATION_ID)?,
            traceparent: TraceParent::parse(get(TRACEPARENT)?)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> TenantSlug {
        TenantSlug::parse("securit").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn round_trips_through_the_string_map() {
        let meta = EventMetadata::new("alice", tenant(), vec![Role::Curator, Role::TenantAdmin]);
        assert_eq!(EventMetadata::from_map(&meta.to_map()), Ok(meta));
    }

    #[test]
    fn a_caused_command_keeps_the_conversation_and_names_its_cause() {
        let first = EventMetadata::new("alice", tenant(), vec![]);
        let cause = Uuid::now_v7();
        let next = first.caused_by(cause);
        assert_eq!(next.correlation_id, first.correlation_id);
        assert_eq!(next.causation_id, cause);
        assert_ne!(next.command_id, first.command_id);
    }

    #[test]
    fn names_the_missing_or_invalid_key() {
        let mut map = EventMetadata::new("alice", tenant(), vec![]).to_map();
        map.remove(TENANT);
        assert_eq!(
            EventMetadata::from_map(&map),
            Err(MetadataError::Missing(TENANT))
        );
        map.insert(TENANT.to_owned(), "securit".to_owned());
        map.insert(ROLES.to_owned(), "curator,janitor".to_owned());
        assert!(matches!(
            EventMetadata::from_map(&map),
            Err(MetadataError::Invalid { key: ROLES, .. })
        ));
    }

    #[test]
    fn traceparent_accepts_the_w3c_example_and_rejects_malformed_ones() {
        let ok = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(TraceParent::parse(ok).map(String::from), Ok(ok.to_owned()));
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        ] {
            assert!(TraceParent::parse(bad).is_err(), "{bad}");
        }
        assert!(TraceParent::parse(TraceParent::detached().as_str()).is_ok());
    }
}
