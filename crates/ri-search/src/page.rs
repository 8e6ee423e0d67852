//! One page of the matching documents, in the query's order, after a keyset position.
//!
//! Two ways to find it, chosen by cost: read the blocks' pre-sorted orders from the position on,
//! merging blocks and skipping what does not match (cheap when many documents match: about
//! `page × live / matching` steps), or sort the matching documents themselves (cheap when few
//! do). The walk gives up after as many steps as the sort would cost.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::bits::{self, Set};
use crate::block::{BLOCK_BITS, Block};
use crate::doc;
use crate::query::{After, Hit, Order};

/// A document as the order sees it: its key (a time in nanoseconds, or a score mapped to an
/// integer of the same order), its id and where it is.
#[derive(Debug, Clone, Copy)]
struct Cand<'a> {
    key: i128,
    id: &'a str,
    block: usize,
    local: u32,
    score: f32,
}

/// `Less` when `a` comes before `b` on the page.
fn cmp(order: Order, a: &Cand<'_>, b: &Cand<'_>) -> Ordering {
    match order {
        Order::Deadline => a.key.cmp(&b.key).then_with(|| a.id.cmp(b.id)),
        Order::Updated => b.key.cmp(&a.key).then_with(|| b.id.cmp(a.id)),
        Order::Relevance => b.key.cmp(&a.key).then_with(|| a.id.cmp(b.id)),
    }
}

/// A score as an integer of the same order (`f32::total_cmp`).
fn score_key(score: f32) -> i128 {
    let bits = score.to_bits().cast_signed();
    i128::from(bits ^ (((bits >> 31).cast_unsigned() >> 1).cast_signed()))
}

fn after_cand(after: &After) -> Cand<'_> {
    let key = match after {
        After::Deadline { deadline, .. } => doc::nanos(*deadline),
        After::Updated { at, .. } => doc::nanos_of(*at),
        After::Relevance { score_bits, .. } => score_key(f32::from_bits(*score_bits)),
    };
    Cand {
        key,
        id: after.id(),
        block: 0,
        local: 0,
        score: 0.0,
    }
}

/// What a page is chosen from.
pub(crate) struct Source<'a> {
    pub(crate) blocks: &'a [Arc<Block>],
    /// By block: the documents matching the query.
    pub(crate) results: &'a [Set],
    pub(crate) total: u64,
    pub(crate) live: u64,
    /// For relevance: every text match with its score (global ordinals).
    pub(crate) scored: Option<&'a [(u32, f32)]>,
    /// Forces the walk (`Some(true)`) or the sort (`Some(false)`); tests only.
    pub(crate) walk: Option<bool>,
    /// No match has a deadline before this (open only: after `now`; a deadline window): the
    /// walk by deadline starts there.
    pub(crate) deadline_floor: Option<i128>,
}

/// A walk step (a bit test) against sorting one match (a key, an id, comparisons): the walk is
/// tried while it is expected to take fewer than this many steps per match.
const WALK_STEPS_PER_MATCH: u64 = 16;

