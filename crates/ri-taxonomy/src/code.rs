use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::{Category, FEATURES, Feature};

/// A code that is not in the taxonomy (or, from `FeatureSet::from_bits`, a bit
/// that no feature owns).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown feature code {0:?}")]
pub struct UnknownFeature(pub String);

/// A valid feature code, stored as its index into [`FEATURES`] so that it is
/// one byte and cannot name a feature that does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FeatureCode(u8);

impl FeatureCode {
    /// Callers guarantee `index < FEATURES.len()`, which fits a `u8` thanks to
    /// the guard next to the table.
    pub(crate) fn from_index(index: usize) -> Self {
        debug_assert!(index < FEATURES.len());
        FeatureCode(index as u8)
    }

    pub(crate) fn index(self) -> usize {
        usize::from(self.0)
    }

    pub fn all() -> impl Iterator<Item = FeatureCode> {
        (0..FEATURES.len()).map(FeatureCode::from_index)
    }

    pub fn feature(self) -> &'static Feature {
        &FEATURES[self.index()]
    }

    pub fn as_str(self) -> &'static str {
        self.feature().code
    }

    pub fn category(self) -> Category {
        self.feature().category
    }
}

impl fmt::Display for FeatureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FeatureCode {
    type Err = UnknownFeature;

    // Case-sensitive so that stored codes have exactly one spelling.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FEATURES
            .iter()
            .position(|f| f.code == s)
            .map(FeatureCode::from_index)
            .ok_or_else(|| UnknownFeature(s.to_owned()))
    }
}

impl Serialize for FeatureCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FeatureCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A visitor rather than `String::deserialize` avoids an allocation per code.
        struct CodeVisitor;

        impl Visitor<'_> for CodeVisitor {
            type Value = FeatureCode;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a feature code such as \"T1\"")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<FeatureCode, E> {
                v.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_str(CodeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_code_and_round_trips() {
        for (i, f) in FEATURES.iter().enumerate() {
            let code: FeatureCode = f.code.parse().unwrap();
            assert_eq!(code.index(), i);
            assert_eq!(code.to_string(), f.code);
            assert_eq!(code.category(), f.category);
        }
        assert_eq!(FeatureCode::all().count(), 63);
    }

    #[test]
    fn rejects_unknown_codes_naming_them() {
        for bad in ["T16", "t1", "X", "", "T1 ", "T01"] {
            let err = bad.parse::<FeatureCode>().unwrap_err();
            assert_eq!(err, UnknownFeature(bad.to_owned()));
            assert_eq!(err.to_string(), format!("unknown feature code \"{bad}\""));
        }
    }

    #[test]
    fn serde_as_code_string() {
        let code: FeatureCode = "G14".parse().unwrap();
        assert_eq!(serde_json::to_string(&code).unwrap(), "\"G14\"");
        assert_eq!(
            serde_json::from_str::<FeatureCode>("\"G14\"").unwrap(),
            code
        );
        let err = serde_json::from_str::<FeatureCode>("\"T16\"").unwrap_err();
        assert!(
            err.to_string().contains("unknown feature code \"T16\""),
            "{err}"
        );
    }
}
