use crate::Category;
use crate::Category::{Application, DevelopmentSupport, General, Process, Technique};

/// One entry of the taxonomy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feature {
    pub code: &'static str,
    pub category: Category,
    pub label: &'static str,
}

impl Feature {
    const fn new(code: &'static str, category: Category, label: &'static str) -> Self {
        Feature {
            code,
            category,
            label,
        }
    }
}

// `FeatureSet` stores bit i for FEATURES[i] and is persisted in a PostgreSQL
// `bigint` (i64). A 64th feature would need the sign bit, so stored sets could
// turn negative; widen the column before lifting this limit.
const _: () = assert!(FEATURES.len() <= 63);

/// The taxonomy in the order of `data/taxonomy.json`. The position is the
/// `FeatureCode` and the `FeatureSet` bit, so entries may only be appended.
pub static FEATURES: [Feature; 63] = [
    Feature::new("T1", Technique, "AI (ML)"),
    Feature::new("T2", Technique, "Blockchain"),
    Feature::new("T3", Technique, "Cryptography"),
    Feature::new("T4", Technique, "Visualisation (WAR)"),
    Feature::new("T5", Technique, "Laser (LIDAR)"),
    Feature::new("T6", Technique, "Robotics & kinematics"),
    Feature::new("T7", Technique, "SLAM"),
    Feature::new("T8", Technique, "CBRN detection"),
    Feature::new("T9", Technique, "Software development"),
    Feature::new("T10", Technique, "IoT"),
    Feature::new("T11", Technique, "Biometry"),
    Feature::new("T12", Technique, "Quantum Technologies"),
    Feature::new("T13", Technique, "UAVs, Drones"),
    Feature::new("T14", Technique, "Sensors"),
    Feature::new("T15", Technique, "Big Data"),
    Feature::new("P1", Process, "Forecast/Foresight"),
    Feature::new("P2", Process, "Planning"),
    Feature::new("P3", Process, "Detection"),
    Feature::new("P4", Process, "Inspection (remote)"),
    Feature::new("P5", Process, "Response decisions / risk mitigation"),
    Feature::new("P6", Process, "Incident handling"),
    Feature::new("P7", Process, "Data collection"),
    Feature::new("P8", Process, "Multi source integration"),
    Feature::new("P9", Process, "Data storing"),
    Feature::new("P10", Process, "Info / data sharing"),
    Feature::new("P11", Process, "Cascading effects"),
    Feature::new("P12", Process, "Cybersecurity"),
    Feature::new("P13", Process, "Forensic"),
    Feature::new("P14", Process, "Access control"),
    Feature::new("P15", Process, "Impact monitoring"),
    Feature::new("P16", Process, "Post-analysis"),
    Feature::new("P17", Process, "Analytical support"),
    Feature::new("P18", Process, "Statistics and Reporting"),
    Feature::new("D1", DevelopmentSupport, "Experimental deployment"),
    Feature::new("D2", DevelopmentSupport, "Prototype"),
    Feature::new("D3", DevelopmentSupport, "Productization"),
    Feature::new(
        "D4",
        DevelopmentSupport,
        "Tools and technologies adoption to the concrete market needs, integration",
    ),
    Feature::new("D5", DevelopmentSupport, "Large scale exercising"),
    Feature::new("D6", DevelopmentSupport, "Hackathons, Ranges, Simulations"),
    Feature::new(
        "D7",
        DevelopmentSupport,
        "Tools functional, operational, end-user testing",
    ),
    Feature::new("G1", General, "Export support"),
    Feature::new(
        "G2",
        General,
        "Dual use application and cross-domain application (i.e. preventive, security, safety, defence, military, space ind.)",
    ),
    Feature::new(
        "G3",
        General,
        "Showcasing, Demo, Presentations, Exhibitions",
    ),
    Feature::new("G4", General, "Patenting"),
    Feature::new("G5", General, "Re-skilling of the experts"),
    Feature::new("G6", General, "Capabilities development with hands on"),
    Feature::new(
        "G7",
        General,
        "Validation and certification of technologies",
    ),
    Feature::new(
        "G8",
        General,
        "Cross-institution, Cross-border collaboration events",
    ),
    Feature::new("G9", General, "Education programmes and trainings"),
    Feature::new(
        "G10",
        General,
        "Tools and technologies development and certification from ELSA perspectives",
    ),
    Feature::new(
        "G11",
        General,
        "Tools efficiency (energy efficiency, cost efficiency, green agenda etc.)",
    ),
    Feature::new("G12", General, "Networking, Clustering"),
    Feature::new(
        "G13",
        General,
        "Organizational, Business models development, marketing",
    ),
    Feature::new("G14", General, "Investors, business angels"),
    Feature::new("A1", Application, "Environmental protection"),
    Feature::new("A2", Application, "Construction"),
    Feature::new("A3", Application, "Search and rescue"),
    Feature::new("A4", Application, "Remote sensing"),
    Feature::new("A5", Application, "Transport and logistics"),
    Feature::new("A6", Application, "Healthcare"),
    Feature::new("A7", Application, "Finance"),
    Feature::new("A8", Application, "Energy"),
    Feature::new("A9", Application, "Agrifood and food safety"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Taxonomy {
        categories: Vec<JsonCategory>,
        features: Vec<JsonFeature>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct JsonCategory {
        id: Category,
        prefix: char,
        label: String,
        description: String,
    }

    // deny_unknown_fields: a new field in the JSON must be a deliberate
    // decision here, not silently dropped.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct JsonFeature {
        code: String,
        category: String,
        label: String,
    }

    fn taxonomy() -> Taxonomy {
        serde_json::from_str(include_str!("../data/taxonomy.json")).unwrap()
    }

    #[test]
    fn features_equal_json() {
        let json = taxonomy().features;
        assert_eq!(json.len(), FEATURES.len());
        for (f, j) in FEATURES.iter().zip(&json) {
            assert_eq!(f.code, j.code);
            assert_eq!(f.category.id(), j.category, "{}", f.code);
            assert_eq!(f.label, j.label, "{}", f.code);
            assert!(f.code.starts_with(f.category.prefix()), "{}", f.code);
        }
        let unique: std::collections::HashSet<_> = FEATURES.iter().map(|f| f.code).collect();
        assert_eq!(unique.len(), FEATURES.len(), "codes must be unique");
    }

    #[test]
    fn categories_equal_json() {
        let json = taxonomy().categories;
        let ids: Vec<Category> = json.iter().map(|c| c.id).collect();
        assert_eq!(ids, Category::ALL);
        for (c, j) in Category::ALL.iter().zip(&json) {
            assert_eq!(c.prefix(), j.prefix);
            assert_eq!(c.label(), j.label);
            assert_eq!(c.description(), j.description);
            assert_eq!(serde_json::to_value(c).unwrap(), c.id());
        }
    }
}
