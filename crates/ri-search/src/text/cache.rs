//! What recent text searches read, per searcher: the documents of a leaf (a word in a field, a
//! typo, a prefix) and a ranked text's scored matches.
//!
//! Tantivy's postings do not change under a searcher, so both are the same until the next
//! commit, which makes a new searcher with an empty cache: as Lucene's query cache keeps a
//! filter's documents per segment. A word typed by many users, the next page of a search, and
//! a query asked again `consistentWith` a position read them from here instead of from the
//! postings. Bounded by bytes, least recently used first out.

use std::sync::{Arc, Mutex, PoisonError};

use lru::LruCache;

use super::parse::LeafKey;
use crate::bits::Set;

/// What is kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    /// A leaf's documents, by block.
    Leaf(LeafKey),
    /// A ranked search text's matches with their scores.
    Ranked(String),
}

#[derive(Clone)]
pub(crate) enum Entry {
    Sets(Arc<Vec<Set>>),
    Scored(Arc<Vec<(u32, f32)>>),
}

pub(crate) struct TextCache {
    budget: usize,
    inner: Mutex<Cached>,
}

struct Cached {
    lru: LruCache<Key, Entry>,
    bytes: usize,
}

fn bytes(entry: &Entry) -> usize {
    match entry {
        Entry::Sets(sets) => {
            sets.iter()
                .map(|s| s.words.len() * std::mem::size_of::<u64>())
                .sum::<usize>()
                + std::mem::size_of_val(sets.as_slice())
        }
        Entry::Scored(scored) => std::mem::size_of_val(scored.as_slice()),
    }
}

impl TextCache {
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

    pub(crate) fn get(&self, key: &Key) -> Option<Entry> {
        if self.budget == 0 {
            return None;
        }
        // Only a map and a counter: a panic elsewhere cannot leave them inconsistent.
        let mut cached = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        cached.lru.get(key).cloned()
    }

    /// Keeps `entry` for `key`, dropping the least recently used beyond the budget; an entry
    /// larger than a quarter of the budget is not kept.
    pub(crate) fn put(&self, key: Key, entry: Entry) {
        let size = bytes(&entry);
        if size > self.budget / 4 {
            return;
        }
        let mut cached = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = cached.lru.put(key, entry) {
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

impl std::fmt::Debug for TextCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextCache")
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bits;

    fn sets(blocks: usize) -> Entry {
        Entry::Sets(Arc::new(
            (0..blocks)
                .map(|_| Set {
                    words: bits::empty(),
                    len: 0,
                })
                .collect(),
        ))
    }

    fn typo(word: &str) -> Key {
        Key::Leaf(LeafKey::Typo(word.to_owned()))
    }

    #[test]
    fn keeps_the_recently_used_within_its_budget() {
        let one = bytes(&sets(1));
        let cache = TextCache::new(4 * one);
        for word in ["a", "b", "c", "d"] {
            cache.put(typo(word), sets(1));
        }
        assert!(cache.get(&typo("a")).is_some());
        // A ranked text's matches, as large as a block's set.
        let matches = one / std::mem::size_of::<(u32, f32)>();
        let ranked = Entry::Scored(Arc::new(vec![(1, 1.0); matches]));
        assert_eq!(bytes(&ranked), one);
        cache.put(Key::Ranked("e".to_owned()), ranked);
        // "b" was the least recently used.
        assert!(cache.get(&typo("b")).is_none());
        assert!(cache.get(&typo("a")).is_some());
        assert!(cache.get(&Key::Ranked("e".to_owned())).is_some());
        assert_eq!(cache.usage(), (4, 4 * one));
        // Larger than a quarter of the budget: not kept, nothing dropped for it.
        cache.put(typo("f"), sets(2));
        assert!(cache.get(&typo("f")).is_none());
        assert_eq!(cache.usage(), (4, 4 * one));
    }

    #[test]
    fn a_budget_of_zero_keeps_nothing() {
        let cache = TextCache::new(0);
        cache.put(typo("a"), sets(1));
        assert!(cache.get(&typo("a")).is_none());
        assert_eq!(cache.usage(), (0, 0));
    }
}
