//! The index: one writer applies batches of changes and publishes an immutable snapshot; any
//! number of readers search the snapshot they loaded, never waiting for the writer.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use ri_domain::TenantSlug;
use ri_domain::values::{CountryCode, LanguageCode};
use time::OffsetDateTime;

use crate::bits::{self, Set};
use crate::block::{BLOCK_BITS, BLOCK_SIZE, Block, Coded};
use crate::doc::{self, InstrumentDoc};
use crate::facets;
use crate::filter::{Counts, Plan, Scratch};
use crate::gate::Gate;
use crate::page::Source;
use crate::query::{MAX_PAGE, Order, Page, Query, SearchError};
use crate::text::{self, TextConfig, TextSearcher, TextWriter};

/// Values numbered in the order first seen; numbers are never reused.
#[derive(Debug, Clone)]
pub(crate) struct Dict<T> {
    values: Vec<T>,
    codes: HashMap<T, u32>,
}

impl<T> Default for Dict<T> {
    fn default() -> Self {
        Self {
            values: Vec::new(),
            codes: HashMap::new(),
        }
    }
}

impl<T: Clone + Eq + Hash> Dict<T> {
    pub(crate) fn code(&self, value: &T) -> Option<u32> {
        self.codes.get(value).copied()
    }

    pub(crate) fn value(&self, code: u32) -> Option<&T> {
        self.values.get(code as usize)
    }

    /// The value's code, numbering it if new; `None` past `u32` values.
    fn intern(&mut self, value: &T) -> Option<u32> {
        if let Some(code) = self.code(value) {
            return Some(code);
        }
        let code = u32::try_from(self.values.len()).ok()?;
        self.values.push(value.clone());
        self.codes.insert(value.clone(), code);
        Some(code)
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Dicts {
    pub(crate) tenants: Dict<TenantSlug>,
    pub(crate) countries: Dict<CountryCode>,
    pub(crate) languages: Dict<LanguageCode>,
}

/// One change to the index.
#[derive(Debug, Clone)]
pub enum Change {
    /// Adds or replaces the document with this id; a document that is not public
    /// ([`InstrumentDoc::is_public`]) removes it instead. Shared: the feeder may keep it too.
    Upsert(Arc<InstrumentDoc>),
    /// Removes the document with this id, if there.
    Remove(String),
}

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("text index: {0}")]
    Text(#[from] tantivy::TantivyError),
    /// More documents than the index can number.
    #[error("the index is full")]
    Full,
    /// A batch failed half-way: the index must be rebuilt (it keeps answering from the last
    /// snapshot it published).
    #[error("the index failed an earlier batch and must be rebuilt")]
    Poisoned,
}

/// An immutable state of the index: what every search in it sees.
#[derive(Debug)]
pub struct Snapshot {
    pub(crate) blocks: Vec<Arc<Block>>,
    pub(crate) dicts: Arc<Dicts>,
    pub(crate) text: TextSearcher,
    len: u64,
    position: Option<u64>,
    tally_max: Option<u64>,
    walk: Option<bool>,
}

/// What the search text matches.
struct TextMatches {
    /// By block: the matching documents.
    sets: Vec<Set>,
    /// Every positive match with its score (exclusions not applied), when ranking by
    /// relevance.
    scored: Option<Arc<Vec<(u32, f32)>>>,
}

/// Approximate bytes an index holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUsage {
    /// Columns, bitmaps and orders.
    pub blocks: usize,
    /// The documents themselves (their strings and lists).
    pub docs: usize,
    /// Tantivy's segments.
    pub text: usize,
}

impl Snapshot {
    /// Documents in the index (all public).
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The log position the feeder said this snapshot reflects (see [`Index::apply`]).
    pub fn position(&self) -> Option<u64> {
        self.position
    }

    pub(crate) fn doc(&self, ord: u32) -> Option<&Arc<InstrumentDoc>> {
        self.blocks
            .get((ord >> BLOCK_BITS) as usize)?
            .doc(ord & (BLOCK_SIZE as u32 - 1))
    }

