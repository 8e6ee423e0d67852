//! A block's sets of documents as plain words, and the few word loops a search is made of.
//!
//! A block's 65,536 local ordinals fit in 1,024 words. A facet value's documents
//! ([`Posting`]) are kept as roaring keeps a container (a sorted list while there are at most
//! 4,096, the words beyond) but readable, so that a search can work on its own buffers word by
//! word: a selection is its values' words or'ed into a buffer, the sideways sets and the result
//! are a few passes of `&` over buffers that stay in the cache, and nothing is allocated per
//! operation.
//!
//! The default x86-64 target has no `popcnt` instruction; without it `count_ones` costs a
//! dozen instructions a word and counting is most of a search. The loops that count run inside
//! `fearless_simd`'s `vectorize`, which compiles them for the best level the CPU reports at run
//! time (AVX2, or SSE4.2 with `popcnt`), falling back to the baseline: portable, and no
//! `unsafe` in this crate.

use crate::block::BLOCK_SIZE;

/// Words of a block's set.
pub(crate) const WORDS: usize = BLOCK_SIZE / 64;

/// A list longer than this becomes words. Roaring converts at 4,096, where the words take less
/// room; counting a value over a set costs a bit test per element of a list against a quarter
/// of that per word (with `popcnt`), so words count faster from 256 documents on. 1,024 keeps
/// a value of a few documents small and costs at most 6 KB more per value and block.
pub(crate) const LIST_MAX: usize = 1024;

/// Evaluates `$e` compiled for the best instruction level the CPU has (see the module's doc).
/// A macro, not a function taking a closure: each level gets a closure of its own, called
/// once, which the compiler then inlines into the level's `#[target_feature]` function even
/// when it is large (a closure called from three places was left out of line, compiled for
/// the baseline).
macro_rules! fast {
    ($e:expr) => {{
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        {
            use fearless_simd::Simd as _;
            let level = fearless_simd::Level::new();
            if let Some(avx2) = level.as_avx2() {
                avx2.vectorize(|| $e)
            } else if let Some(sse) = level.as_sse4_2() {
                sse.vectorize(|| $e)
            } else {
                $e
            }
        }
        #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
        {
            $e
        }
    }};
}
pub(crate) use fast;

/// Whether counting bits is cheap here (a `popcnt` instruction or better): the cost model
/// weighs a word's count by it.
pub(crate) fn fast_count() -> bool {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        fearless_simd::Level::new().as_sse4_2().is_some()
    }
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
    {
        true
    }
}

#[inline(always)]
fn count_words(a: &[u64]) -> u64 {
    a.iter().map(|w| u64::from(w.count_ones())).sum()
}

#[inline(always)]
fn count_and_words(a: &[u64], b: &[u64]) -> u64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| u64::from((x & y).count_ones()))
        .sum()
}

#[inline(always)]
fn and_words(dst: &mut [u64], a: &[u64], b: &[u64]) -> u64 {
    let mut n = 0;
    for ((d, x), y) in dst.iter_mut().zip(a).zip(b) {
        *d = x & y;
        n += u64::from(d.count_ones());
    }
    n
}

/// Documents in `a`.
pub(crate) fn count(a: &[u64]) -> u64 {
    fast!(count_words(a))
}

/// Documents in both `a` and `b`.
pub(crate) fn count_and(a: &[u64], b: &[u64]) -> u64 {
    fast!(count_and_words(a, b))
}

/// `dst = a & b`; the documents in it.
pub(crate) fn and(dst: &mut [u64], a: &[u64], b: &[u64]) -> u64 {
    fast!(and_words(dst, a, b))
}

/// `dst &= a`.
pub(crate) fn and_assign(dst: &mut [u64], a: &[u64]) {
    for (d, x) in dst.iter_mut().zip(a) {
        *d &= x;
    }
}

/// `dst &= !a`.
pub(crate) fn and_not_assign(dst: &mut [u64], a: &[u64]) {
    for (d, x) in dst.iter_mut().zip(a) {
        *d &= !x;
    }
}

/// `dst |= a`.
pub(crate) fn or_assign(dst: &mut [u64], a: &[u64]) {
    for (d, x) in dst.iter_mut().zip(a) {
        *d |= x;
    }
}

#[inline]
pub(crate) fn set(words: &mut [u64], local: u32) {
    if let Some(w) = words.get_mut((local >> 6) as usize) {
        *w |= 1 << (local & 63);
    }
}

#[inline]
pub(crate) fn test(words: &[u64], local: u32) -> bool {
    words
        .get((local >> 6) as usize)
        .is_some_and(|w| w & (1 << (local & 63)) != 0)
}

/// A zeroed set of a block's documents.
pub(crate) fn empty() -> Vec<u64> {
    vec![0; WORDS]
}

