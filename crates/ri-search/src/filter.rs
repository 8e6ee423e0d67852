//! A query as bitmaps: per block, the documents every filter keeps, the documents each facet is
//! counted over (every selection but its own: "sideways"), and the counts.

use time::OffsetDateTime;

use crate::bits::{self, Posting, Set};
use crate::block::{Block, DIMS, Dim};
use ri_domain::instrument::InstrumentStatus;

use crate::doc;
use crate::index::Dicts;
use crate::query::{FeatureMatch, FundingFilter, Query};
use crate::tally;

/// By [`Dim`]: counting one document's values from the columns costs about this many bit tests
/// of an intersection (features: eight byte-lane additions; countries and languages: a loop over
/// a mask). A facet is counted document by document when its set's size times this is below
/// the block's [`Block::intersection_cost`] for the facet, value by value otherwise.
const TALLY_COST: [u64; 7] = [4, 5, 2, 2, 2, 3, 5];

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

/// The buffers a search works in, one set of a block's documents each (8 KB), reused from
/// block to block and, through [`Scratch::with`], from search to search on a thread: freeing
/// and allocating a dozen 8 KB buffers per search was a tenth of its time.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    base: Vec<u64>,
    expired: Vec<u64>,
    spare: Vec<u64>,
    side: Vec<u64>,
    suffix: Vec<u64>,
    /// By selection: the documents it keeps.
    chosen: Vec<Vec<u64>>,
    /// `prefix[j]`: the base and selections `0..=j`.
    prefix: Vec<Vec<u64>>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

impl Scratch {
    /// Runs `f` with this thread's buffers (fresh ones if they are in use, which a search
    /// never does).
    pub(crate) fn with<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => f(&mut scratch),
            Err(_) => f(&mut Scratch::default()),
        })
    }
}

/// `list[i]`, made a zeroed set of a block's documents if it is not one yet.
fn buffer(list: &mut Vec<Vec<u64>>, i: usize) {
    while list.len() <= i {
        list.push(bits::empty());
    }
}

fn sized(buffer: &mut Vec<u64>) -> &mut [u64] {
    if buffer.len() != bits::WORDS {
        *buffer = bits::empty();
    }
    buffer
}

/// Open documents past their deadline at `now` (they read as closed) into `out`; whether any.
fn expired(block: &Block, now: i128, out: &mut Vec<u64>) -> bool {
    let end = block
        .open_by_deadline
        .partition_point(|&l| block.deadline[usize::from(l)] <= now);
    if end == 0 {
        return false;
    }
    let out = sized(out);
    out.fill(0);
    for &l in &block.open_by_deadline[..end] {
        bits::set(out, u32::from(l));
    }
    true
}

fn stored(block: &Block, dim: Dim, code: u32) -> Option<&Posting> {
    block.postings[dim as usize].get(code as usize)
}

impl Plan {
    /// The documents of `block` a dimension's selection keeps, into `out` (statuses as of
    /// `now`: `expired` moves open documents to closed).
    fn matching(
        &self,
        block: &Block,
        dim: Dim,
        codes: &[u32],
        expired: Option<&[u64]>,
        out: &mut [u64],
        spare: &mut [u64],
    ) {
        let Some((&first, rest)) = codes.split_first() else {
            out.fill(0);
            return;
        };
        match stored(block, dim, first) {
            Some(p) => p.copy_to(out),
            None => out.fill(0),
        }
        if dim == Dim::Feature && self.feature_match == FeatureMatch::All {
            for &code in rest {
                match stored(block, dim, code) {
                    Some(p) => p.and_to(out, spare),
                    None => out.fill(0),
                }
            }
        } else {
            for &code in rest {
                if let Some(p) = stored(block, dim, code) {
                    p.or_to(out);
                }
            }
        }
        if let Some(expired) = expired.filter(|_| dim == Dim::Status) {
            // The expired are stored open: only one of open and closed chosen moves them.
            let open = codes.contains(&doc::status_code(InstrumentStatus::Open));
            let closed = codes.contains(&doc::status_code(InstrumentStatus::Closed));
            if open && !closed {
                bits::and_not_assign(out, expired);
            } else if closed && !open {
                bits::or_assign(out, expired);
            }
        }
    }

    /// The documents of `block` kept by the filters that are not facets, into `out`; how many.
    fn base(&self, block: &Block, text: Option<&Set>, out: &mut [u64], spare: &mut [u64]) -> u64 {
        block.live.copy_to(out);
        if let Some(t) = text {
            if t.len == 0 {
                return 0;
            }
            bits::and_assign(out, &t.words);
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
            spare.fill(0);
            for &l in block.by_deadline.get(lo..hi.max(lo)).unwrap_or_default() {
                bits::set(spare, u32::from(l));
            }
            bits::and_assign(out, spare);
        }
        if let Some(funding) = &self.funding {
            let unfunded: Vec<u32> = bits::Locals::new(out)
                .filter(|&l| !block.doc(l).is_some_and(|d| funds(d, funding)))
                .collect();
            for l in unfunded {
                if let Some(w) = out.get_mut((l >> 6) as usize) {
                    *w &= !(1 << (l & 63));
                }
            }
        }
        bits::count(out)
    }

