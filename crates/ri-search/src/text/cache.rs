//! The documents of recently asked leaves (a word in a field, a typo, a prefix), per searcher.
//!
//! Tantivy's postings do not change under a searcher, so a leaf's documents are the same until
//! the next commit, which makes a new searcher with an empty cache: as Lucene's query cache
//! keeps a filter's documents per segment. A word typed by many users, the next page of a
//! search, and a query asked again `consistentWith` a position read their leaves from here
//! instead of from the postings. Bounded by bytes, least recently used first out.

use std::sync::{Arc, Mutex, PoisonError};

use lru::LruCache;

use super::parse::LeafKey;
use crate::bits::Set;

pub(crate) struct LeafCache {
    budget: usize,
    inner: Mutex<Cached>,
}

struct Cached {
    lru: LruCache<LeafKey, Arc<Vec<Set>>>,
    bytes: usize,
}

fn bytes(sets: &[Set]) -> usize {
    sets.iter()
        .map(|s| s.words.len() * std::mem::size_of::<u64>())
        .sum::<usize>()
        + std::mem::size_of_val(sets)
}

impl LeafCache {
    /// A cache of at most `budget` bytes of sets (nothing is kept with 0).
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            budget,
            inner: Mutex::new(Cached {
                lru: LruCache::unbounded(),
                bytes: 0,
            }),
        }
    }

    pub(crate) fn get(&self, key: &LeafKey) -> Option<Arc<Vec<Set>>> {
        if self.budget == 0 {
            return None;
        }
        // Only a map and a counter: a panic elsewhere cannot leave them inconsistent.
        let mut cached = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        cached.lru.get(key).cloned()
    }

    /// Keeps `sets` for `key`, dropping the least recently used beyond the budget; a set
    /// larger than a quarter of the budget is not kept.
    pub(crate) fn put(&self, key: LeafKey, sets: Arc<Vec<Set>>) {
        let size = bytes(&sets);
        if size > self.budget / 4 {
            return;
        }
        let mut cached = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = cached.lru.put(key, sets) {
            cached.bytes = cached.bytes.saturating_sub(bytes(&old));
        }
        cached.bytes += size;
        while cached.bytes > self.budget {
            match cached.lru.pop_lru() {
                Some((_, old)) => cached.bytes = cached.bytes.saturating_sub(bytes(&old)),
                None => cached.bytes = 0,
            }
        }
    }

    /// Leaves kept and their bytes.
    #[cfg(test)]
    pub(crate) fn usage(&self) -> (usize, usize) {
        let cached = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        (cached.lru.len(), cached.bytes)
    }
}

impl std::fmt::Debug for LeafCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeafCache")
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bits;

    fn sets(blocks: usize) -> Arc<Vec<Set>> {
        Arc::new(
            (0..blocks)
                .map(|_| Set {
                    words: bits::empty(),
                    len: 0,
                })
                .collect(),
        )
    }

    #[test]
    fn keeps_the_recently_used_within_its_budget() {
        let one = bytes(&sets(1));
        let cache = LeafCache::new(4 * one);
        for word in ["a", "b", "c", "d"] {
            cache.put(LeafKey::Typo(word.to_owned()), sets(1));
        }
        assert!(cache.get(&LeafKey::Typo("a".to_owned())).is_some());
        cache.put(LeafKey::Prefix("e".to_owned()), sets(1));
        // "b" was the least recently used.
        assert!(cache.get(&LeafKey::Typo("b".to_owned())).is_none());
        assert!(cache.get(&LeafKey::Typo("a".to_owned())).is_some());
        assert_eq!(cache.usage(), (4, 4 * one));
        // Larger than a quarter of the budget: not kept, nothing dropped for it.
        cache.put(LeafKey::Prefix("f".to_owned()), sets(2));
        assert!(cache.get(&LeafKey::Prefix("f".to_owned())).is_none());
        assert_eq!(cache.usage(), (4, 4 * one));
    }

    #[test]
    fn a_budget_of_zero_keeps_nothing() {
        let cache = LeafCache::new(0);
        cache.put(LeafKey::Typo("a".to_owned()), sets(1));
        assert!(cache.get(&LeafKey::Typo("a".to_owned())).is_none());
        assert_eq!(cache.usage(), (0, 0));
    }
}
