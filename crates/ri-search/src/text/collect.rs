//! Tantivy collectors that turn matches into the index's ordinals: with scores (ranked
//! searches, typeahead) or straight into one set of words per block (unranked searches).

use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use crate::bits::{self, Set};
use crate::block::{BLOCK_BITS, BLOCK_SIZE};

/// An ordinal no document has: a segment's document without one (never written so).
pub(super) const NO_ORD: u32 = u32::MAX;

fn segment_ords(
    ords: &[Arc<[u32]>],
    segment: SegmentOrdinal,
    reader: &SegmentReader,
) -> tantivy::Result<Arc<[u32]>> {
    ords.get(segment as usize)
        .filter(|map| map.len() == reader.max_doc() as usize)
        .cloned()
        .ok_or_else(|| {
            tantivy::TantivyError::InternalError(format!("no ordinals for segment {segment}"))
        })
}

/// Collects each matching document's ordinal (and score).
pub(super) struct OrdCollector<'a> {
    pub(super) ords: &'a [Arc<[u32]>],
    pub(super) scores: bool,
    pub(super) cap: usize,
}

pub(super) struct OrdSegment {
    ords: Arc<[u32]>,
    out: Vec<(u32, f32)>,
    cap: usize,
}

impl Collector for OrdCollector<'_> {
    type Fruit = Vec<(u32, f32)>;
    type Child = OrdSegment;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<OrdSegment> {
        Ok(OrdSegment {
            ords: segment_ords(self.ords, segment, reader)?,
            out: Vec::new(),
            cap: self.cap,
        })
    }

    fn requires_scoring(&self) -> bool {
        self.scores
    }

    fn merge_fruits(&self, fruits: Vec<Vec<(u32, f32)>>) -> tantivy::Result<Vec<(u32, f32)>> {
        let mut all: Vec<(u32, f32)> = fruits.into_iter().flatten().collect();
        all.truncate(self.cap);
        Ok(all)
    }
}

impl SegmentCollector for OrdSegment {
    type Fruit = Vec<(u32, f32)>;

    fn collect(&mut self, doc: DocId, score: Score) {
        if self.out.len() < self.cap
            && let Some(&ord) = self.ords.get(doc as usize)
            && ord != NO_ORD
        {
            self.out.push((ord, score));
        }
    }

    fn harvest(self) -> Vec<(u32, f32)> {
        self.out
    }
}

/// Collects the matching documents into one set per block, unscored.
pub(super) struct SetCollector<'a> {
    pub(super) ords: &'a [Arc<[u32]>],
    pub(super) blocks: usize,
}

pub(super) struct SetSegment {
    ords: Arc<[u32]>,
    sets: Vec<Set>,
}

impl SetSegment {
    fn add(&mut self, doc: DocId) {
        let Some(&ord) = self.ords.get(doc as usize).filter(|&&o| o != NO_ORD) else {
            return;
        };
        // Set only: the counts are made once, in `harvest` (a bit test per posting here was
        // measurable).
        if let Some(set) = self.sets.get_mut((ord >> BLOCK_BITS) as usize) {
            if set.words.is_empty() {
                set.words = bits::empty();
            }
            bits::set(&mut set.words, ord & (BLOCK_SIZE as u32 - 1));
        }
    }
}

impl Collector for SetCollector<'_> {
    type Fruit = Vec<Set>;
    type Child = SetSegment;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SetSegment> {
        Ok(SetSegment {
            ords: segment_ords(self.ords, segment, reader)?,
            sets: vec![Set::default(); self.blocks],
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<Set>>) -> tantivy::Result<Vec<Set>> {
        let mut fruits = fruits.into_iter();
        let mut all = fruits
            .next()
            .unwrap_or_else(|| vec![Set::default(); self.blocks]);
        for sets in fruits {
            for (into, from) in all.iter_mut().zip(&sets) {
                into.union_with(from);
            }
        }
        Ok(all)
    }
}

impl SegmentCollector for SetSegment {
    type Fruit = Vec<Set>;

    fn collect(&mut self, doc: DocId, _: Score) {
        self.add(doc);
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        for &doc in docs {
            self.add(doc);
        }
    }

    fn harvest(mut self) -> Vec<Set> {
        for set in &mut self.sets {
            set.len = bits::count(&set.words);
        }
        self.sets
    }
}
