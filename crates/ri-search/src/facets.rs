//! Facet counts in the index's codes, turned into values and ordered for the API.

use std::cmp::Reverse;

use ri_taxonomy::FeatureCode;

use crate::block::Dim;
use crate::doc;
use crate::filter::Counts;
use crate::index::Dicts;
use crate::query::Facets;

/// Each facet most frequent first, then by `name`; zeros left out. Names are compared in
/// place: allocating one per value to sort by was a twentieth of a search.
fn ordered<T: Clone>(
    counts: &[u64],
    value: impl Fn(u32) -> Option<T>,
    name: impl Fn(&T) -> &str,
) -> Vec<(T, u64)> {
    let mut out: Vec<(T, u64)> = counts
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .filter_map(|(code, n)| Some((value(u32::try_from(code).ok()?)?, *n)))
        .collect();
    out.sort_unstable_by(|(a, m), (b, n)| n.cmp(m).then_with(|| name(a).cmp(name(b))));
    out
}

pub(crate) fn facets(counts: &Counts, dicts: &Dicts) -> Facets {
    let by = |dim: Dim| counts.by_dim[dim as usize].as_slice();
    let mut features: Vec<(FeatureCode, u64)> = ordered(
        by(Dim::Feature),
        |code| FeatureCode::all().nth(code as usize),
        |_| "",
    );
    // Ties in taxonomy order, as the SQL search.
    features.sort_by_key(|(code, n)| (Reverse(*n), *code));
    Facets {
        features,
        countries: ordered(
            by(Dim::Country),
            |c| dicts.countries.value(c).copied(),
            |c| c.as_str(),
        ),
        cover_levels: ordered(
            by(Dim::Cover),
            |c| doc::COVER_LEVELS.get(c as usize).copied(),
            |c| doc::cover_name(*c),
        ),
        kinds: ordered(
            by(Dim::Kind),
            |c| doc::KINDS.get(c as usize).copied(),
            |k| doc::kind_name(*k),
        ),
        statuses: ordered(
            by(Dim::Status),
            |c| doc::STATUSES.get(c as usize).copied(),
            |s| doc::status_name(*s),
        ),
        tenants: ordered(
            by(Dim::Tenant),
            |c| dicts.tenants.value(c).cloned(),
            |t| t.as_str(),
        ),
        languages: ordered(
            by(Dim::Language),
            |c| dicts.languages.value(c).cloned(),
            |l| l.as_str(),
        ),
    }
}