/// The documents of a set, in order, a batch at a time (as `roaring`'s `next_many`).
#[derive(Debug)]
pub(crate) struct Locals<'a> {
    words: &'a [u64],
    at: usize,
    bits: u64,
}

impl<'a> Locals<'a> {
    pub(crate) fn new(words: &'a [u64]) -> Self {
        Self {
            words,
            at: 0,
            bits: words.first().copied().unwrap_or(0),
        }
    }

    /// Fills `out` with the next documents; empty at the end.
    pub(crate) fn next_many<'b>(&mut self, out: &'b mut [u32]) -> &'b [u32] {
        let mut n = 0;
        while n < out.len() {
            if self.bits == 0 {
                self.at += 1;
                match self.words.get(self.at) {
                    Some(&w) => self.bits = w,
                    None => break,
                }
                continue;
            }
            out[n] = ((self.at as u32) << 6) | self.bits.trailing_zeros();
            self.bits &= self.bits - 1;
            n += 1;
        }
        &out[..n]
    }
}

impl Iterator for Locals<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        while self.bits == 0 {
            self.at += 1;
            self.bits = *self.words.get(self.at)?;
        }
        let local = ((self.at as u32) << 6) | self.bits.trailing_zeros();
        self.bits &= self.bits - 1;
        Some(local)
    }
}

/// A set of a block's documents that a search produced: its words (none when empty) and size.
#[derive(Debug, Clone, Default)]
pub(crate) struct Set {
    pub(crate) words: Vec<u64>,
    pub(crate) len: u64,
}

impl Set {
    pub(crate) fn contains(&self, local: u32) -> bool {
        test(&self.words, local)
    }

    /// This set or `other`.
    pub(crate) fn union_with(&mut self, other: &Set) {
        if other.words.is_empty() {
            return;
        }
        if self.words.is_empty() {
            self.clone_from(other);
        } else {
            or_assign(&mut self.words, &other.words);
            self.len = count(&self.words);
        }
    }

    /// This set and `other`.
    pub(crate) fn intersect_with(&mut self, other: &Set) {
        if other.words.is_empty() {
            *self = Set::default();
        } else if !self.words.is_empty() {
            and_assign(&mut self.words, &other.words);
            self.len = count(&self.words);
        }
    }

    /// Adds `local` (making the words of an empty set first), counting it if it is new.
    pub(crate) fn insert(&mut self, local: u32) {
        if self.words.is_empty() {
            self.words = empty();
        }
        if !self.contains(local) {
            set(&mut self.words, local);
            self.len += 1;
        }
    }

    pub(crate) fn iter(&self) -> Locals<'_> {
        Locals::new(&self.words)
    }
}

/// The documents of a block with one facet value.
#[derive(Debug, Clone)]
pub(crate) enum Posting {
    /// Sorted, at most [`LIST_MAX`] (or the index's `list_max`).
    List(Vec<u16>),
    /// [`WORDS`] words, and how many bits are set.
    Words { words: Box<[u64]>, len: u32 },
}

impl Default for Posting {
    fn default() -> Self {
        Self::List(Vec::new())
    }
}

