//! The score of an eligible pair and its explanation. See the crate documentation for the
//! formula and why it is computed the way it is.

use ri_taxonomy::{Category, FeatureSet};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::rules::check;
use crate::{Ineligible, InstrumentProfile, ProjectProfile, RULE_VERSION, Weights};

/// An eligible pair: its score and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    /// In `[0, 1]`; 1 when the instrument funds every weighted feature of the project.
    pub score: f64,
    /// What the score is made of.
    pub explanation: Explanation,
}

/// Some features of one category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryFeatures {
    /// The category every feature of `features` belongs to.
    pub category: Category,
    /// Not empty.
    pub features: FeatureSet,
}

/// Why a pair scores what it scores, in the terms a follow-up manager would write it by hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The project's features that the instrument also has, by category (only categories with
    /// one, in taxonomy order). Together they are exactly the intersection of the two sets.
    pub matched: Vec<CategoryFeatures>,
    /// The project's features that the instrument lacks, by category, in the same way.
    pub unmatched: Vec<CategoryFeatures>,
    /// The features that serve the project's stage and that the instrument has, whether or not
    /// the project declared them. Empty without a stage.
    pub stage_features: FeatureSet,
    /// The weighted share of the project's features that the instrument has, in `[0, 1]`.
    pub coverage: f64,
    /// The share of the stage's features that the instrument has, in `[0, 1]`.
    pub stage_fit: f64,
    /// Whole days until the deadline (0: less than a day left; negative for a closed
    /// programme), or `None` without one.
    pub days_to_deadline: Option<i64>,
    /// The [`RULE_VERSION`] the score was computed under.
    pub rule_version: u32,
}

impl Explanation {
    /// The matched features of every category as one set.
    pub fn matched_set(&self) -> FeatureSet {
        union(&self.matched)
    }

    /// The unmatched features of every category as one set.
    pub fn unmatched_set(&self) -> FeatureSet {
        union(&self.unmatched)
    }
}

fn union(parts: &[CategoryFeatures]) -> FeatureSet {
    parts
        .iter()
        .fold(FeatureSet::empty(), |all, part| all.union(part.features))
}

/// Scores a project against an instrument at `now`, or names the first rule that excludes the
/// pair. Ranking many instruments is [`top_matches`](crate::top_matches), which skips the
/// explanation of all but the best.
pub fn score(
    weights: &Weights,
    project: &ProjectProfile,
    instrument: &InstrumentProfile,
    now: OffsetDateTime,
) -> Result<Match, Ineligible> {
    check(project, instrument, now)?;
    Ok(Scorer::new(weights, project).explain(instrument, now))
}

/// One project's side of the formula, computed once for all the instruments it is scored
/// against, so that each instrument costs an AND-NOT, eight table lookups, a popcount and a few
/// floating-point operations.
#[derive(Debug, Clone)]
pub(crate) struct Scorer<'w> {
    weights: &'w Weights,
    /// `P`.
    project: FeatureSet,
    /// `T`: the project's total weight.
    total: f64,
    /// `S`: the features that serve the project's stage (empty without a stage).
    stage: FeatureSet,
    /// `P ∪ S`: an instrument with none of these scores 0.
    relevant: FeatureSet,
    /// `1 − β · k / |S|` for `k = |I ∩ S|` from 0 to `|S|`, so that the loop over instruments
    /// looks it up rather than divides.
    stage_gaps: [f64; 64],
}

impl<'w> Scorer<'w> {
    pub(crate) fn new(weights: &'w Weights, project: &ProjectProfile) -> Scorer<'w> {
        let stage = project
            .stage
            .map_or(FeatureSet::empty(), |s| weights.stage_features(s));
        let mut stage_gaps = [1.0; 64];
        for (k, gap) in stage_gaps.iter_mut().enumerate().take(stage.len() + 1) {
            *gap = 1.0 - weights.stage_bonus() * stage_fit(k, stage.len());
        }
        Scorer {
            weights,
            project: project.features,
            total: weights.weight_of(project.features),
            stage,
            relevant: project.features.union(stage),
            stage_gaps,
        }
    }

    /// Whether an instrument with these features can score above 0 (it shares a feature with
    /// the project or its stage). Scoring one that cannot gives exactly 0.
    #[inline]
    pub(crate) fn may_score(&self, instrument: FeatureSet) -> bool {
        self.relevant.intersects(instrument)
    }

    /// The score of an instrument with these features (eligibility aside).
    ///
    /// `1 − (U / T) · (1 − β · |I ∩ S| / |S|)`, computed from `U` (the weight of the project's
    /// features the instrument lacks) and `T` (the project's total weight, which depends on the
    /// project alone) rather than from the matched weight: adding a feature that the instrument
    /// has to the project leaves `U` bit for bit the same and can only raise `T`; adding one of
    /// the project's features to the instrument lowers `U` and leaves `T` alone; IEEE rounding is
    /// monotone and the sums always take the same shape, so neither can lower the score, not
    /// even by one ulp. (`1 − M/T` with `M` the matched weight can: proptest found a case.)
    #[inline]
    pub(crate) fn score(&self, instrument: FeatureSet) -> f64 {
        1.0 - self.gap(instrument) * self.stage_gap(instrument)
    }

    /// `U / T`: the share of the project's weight the instrument misses, in `[0, 1]`.
    #[inline]
    fn gap(&self, instrument: FeatureSet) -> f64 {
        if self.total > 0.0 {
            self.weights.weight_of(self.project.difference(instrument)) / self.total
        } else {
            // No weighted feature to miss (nor to match): the coverage is 0.
            1.0
        }
    }

    /// `1 − β · |I ∩ S| / |S|`, in `[1 − β, 1]`.
    #[inline]
    fn stage_gap(&self, instrument: FeatureSet) -> f64 {
        // `|I ∩ S| ≤ 63`: the taxonomy has 63 features.
        self.stage_gaps[self.stage.intersection(instrument).len() & 63]
    }

    /// The full answer for an instrument already found eligible.
    pub(crate) fn explain(&self, instrument: &InstrumentProfile, now: OffsetDateTime) -> Match {
        let features = instrument.features;
        let by_category = |pick: &dyn Fn(FeatureSet) -> FeatureSet| {
            Category::ALL
                .iter()
                .map(|&category| CategoryFeatures {
                    category,
                    features: pick(self.project.intersection(self.weights.mask(category))),
                })
                .filter(|c| !c.features.is_empty())
                .collect()
        };
        let stage_features = self.stage.intersection(features);
        Match {
            score: self.score(features),
            explanation: Explanation {
                matched: by_category(&|p| p.intersection(features)),
                unmatched: by_category(&|p| p.difference(features)),
                stage_features,
                coverage: 1.0 - self.gap(features),
                stage_fit: stage_fit(stage_features.len(), self.stage.len()),
                days_to_deadline: instrument.deadline.map(|d| (d - now).whole_days()),
                rule_version: RULE_VERSION,
            },
        }
    }
}

/// `k / |S|`, in `[0, 1]` for `k ≤ |S|`: dividing first keeps `β · fit ≤ β` after rounding.
fn stage_fit(k: usize, stage_len: usize) -> f64 {
    if stage_len == 0 {
        0.0
    } else {
        k as f64 / stage_len as f64
    }
}
