//! The configurable part of the scoring rule: a weight per taxonomy category, the stage bonus
//! and the features each stage gains from. The rule itself (how these combine) is code, and
//! its version is [`RULE_VERSION`].

use std::fmt;

use ri_taxonomy::{Category, FeatureCode, FeatureSet};
use serde::{Deserialize, Serialize};

use crate::Stage;

/// The version of the scoring rule, reported in every explanation. Raise it whenever the
/// formula or the eligibility rules change, so that stored or shown scores can be told apart.
/// Changing the weights does not change the rule; the configuration they come from does.
pub const RULE_VERSION: u32 = 1;

/// The largest category weight accepted. Only the ratios between weights matter; the bound
/// keeps sums of 63 weighted features far from overflow.
pub const MAX_CATEGORY_WEIGHT: f64 = 100.0;

/// How much one feature of each category counts. Only ratios matter: multiplying every weight
/// by the same factor gives the same scores. A weight of 0 leaves the category out.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CategoryWeights {
    /// T1–T15, default 1.0.
    pub technique: f64,
    /// P1–P18, default 1.0.
    pub process: f64,
    /// A1–A9, default 0.5.
    pub application: f64,
    /// D1–D7, default 1.0.
    pub development_support: f64,
    /// G1–G14, default 0.5.
    pub general: f64,
}

impl CategoryWeights {
    /// The weight of `category`.
    pub fn of(&self, category: Category) -> f64 {
        match category {
            Category::Technique => self.technique,
            Category::Process => self.process,
            Category::Application => self.application,
            Category::DevelopmentSupport => self.development_support,
            Category::General => self.general,
        }
    }
}

/// The defaults, and why:
///
/// - Techniques and processes are what funders' priorities are written in (Innovation Fund
///   Denmark lists every T and most P codes; strategies name AI, cybersecurity): 1.0.
/// - Development support is the next step towards the market, which instruments fund
///   specifically (prototyping, piloting, productisation): 1.0.
/// - Applications beyond security open instruments of other domains, a secondary fit: 0.5.
/// - General activities (exhibitions, marketing, training, networking) are funded alongside
///   almost anything, so sharing one says little about fit: 0.5.
impl Default for CategoryWeights {
    fn default() -> Self {
        CategoryWeights {
            technique: 1.0,
            process: 1.0,
            application: 0.5,
            development_support: 1.0,
            general: 0.5,
        }
    }
}

/// The features that serve a project at each stage, whether or not the project declared them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StageFeatures {
    /// Default D2 (prototype).
    pub prototyping: FeatureSet,
    /// Default D1 (experimental deployment), D5 (large-scale exercising), D7 (functional,
    /// operational, end-user testing).
    pub demonstrator: FeatureSet,
}

impl StageFeatures {
    /// The features that serve a project at `stage`.
    pub fn of(&self, stage: Stage) -> FeatureSet {
        match stage {
            Stage::Prototyping => self.prototyping,
            Stage::Demonstrator => self.demonstrator,
        }
    }
}

impl Default for StageFeatures {
    fn default() -> Self {
        StageFeatures {
            prototyping: codes(&["D2"]),
            demonstrator: codes(&["D1", "D5", "D7"]),
        }
    }
}

fn codes(codes: &[&str]) -> FeatureSet {
    FeatureCode::all()
        .filter(|c| codes.contains(&c.as_str()))
        .collect()
}

/// The weights as they come from configuration; missing fields take their defaults. Turned
/// into [`Weights`] by [`Weights::new`], which checks them.
///
/// As TOML:
///
/// ```toml
/// stage_bonus = 0.25
/// [categories]
/// technique = 1.0
/// process = 1.0
/// application = 0.5
/// development_support = 1.0
/// general = 0.5
/// [stage_features]
/// prototyping = ["D2"]
/// demonstrator = ["D1", "D5", "D7"]
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WeightsConfig {
    /// Per-category weights, each in `[0, MAX_CATEGORY_WEIGHT]`, at least one positive.
    pub categories: CategoryWeights,
    /// In `[0, 1]`: the share of the gap to a perfect score that an instrument funding every
    /// feature of the project's stage closes. Default 0.25.
    pub stage_bonus: f64,
    /// The features each stage gains from.
    pub stage_features: StageFeatures,
}

/// The default weights of [`CategoryWeights`] and [`StageFeatures`], and a stage bonus of
/// 0.25: an instrument that funds everything a project's stage needs closes a quarter of the
/// gap between its coverage and a perfect score. It ranks first among instruments that cover
/// as much of the project, and a stage match alone (no feature in common) scores 0.25.
impl Default for WeightsConfig {
    fn default() -> Self {
        WeightsConfig {
            categories: CategoryWeights::default(),
            stage_bonus: 0.25,
            stage_features: StageFeatures::default(),
        }
    }
}

