//! Counting a facet's values over a set of documents, document by document, for sets too small
//! for bitmap intersections to pay.
//!
//! Each document's values are a 64-bit mask (features; the first 64 codes of countries,
//! languages and tenants; one bit for a cover level, kind or status). Masks with a few bits
//! are counted bit by bit; feature masks (about 4 bits of 63) are added into 64 byte-wide
//! counters, eight shifts, masks and additions a document without branches or tables (two of
//! each with AVX2, which the loop is compiled for when the CPU has it), and the bytes are
//! emptied into the totals before they can overflow.

use crate::bits::{self, Locals};
use crate::block::{Block, Dim};
use crate::doc;

/// The lowest bit of each byte.
const LOW_BITS: u64 = 0x0101_0101_0101_0101;

/// 64 counters as 8 words of 8 byte-wide lanes (byte `b` of word `j` counts bit `8b + j`),
/// emptied into totals after at most [`BATCH`] masks, before a byte can overflow.
#[derive(Debug)]
struct ByteCounters {
    totals: [u64; 64],
}

/// Masks added to byte-wide counters between emptyings.
const BATCH: usize = 255;

impl ByteCounters {
    fn new() -> Self {
        Self { totals: [0; 64] }
    }

    /// Adds each mask's bits (at most [`BATCH`] masks).
    #[inline(always)]
    fn add(&mut self, masks: impl Iterator<Item = u64>) {
        let mut lanes = [0u64; 8];
        for mask in masks.take(BATCH) {
            for (j, lane) in lanes.iter_mut().enumerate() {
                *lane += (mask >> j) & LOW_BITS;
            }
        }
        for (j, lane) in lanes.iter().enumerate() {
            for b in 0..8 {
                self.totals[8 * b + j] += (lane >> (8 * b)) & 0xff;
            }
        }
    }
}

fn one_hot(code: u32) -> u64 {
    1u64.checked_shl(code).unwrap_or(0)
}

/// Adds each bit of `mask` to its counter.
#[inline]
fn add_bits(counters: &mut [u64; 64], mut mask: u64) {
    while mask != 0 {
        counters[(mask.trailing_zeros() & 63) as usize] += 1;
        mask &= mask - 1;
    }
}

/// Adds the counts of `dim`'s values over `set` (statuses as of `now`; `expired` when some
/// open document of the block is past its deadline) to `out`, by code.
pub(crate) fn tally(
    block: &Block,
    dim: Dim,
    set: &[u64],
    now: i128,
    expired: bool,
    out: &mut Vec<u64>,
) {
    bits::fast!(tally_in(block, dim, set, now, expired, out));
}

#[inline(always)]
fn tally_in(block: &Block, dim: Dim, set: &[u64], now: i128, expired: bool, out: &mut Vec<u64>) {
    let mut counters = [0u64; 64];
    let mut features = ByteCounters::new();
    // Codes past 64: counted one by one.
    let mut rest: Vec<u32> = Vec::new();
    let mut buffer = [0u32; BATCH];
    let mut docs = Locals::new(set);
    loop {
        let batch = docs.next_many(&mut buffer);
        if batch.is_empty() {
            break;
        }
        // Plain loops, no closures: the whole loop is compiled for the CPU's level (bits::fast).
        match dim {
            Dim::Feature => features.add(batch.iter().map(|&at| block.features[at as usize])),
            Dim::Country | Dim::Language => {
                let column = if dim == Dim::Country {
                    &block.countries
                } else {
                    &block.languages
                };
                for &at in batch.iter() {
                    let codes = &column[at as usize];
                    add_bits(&mut counters, codes.mask());
                    rest.extend_from_slice(codes.more());
                }
            }
            Dim::Cover => {
                for &at in batch.iter() {
                    counters[usize::from(block.cover[at as usize] & 63)] += 1;
                }
            }
            Dim::Kind => {
                for &at in batch.iter() {
                    counters[usize::from(block.kind[at as usize] & 63)] += 1;
                }
            }
            // Deadlines are read only when some open document of the block is past its own.
            Dim::Status if expired => {
                for &at in batch.iter() {
                    let at = at as usize;
                    let stored = doc::STATUSES[usize::from(block.status[at])];
                    let status = doc::effective_status(stored, block.deadline[at], now);
                    add_bits(&mut counters, one_hot(doc::status_code(status)));
                }
            }
            Dim::Status => {
                for &at in batch.iter() {
                    counters[usize::from(block.status[at as usize] & 63)] += 1;
                }
            }
            Dim::Tenant => {
                for &at in batch.iter() {
                    let code = block.tenant[at as usize];
                    match counters.get_mut(code as usize) {
                        Some(n) => *n += 1,
                        None => rest.push(code),
                    }
                }
            }
        }
    }
    if dim == Dim::Feature {
        counters = features.totals;
    }
    let used = counters.iter().rposition(|n| *n > 0).map_or(0, |i| i + 1);
    if out.len() < used {
        out.resize(used, 0);
    }
    for (total, n) in out.iter_mut().zip(&counters) {
        *total += n;
    }
    for code in rest {
        let code = code as usize;
        if out.len() <= code {
            out.resize(code + 1, 0);
        }
        out[code] += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counters_count_past_their_width() {
        let masks = [
            0b1011u64,
            0b0001,
            u64::MAX,
            1 << 63,
            0,
            0b1000,
            0x00ff_0000_0000_ff00,
        ];
        let mut counters = ByteCounters::new();
        let mut want = [0u64; 64];
        let all: Vec<u64> = (0..1000).flat_map(|_| masks).collect();
        for batch in all.chunks(BATCH) {
            counters.add(batch.iter().copied());
        }
        for &m in &all {
            add_bits(&mut want, m);
        }
        assert_eq!(counters.totals, want);
        assert_eq!(want[0], 3000);
        // A byte holds BATCH masks' bits exactly.
        let mut full = ByteCounters::new();
        full.add(std::iter::repeat_n(u64::MAX, BATCH + 10));
        assert_eq!(full.totals, [BATCH as u64; 64]);
    }
}
