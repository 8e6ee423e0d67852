//! The deployment name: what keeps two deployments that share a NATS server apart. It prefixes
//! the JetStream stream names and the subjects of both relays, so a subscription of one
//! deployment never receives another's events or notifications. The default, `ri`, gives the
//! names every deployment had before there was a name: `RI_EVENTS` on `ri.evt.>` and
//! `RI_NOTIFICATIONS` on `ri.ntf.>`.

use std::fmt;

/// The longest deployment name.
pub(crate) const MAX_LEN: usize = 32;

/// A checked deployment name: 1 to 32 of `a-z`, `0-9`, `_` and `-`, so that it is one NATS
/// subject token and, upper-cased, part of a stream name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Deployment(String);

/// A name that cannot be a deployment name, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "deployment name {name:?} {reason}: use 1 to {MAX_LEN} of a-z, 0-9, '_' and '-' (it prefixes the NATS stream names and subjects)"
)]
pub struct InvalidDeployment {
    pub name: String,
    pub reason: &'static str,
}

impl Deployment {
    /// The default deployment name.
    pub const DEFAULT: &'static str = "ri";

    pub fn parse(name: &str) -> Result<Self, InvalidDeployment> {
        let invalid = |reason| InvalidDeployment {
            name: name.to_owned(),
            reason,
        };
        if name.is_empty() {
            return Err(invalid("is empty"));
        }
        if name.len() > MAX_LEN {
            return Err(invalid("is too long"));
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        {
            return Err(invalid("has a character that is not allowed"));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The stream of the domain events: `RI_EVENTS` for `ri`.
    pub fn event_stream(&self) -> String {
        format!("{}_EVENTS", self.0.to_ascii_uppercase())
    }

    /// The events' subject prefix: `ri.evt` for `ri`.
    pub fn event_subject_prefix(&self) -> String {
        format!("{}.evt", self.0)
    }

    /// The stream of the users' notifications: `RI_NOTIFICATIONS` for `ri`.
    pub fn notification_stream(&self) -> String {
        format!("{}_NOTIFICATIONS", self.0.to_ascii_uppercase())
    }

    /// The notifications' subject prefix: `ri.ntf` for `ri`.
    pub fn notification_subject_prefix(&self) -> String {
        format!("{}.ntf", self.0)
    }
}

impl Default for Deployment {
    fn default() -> Self {
        Self(Self::DEFAULT.to_owned())
    }
}

impl fmt::Display for Deployment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_keeps_the_names_deployments_had_before() {
        let d = Deployment::default();
        assert_eq!(d, Deployment::parse("ri").unwrap());
        assert_eq!(d.event_stream(), "RI_EVENTS");
        assert_eq!(d.event_subject_prefix(), "ri.evt");
        assert_eq!(d.notification_stream(), "RI_NOTIFICATIONS");
        assert_eq!(d.notification_subject_prefix(), "ri.ntf");
    }

    #[test]
    fn another_name_prefixes_streams_and_subjects() {
        let d = Deployment::parse("staging-2_eu").unwrap();
        assert_eq!(d.event_stream(), "STAGING-2_EU_EVENTS");
        assert_eq!(d.event_subject_prefix(), "staging-2_eu.evt");
        assert_eq!(d.notification_stream(), "STAGING-2_EU_NOTIFICATIONS");
        assert_eq!(d.notification_subject_prefix(), "staging-2_eu.ntf");
        assert!(Deployment::parse(&"a".repeat(MAX_LEN)).is_ok());
    }

    #[test]
    fn names_that_are_not_one_safe_token_are_refused_with_the_rule() {
        for bad in [
            "",
            "RI",
            "ri.x",
            "ri*",
            "ri>",
            "r i",
            "ri/x",
            "ri\\x",
            "ri\n",
            "é",
            &"a".repeat(MAX_LEN + 1),
        ] {
            let err = Deployment::parse(bad).unwrap_err();
            assert!(
                err.to_string().contains("a-z, 0-9, '_' and '-'"),
                "{bad:?}: {err}"
            );
        }
    }
}