    /// Runs `query` as of `now` (the instant deadlines are compared with).
    pub fn search(&self, query: &Query, now: OffsetDateTime) -> Result<Page, SearchError> {
        query.check()?;
        let order = query.order();
        // Untrimmed: a space after the last word says it is complete.
        let matched = match query
            .text
            .as_deref()
            .filter(|_| query.text_or_none().is_some())
        {
            Some(t) => self.text_matches(t, order == Order::Relevance)?,
            None => None,
        };
        let (text_bits, scored) = match matched {
            Some(m) => (Some(m.sets), m.scored),
            None => (None, None),
        };
        let plan = Plan::new(query, &self.dicts, now, self.tally_max);
        let mut counts = Counts::default();
        let results: Vec<Set> = Scratch::with(|scratch| {
            self.blocks
                .iter()
                .enumerate()
                .map(|(i, block)| {
                    let text = text_bits.as_ref().map(|t| &t[i]);
                    plan.block(block, text, &mut counts, scratch)
                })
                .collect()
        });
        let total = results.iter().map(|r| r.len).sum();
        let source = Source {
            blocks: &self.blocks,
            results: &results,
            total,
            live: self.len,
            scored: scored.as_deref().map(Vec::as_slice),
            walk: self.walk,
            deadline_floor: deadline_floor(query, now),
        };
        let (hits, has_next_page) =
            source.page(order, query.after.as_ref(), query.first.min(MAX_PAGE));
        Ok(Page {
            hits,
            total,
            has_next_page,
            facets: facets::facets(&counts, &self.dicts),
            order,
        })
    }

    /// The documents matching the search text, per block, and their scores when `scores`;
    /// `None` when the text holds no word. Exclusions are applied here, on ordinals: tantivy
    /// 0.27's phrase scorer breaks its own contract inside an exclusion (a debug assertion
    /// fires).
    fn text_matches(&self, text: &str, scores: bool) -> Result<Option<TextMatches>, SearchError> {
        let (mut stem, mut raw) = self.text.analyzers();
        let Some(parsed) = text::parse(text, &self.text.fields, &mut stem, &mut raw) else {
            return Ok(None);
        };
        let blocks = self.blocks.len();
        // Ranked: every positive match scored (kept for the next call), and the sets made
        // from those; unranked: the leaves' sets, or'ed and and'ed.
        let (mut sets, scored) = match scores {
            true => {
                let scored = self.text.ranked(text, &parsed.positive)?;
                (split(&scored, blocks), Some(scored))
            }
            false => (self.text.sets(&parsed.positive, blocks)?, None),
        };
        for m in &parsed.excluded {
            let excluded = self.text.sets(m, blocks)?;
            for (set, ex) in sets.iter_mut().zip(excluded) {
                if !set.words.is_empty() && !ex.words.is_empty() {
                    bits::and_not_assign(&mut set.words, &ex.words);
                    set.len = bits::count(&set.words);
                }
            }
        }
        Ok(Some(TextMatches { sets, scored }))
    }

    /// Approximate memory held by this snapshot.
    pub fn memory(&self) -> MemoryUsage {
        let blocks = self.blocks.iter().map(|b| b.heap_bytes()).sum();
        let docs = self
            .blocks
            .iter()
            .flat_map(|b| b.docs.iter().flatten())
            .map(|d| doc_bytes(d))
            .sum();
        MemoryUsage {
            blocks,
            docs,
            text: self.text.space_bytes(),
        }
    }
}

fn doc_bytes(d: &InstrumentDoc) -> usize {
    std::mem::size_of::<InstrumentDoc>()
        + 16
        + d.id.capacity()
        + d.tenant.as_str().len()
        + d.tenant_name.as_ref().map_or(0, String::capacity)
        + d.title.capacity()
        + d.programme.as_ref().map_or(0, String::capacity)
        + d.link.as_ref().map_or(0, String::capacity)
        + d.summary.capacity()
        + d.time_zone.as_ref().map_or(0, String::capacity)
        + d.countries.capacity() * 2
        + d.languages.capacity() * 26
        + d.target_organisations.capacity()
        + d.funding.as_ref().map_or(0, |f| f.currency.as_str().len())
}

/// A deadline no match precedes: open ones are due after `now`; a window starts somewhere.
fn deadline_floor(query: &Query, now: OffsetDateTime) -> Option<i128> {
    let open_only = query
        .statuses_or_open()
        .iter()
        .all(|s| *s == ri_domain::instrument::InstrumentStatus::Open);
    let open = open_only.then(|| doc::nanos_of(now).saturating_add(1));
    let from = query.deadline_from.map(doc::nanos_of);
    open.max(from)
}

/// Text matches (global ordinals) as one set of local ordinals per block.
fn split(scored: &[(u32, f32)], blocks: usize) -> Vec<Set> {
    let mut out = vec![Set::default(); blocks];
    for &(ord, _) in scored {
        if let Some(set) = out.get_mut((ord >> BLOCK_BITS) as usize) {
            set.insert(ord & (BLOCK_SIZE as u32 - 1));
        }
    }
    out
}