    /// Whether `dim`'s facet is counted over the result rather than sideways: a facet without
    /// a selection, and the features when they must ALL match, where choosing one more narrows
    /// the result, so what choosing it would give is its count within the result.
    fn counted_over_result(&self, dim: Dim) -> bool {
        self.selected[dim as usize].is_none()
            || (dim == Dim::Feature && self.feature_match == FeatureMatch::All)
    }

    /// Evaluates `block`: adds its facet counts to `counts` and returns the documents that match
    /// the whole query.
    pub(crate) fn block(
        &self,
        block: &Block,
        text: Option<&Set>,
        counts: &mut Counts,
        s: &mut Scratch,
    ) -> Set {
        let spare = sized(&mut s.spare);
        let base_len = self.base(block, text, sized(&mut s.base), spare);
        if base_len == 0 {
            return Set::default();
        }
        let expired = expired(block, self.now, &mut s.expired).then_some(s.expired.as_slice());
        let mut dims = [Dim::Feature; 7];
        let mut k = 0;
        for dim in DIMS {
            let Some(codes) = self.selected[dim as usize].as_deref() else {
                continue;
            };
            buffer(&mut s.chosen, k);
            self.matching(block, dim, codes, expired, &mut s.chosen[k], spare);
            dims[k] = dim;
            k += 1;
        }
        // prefix[j]: the base and selections 0..=j; the last is the result.
        let mut lens = [0u64; 8];
        lens[0] = base_len;
        for j in 0..k {
            buffer(&mut s.prefix, j);
            let (before, at) = s.prefix.split_at_mut(j);
            let previous = before.last().map_or(s.base.as_slice(), Vec::as_slice);
            lens[j + 1] = bits::and(&mut at[0], previous, &s.chosen[j]);
        }
        // Sideways: selection j's facet over the base and every other selection, the prefix
        // before j and the suffix after it; the suffix is built from the end.
        for j in (0..k).rev() {
            let previous = match j {
                0 => s.base.as_slice(),
                _ => s.prefix[j - 1].as_slice(),
            };
            let sideways = !self.counted_over_result(dims[j]);
            if j + 1 == k {
                if sideways {
                    self.count(block, dims[j], previous, lens[j], expired, counts);
                }
                if j > 0 {
                    sized(&mut s.suffix).copy_from_slice(&s.chosen[j]);
                }
            } else {
                if sideways {
                    let side = sized(&mut s.side);
                    let n = bits::and(side, previous, &s.suffix);
                    self.count(block, dims[j], side, n, expired, counts);
                }
                if j > 0 {
                    bits::and_assign(&mut s.suffix, &s.chosen[j]);
                }
            }
        }
        let result = match k {
            0 => s.base.as_slice(),
            _ => s.prefix[k - 1].as_slice(),
        };
        let len = lens[k];
        for dim in DIMS {
            if self.counted_over_result(dim) {
                self.count(block, dim, result, len, expired, counts);
            }
        }
        if len == 0 {
            return Set::default();
        }
        Set {
            words: result.to_vec(),
            len,
        }
    }

    /// Counts the values of `dim` over `set` (of `n` documents).
    fn count(
        &self,
        block: &Block,
        dim: Dim,
        set: &[u64],
        n: u64,
        expired: Option<&[u64]>,
        counts: &mut Counts,
    ) {
        if n == 0 {
            return;
        }
        let tally = match self.tally_max {
            Some(max) => n <= max,
            None => {
                n.saturating_mul(TALLY_COST[dim as usize]) < block.intersection_cost[dim as usize]
            }
        };
        if tally {
            let list = &mut counts.by_dim[dim as usize];
            tally::tally(block, dim, set, self.now, expired.is_some(), list);
            return;
        }
        let lists = &block.postings[dim as usize];
        match expired.filter(|_| dim == Dim::Status) {
            Some(expired) => {
                let moved = bits::count_and(set, expired);
                let open = doc::status_code(InstrumentStatus::Open);
                let closed = doc::status_code(InstrumentStatus::Closed);
                for code in 0..doc::STATUSES.len() as u32 {
                    let n = lists.get(code as usize).map_or(0, |p| p.count_in(set));
                    let n = match code {
                        c if c == open => n.saturating_sub(moved),
                        c if c == closed => n + moved,
                        _ => n,
                    };
                    if n > 0 {
                        counts.add(dim, code, n);
                    }
                }
            }
            None => {
                for (code, list) in lists.iter().enumerate() {
                    if list.is_empty() {
                        continue;
                    }
                    let n = list.count_in(set);
                    if n > 0 {
                        counts.add(dim, code as u32, n);
                    }
                }
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
