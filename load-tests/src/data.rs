//! What the generated population looks like: EU countries, the taxonomy's codes with a few
//! common ones, cover levels, kinds, deadlines over two years, and titles and summaries made
//! of a word list, so that text searches of those words find something.

use rand::seq::IndexedRandom;
use rand::{Rng, RngExt};
use time::{Duration, OffsetDateTime};

/// The 27 member states (ISO 3166-1 alpha-2).
pub(crate) const EU: [&str; 27] = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
];

/// The taxonomy's categories and their sizes (crates/ri-taxonomy/src/table.rs).
const CATEGORIES: [(&str, u32); 5] = [("T", 15), ("P", 18), ("D", 7), ("G", 14), ("A", 9)];

/// Features most instruments and projects carry (AI, sensors, detection, ...).
pub(crate) const COMMON: [&str; 6] = ["T1", "T2", "P1", "D1", "D2", "G1"];

/// Words titles and summaries are made of; the attack's text queries use them too.
pub(crate) const WORDS: [&str; 48] = [
    "security",
    "resilience",
    "drone",
    "border",
    "cyber",
    "detection",
    "sensor",
    "crisis",
    "emergency",
    "firefighting",
    "police",
    "surveillance",
    "forensics",
    "explosives",
    "chemical",
    "biological",
    "radiological",
    "infrastructure",
    "energy",
    "maritime",
    "port",
    "railway",
    "airport",
    "crowd",
    "stadium",
    "flood",
    "wildfire",
    "earthquake",
    "communication",
    "radio",
    "satellite",
    "identity",
    "biometrics",
    "fraud",
    "terrorism",
    "prevention",
    "training",
    "simulation",
    "robotics",
    "innovation",
    "prototype",
    "pilot",
    "procurement",
    "startup",
    "research",
    "cooperation",
    "regional",
    "digital",
];

const NOUNS: [&str; 8] = [
    "call",
    "programme",
    "fund",
    "grant",
    "scheme",
    "initiative",
    "facility",
    "challenge",
];

pub(crate) const COVER_LEVELS: [(&str, u32); 4] = [
    ("REGIONAL", 25),
    ("NATIONAL", 45),
    ("EU", 25),
    ("INTERNATIONAL", 5),
];

pub(crate) const KINDS: [(&str, u32); 3] =
    [("CALL", 70), ("PROGRAMME", 25), ("STRATEGIC_DOCUMENT", 5)];

const TARGETS: [&str; 6] = [
    "SME",
    "STARTUP",
    "RESEARCH_ORGANISATION",
    "UNIVERSITY",
    "PUBLIC_BODY",
    "CLUSTER",
];

pub(crate) const SECTORS: [&str; 8] = [
    "LAW_ENFORCEMENT",
    "FIRE_AND_RESCUE",
    "EMERGENCY_MEDICAL",
    "CIVIL_PROTECTION",
    "BORDER_GUARD",
    "MUNICIPALITY",
    "CRITICAL_INFRASTRUCTURE_OPERATOR",
    "EVENT_ORGANISER",
];

pub(crate) const AREA_DOMAINS: [&str; 3] = [
    "SENSITIVE_INFRASTRUCTURE_PROTECTION",
    "DISASTER_RESILIENCE",
    "PUBLIC_SPACE_PROTECTION",
];

/// One of `choices` by weight.
pub(crate) fn weighted<'a>(rng: &mut impl Rng, choices: &[(&'a str, u32)]) -> &'a str {
    let total: u32 = choices.iter().map(|(_, w)| w).sum();
    let mut pick = rng.random_range(0..total.max(1));
    for (value, weight) in choices {
        if pick < *weight {
            return value;
        }
        pick -= weight;
    }
    choices.first().map_or("", |(value, _)| value)
}

/// Any feature code of the taxonomy.
pub(crate) fn any_feature(rng: &mut impl Rng) -> String {
    let (prefix, size) = CATEGORIES[rng.random_range(0..CATEGORIES.len())];
    format!("{prefix}{}", rng.random_range(1..=size))
}

/// 1 to `max` distinct features, mostly 2 to 4, about half of them common ones.
pub(crate) fn features(rng: &mut impl Rng, max: usize) -> Vec<String> {
    let wanted = match rng.random_range(0..10) {
        0 => 1,
        1..=6 => rng.random_range(2..=4),
        _ => rng.random_range(1..=max),
    }
    .min(max);
    let mut picked: Vec<String> = Vec::with_capacity(wanted);
    while picked.len() < wanted {
        let code = if rng.random_bool(0.5) {
            COMMON
                .choose(rng)
                .map_or_else(|| any_feature(rng), |c| (*c).to_owned())
        } else {
            any_feature(rng)
        };
        if !picked.contains(&code) {
            picked.push(code);
        }
    }
    picked
}

