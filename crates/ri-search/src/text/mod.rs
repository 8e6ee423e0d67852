//! Full text with tantivy, in RAM: one tantivy document per indexed instrument, carrying the
//! index's dense ordinal so that text matches become a roaring bitmap like any other filter.
//!
//! Two analyzers: `ri_stem` (words, lower-cased, folded to ASCII, English Snowball stems) for
//! BM25 relevance and phrases, per field so that a title match outranks a summary match; and
//! `ri_raw` (the same without stemming) for prefix and typo-tolerant matching.

mod parse;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::query::Query;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer,
};
use tantivy::{
    DocId, Index, IndexReader, IndexWriter, ReloadPolicy, Score, Searcher, SegmentOrdinal,
    SegmentReader, TantivyDocument, Term,
};

use crate::doc::InstrumentDoc;
use crate::query::SearchError;

pub(crate) use parse::parse;

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
}

impl Default for TextConfig {
    fn default() -> Self {
        Self {
            threads: 1,
            memory_bytes: 64_000_000,
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
        let text = Self {
            index,
            config,
            writer: Some(writer),
            reader,
            fields,
        };
        let searcher = text.searcher();
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
        Ok(self.searcher())
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
        Ok(self.searcher())
    }

    fn searcher(&self) -> TextSearcher {
        TextSearcher {
            searcher: self.reader.searcher(),
            fields: self.fields,
            stem: stem_analyzer(),
            raw: raw_analyzer(),
        }
    }
}

/// The reading side, part of a snapshot.
#[derive(Clone)]
pub(crate) struct TextSearcher {
    searcher: Searcher,
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
        let collector = OrdCollector { scores, cap };
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

/// Collects each matching document's ordinal (and score).
struct OrdCollector {
    scores: bool,
    cap: usize,
}

struct OrdSegment {
    ords: Column<u64>,
    out: Vec<(u32, f32)>,
    cap: usize,
}

impl Collector for OrdCollector {
    type Fruit = Vec<(u32, f32)>;
    type Child = OrdSegment;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<OrdSegment> {
        Ok(OrdSegment {
            ords: reader.fast_fields().u64("ord")?,
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
            && let Some(ord) = self.ords.first(doc)
            && let Ok(ord) = u32::try_from(ord)
        {
            self.out.push((ord, score));
        }
    }

    fn harvest(self) -> Vec<(u32, f32)> {
        self.out
    }
}