/// Sizing of an index.
#[derive(Debug, Clone, Copy)]
pub struct IndexConfig {
    pub text: TextConfig,
    /// For tests: new documents are dealt round-robin over this many blocks (instead of
    /// filling one block after another), so that small catalogues span blocks.
    #[doc(hidden)]
    pub spread: u32,
    /// For tests: a facet's set of at most this many documents in a block is counted document
    /// by document, a larger one by bitmap intersections; `None` chooses by cost.
    #[doc(hidden)]
    pub tally_max: Option<u64>,
    /// For tests: `Some(true)` always finds a page by walking the sorted orders, `Some(false)`
    /// always by sorting the matches; `None` chooses by cost.
    #[doc(hidden)]
    pub walk: Option<bool>,
    /// For tests: a facet value's documents in a block are kept as a list up to this many,
    /// as words beyond; `None` for the default (1,024).
    #[doc(hidden)]
    pub list_max: Option<usize>,
    /// Searches through [`Index::search`] that run at once; callers beyond wait in line.
    /// Set it to the cores given to searching (the service: its worker threads); `None`
    /// lets every caller run at once. [`Snapshot::search`] is never gated.
    pub concurrent_searches: Option<usize>,
}

impl Default for IndexConfig {
    fn default() -> Self {
        Self {
            text: TextConfig::default(),
            spread: 1,
            tally_max: None,
            walk: None,
            list_max: None,
            concurrent_searches: None,
        }
    }
}

/// The writer's side: the working copy of the blocks and the bookkeeping of ordinals.
struct Writer {
    blocks: Vec<Arc<Block>>,
    dicts: Arc<Dicts>,
    ids: HashMap<String, u32>,
    free: BinaryHeap<Reverse<u32>>,
    text: TextWriter,
    touched: Vec<usize>,
    position: Option<u64>,
    poisoned: bool,
    /// Ordinals handed out so far (free ones are reused first).
    next: u32,
    spread: u32,
    tally_max: Option<u64>,
    walk: Option<bool>,
    list_max: usize,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("docs", &self.ids.len())
            .finish_non_exhaustive()
    }
}

impl Writer {
    fn block(&mut self, ord: u32) -> (&mut Block, u16) {
        let b = (ord >> BLOCK_BITS) as usize;
        if self.blocks.len() <= b {
            let list_max = self.list_max;
            self.blocks
                .resize_with(b + 1, || Arc::new(Block::new(list_max)));
        }
        if !self.touched.contains(&b) {
            self.touched.push(b);
        }
        let local = (ord & (BLOCK_SIZE as u32 - 1)) as u16;
        (Arc::make_mut(&mut self.blocks[b]), local)
    }

    fn remove(&mut self, id: &str) -> Result<(), IndexError> {
        if let Some(ord) = self.ids.remove(id) {
            let (block, local) = self.block(ord);
            block.remove(local);
            self.text.delete(ord)?;
            self.free.push(Reverse(ord));
        }
        Ok(())
    }

    fn upsert(&mut self, doc: Arc<InstrumentDoc>) -> Result<(), IndexError> {
        if !doc.is_public() {
            return self.remove(&doc.id);
        }
        let known = |d: &Dicts| {
            d.tenants.code(&doc.tenant).is_some()
                && doc.countries.iter().all(|c| d.countries.code(c).is_some())
                && doc.languages.iter().all(|l| d.languages.code(l).is_some())
        };
        if !known(&self.dicts) {
            // Copied only when a batch brings a value never seen.
            let dicts = Arc::make_mut(&mut self.dicts);
            dicts.tenants.intern(&doc.tenant).ok_or(IndexError::Full)?;
            for c in &doc.countries {
                dicts.countries.intern(c).ok_or(IndexError::Full)?;
            }
            for l in &doc.languages {
                dicts.languages.intern(l).ok_or(IndexError::Full)?;
            }
        }
        let d = &self.dicts;
        let coded = Coded {
            tenant: d.tenants.code(&doc.tenant).ok_or(IndexError::Full)?,
            countries: doc
                .countries
                .iter()
                .map(|c| d.countries.code(c).ok_or(IndexError::Full))
                .collect::<Result<_, _>>()?,
            languages: doc
                .languages
                .iter()
                .map(|l| d.languages.code(l).ok_or(IndexError::Full))
                .collect::<Result<_, _>>()?,
        };
        let ord = match self.ids.get(&doc.id) {
            Some(&ord) => {
                let (block, local) = self.block(ord);
                block.remove(local);
                self.text.delete(ord)?;
                ord
            }
            None => {
                let ord = match self.free.pop() {
                    Some(Reverse(ord)) => ord,
                    None => self.fresh_ordinal()?,
                };
                self.ids.insert(doc.id.clone(), ord);
                ord
            }
        };
        self.text.add(ord, &doc)?;
        let (block, local) = self.block(ord);
        block.insert(local, doc, coded);
        Ok(())
    }