/// A weight configuration that [`Weights::new`] refused, naming the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("matching weight {field}: {reason}")]
pub struct InvalidWeights {
    /// The field, as configuration spells it (`categories.technique`, `stage_bonus`).
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

/// Checked weights, ready to score with. Deserialises from a [`WeightsConfig`] and fails on
/// values it would refuse; [`Weights::default`] is the documented default configuration.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "WeightsConfig", into = "WeightsConfig")]
pub struct Weights {
    config: WeightsConfig,
    /// The taxonomy's features of each category, in `Category::ALL` order.
    masks: [FeatureSet; 5],
    /// For each byte of a `FeatureSet`'s bits and each value of that byte, the summed weight of
    /// the features it holds: a set's weight is eight lookups instead of five popcounts.
    byte_weights: Box<[[f64; 256]; 8]>,
}

impl Weights {
    /// Refuses a category weight that is not a number in `[0, MAX_CATEGORY_WEIGHT]`, all
    /// category weights zero, and a stage bonus outside `[0, 1]`.
    pub fn new(config: WeightsConfig) -> Result<Weights, InvalidWeights> {
        let c = &config.categories;
        for (field, w) in [
            ("categories.technique", c.technique),
            ("categories.process", c.process),
            ("categories.application", c.application),
            ("categories.development_support", c.development_support),
            ("categories.general", c.general),
        ] {
            // Written so that NaN fails too.
            if !(0.0..=MAX_CATEGORY_WEIGHT).contains(&w) {
                return Err(InvalidWeights {
                    field,
                    reason: format!("{w} is not in [0, {MAX_CATEGORY_WEIGHT}]"),
                });
            }
        }
        if Category::ALL.iter().all(|&cat| c.of(cat) == 0.0) {
            return Err(InvalidWeights {
                field: "categories",
                reason: "at least one category weight must be positive".to_owned(),
            });
        }
        let bonus = config.stage_bonus;
        if !(0.0..=1.0).contains(&bonus) {
            return Err(InvalidWeights {
                field: "stage_bonus",
                reason: format!("{bonus} is not in [0, 1]"),
            });
        }
        let masks = Category::ALL.map(|cat| {
            FeatureCode::all()
                .filter(|code| code.category() == cat)
                .collect::<FeatureSet>()
        });
        let mut bit_weights = [0.0; 64];
        for (bit, code) in bit_weights.iter_mut().zip(FeatureCode::all()) {
            *bit = config.categories.of(code.category());
        }
        let mut byte_weights = Box::new([[0.0; 256]; 8]);
        for (j, table) in byte_weights.iter_mut().enumerate() {
            for (value, sum) in table.iter_mut().enumerate() {
                // Always all eight bits in the same order, absent ones adding 0: with rounding
                // monotone, a byte with more bits never sums to less.
                *sum = (0..8).fold(0.0, |acc, k| {
                    acc + if value & (1 << k) != 0 {
                        bit_weights[8 * j + k]
                    } else {
                        0.0
                    }
                });
            }
        }
        Ok(Weights {
            config,
            masks,
            byte_weights,
        })
    }

    /// `Σ_{f ∈ set} w(f)`, the same way for every set, so that a superset never weighs less
    /// (each lookup is monotone in its byte, the fixed sum tree monotone in each lookup).
    #[inline]
    pub(crate) fn weight_of(&self, set: FeatureSet) -> f64 {
        let b = set.bits().to_le_bytes();
        let t = &self.byte_weights;
        let w = |j: usize| t[j][usize::from(b[j])];
        ((w(0) + w(1)) + (w(2) + w(3))) + ((w(4) + w(5)) + (w(6) + w(7)))
    }

    /// The configuration these weights were made from.
    pub fn config(&self) -> &WeightsConfig {
        &self.config
    }

    /// The weight of one feature of `category`.
    pub fn category(&self, category: Category) -> f64 {
        self.config.categories.of(category)
    }

    /// The stage bonus, in `[0, 1]`.
    pub fn stage_bonus(&self) -> f64 {
        self.config.stage_bonus
    }

    /// The features that serve a project at `stage`.
    pub fn stage_features(&self, stage: Stage) -> FeatureSet {
        self.config.stage_features.of(stage)
    }

