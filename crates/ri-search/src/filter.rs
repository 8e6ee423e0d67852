//! A query as bitmaps: per block, the documents every filter keeps, the documents each facet is
//! counted over (every selection but its own: "sideways"), and the counts.

use roaring::RoaringBitmap;
use time::OffsetDateTime;

use crate::block::{Block, DIMS, Dim};
use ri_domain::instrument::InstrumentStatus;

use crate::doc;
use crate::index::Dicts;
use crate::query::{FeatureMatch, FundingFilter, Query};
use crate::tally;

/// Counting a document costs about this many bit tests of an intersection: a facet is counted
/// document by document when its set times this is below the block's
/// [`Block::intersection_cost`] for the facet, value by value by intersections otherwise.
const TALLY_COST: u64 = 10;

/// The query's filters in the index's codes.
#[derive(Debug)]
pub(crate) struct Plan {
    /// By [`Dim`]: the value codes selected (any of), `None` for no selection. A selection of
    /// values the index has never seen is `Some(empty)`: it matches nothing.
    selected: [Option<Vec<u32>>; 7],
    feature_match: FeatureMatch,
    deadline_from: Option<i128>,
    deadline_to: Option<i128>,
    funding: Option<FundingFilter>,
    now: i128,
    tally_max: Option<u64>,
}

impl Plan {
    pub(crate) fn new(
        query: &Query,
        dicts: &Dicts,
        now: OffsetDateTime,
        tally_max: Option<u64>,
    ) -> Self {
        let codes = |list: Vec<Option<u32>>| -> Option<Vec<u32>> {
            (!list.is_empty()).then(|| list.into_iter().flatten().collect())
        };
        let mut selected: [Option<Vec<u32>>; 7] = Default::default();
        selected[Dim::Feature as usize] = codes(
            query
                .features
                .iter()
                .map(|f| Some(feature_code(f)))
                .collect(),
        );
        selected[Dim::Country as usize] = codes(
            query
                .countries
                .iter()
                .map(|c| dicts.countries.code(c))
                .collect(),
        );
        selected[Dim::Cover as usize] = codes(
            query
                .cover_levels
                .iter()
                .map(|&c| Some(doc::cover_code(c)))
                .collect(),
        );
        selected[Dim::Kind as usize] = codes(
            query
                .kinds
                .iter()
                .map(|&k| Some(doc::kind_code(k)))
                .collect(),
        );
        selected[Dim::Status as usize] = codes(
            query
                .statuses_or_open()
                .into_iter()
                .map(|s| Some(doc::status_code(s)))
                .collect(),
        );
        selected[Dim::Tenant as usize] = codes(
            query
                .tenants
                .iter()
                .map(|t| dicts.tenants.code(t))
                .collect(),
        );
        selected[Dim::Language as usize] = codes(
            query
                .languages
                .iter()
                .map(|l| dicts.languages.code(l))
                .collect(),
        );
        Plan {
            selected,
            feature_match: query.feature_match,
            deadline_from: query.deadline_from.map(doc::nanos_of),
            deadline_to: query.deadline_to.map(doc::nanos_of),
            funding: query.funding.clone(),
            now: doc::nanos_of(now),
            tally_max,
        }
    }
}

fn feature_code(code: ri_taxonomy::FeatureCode) -> u32 {
    let bits = ri_taxonomy::FeatureSet::from_iter([code]).bits();
    bits.trailing_zeros()
}

/// Facet counts by [`Dim`], then by value code (statuses as of `now`).
#[derive(Debug, Default)]
pub(crate) struct Counts {
    pub(crate) by_dim: [Vec<u64>; 7],
}

impl Counts {
    fn add(&mut self, dim: Dim, code: u32, n: u64) {
        let list = &mut self.by_dim[dim as usize];
        let code = code as usize;
        if list.len() <= code {
            list.resize(code + 1, 0);
        }
        list[code] += n;
    }
}

/// Open documents past their deadline at `now`: they read as closed.
fn expired(block: &Block, now: i128) -> RoaringBitmap {
    let end = block
        .open_by_deadline
        .partition_point(|&l| block.deadline[usize::from(l)] <= now);
    let mut locals: Vec<u32> = block.open_by_deadline[..end]
        .iter()
        .map(|&l| u32::from(l))
        .collect();
    locals.sort_unstable();
    RoaringBitmap::from_sorted_iter(locals).unwrap_or_default()
}

/// The documents with status code `code` as of the query's `now`.
fn posting(block: &Block, dim: Dim, code: u32, expired: &RoaringBitmap) -> RoaringBitmap {
    let stored = block.postings[dim as usize]
        .get(code as usize)
        .cloned()
        .unwrap_or_default();
    if dim != Dim::Status || expired.is_empty() {
        return stored;
    }
    match code {
        c if c == doc::status_code(InstrumentStatus::Open) => stored - expired,
        c if c == doc::status_code(InstrumentStatus::Closed) => stored | expired,
        _ => stored,
    }
}

