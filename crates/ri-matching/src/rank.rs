//! The best instruments for a project, and for many projects at once.
//!
//! One pass over the instruments with a bounded heap of the best `n` so far: each instrument
//! costs its status checks and a few bit operations; the country rule (a short list scan) runs
//! only for an instrument good enough to enter the heap, and the explanation only for the
//! `n` that are returned.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::num::NonZeroUsize;

use ri_taxonomy::FeatureSet;
use time::OffsetDateTime;

use crate::rules::{countries_agree, instrument_rule};
use crate::score::Scorer;
use crate::{InstrumentProfile, Match, ProjectProfile, Weights};

/// The `n` best eligible instruments for `project` at `now` with a score of at least
/// `min_score` (and above 0: an instrument with nothing for the project is no match), best
/// first, each with its index in `instruments`. Equal scores keep the order of
/// `instruments`, so pass them sorted by what should win a tie (say, the soonest deadline).
///
/// Equals scoring every instrument with [`score`](crate::score), dropping the ineligible
/// ones, sorting and taking `n`, at about 12 ns an instrument (`docs/performance.md`).
pub fn top_matches(
    weights: &Weights,
    project: &ProjectProfile,
    instruments: &[InstrumentProfile],
    n: usize,
    min_score: f64,
    now: OffsetDateTime,
) -> Vec<(usize, Match)> {
    let candidates = instruments
        .iter()
        .enumerate()
        .filter(|(_, instrument)| instrument_rule(instrument, now).is_none())
        .map(|(index, instrument)| (index, instrument.features));
    rank(weights, project, instruments, candidates, n, min_score, now)
}

/// [`top_matches`] for every project, in the order of `projects`: the full matrix of projects
/// by instruments, keeping each project's best `n`.
///
/// The rules that depend on the instrument alone are checked once for all projects, and the
/// projects are shared out over the machine's cores (scoped threads; no I/O).
pub fn matrix(
    weights: &Weights,
    projects: &[ProjectProfile],
    instruments: &[InstrumentProfile],
    n: usize,
    min_score: f64,
    now: OffsetDateTime,
) -> Vec<Vec<(usize, Match)>> {
    // Compact: 16 bytes an instrument instead of a whole profile, so the inner loop streams
    // through cache.
    let candidates: Vec<(usize, FeatureSet)> = instruments
        .iter()
        .enumerate()
        .filter(|(_, instrument)| instrument_rule(instrument, now).is_none())
        .map(|(index, instrument)| (index, instrument.features))
        .collect();
    let row = |project: &ProjectProfile| {
        let candidates = candidates.iter().copied();
        rank(weights, project, instruments, candidates, n, min_score, now)
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .min(projects.len());
    if threads <= 1 {
        return projects.iter().map(row).collect();
    }
    let chunk = projects.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = projects
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().map(row).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| match worker.join() {
                Ok(rows) => rows,
                // A panic in scoring is a bug; carry it to the caller as it was.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

/// The bounded-heap pass over candidates that passed the instrument-only rules, in index order.
fn rank(
    weights: &Weights,
    project: &ProjectProfile,
    instruments: &[InstrumentProfile],
    candidates: impl Iterator<Item = (usize, FeatureSet)>,
    n: usize,
    min_score: f64,
    now: OffsetDateTime,
) -> Vec<(usize, Match)> {
    if n == 0 {
        return Vec::new();
    }
    let scorer = Scorer::new(weights, project);
    // A max-heap of the kept entries whose top is the worst of them.
    let mut kept: BinaryHeap<Entry> = BinaryHeap::with_capacity(n.min(1024) + 1);
    for (index, features) in candidates {
        if !scorer.may_score(features) {
            continue;
        }
        let score = scorer.score(features);
        if !(score > 0.0 && score >= min_score) {
            continue;
        }
        let entry = Entry { score, index };
        if kept.len() == n && kept.peek().is_some_and(|worst| entry >= *worst) {
            continue;
        }
        // Only now the rule that needs both sides; it excludes, whatever the score.
        if !instruments
            .get(index)
            .is_some_and(|instrument| countries_agree(project, instrument))
        {
            continue;
        }
        if kept.len() == n {
            kept.pop();
        }
        kept.push(entry);
    }
    kept.into_sorted_vec()
        .into_iter()
        .filter_map(|Entry { index, .. }| {
            let instrument = instruments.get(index)?;
            Some((index, scorer.explain(instrument, now)))
        })
        .collect()
}

/// A kept candidate. Ordered so that "greater" is worse: a lower score, or an equal score
/// further down the input.
#[derive(Debug, Clone, Copy)]
struct Entry {
    score: f64,
    index: usize,
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then(self.index.cmp(&other.index))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}