    fn fresh_ordinal(&mut self) -> Result<u32, IndexError> {
        let n = self.next;
        self.next = n.checked_add(1).ok_or(IndexError::Full)?;
        if self.spread <= 1 {
            return Ok(n);
        }
        let (block, local) = (n % self.spread, n / self.spread);
        if local >= BLOCK_SIZE as u32 {
            return Err(IndexError::Full);
        }
        block
            .checked_mul(BLOCK_SIZE as u32)
            .and_then(|b| b.checked_add(local))
            .ok_or(IndexError::Full)
    }

    fn publish(&mut self) -> Result<Snapshot, IndexError> {
        for b in std::mem::take(&mut self.touched) {
            if let Some(block) = self.blocks.get_mut(b) {
                Arc::make_mut(block).seal();
            }
        }
        let text = self.text.commit()?;
        Ok(Snapshot {
            blocks: self.blocks.clone(),
            dicts: Arc::clone(&self.dicts),
            text,
            len: self.ids.len() as u64,
            position: self.position,
            tally_max: self.tally_max,
            walk: self.walk,
        })
    }
}

/// The in-memory search index. Share it behind an `Arc`: `apply` from one feeder, `snapshot`
/// (or `search`) from anywhere.
pub struct Index {
    current: ArcSwap<Snapshot>,
    writer: Mutex<Writer>,
    gate: Option<Gate>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("docs", &self.current.load().len())
            .finish_non_exhaustive()
    }
}

/// What one batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// Documents in the index after it.
    pub len: u64,
}

impl Index {
    pub fn new(config: IndexConfig) -> Result<Self, IndexError> {
        let (text, searcher) = TextWriter::new(config.text)?;
        let empty = Snapshot {
            blocks: Vec::new(),
            dicts: Arc::default(),
            text: searcher,
            len: 0,
            position: None,
            tally_max: config.tally_max,
            walk: config.walk,
        };
        Ok(Self {
            gate: config.concurrent_searches.map(Gate::new),
            current: ArcSwap::from_pointee(empty),
            writer: Mutex::new(Writer {
                blocks: Vec::new(),
                dicts: Arc::default(),
                ids: HashMap::new(),
                free: BinaryHeap::new(),
                text,
                touched: Vec::new(),
                position: None,
                poisoned: false,
                next: 0,
                spread: config.spread.clamp(1, 1 << 15),
                tally_max: config.tally_max,
                walk: config.walk,
                list_max: config.list_max.unwrap_or(crate::bits::LIST_MAX),
            }),
        })
    }

    /// The current snapshot: hold it for as long as a request needs one consistent state.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Applies `changes` in order and publishes the result as one snapshot, which then
    /// reflects the log up to `position` (the feeder's; `None` keeps the previous one).
    /// Searches see all of the batch or none of it.
    pub fn apply(
        &self,
        changes: impl IntoIterator<Item = Change>,
        position: Option<u64>,
    ) -> Result<Applied, IndexError> {
        let mut writer = self.writer.lock().map_err(|_| IndexError::Poisoned)?;
        if writer.poisoned {
            return Err(IndexError::Poisoned);
        }
        writer.poisoned = true;
        for change in changes {
            match change {
                Change::Upsert(doc) => writer.upsert(doc)?,
                Change::Remove(id) => writer.remove(&id)?,
            }
        }
        if position.is_some() {
            writer.position = position;
        }
        let snapshot = writer.publish()?;
        writer.poisoned = false;
        let len = snapshot.len;
        self.current.store(Arc::new(snapshot));
        Ok(Applied { len })
    }

    /// Merges the text index into one segment, waiting for it (seconds for a million
    /// documents): call it once after a bulk load, before serving. Searches go on meanwhile.
    pub fn compact(&self) -> Result<(), IndexError> {
        let mut writer = self.writer.lock().map_err(|_| IndexError::Poisoned)?;
        if writer.poisoned {
            return Err(IndexError::Poisoned);
        }
        writer.poisoned = true;
        let text = writer.text.compact()?;
        writer.poisoned = false;
        let current = self.snapshot();
        self.current.store(Arc::new(Snapshot {
            blocks: current.blocks.clone(),
            dicts: Arc::clone(&current.dicts),
            text,
            len: current.len,
            position: current.position,
            tally_max: current.tally_max,
            walk: current.walk,
        }));
        Ok(())
    }

    pub fn upsert(&self, doc: InstrumentDoc) -> Result<Applied, IndexError> {
        self.apply([Change::Upsert(Arc::new(doc))], None)
    }

    pub fn remove(&self, id: &str) -> Result<Applied, IndexError> {
        self.apply([Change::Remove(id.to_owned())], None)
    }

    /// [`Snapshot::search`] on the current snapshot, in line behind other searches when
    /// [`IndexConfig::concurrent_searches`] are running.
    pub fn search(&self, query: &Query, now: OffsetDateTime) -> Result<Page, SearchError> {
        let _pass = self.gate.as_ref().map(Gate::enter);
        self.snapshot().search(query, now)
    }
}
