use serde::{Deserialize, Serialize};

/// The five groups a feature code belongs to; the code's letter is the prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Category {
    Technique,
    Process,
    Application,
    DevelopmentSupport,
    General,
}

impl Category {
    /// In the order of `data/taxonomy.json`, which is also the `Ord` order.
    pub const ALL: [Category; 5] = [
        Category::Technique,
        Category::Process,
        Category::Application,
        Category::DevelopmentSupport,
        Category::General,
    ];

    /// The identifier used in JSON and serde, e.g. `DEVELOPMENT_SUPPORT`.
    pub fn id(self) -> &'static str {
        match self {
            Category::Technique => "TECHNIQUE",
            Category::Process => "PROCESS",
            Category::Application => "APPLICATION",
            Category::DevelopmentSupport => "DEVELOPMENT_SUPPORT",
            Category::General => "GENERAL",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Category::Technique => "Techniques",
            Category::Process => "Process",
            Category::Application => "Applications beyond security",
            Category::DevelopmentSupport => "Development support",
            Category::General => "General",
        }
    }

    /// The letter every code in this category starts with.
    pub fn prefix(self) -> char {
        match self {
            Category::Technique => 'T',
            Category::Process => 'P',
            Category::Application => 'A',
            Category::DevelopmentSupport => 'D',
            Category::General => 'G',
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Category::Technique => {
                "What techniques the solution employs to generate its output (AI, laser, CBRN, \
                 biometry...). Eligible for support or strategic priorities regardless of \
                 application area."
            }
            Category::Process => {
                "Processes or process components the solution's outcomes encompass (data \
                 sharing, forensics...)."
            }
            Category::Application => {
                "Other domains beyond security where the solution applies; opens instruments \
                 outside the security domain."
            }
            Category::DevelopmentSupport => {
                "Next stages towards market readiness: prototyping, validation, productization..."
            }
            Category::General => {
                "Other fundable activities: exhibitions, marketing, partner search, training..."
            }
        }
    }
}