impl Plan {
    /// The documents of `block` a dimension's selection keeps.
    fn matching(
        &self,
        block: &Block,
        dim: Dim,
        codes: &[u32],
        expired: &RoaringBitmap,
    ) -> RoaringBitmap {
        let mut lists = codes.iter().map(|&c| posting(block, dim, c, expired));
        let Some(first) = lists.next() else {
            return RoaringBitmap::new();
        };
        if dim == Dim::Feature && self.feature_match == FeatureMatch::All {
            lists.fold(first, |acc, l| acc & l)
        } else {
            lists.fold(first, |acc, l| acc | l)
        }
    }

    /// The documents of `block` kept by the filters that are not facets.
    fn base(&self, block: &Block, text: Option<&RoaringBitmap>) -> RoaringBitmap {
        let mut base = match text {
            Some(t) => &block.live & t,
            None => block.live.clone(),
        };
        if base.is_empty() {
            return base;
        }
        if self.deadline_from.is_some() || self.deadline_to.is_some() {
            let from = self.deadline_from.unwrap_or(i128::MIN);
            let to = self
                .deadline_to
                .unwrap_or(doc::NO_DEADLINE - 1)
                .min(doc::NO_DEADLINE - 1);
            let d = |l: &u16| block.deadline[usize::from(*l)];
            let lo = block.by_deadline.partition_point(|l| d(l) < from);
            let hi = block.by_deadline.partition_point(|l| d(l) <= to);
            let mut locals: Vec<u32> = block
                .by_deadline
                .get(lo..hi.max(lo))
                .unwrap_or_default()
                .iter()
                .map(|&l| u32::from(l))
                .collect();
            locals.sort_unstable();
            base &= RoaringBitmap::from_sorted_iter(locals).unwrap_or_default();
        }
        if let Some(funding) = &self.funding {
            base = base
                .iter()
                .filter(|&l| block.doc(l).is_some_and(|d| funds(d, funding)))
                .collect();
        }
        base
    }

    /// Evaluates `block`: adds its facet counts to `counts` and returns the documents that match
    /// the whole query.
    pub(crate) fn block(
        &self,
        block: &Block,
        text: Option<&RoaringBitmap>,
        counts: &mut Counts,
    ) -> RoaringBitmap {
        let base = self.base(block, text);
        if base.is_empty() {
            return base;
        }
        let expired = expired(block, self.now);
        let chosen: Vec<(Dim, RoaringBitmap)> = DIMS
            .iter()
            .filter_map(|&dim| {
                let codes = self.selected[dim as usize].as_deref()?;
                Some((dim, self.matching(block, dim, codes, &expired)))
            })
            .collect();
        // prefix[i]: the base and the first i selections; suffix[i]: selections i onwards.
        let mut prefix = vec![base];
        for (_, m) in &chosen {
            let next = prefix.last().map(|p| p & m).unwrap_or_default();
            prefix.push(next);
        }
        let mut suffix: Vec<Option<RoaringBitmap>> = vec![None; chosen.len() + 1];
        for i in (0..chosen.len()).rev() {
            let m = &chosen[i].1;
            suffix[i] = Some(match &suffix[i + 1] {
                Some(s) => m & s,
                None => m.clone(),
            });
        }
        let result = prefix.last().cloned().unwrap_or_default();
        for (i, (dim, _)) in chosen.iter().enumerate() {
            let sideways = match &suffix[i + 1] {
                Some(s) => &prefix[i] & s,
                None => prefix[i].clone(),
            };
            self.count(block, *dim, &sideways, &expired, counts);
        }
        for dim in DIMS {
            if self.selected[dim as usize].is_none() {
                self.count(block, dim, &result, &expired, counts);
            }
        }
        result
    }

    /// Counts the values of `dim` over `set`.
    fn count(
        &self,
        block: &Block,
        dim: Dim,
        set: &RoaringBitmap,
        expired: &RoaringBitmap,
        counts: &mut Counts,
    ) {
        if set.is_empty() {
            return;
        }
        let tally = match self.tally_max {
            Some(max) => set.len() <= max,
            None => set.len().saturating_mul(TALLY_COST) < block.intersection_cost[dim as usize],
        };
        if tally {
            let list = &mut counts.by_dim[dim as usize];
            tally::tally(block, dim, set, self.now, !expired.is_empty(), list);
            return;
        }
        let lists = &block.postings[dim as usize];
        let status_now = dim == Dim::Status && !expired.is_empty();
        let codes = if status_now {
            doc::STATUSES.len()
        } else {
            lists.len()
        };
        for code in 0..codes {
            let n = if status_now {
                set.intersection_len(&posting(block, dim, code as u32, expired))
            } else {
                match lists.get(code) {
                    Some(list) if !list.is_empty() => set.intersection_len(list),
                    _ => 0,
                }
            };
            if n > 0 {
                counts.add(dim, code as u32, n);
            }
        }
    }
}

/// Whether `doc` funds, in the filter's currency, a range meeting the filter's.
pub(crate) fn funds(doc: &doc::InstrumentDoc, filter: &FundingFilter) -> bool {
    let Some(range) = &doc.funding else {
        return false;
    };
    range.currency == filter.currency
        && match (range.max, filter.min) {
            (Some(max), Some(min)) => max >= min,
            _ => true,
        }
        && match (range.min, filter.max) {
            (Some(min), Some(max)) => min <= max,
            _ => true,
        }
}
