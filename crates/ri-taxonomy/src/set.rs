use std::fmt;

use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::{Category, FEATURES, FeatureCode, UnknownFeature};

/// Bits owned by a feature; everything above is invalid.
const VALID: u64 = (1 << FEATURES.len()) - 1;

/// A set of feature codes as a bitset (bit i = `FEATURES[i]`), so that matching
/// instruments against projects is a handful of integer operations and the set
/// fits one `bigint` column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FeatureSet(u64);

impl FeatureSet {
    pub const fn empty() -> Self {
        FeatureSet(0)
    }

    /// Returns whether the code was newly added.
    pub fn insert(&mut self, code: FeatureCode) -> bool {
        let added = !self.contains(code);
        self.0 |= bit(code);
        added
    }

    /// Returns whether the code was present.
    pub fn remove(&mut self, code: FeatureCode) -> bool {
        let present = self.contains(code);
        self.0 &= !bit(code);
        present
    }

    pub fn contains(self, code: FeatureCode) -> bool {
        self.0 & bit(code) != 0
    }

    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn union(self, other: FeatureSet) -> FeatureSet {
        FeatureSet(self.0 | other.0)
    }

    pub fn intersection(self, other: FeatureSet) -> FeatureSet {
        FeatureSet(self.0 & other.0)
    }

    pub fn difference(self, other: FeatureSet) -> FeatureSet {
        FeatureSet(self.0 & !other.0)
    }

    pub fn is_subset(self, other: FeatureSet) -> bool {
        self.difference(other).is_empty()
    }

    pub fn intersects(self, other: FeatureSet) -> bool {
        !self.intersection(other).is_empty()
    }

    /// In taxonomy order (lowest bit first).
    pub fn iter(self) -> impl Iterator<Item = FeatureCode> {
        let mut rest = self.0;
        std::iter::from_fn(move || {
            if rest == 0 {
                return None;
            }
            let index = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            Some(FeatureCode::from_index(index))
        })
    }

    pub fn in_category(self, category: Category) -> FeatureSet {
        self.iter().filter(|c| c.category() == category).collect()
    }

    /// For a PostgreSQL `bigint` column; never negative since bit 63 is unused.
    pub fn bits(self) -> i64 {
        self.0 as i64
    }

    /// Rejects bits no feature owns (including the sign bit), naming the lowest.
    pub fn from_bits(bits: i64) -> Result<FeatureSet, UnknownFeature> {
        let bits = bits as u64;
        match bits & !VALID {
            0 => Ok(FeatureSet(bits)),
            extra => Err(UnknownFeature(format!("bit {}", extra.trailing_zeros()))),
        }
    }

    /// Fails on the first code that is not in the taxonomy.
    pub fn parse<'a>(
        codes: impl IntoIterator<Item = &'a str>,
    ) -> Result<FeatureSet, UnknownFeature> {
        codes.into_iter().map(str::parse::<FeatureCode>).collect()
    }
}

fn bit(code: FeatureCode) -> u64 {
    1 << code.index()
}

impl FromIterator<FeatureCode> for FeatureSet {
    fn from_iter<I: IntoIterator<Item = FeatureCode>>(iter: I) -> Self {
        let mut set = FeatureSet::empty();
        for code in iter {
            set.insert(code);
        }
        set
    }
}

/// Codes joined by `,` without spaces, e.g. `T1,P3,A9`; empty for the empty set.
impl fmt::Display for FeatureSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, code) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(code.as_str())?;
        }
        Ok(())
    }
}

impl Serialize for FeatureSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for FeatureSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SetVisitor;

        impl<'de> Visitor<'de> for SetVisitor {
            type Value = FeatureSet;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of feature codes")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FeatureSet, A::Error> {
                let mut set = FeatureSet::empty();
                while let Some(code) = seq.next_element::<FeatureCode>()? {
                    set.insert(code);
                }
                Ok(set)
            }
        }

        deserializer.deserialize_seq(SetVisitor)
    }
}

#[cfg(test)]
mod tests;
