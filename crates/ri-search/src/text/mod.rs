//! Full text with tantivy, in RAM: one tantivy document per indexed instrument, carrying the
//! index's dense ordinal so that text matches become sets of a block's documents, like any
//! other filter.
//!
//! Two analyzers: `ri_stem` (words, lower-cased, folded to ASCII, English Snowball stems) for
//! BM25 relevance and phrases, per field so that a title match outranks a summary match; and
//! `ri_raw` (the same without stemming) for prefix and typo-tolerant matching.

mod cache;
mod collect;
mod parse;

use std::collections::HashMap;
use std::sync::Arc;

use tantivy::index::SegmentId;
use tantivy::query::Query;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};

use crate::bits::Set;
use crate::doc::InstrumentDoc;
use crate::query::SearchError;

use cache::{Entry, Key, TextCache};
use collect::{NO_ORD, OrdCollector, SetCollector};
use parse::Leaf;
pub(crate) use parse::{Match, parse};

const STEM: &str = "ri_stem";
const RAW: &str = "ri_raw";
/// Longer tokens are dropped (as tantivy's default analyzer does).
const MAX_TOKEN_BYTES: usize = 40;

/// The tantivy fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub(crate) ord: Field,
    /// Stemmed, with positions, each with its weight in the score.
    pub(crate) stemmed: [(Field, f32); 5],
    /// Unstemmed words of every text, for prefixes and typos.
    pub(crate) raw: Field,
    /// Unstemmed words of the title and of the programme, for typeahead.
    pub(crate) title_raw: Field,
    pub(crate) programme_raw: Field,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let ord = builder.add_u64_field("ord", INDEXED | FAST);
    let stemmed = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(STEM)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let raw = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(RAW)
            .set_index_option(IndexRecordOption::Basic)
            .set_fieldnorms(false),
    );
    let fields = Fields {
        ord,
        stemmed: [
            (builder.add_text_field("title", stemmed.clone()), 3.0),
            (builder.add_text_field("programme", stemmed.clone()), 2.0),
            (builder.add_text_field("features", stemmed.clone()), 2.0),
            (builder.add_text_field("tenant", stemmed.clone()), 1.5),
            (builder.add_text_field("summary", stemmed), 1.0),
        ],
        raw: builder.add_text_field("raw", raw.clone()),
        title_raw: builder.add_text_field("title_raw", raw.clone()),
        programme_raw: builder.add_text_field("programme_raw", raw),
    };
    (builder.build(), fields)
}

fn raw_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

fn stem_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::English))
        .build()
}

/// The tokens `analyzer` makes of `text`.
pub(crate) fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// Sizing of the tantivy writer.
#[derive(Debug, Clone, Copy)]
pub struct TextConfig {
    /// Indexing threads (tantivy's own; no async runtime).
    pub threads: usize,
    /// Memory for indexing, shared by the threads (at least 15 MB each).
    pub memory_bytes: usize,
    /// Memory for what recent text searches read: the documents of words, typos and prefixes
    /// (8 KB a block each) and ranked texts' scored matches (8 bytes a match), kept until the
    /// next change; 0 keeps none.
    pub cache_bytes: usize,
}

impl Default for TextConfig {
    fn default() -> Self {
        Self {
            threads: 1,
            memory_bytes: 64_000_000,
            cache_bytes: 64_000_000,
        }
    }
}

/// The writing side: applies a batch's changes and commits them in one go.
pub(crate) struct TextWriter {
    index: Index,
    config: TextConfig,
    /// `None` only while [`TextWriter::compact`] replaces it.
    writer: Option<IndexWriter>,
    reader: IndexReader,
    fields: Fields,
    /// Each segment's documents' ordinals, kept while the segment lives.
    ords: HashMap<SegmentId, Arc<[u32]>>,
}

impl std::fmt::Debug for TextWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextWriter").finish_non_exhaustive()
    }
}

impl TextWriter {
    pub(crate) fn new(config: TextConfig) -> tantivy::Result<(Self, TextSearcher)> {
        let (schema, fields) = schema();
        let index = Index::create_in_ram(schema);
        index.tokenizers().register(STEM, stem_analyzer());
        index.tokenizers().register(RAW, raw_analyzer());
        let writer = Self::writer(&index, config)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let mut text = Self {
            index,
            config,
            writer: Some(writer),
            reader,
            fields,
            ords: HashMap::new(),
        };
        let searcher = text.searcher()?;
        Ok((text, searcher))
    }