/// 1 to 3 countries (mostly 1), the first usually `home`.
pub(crate) fn countries(rng: &mut impl Rng, home: &str) -> Vec<String> {
    let wanted = match rng.random_range(0..10) {
        0..=6 => 1,
        7..=8 => 2,
        _ => 3,
    };
    let mut picked = vec![if rng.random_bool(0.8) {
        home.to_owned()
    } else {
        random_country(rng).to_owned()
    }];
    while picked.len() < wanted {
        let country = random_country(rng).to_owned();
        if !picked.contains(&country) {
            picked.push(country);
        }
    }
    picked
}

pub(crate) fn random_country(rng: &mut impl Rng) -> &'static str {
    EU[rng.random_range(0..EU.len())]
}

pub(crate) fn word(rng: &mut impl Rng) -> &'static str {
    WORDS[rng.random_range(0..WORDS.len())]
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// "Drone detection resilience call 4711".
pub(crate) fn title(rng: &mut impl Rng, serial: usize) -> String {
    let n = rng.random_range(2..=4);
    let mut words: Vec<String> = (0..n).map(|_| word(rng).to_owned()).collect();
    if let Some(first) = words.first_mut() {
        *first = capitalised(first);
    }
    let noun = NOUNS[rng.random_range(0..NOUNS.len())];
    format!("{} {noun} {serial}", words.join(" "))
}

pub(crate) fn summary(rng: &mut impl Rng) -> String {
    let n = rng.random_range(12..=25);
    let words: Vec<&str> = (0..n).map(|_| word(rng)).collect();
    format!("Support for {}.", words.join(" "))
}

pub(crate) fn targets(rng: &mut impl Rng) -> Vec<&'static str> {
    let n = rng.random_range(1..=3);
    let mut picked: Vec<&'static str> = Vec::with_capacity(n);
    while picked.len() < n {
        let t = TARGETS[rng.random_range(0..TARGETS.len())];
        if !picked.contains(&t) {
            picked.push(t);
        }
    }
    picked
}

/// A deadline between a week and two years from now, on the hour, in RFC 3339.
pub(crate) fn deadline(rng: &mut impl Rng, now: OffsetDateTime) -> String {
    let at = now + Duration::hours(rng.random_range(7 * 24..730 * 24));
    rfc3339(at.replace_minute(0).unwrap_or(at))
}

pub(crate) fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The instrument input of `draftInstrument`.
pub(crate) fn instrument_input(rng: &mut impl Rng, serial: usize, home: &str) -> serde_json::Value {
    let kind = weighted(rng, &KINDS);
    let min = rng.random_range(1..50) * 10_000;
    let max = min + rng.random_range(1..100) * 10_000;
    serde_json::json!({
        "title": title(rng, serial),
        "kind": kind,
        "coverLevel": weighted(rng, &COVER_LEVELS),
        "countries": countries(rng, home),
        "summary": summary(rng),
        "targetOrganisations": targets(rng),
        "languages": ["en"],
        "funding": {"min": min, "max": max, "currency": "EUR"}
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn is_taxonomy_code(code: &str) -> bool {
        CATEGORIES.iter().any(|(prefix, size)| {
            code.strip_prefix(prefix)
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| (1..=*size).contains(&n))
        })
    }

    #[test]
    fn features_are_distinct_taxonomy_codes_within_the_bound() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut common = 0usize;
        let mut all = 0usize;
        for _ in 0..2000 {
            let picked = features(&mut rng, 8);
            assert!((1..=8).contains(&picked.len()), "{picked:?}");
            let mut sorted = picked.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), picked.len(), "{picked:?}");
            assert!(picked.iter().all(|c| is_taxonomy_code(c)), "{picked:?}");
            all += picked.len();
            common += picked
                .iter()
                .filter(|c| COMMON.contains(&c.as_str()))
                .count();
        }
        // Common features are common: well above their 6-in-63 share of the taxonomy.
        assert!(common * 4 > all, "{common} of {all}");
        assert!(features(&mut rng, 3).len() <= 3);
    }

    #[test]
    fn countries_are_one_to_three_distinct_member_states() {
        let mut rng = StdRng::seed_from_u64(2);
        for _ in 0..2000 {
            let picked = countries(&mut rng, "LT");
            assert!((1..=3).contains(&picked.len()));
            assert!(picked.iter().all(|c| EU.contains(&c.as_str())));
            let mut sorted = picked.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), picked.len());
        }
    }

    #[test]
    fn deadlines_fall_within_two_years() {
        let mut rng = StdRng::seed_from_u64(3);
        let now = OffsetDateTime::now_utc();
        for _ in 0..500 {
            let at = OffsetDateTime::parse(
                &deadline(&mut rng, now),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap();
            assert!(at > now + Duration::days(6) && at < now + Duration::days(731));
        }
    }
}