impl Posting {
    pub(crate) fn len(&self) -> u64 {
        match self {
            Self::List(list) => list.len() as u64,
            Self::Words { len, .. } => u64::from(*len),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds `local`; whether it was not there. A list longer than `list_max` becomes words.
    pub(crate) fn insert(&mut self, local: u16, list_max: usize) -> bool {
        match self {
            Self::List(list) => {
                let Err(at) = list.binary_search(&local) else {
                    return false;
                };
                list.insert(at, local);
                if list.len() > list_max {
                    let mut words = empty();
                    for &l in list.iter() {
                        set(&mut words, u32::from(l));
                    }
                    *self = Self::Words {
                        words: words.into_boxed_slice(),
                        len: list.len() as u32,
                    };
                }
                true
            }
            Self::Words { words, len } => {
                let (w, bit) = (usize::from(local >> 6), 1u64 << (local & 63));
                match words.get_mut(w) {
                    Some(word) if *word & bit == 0 => {
                        *word |= bit;
                        *len += 1;
                        true
                    }
                    _ => false,
                }
            }
        }
    }

    /// Removes `local`; whether it was there. Words with fewer than three quarters of
    /// `list_max` become a list again (not at `list_max`, so that a value going back and forth
    /// around it is not converted each time).
    pub(crate) fn remove(&mut self, local: u16, list_max: usize) -> bool {
        match self {
            Self::List(list) => match list.binary_search(&local) {
                Ok(at) => {
                    list.remove(at);
                    true
                }
                Err(_) => false,
            },
            Self::Words { words, len } => {
                let (w, bit) = (usize::from(local >> 6), 1u64 << (local & 63));
                let removed = match words.get_mut(w) {
                    Some(word) if *word & bit != 0 => {
                        *word &= !bit;
                        *len -= 1;
                        true
                    }
                    _ => false,
                };
                if (*len as usize) < list_max / 4 * 3 {
                    let list: Vec<u16> = Locals::new(words).map(|l| l as u16).collect();
                    *self = Self::List(list);
                }
                removed
            }
        }
    }

    /// Its documents in order.
    pub(crate) fn locals(&self) -> Vec<u16> {
        match self {
            Self::List(list) => list.clone(),
            Self::Words { words, .. } => Locals::new(words).map(|l| l as u16).collect(),
        }
    }

    /// `dst = self`.
    pub(crate) fn copy_to(&self, dst: &mut [u64]) {
        match self {
            Self::List(list) => {
                dst.fill(0);
                for &l in list {
                    set(dst, u32::from(l));
                }
            }
            Self::Words { words, .. } => dst.copy_from_slice(&words[..dst.len()]),
        }
    }

    /// `dst |= self`.
    pub(crate) fn or_to(&self, dst: &mut [u64]) {
        match self {
            Self::List(list) => {
                for &l in list {
                    set(dst, u32::from(l));
                }
            }
            Self::Words { words, .. } => or_assign(dst, words),
        }
    }

    /// `dst &= self`, with `spare` as room to work in.
    pub(crate) fn and_to(&self, dst: &mut [u64], spare: &mut [u64]) {
        match self {
            Self::List(list) => {
                spare.fill(0);
                for &l in list {
                    if test(dst, u32::from(l)) {
                        set(spare, u32::from(l));
                    }
                }
                dst.copy_from_slice(&spare[..dst.len()]);
            }
            Self::Words { words, .. } => and_assign(dst, words),
        }
    }

    /// Documents both in `self` and in `set`.
    pub(crate) fn count_in(&self, set: &[u64]) -> u64 {
        match self {
            Self::List(list) => list.iter().filter(|&&l| test(set, u32::from(l))).count() as u64,
            Self::Words { words, .. } => count_and(words, set),
        }
    }

    /// About what [`Posting::count_in`] costs, in list-element bit tests: a word counted costs a
    /// quarter of one with a `popcnt` instruction, as much without.
    pub(crate) fn count_cost(&self, fast_count: bool) -> u64 {
        match self {
            Self::List(list) => list.len() as u64,
            Self::Words { .. } if fast_count => (WORDS / 4) as u64,
            Self::Words { .. } => WORDS as u64,
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Self::List(list) => 2 * list.capacity(),
            Self::Words { words, .. } => 8 * words.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_posting_changes_form_and_keeps_its_documents() {
        const MAX: usize = 4096;
        let mut p = Posting::default();
        let mut want = std::collections::BTreeSet::new();
        for i in 0..5000u32 {
            let l = ((i * 7919) % 65_536) as u16;
            assert_eq!(p.insert(l, MAX), want.insert(l));
        }
        assert!(matches!(p, Posting::Words { .. }));
        assert!(!p.insert(0, MAX));
        assert_eq!(p.len(), want.len() as u64);
        assert_eq!(p.locals(), want.iter().copied().collect::<Vec<_>>());
        for l in want.clone().iter().take(2500) {
            assert!(p.remove(*l, MAX));
            want.remove(l);
        }
        assert!(!p.remove(0, MAX));
        assert!(matches!(p, Posting::List(_)));
        assert_eq!(p.locals(), want.iter().copied().collect::<Vec<_>>());
        let mut set = empty();
        for l in [1u32, 7, 65_535] {
            super::set(&mut set, l);
        }
        let inside = want
            .iter()
            .filter(|l| [1, 7, 65_535].contains(&u32::from(**l)));
        assert_eq!(p.count_in(&set), inside.count() as u64);
    }

    #[test]
    fn the_locals_of_words_come_in_order_in_batches() {
        let mut words = empty();
        let want: Vec<u32> = (0..65_536)
            .filter(|l| l % 3 == 0 || l % 1000 == 7)
            .collect();
        for &l in &want {
            set(&mut words, l);
        }
        let mut got = Vec::new();
        let mut buffer = [0u32; 100];
        let mut locals = Locals::new(&words);
        loop {
            let batch = locals.next_many(&mut buffer);
            if batch.is_empty() {
                break;
            }
            got.extend_from_slice(batch);
        }
        assert_eq!(got, want);
        assert_eq!(Locals::new(&words).collect::<Vec<_>>(), want);
        assert_eq!(count(&words), want.len() as u64);
        let mut both = empty();
        let odd: Vec<u64> = vec![0xAAAA_AAAA_AAAA_AAAA; WORDS];
        let n = and(&mut both, &words, &odd);
        assert_eq!(n, want.iter().filter(|l| *l % 2 == 1).count() as u64);
        assert_eq!(count_and(&words, &odd), n);
    }
}