    fn writer(index: &Index, config: TextConfig) -> tantivy::Result<IndexWriter> {
        let threads = config.threads.max(1);
        index.writer_with_num_threads(threads, config.memory_bytes.max(threads * 15_000_000))
    }

    fn live(&mut self) -> tantivy::Result<&mut IndexWriter> {
        self.writer.as_mut().ok_or_else(|| {
            tantivy::TantivyError::InternalError("the text writer was lost".to_owned())
        })
    }

    pub(crate) fn delete(&mut self, ord: u32) -> tantivy::Result<()> {
        let term = Term::from_field_u64(self.fields.ord, u64::from(ord));
        self.live()?.delete_term(term);
        Ok(())
    }

    /// Waits for the background merges, then merges every segment into one: after a bulk
    /// load, so that searches read one segment and no merge competes with them for the CPU.
    pub(crate) fn compact(&mut self) -> tantivy::Result<TextSearcher> {
        self.live()?.commit()?;
        if let Some(writer) = self.writer.take() {
            writer.wait_merging_threads()?;
        }
        let mut writer = Self::writer(&self.index, self.config)?;
        let segments = self.index.searchable_segment_ids()?;
        if segments.len() > 1 {
            writer.merge(&segments).wait()?;
        }
        writer.garbage_collect_files().wait()?;
        self.writer = Some(writer);
        self.reader.reload()?;
        self.searcher()
    }

    pub(crate) fn add(&mut self, ord: u32, doc: &InstrumentDoc) -> tantivy::Result<()> {
        let f = &self.fields;
        let mut d = TantivyDocument::default();
        d.add_u64(f.ord, u64::from(ord));
        let [title, programme, features, tenant, summary] = f.stemmed.map(|(field, _)| field);
        d.add_text(title, &doc.title);
        d.add_text(f.title_raw, &doc.title);
        d.add_text(f.raw, &doc.title);
        if let Some(p) = &doc.programme {
            d.add_text(programme, p);
            d.add_text(f.programme_raw, p);
            d.add_text(f.raw, p);
        }
        for code in doc.features.iter() {
            d.add_text(features, code.feature().label);
            d.add_text(f.raw, code.feature().label);
        }
        if let Some(name) = &doc.tenant_name {
            d.add_text(tenant, name);
            d.add_text(f.raw, name);
        }
        d.add_text(summary, &doc.summary);
        d.add_text(f.raw, &doc.summary);
        self.live()?.add_document(d)?;
        Ok(())
    }

    /// Commits the batch and returns a searcher that sees exactly it.
    pub(crate) fn commit(&mut self) -> tantivy::Result<TextSearcher> {
        self.live()?.commit()?;
        self.reader.reload()?;
        self.searcher()
    }

    /// A searcher of the last commit, with each segment's document-to-ordinal map (read from
    /// the `ord` column once per segment: looking the column up per match was a tenth of a
    /// text search).
    fn searcher(&mut self) -> tantivy::Result<TextSearcher> {
        let searcher = self.reader.searcher();
        let mut ords = Vec::with_capacity(searcher.segment_readers().len());
        let mut kept = HashMap::with_capacity(searcher.segment_readers().len());
        for reader in searcher.segment_readers() {
            let id = reader.segment_id();
            let map = match self.ords.remove(&id) {
                Some(map) => map,
                None => {
                    let column = reader.fast_fields().u64("ord")?;
                    (0..reader.max_doc())
                        .map(|doc| {
                            column
                                .first(doc)
                                .and_then(|o| u32::try_from(o).ok())
                                .unwrap_or(NO_ORD)
                        })
                        .collect()
                }
            };
            ords.push(Arc::clone(&map));
            kept.insert(id, map);
        }
        self.ords = kept;
        Ok(TextSearcher {
            searcher,
            ords: ords.into(),
            cache: Arc::new(TextCache::new(self.config.cache_bytes)),
            fields: self.fields,
            stem: stem_analyzer(),
            raw: raw_analyzer(),
        })
    }
}

/// The reading side, part of a snapshot.
#[derive(Clone)]
pub(crate) struct TextSearcher {
    searcher: Searcher,
    /// By segment ordinal, by document: its ordinal ([`NO_ORD`] for none).
    ords: Arc<[Arc<[u32]>]>,
    cache: Arc<TextCache>,
    pub(crate) fields: Fields,
    stem: TextAnalyzer,
    raw: TextAnalyzer,
}

impl std::fmt::Debug for TextSearcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextSearcher")
            .field("docs", &self.searcher.num_docs())
            .finish_non_exhaustive()
    }
}

