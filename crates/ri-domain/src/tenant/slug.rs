//! Tenant identity. A tenant is a cluster organisation; its slug is its stable key in the event
//! log, in tokens and in NATS subjects, so it must be safe in all three.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A tenant's slug: 2 to 63 characters of `a-z`, `0-9` and `-`, starting with a letter and not
/// ending with `-`. It can be placed in a NATS subject token and a URL path unescaped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantSlug(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantSlugError {
    #[error("tenant slug must be 2 to 63 characters long, got {0}")]
    Length(usize),
    #[error("tenant slug must start with a lower-case letter")]
    Start,
    #[error("tenant slug may hold only a-z, 0-9 and '-', found {0:?}")]
    Character(char),
    #[error("tenant slug must not end with '-'")]
    End,
}

impl TenantSlug {
    pub fn parse(raw: &str) -> Result<Self, TenantSlugError> {
        let len = raw.chars().count();
        if !(2..=63).contains(&len) {
            return Err(TenantSlugError::Length(len));
        }
        if !raw.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(TenantSlugError::Start);
        }
        if let Some(c) = raw
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(TenantSlugError::Character(c));
        }
        if raw.ends_with('-') {
            return Err(TenantSlugError::End);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TenantSlug {
    type Error = TenantSlugError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TenantSlug> for String {
    fn from(value: TenantSlug) -> Self {
        value.0
    }
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_real_slugs() {
        for ok in ["securit", "friend-cci", "ambassador-42", "ab"] {
            assert!(TenantSlug::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_each_bad_shape_with_its_reason() {
        assert_eq!(TenantSlug::parse("a"), Err(TenantSlugError::Length(1)));
        assert_eq!(TenantSlug::parse("1abc"), Err(TenantSlugError::Start));
        assert_eq!(
            TenantSlug::parse("ab.c"),
            Err(TenantSlugError::Character('.'))
        );
        assert_eq!(TenantSlug::parse("Abc"), Err(TenantSlugError::Start));
        assert_eq!(TenantSlug::parse("abc-"), Err(TenantSlugError::End));
        assert_eq!(
            TenantSlug::parse(&"a".repeat(64)),
            Err(TenantSlugError::Length(64))
        );
    }

    proptest! {
        #[test]
        fn a_parsed_slug_is_a_single_nats_token(raw in "\\PC{0,70}") {
            if let Ok(slug) = TenantSlug::parse(&raw) {
                prop_assert!(!slug.as_str().contains(['.', '*', '>', ' ']));
                prop_assert_eq!(slug.as_str(), raw.as_str());
            }
        }
    }
}
