//! The SecurIT feature taxonomy (D2.5, Annex 1) that funding instruments and
//! projects are both described with, so that matching them is a set operation.
//!
//! The table is compiled in as Rust source rather than loaded at run time: the
//! codes are part of stored data and API contracts, so changing them must be a
//! reviewed code change. `data/taxonomy.json` is the source of truth and a unit
//! test keeps the two identical.

mod category;
mod code;
mod set;
mod table;

pub use category::Category;
pub use code::{FeatureCode, UnknownFeature};
pub use set::FeatureSet;
pub use table::{FEATURES, Feature};