impl<'a> Source<'a> {
    fn cand(&self, order: Order, block: usize, local: u32, score: f32) -> Option<Cand<'a>> {
        let b = self.blocks.get(block)?;
        let d = b.doc(local)?;
        let at = local as usize;
        let key = match order {
            Order::Deadline => b.deadline[at],
            Order::Updated => b.updated[at],
            Order::Relevance => score_key(score),
        };
        Some(Cand {
            key,
            id: d.id.as_str(),
            block,
            local,
            score,
        })
    }

    /// The first `first` documents after `after`, and whether more follow.
    pub(crate) fn page(
        &self,
        order: Order,
        after: Option<&After>,
        first: usize,
    ) -> (Vec<Hit>, bool) {
        let want = first.saturating_add(1);
        let after = after.map(after_cand);
        let walked = match order {
            Order::Relevance => None,
            _ if self.total == 0 => Some(Vec::new()),
            _ => {
                let steps = want as u64 * self.live / self.total.max(1);
                let budget = self.total.saturating_mul(WALK_STEPS_PER_MATCH);
                match self.walk {
                    Some(true) => self.walk(order, after.as_ref(), want, u64::MAX),
                    Some(false) => None,
                    None if steps < budget => self.walk(order, after.as_ref(), want, budget),
                    None => None,
                }
            }
        };
        let mut cands = match walked {
            Some(cands) => cands,
            None => self.sort(order, after.as_ref(), want),
        };
        let more = cands.len() > first;
        cands.truncate(first);
        let hits = cands
            .iter()
            .filter_map(|c| {
                let doc = Arc::clone(self.blocks.get(c.block)?.doc(c.local)?);
                let id = doc.id.clone();
                let (position, score) = match order {
                    Order::Deadline => (
                        After::Deadline {
                            deadline: doc.deadline,
                            id,
                        },
                        None,
                    ),
                    Order::Updated => (
                        After::Updated {
                            at: doc.updated_at,
                            id,
                        },
                        None,
                    ),
                    Order::Relevance => (
                        After::Relevance {
                            score_bits: c.score.to_bits(),
                            id,
                        },
                        Some(c.score),
                    ),
                };
                Some(Hit {
                    doc,
                    position,
                    score,
                })
            })
            .collect();
        (hits, more)
    }

    /// Sorts every matching document after `after` and keeps the first `want`.
    fn sort(&self, order: Order, after: Option<&Cand<'_>>, want: usize) -> Vec<Cand<'a>> {
        let mut cands: Vec<Cand<'a>> = match (order, self.scored) {
            (Order::Relevance, Some(scored)) => self.best_scored(scored, after, want),
            _ => self
                .results
                .iter()
                .enumerate()
                .flat_map(|(block, r)| r.iter().map(move |local| (block, local)))
                .filter_map(|(block, local)| self.cand(order, block, local, 0.0))
                .collect(),
        };
        if let Some(after) = after {
            cands.retain(|c| cmp(order, c, after).is_gt());
        }
        if cands.len() > want {
            cands.select_nth_unstable_by(want, |a, b| cmp(order, a, b));
            cands.truncate(want);
        }
        cands.sort_unstable_by(|a, b| cmp(order, a, b));
        cands
    }

    /// The matches in the result after `after` whose score is among the `want` best (ties
    /// included), as candidates: a document is looked up (for its id) only if its score makes
    /// the page, not for every match.
    fn best_scored(
        &self,
        scored: &[(u32, f32)],
        after: Option<&Cand<'_>>,
        want: usize,
    ) -> Vec<Cand<'a>> {
        let to_cand = |ord: u32, score: f32| {
            self.cand(
                Order::Relevance,
                (ord >> BLOCK_BITS) as usize,
                ord & 0xFFFF,
                score,
            )
        };
        let mut keyed: Vec<(i128, u32, f32)> = scored
            .iter()
            .filter(|&&(ord, _)| {
                self.results
                    .get((ord >> BLOCK_BITS) as usize)
                    .is_some_and(|r| r.contains(ord & 0xFFFF))
            })
            .map(|&(ord, score)| (score_key(score), ord, score))
            .filter(|&(key, ord, score)| match after {
                // Higher scores came before; an equal one is decided by the id.
                Some(after) if key > after.key => false,
                Some(after) if key == after.key => {
                    to_cand(ord, score).is_some_and(|c| cmp(Order::Relevance, &c, after).is_gt())
                }
                _ => true,
            })
            .collect();
        if want > 0 && keyed.len() > want {
            keyed.select_nth_unstable_by(want - 1, |a, b| b.0.cmp(&a.0));
            let least = keyed[want - 1].0;
            keyed.retain(|&(key, _, _)| key >= least);
        }
        keyed
            .into_iter()
            .filter_map(|(_, ord, score)| to_cand(ord, score))
            .collect()
    }

    /// Walks the blocks' sorted orders from `after` on, merging them; `None` when `budget`
    /// steps did not find `want` documents.
    fn walk(
        &self,
        order: Order,
        after: Option<&Cand<'_>>,
        want: usize,
        budget: u64,
    ) -> Option<Vec<Cand<'a>>> {
        let lists: Vec<&[u16]> = self
            .blocks
            .iter()
            .map(|b| match order {
                Order::Updated => b.by_updated.as_slice(),
                _ => b.by_deadline.as_slice(),
            })
            .collect();
        let floor = match order {
            Order::Deadline => self.deadline_floor,
            _ => None,
        };
        let mut next: Vec<usize> = lists
            .iter()
            .enumerate()
            .map(|(block, list)| {
                let after = match after {
                    None => 0,
                    Some(after) => list.partition_point(|&l| {
                        self.cand(order, block, u32::from(l), 0.0)
                            .is_none_or(|c| cmp(order, &c, after).is_le())
                    }),
                };
                let floor = floor.map_or(0, |floor| {
                    let b = &self.blocks[block];
                    list.partition_point(|&l| b.deadline[usize::from(l)] < floor)
                });
                after.max(floor)
            })
            .collect();
        let mut heads: Vec<Option<Cand<'a>>> = vec![None; lists.len()];
        let mut steps = 0u64;
        let mut out = Vec::with_capacity(want);
        while out.len() < want {
            for block in 0..lists.len() {
                while heads[block].is_none() && next[block] < lists[block].len() {
                    let local = u32::from(lists[block][next[block]]);
                    next[block] += 1;
                    steps += 1;
                    if self
                        .results
                        .get(block)
                        .is_some_and(|r| bits::test(&r.words, local))
                    {
                        heads[block] = self.cand(order, block, local, 0.0);
                    }
                }
            }
            if steps > budget {
                return None;
            }
            let best = heads
                .iter()
                .enumerate()
                .filter_map(|(i, h)| h.map(|h| (i, h)))
                .min_by(|(_, a), (_, b)| cmp(order, a, b));
            match best {
                Some((i, cand)) => {
                    out.push(cand);
                    heads[i] = None;
                }
                None => break,
            }
        }
        Some(out)
    }
}
