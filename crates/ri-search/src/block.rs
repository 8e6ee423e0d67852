//! A block of up to 65,536 documents: their columns, one [`Posting`] (a list or words of bits)
//! per facet value over their local ordinals, and the orders a page is read in.
//!
//! The index is a list of blocks behind `Arc`s. A published snapshot shares every block with the
//! writer; the writer copies only the blocks a batch touches (`Arc::make_mut`), so publishing a
//! batch costs a few blocks' copies, not the whole index, and readers never wait for it.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::bits::{self, Posting};
use crate::doc::{self, InstrumentDoc, NO_DEADLINE};

/// Documents per block: 1,024 words of bits (as one roaring container).
pub(crate) const BLOCK_BITS: u32 = 16;
pub(crate) const BLOCK_SIZE: usize = 1 << BLOCK_BITS;

/// Incremental changes to a block's orders within one batch before re-sorting them whole is
/// cheaper.
const INCREMENTAL_LIMIT: u32 = 256;

/// The facets, each with one bitmap per value in every block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dim {
    Feature = 0,
    Country = 1,
    Cover = 2,
    Kind = 3,
    Status = 4,
    Tenant = 5,
    Language = 6,
}

pub(crate) const DIMS: [Dim; 7] = [
    Dim::Feature,
    Dim::Country,
    Dim::Cover,
    Dim::Kind,
    Dim::Status,
    Dim::Tenant,
    Dim::Language,
];

/// A document's values in the dictionaries the index keeps (tenants, countries, languages).
#[derive(Debug, Clone)]
pub(crate) struct Coded {
    pub(crate) tenant: u32,
    pub(crate) countries: Box<[u32]>,
    pub(crate) languages: Box<[u32]>,
}

/// A document's codes in a multi-valued facet: the first 64 codes as bits, in the column
/// itself (no pointer to follow while counting), any higher ones in a list.
#[derive(Debug, Clone, Default)]
pub(crate) struct Codes {
    mask: u64,
    more: Box<[u32]>,
}

impl Codes {
    fn new(codes: &[u32]) -> Self {
        let mut mask = 0u64;
        let mut more = Vec::new();
        for &c in codes {
            match 1u64.checked_shl(c) {
                Some(bit) => mask |= bit,
                None => more.push(c),
            }
        }
        Self {
            mask,
            more: more.into_boxed_slice(),
        }
    }

    pub(crate) fn mask(&self) -> u64 {
        self.mask
    }

    pub(crate) fn more(&self) -> &[u32] {
        &self.more
    }

