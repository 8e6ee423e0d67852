//! Counting a facet's values over a set of documents, document by document, for sets too small
//! for bitmap intersections to pay.
//!
//! Each document's values are a 64-bit mask (features; the first 64 codes of countries,
//! languages and tenants; one bit for a cover level, kind or status). Masks with a few bits
//! are counted bit by bit; feature masks (about 4 bits of 63) are spread into 64 byte-wide
//! counters by table, eight additions a document without branches, and the bytes are emptied
//! into the totals before they can overflow.

use crate::bits::Locals;
use crate::block::{Block, Dim};
use crate::doc;

/// `SPREAD[b]`: byte `j` is bit `j` of `b`.
const SPREAD: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut b = 0;
    while b < 256 {
        let mut j = 0;
        while j < 8 {
            if b & (1 << j) != 0 {
                table[b] |= 1 << (8 * j);
            }
            j += 1;
        }
        b += 1;
    }
    table
};

/// 64 counters as 8 words of 8 byte-wide lanes, emptied every 255 masks.
#[derive(Debug)]
struct ByteCounters {
    lanes: [u64; 8],
    pending: u32,
    totals: [u64; 64],
}

impl ByteCounters {
    fn new() -> Self {
        Self {
            lanes: [0; 8],
            pending: 0,
            totals: [0; 64],
        }
    }

    #[inline]
    fn add(&mut self, mask: u64) {
        for (i, lane) in self.lanes.iter_mut().enumerate() {
            *lane += SPREAD[((mask >> (8 * i)) & 0xff) as usize];
        }
        self.pending += 1;
        if self.pending == 255 {
            self.flush();
        }
    }

    fn flush(&mut self) {
        for (i, lane) in self.lanes.iter_mut().enumerate() {
            for j in 0..8 {
                self.totals[8 * i + j] += (*lane >> (8 * j)) & 0xff;
            }
            *lane = 0;
        }
        self.pending = 0;
    }

    fn totals(mut self) -> [u64; 64] {
        self.flush();
        self.totals
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
    let mut counters = [0u64; 64];
    let mut features = ByteCounters::new();
    // Codes past 64: counted one by one.
    let mut rest: Vec<u32> = Vec::new();
    let mut buffer = [0u32; 256];
    let mut docs = Locals::new(set);
    loop {
        let batch = docs.next_many(&mut buffer);
        if batch.is_empty() {
            break;
        }
        match dim {
            Dim::Feature => batch
                .iter()
                .for_each(|&at| features.add(block.features[at as usize])),
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
            Dim::Cover => batch.iter().for_each(|&at| {
                counters[usize::from(block.cover[at as usize] & 63)] += 1;
            }),
            Dim::Kind => batch.iter().for_each(|&at| {
                counters[usize::from(block.kind[at as usize] & 63)] += 1;
            }),
            // Deadlines are read only when some open document of the block is past its own.
            Dim::Status if expired => batch.iter().for_each(|&at| {
                let at = at as usize;
                let stored = doc::STATUSES[usize::from(block.status[at])];
                let status = doc::effective_status(stored, block.deadline[at], now);
                add_bits(&mut counters, one_hot(doc::status_code(status)));
            }),
            Dim::Status => batch.iter().for_each(|&at| {
                counters[usize::from(block.status[at as usize] & 63)] += 1;
            }),
            Dim::Tenant => batch.iter().for_each(|&at| {
                let code = block.tenant[at as usize];
                match counters.get_mut(code as usize) {
                    Some(n) => *n += 1,
                    None => rest.push(code),
                }
            }),
        }
    }
    if dim == Dim::Feature {
        counters = features.totals();
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
        for _ in 0..1000 {
            for m in masks {
                counters.add(m);
                add_bits(&mut want, m);
            }
        }
        assert_eq!(counters.totals(), want);
        assert_eq!(want[0], 3000);
    }
}