impl TextSearcher {
    pub(crate) fn analyzers(&self) -> (TextAnalyzer, TextAnalyzer) {
        (self.stem.clone(), self.raw.clone())
    }

    /// The ordinals of the documents matching `query`, with scores when `scores`, in no
    /// particular order; at most `cap` of them.
    pub(crate) fn run(
        &self,
        query: &dyn Query,
        scores: bool,
        cap: usize,
    ) -> Result<Vec<(u32, f32)>, SearchError> {
        let collector = OrdCollector {
            ords: &self.ords,
            scores,
            cap,
        };
        self.searcher
            .search(query, &collector)
            .map_err(|e| SearchError::Text(e.to_string()))
    }

    /// The documents `m` matches, as one set of local ordinals per block for `blocks` blocks,
    /// unscored: each leaf's postings read once into words (or taken from the cache), then
    /// or'ed and and'ed.
    pub(crate) fn sets(&self, m: &Match, blocks: usize) -> Result<Vec<Set>, SearchError> {
        match m {
            Match::All => self.run_sets(&tantivy::query::AllQuery, blocks),
            Match::Leaf(leaf) => Ok(Arc::unwrap_or_clone(self.leaf(leaf, blocks)?)),
            Match::Any(list) => {
                let mut out = vec![Set::default(); blocks];
                for m in list {
                    self.with(m, blocks, |from| {
                        for (into, from) in out.iter_mut().zip(from) {
                            into.union_with(from);
                        }
                    })?;
                }
                Ok(out)
            }
            Match::Every(list) => {
                let mut list = list.iter();
                let mut out = match list.next() {
                    Some(m) => self.sets(m, blocks)?,
                    None => return self.run_sets(&tantivy::query::AllQuery, blocks),
                };
                for m in list {
                    if out.iter().all(|s| s.len == 0) {
                        break;
                    }
                    self.with(m, blocks, |from| {
                        for (into, from) in out.iter_mut().zip(from) {
                            into.intersect_with(from);
                        }
                    })?;
                }
                Ok(out)
            }
        }
    }

    /// Calls `f` with the sets of `m`, a cached leaf's without copying them.
    fn with(&self, m: &Match, blocks: usize, f: impl FnOnce(&[Set])) -> Result<(), SearchError> {
        match m {
            Match::Leaf(leaf) => f(&self.leaf(leaf, blocks)?),
            _ => f(&self.sets(m, blocks)?),
        }
        Ok(())
    }

    /// A leaf's sets, from the cache or read and then kept.
    fn leaf(&self, leaf: &Leaf, blocks: usize) -> Result<Arc<Vec<Set>>, SearchError> {
        let key = Key::Leaf(leaf.key.clone());
        if let Some(Entry::Sets(hit)) = self.cache.get(&key)
            && hit.len() == blocks
        {
            return Ok(hit);
        }
        let sets = Arc::new(self.run_sets(leaf.query.as_ref(), blocks)?);
        self.cache.put(key, Entry::Sets(Arc::clone(&sets)));
        Ok(sets)
    }

    /// Every document `m` matches with its score, for the search text `text` it was parsed
    /// from; from the cache or scored and then kept.
    pub(crate) fn ranked(
        &self,
        text: &str,
        m: &Match,
    ) -> Result<Arc<Vec<(u32, f32)>>, SearchError> {
        let key = Key::Ranked(text.to_owned());
        if let Some(Entry::Scored(hit)) = self.cache.get(&key) {
            return Ok(hit);
        }
        let scored = Arc::new(self.run(m.query().as_ref(), true, usize::MAX)?);
        self.cache.put(key, Entry::Scored(Arc::clone(&scored)));
        Ok(scored)
    }

    /// The documents matching `query`, as one set of local ordinals per block for `blocks`
    /// blocks, unscored: what a search that does not rank by relevance filters on.
    fn run_sets(&self, query: &dyn Query, blocks: usize) -> Result<Vec<Set>, SearchError> {
        let collector = SetCollector {
            ords: &self.ords,
            blocks,
        };
        self.searcher
            .search(query, &collector)
            .map_err(|e| SearchError::Text(e.to_string()))
    }

    /// Tantivy's on-heap bytes for the segments (an estimate: the RAM directory's files).
    pub(crate) fn space_bytes(&self) -> usize {
        self.searcher
            .space_usage()
            .map(|u| u.total().get_bytes() as usize)
            .unwrap_or(0)
    }
}
