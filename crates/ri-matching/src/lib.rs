//! Matching projects to funding instruments (issue 5): which instruments a project can apply
//! to, how well each fits, and why. Pure: no I/O, no async; a function of the two profiles,
//! the configured [`Weights`] and the time `now` that the caller passes in. SecurIT matched by
//! hand, project by project, from the features both were decomposed into (D2.5, Figures 1–3
//! and Annex 2); this is that mapping, written down. `docs/matching.md` has the same with
//! worked examples.
//!
//! # Eligibility excludes, it does not lower the score
//!
//! Checked in this order; the first that applies is reported as an [`ExclusionRule`]:
//!
//! 1. A `WITHDRAWN` or `ARCHIVED` instrument never matches, nor does a `DRAFT` (unpublished,
//!    its curator's alone).
//! 2. A `CALL` must be `OPEN`, and its deadline, if it has one, must be after `now` (a call
//!    whose closing is due but not yet recorded takes no more applications). Programmes and
//!    strategic documents match while `OPEN` or `CLOSED`: they recur or set priorities.
//! 3. A `NATIONAL` or `REGIONAL` instrument needs one of the consortium's countries among its
//!    countries. A project without countries matches only `EU` and `INTERNATIONAL` ones.
//!
//! # Score
//!
//! With `P` the project's features, `I` the instrument's, `w(f)` the weight of the category
//! of `f`, `S` the features that serve the project's stage (D2 for prototyping; D1, D5, D7 for
//! a demonstrator; none without a stage) and `β` the stage bonus:
//!
//! ```text
//! coverage  = Σ_{f ∈ P∩I} w(f) / Σ_{f ∈ P} w(f)        (0 when the denominator is 0)
//! stage_fit = |I ∩ S| / |S|                            (0 when S is empty)
//! score     = 1 − (1 − coverage) · (1 − β · stage_fit)
//!           = coverage + β · stage_fit · (1 − coverage)
//! ```
//!
//! Coverage is the weighted share of what the project does that the instrument funds: an
//! instrument funding all of it scores 1 however much else it funds (a broad national
//! programme is not a worse match for covering more). The stage bonus closes a share `β` of
//! the remaining gap when the instrument funds the project's next step, even one the project
//! did not declare. Categories are weighted, features within a category are equal; only the
//! ratios between weights matter.
//!
//! Properties (tested with proptest in `tests/properties.rs`):
//!
//! - `0 ≤ score ≤ 1`;
//! - the score never drops when a matching feature is added, that is a feature of `I` added
//!   to `P`, a feature added to both, or a feature of `P` added to `I`; it is computed as
//!   `1 − (U/T)·(1 − β·stage_fit)` with `U = Σ_{f ∈ P∖I} w(f)` and `T = Σ_{f ∈ P} w(f)`,
//!   each sum always in the same shape, so that this holds in floating point too, not only
//!   on paper (`1 − M/T` from the matched weight `M` can drop by one ulp; proptest found it);
//! - adding a feature that the instrument lacks to the project lowers the coverage (the
//!   project is less covered): coverage is of the project, not of the instrument;
//! - an ineligible pair is never returned by [`top_matches`] or [`matrix`];
//! - the explanation's matched features are exactly `P ∩ I`, its unmatched ones `P ∖ I`.
//!
//! # Weights
//!
//! [`Weights`] is configuration ([`WeightsConfig`], serde): per-category weights (default
//! T 1.0, P 1.0, D 1.0, A 0.5, G 0.5), the stage bonus (default 0.25) and the features each
//! stage gains from. [`RULE_VERSION`] names the formula and rules above; every explanation
//! carries it.
//!
//! # Example
//!
//! ```
//! use ri_matching::*;
//! use ri_taxonomy::FeatureSet;
//! use time::macros::datetime;
//!
//! let project = ProjectProfile {
//!     features: FeatureSet::parse(["T1", "P3", "D2"]).unwrap(),
//!     stage: Some(Stage::Prototyping),
//!     countries: vec!["LT".parse().unwrap()],
//! };
//! let call = InstrumentProfile {
//!     id: "call-1".into(),
//!     features: FeatureSet::parse(["T1", "D2", "G3"]).unwrap(),
//!     kind: InstrumentKind::Call,
//!     cover_level: CoverLevel::Eu,
//!     countries: vec![],
//!     status: InstrumentStatus::Open,
//!     deadline: Some(datetime!(2025-03-01 17:00 +1)),
//! };
//! let now = datetime!(2025-01-30 12:00 UTC);
//! let m = score(&Weights::default(), &project, &call, now).unwrap();
//! // T1 and D2 of T1, P3, D2 (all weight 1): coverage 2/3; D2 is the prototyping stage's
//! // only feature: stage fit 1; score = 1 − (1/3)·(1 − 0.25) = 0.75.
//! assert!((m.score - 0.75).abs() < 1e-12);
//! assert_eq!(m.explanation.matched_set().to_string(), "T1,D2");
//! assert_eq!(m.explanation.unmatched_set().to_string(), "P3");
//! assert_eq!(m.explanation.days_to_deadline, Some(30));
//! ```

mod profile;
mod rank;
mod rules;
mod score;
mod weights;

pub use profile::{
    Country, CoverLevel, InstrumentKind, InstrumentProfile, InstrumentStatus, InvalidCountry,
    ProjectProfile, Stage,
};
pub use rank::{matrix, top_matches};
pub use rules::{ExclusionRule, Ineligible};
pub use score::{CategoryFeatures, Explanation, Match, score};
pub use weights::{
    CategoryWeights, InvalidWeights, MAX_CATEGORY_WEIGHT, RULE_VERSION, StageFeatures, Weights,
    WeightsConfig,
};