    #[inline]
    pub(crate) fn for_each(&self, mut f: impl FnMut(u32)) {
        let mut bits = self.mask;
        while bits != 0 {
            f(bits.trailing_zeros());
            bits &= bits - 1;
        }
        if !self.more.is_empty() {
            self.more.iter().copied().for_each(f);
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Block {
    /// By local ordinal; `None` for a free slot.
    pub(crate) docs: Vec<Option<Arc<InstrumentDoc>>>,
    /// The occupied slots.
    pub(crate) live: Posting,
    pub(crate) features: Vec<u64>,
    /// Stored status, kind and cover level codes (`doc::status_code` …).
    pub(crate) status: Vec<u8>,
    pub(crate) kind: Vec<u8>,
    pub(crate) cover: Vec<u8>,
    pub(crate) tenant: Vec<u32>,
    pub(crate) countries: Vec<Codes>,
    pub(crate) languages: Vec<Codes>,
    /// Nanoseconds since the epoch; [`NO_DEADLINE`] for none.
    pub(crate) deadline: Vec<i128>,
    pub(crate) updated: Vec<i128>,
    /// By [`Dim`], then by value code: the live documents with that value (stored status for
    /// `Dim::Status`).
    pub(crate) postings: [Vec<Posting>; 7],
    /// Live documents by (deadline, none last; id).
    pub(crate) by_deadline: Vec<u16>,
    /// Live documents by (updated at, id), most recent first.
    pub(crate) by_updated: Vec<u16>,
    /// Documents stored as open that have a deadline, soonest first: those past `now` read as
    /// closed.
    pub(crate) open_by_deadline: Vec<u16>,
    /// By [`Dim`]: about what counting the facet value by value over a set costs
    /// ([`Posting::count_cost`] summed), in bit tests.
    pub(crate) intersection_cost: [u64; 7],
    /// A facet value's list longer than this becomes words ([`Posting::insert`]).
    pub(crate) list_max: usize,
    /// Changes since the orders were last sorted whole; past the limit they are left unsorted
    /// until [`Block::seal`].
    changes: u32,
}

impl Block {
    pub(crate) fn new(list_max: usize) -> Self {
        Self {
            docs: Vec::new(),
            live: Posting::default(),
            features: Vec::new(),
            status: Vec::new(),
            kind: Vec::new(),
            cover: Vec::new(),
            tenant: Vec::new(),
            countries: Vec::new(),
            languages: Vec::new(),
            deadline: Vec::new(),
            updated: Vec::new(),
            postings: Default::default(),
            by_deadline: Vec::new(),
            by_updated: Vec::new(),
            open_by_deadline: Vec::new(),
            intersection_cost: [0; 7],
            list_max,
            changes: 0,
        }
    }

    pub(crate) fn doc(&self, local: u32) -> Option<&Arc<InstrumentDoc>> {
        self.docs.get(local as usize).and_then(Option::as_ref)
    }

    fn id(&self, local: u16) -> &str {
        self.doc(u32::from(local)).map_or("", |d| d.id.as_str())
    }

    pub(crate) fn cmp_deadline(&self, a: u16, b: u16) -> Ordering {
        self.deadline[usize::from(a)]
            .cmp(&self.deadline[usize::from(b)])
            .then_with(|| self.id(a).cmp(self.id(b)))
    }

    pub(crate) fn cmp_updated(&self, a: u16, b: u16) -> Ordering {
        self.updated[usize::from(b)]
            .cmp(&self.updated[usize::from(a)])
            .then_with(|| self.id(b).cmp(self.id(a)))
    }

    fn cmp_open(&self, a: u16, b: u16) -> Ordering {
        self.deadline[usize::from(a)]
            .cmp(&self.deadline[usize::from(b)])
            .then(a.cmp(&b))
    }

    fn is_open_with_deadline(&self, local: usize) -> bool {
        u32::from(self.status[local])
            == doc::status_code(ri_domain::instrument::InstrumentStatus::Open)
            && self.deadline[local] != NO_DEADLINE
    }

    /// Each value code the document at `local` has in `dim`.
    pub(crate) fn values(&self, local: usize, dim: Dim, mut f: impl FnMut(u32)) {
        match dim {
            Dim::Feature => {
                let mut bits = self.features[local];
                while bits != 0 {
                    f(bits.trailing_zeros());
                    bits &= bits - 1;
                }
            }
            Dim::Country => self.countries[local].for_each(f),
            Dim::Language => self.languages[local].for_each(f),
            Dim::Cover => f(u32::from(self.cover[local])),
            Dim::Kind => f(u32::from(self.kind[local])),
            Dim::Status => f(u32::from(self.status[local])),
            Dim::Tenant => f(self.tenant[local]),
        }
    }

    fn post(&mut self, local: usize, add: bool) {
        for dim in DIMS {
            let mut codes = Vec::new();
            self.values(local, dim, |v| codes.push(v));
            let lists = &mut self.postings[dim as usize];
            for code in codes {
                let code = code as usize;
                if lists.len() <= code {
                    lists.resize_with(code + 1, Posting::default);
                }
                if add {
                    lists[code].insert(local as u16, self.list_max);
                } else {
                    lists[code].remove(local as u16, self.list_max);
                }
            }
        }
    }

    /// Puts `doc` at `local` (which must be free).
    pub(crate) fn insert(&mut self, local: u16, doc: Arc<InstrumentDoc>, coded: Coded) {
        let at = usize::from(local);
        if self.docs.len() <= at {
            let len = at + 1;
            self.docs.resize(len, None);
            self.features.resize(len, 0);
            self.status.resize(len, 0);
            self.kind.resize(len, 0);
            self.cover.resize(len, 0);
            self.tenant.resize(len, 0);
            self.countries.resize(len, Codes::default());
            self.languages.resize(len, Codes::default());
            self.deadline.resize(len, NO_DEADLINE);
            self.updated.resize(len, 0);
        }
        self.features[at] = doc.features.bits().cast_unsigned();
        self.status[at] = doc::status_code(doc.status) as u8;
        self.kind[at] = doc::kind_code(doc.kind) as u8;
        self.cover[at] = doc::cover_code(doc.cover_level) as u8;
        self.tenant[at] = coded.tenant;
        self.countries[at] = Codes::new(&coded.countries);
        self.languages[at] = Codes::new(&coded.languages);
        self.deadline[at] = doc::nanos(doc.deadline);
        self.updated[at] = doc::nanos_of(doc.updated_at);
        self.docs[at] = Some(doc);
        self.live.insert(local, self.list_max);
        self.post(at, true);
        self.changes = self.changes.saturating_add(1);
        if self.changes <= INCREMENTAL_LIMIT {
            let p = self
                .by_deadline
                .partition_point(|&o| self.cmp_deadline(o, local).is_lt());
            self.by_deadline.insert(p, local);
            let p = self
                .by_updated
                .partition_point(|&o| self.cmp_updated(o, local).is_lt());
            self.by_updated.insert(p, local);
            if self.is_open_with_deadline(at) {
                let p = self
                    .open_by_deadline
                    .partition_point(|&o| self.cmp_open(o, local).is_lt());
                self.open_by_deadline.insert(p, local);
            }
        }
    }

    /// Frees `local`, returning the document that was there.
    pub(crate) fn remove(&mut self, local: u16) -> Option<Arc<InstrumentDoc>> {
        let at = usize::from(local);
        self.doc(u32::from(local))?;
        self.changes = self.changes.saturating_add(1);
        if self.changes <= INCREMENTAL_LIMIT {
            let mut list = std::mem::take(&mut self.by_deadline);
            remove_sorted(&mut list, local, |o| self.cmp_deadline(o, local));
            self.by_deadline = list;
            let mut list = std::mem::take(&mut self.by_updated);
            remove_sorted(&mut list, local, |o| self.cmp_updated(o, local));
            self.by_updated = list;
            if self.is_open_with_deadline(at) {
                let mut list = std::mem::take(&mut self.open_by_deadline);
                remove_sorted(&mut list, local, |o| self.cmp_open(o, local));
                self.open_by_deadline = list;
            }
        }
        self.post(at, false);
        self.live.remove(local, self.list_max);
        self.countries[at] = Codes::default();
        self.languages[at] = Codes::default();
        self.docs[at].take()
    }

    /// Makes the orders whole again after a batch: re-sorts them if the batch changed too
    /// much to keep them incrementally.
    pub(crate) fn seal(&mut self) {
        if self.changes > INCREMENTAL_LIMIT {
            let mut live: Vec<u16> = self.live.locals();
            live.sort_unstable_by(|&a, &b| self.cmp_deadline(a, b));
            self.by_deadline = live.clone();
            live.sort_unstable_by(|&a, &b| self.cmp_updated(a, b));
            self.by_updated = live;
            let mut open: Vec<u16> = self
                .live
                .locals()
                .into_iter()
                .filter(|&l| self.is_open_with_deadline(usize::from(l)))
                .collect();
            open.sort_unstable_by(|&a, &b| self.cmp_open(a, b));
            self.open_by_deadline = open;
        }
        self.changes = 0;
        let fast = bits::fast_count();
        for dim in DIMS {
            self.intersection_cost[dim as usize] = self.postings[dim as usize]
                .iter()
                .map(|p| p.count_cost(fast))
                .sum();
        }
    }

    /// Bytes held by the block's own structures (the documents are counted apart).
    pub(crate) fn heap_bytes(&self) -> usize {
        let slots = self.docs.capacity();
        let columns = slots * (8 + 8 + 3 + 4 + 16 + 16 + 24 + 24);
        let lists: usize = self
            .countries
            .iter()
            .chain(&self.languages)
            .map(|l| l.more.len() * 4)
            .sum();
        let bitmaps: usize = self
            .postings
            .iter()
            .flatten()
            .chain(std::iter::once(&self.live))
            .map(|b| b.heap_bytes() + 24)
            .sum();
        let orders = 2
            * (self.by_deadline.capacity()
                + self.by_updated.capacity()
                + self.open_by_deadline.capacity());
        columns + lists + bitmaps + orders
    }
}

/// Removes `item` from `list`, sorted by `cmp(x)` (the order of `x` against `item`).
fn remove_sorted(list: &mut Vec<u16>, item: u16, cmp: impl Fn(u16) -> Ordering) {
    let p = list.partition_point(|&o| cmp(o).is_lt());
    if list.get(p) == Some(&item) {
        list.remove(p);
    } else if let Some(q) = list.iter().position(|&o| o == item) {
        // Not where its key says: the order was not sorted by that key. Never expected.
        list.remove(q);
    }
}