    /// Every feature of the taxonomy in `category`.
    pub(crate) fn mask(&self, category: Category) -> FeatureSet {
        self.masks[category_index(category)]
    }
}

pub(crate) fn category_index(category: Category) -> usize {
    match category {
        Category::Technique => 0,
        Category::Process => 1,
        Category::Application => 2,
        Category::DevelopmentSupport => 3,
        Category::General => 4,
    }
}

/// The configuration only: the rest is derived from it.
impl fmt::Debug for Weights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Weights")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Weights {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config
    }
}

impl Default for Weights {
    fn default() -> Self {
        Weights::new(WeightsConfig::default()).unwrap_or_else(|e| {
            // The defaults are constants checked by a test.
            unreachable!("the default weights are valid: {e}")
        })
    }
}

impl TryFrom<WeightsConfig> for Weights {
    type Error = InvalidWeights;

    fn try_from(config: WeightsConfig) -> Result<Self, Self::Error> {
        Weights::new(config)
    }
}

impl From<Weights> for WeightsConfig {
    fn from(weights: Weights) -> Self {
        weights.config
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let w = Weights::default();
        assert_eq!(w.category(Category::Technique), 1.0);
        assert_eq!(w.category(Category::Process), 1.0);
        assert_eq!(w.category(Category::Application), 0.5);
        assert_eq!(w.category(Category::DevelopmentSupport), 1.0);
        assert_eq!(w.category(Category::General), 0.5);
        assert_eq!(w.stage_bonus(), 0.25);
        assert_eq!(w.stage_features(Stage::Prototyping).to_string(), "D2");
        assert_eq!(
            w.stage_features(Stage::Demonstrator).to_string(),
            "D1,D5,D7"
        );
        for cat in Category::ALL {
            assert!(w.mask(cat).iter().all(|c| c.category() == cat));
        }
        let sizes = Category::ALL.map(|cat| w.mask(cat).len());
        assert_eq!(sizes, [15, 18, 9, 7, 14]);
    }

    #[test]
    fn weight_of_sums_category_weights() {
        let w = Weights::default();
        let all = FeatureCode::all().collect::<FeatureSet>();
        // 15 T + 18 P + 7 D at 1.0, 14 G + 9 A at 0.5.
        assert_eq!(w.weight_of(all), 51.5);
        assert_eq!(w.weight_of(FeatureSet::empty()), 0.0);
        for code in FeatureCode::all() {
            let one = std::iter::once(code).collect();
            assert_eq!(w.weight_of(one), w.category(code.category()), "{code}");
        }
    }

    #[test]
    fn deserialises_partial_config_over_defaults() {
        let w: Weights = serde_json::from_str(
            r#"{"categories": {"general": 0.25}, "stage_bonus": 0.5,
                "stage_features": {"prototyping": ["D2", "D7"]}}"#,
        )
        .unwrap();
        assert_eq!(w.category(Category::General), 0.25);
        assert_eq!(w.category(Category::Technique), 1.0);
        assert_eq!(w.stage_bonus(), 0.5);
        assert_eq!(w.stage_features(Stage::Prototyping).to_string(), "D2,D7");
        assert_eq!(
            w.stage_features(Stage::Demonstrator).to_string(),
            "D1,D5,D7"
        );
        assert_eq!(
            serde_json::from_str::<Weights>("{}").unwrap(),
            Weights::default()
        );
        let back: Weights = serde_json::from_value(serde_json::to_value(&w).unwrap()).unwrap();
        assert_eq!(back, w);
    }

    #[test]
    fn refuses_bad_values_naming_the_field() {
        let bad = |json: &str| {
            serde_json::from_str::<Weights>(json)
                .unwrap_err()
                .to_string()
        };
        assert!(
            bad(r#"{"categories": {"process": -1}}"#).contains("categories.process"),
            "negative"
        );
        assert!(bad(r#"{"categories": {"general": 1000}}"#).contains("categories.general"));
        assert!(bad(r#"{"stage_bonus": 1.5}"#).contains("stage_bonus"));
        assert!(
            bad(
                r#"{"categories": {"technique": 0, "process": 0, "application": 0,
                    "development_support": 0, "general": 0}}"#
            )
            .contains("at least one category weight must be positive")
        );
        assert!(bad(r#"{"stage_features": {"prototyping": ["D8"]}}"#).contains("D8"));
        assert!(bad(r#"{"stage_bonus": 0.1, "bonus": 1}"#).contains("unknown field"));
        let nan = WeightsConfig {
            stage_bonus: f64::NAN,
            ..WeightsConfig::default()
        };
        assert_eq!(Weights::new(nan).unwrap_err().field, "stage_bonus");
    }
}
