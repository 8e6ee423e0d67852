//! Typeahead: feature labels, programmes and titles that the words typed so far begin.
//!
//! Every word but the last must be a whole word of the suggestion (accents and case aside);
//! the last may be the beginning of one. Only public documents are in the index, so only their
//! titles and programmes, and only features some public document has, are suggested.

use std::collections::HashMap;

use ri_taxonomy::FeatureCode;
use tantivy::Term;
use tantivy::query::{BooleanQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};

use crate::block::Dim;
use crate::index::Snapshot;
use crate::query::SearchError;
use crate::text::tokens;

/// Documents read per kind of suggestion: enough for a list of a dozen.
const CANDIDATES: usize = 2000;
/// Most suggestions asked at once.
pub const MAX_SUGGESTIONS: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SuggestionKind {
    Feature,
    Programme,
    Title,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub kind: SuggestionKind,
    /// As written: the label, the programme, the title.
    pub text: String,
    /// The feature, for a label.
    pub feature: Option<FeatureCode>,
    /// The instrument, for a title.
    pub id: Option<String>,
    /// Public documents with the feature or programme (among those read, for programmes);
    /// 1 for a title.
    pub count: u64,
}

impl Snapshot {
    /// Up to `limit` (at most [`MAX_SUGGESTIONS`]) suggestions for what is typed: matching
    /// feature labels first, then programmes (most used first), then titles (those starting
    /// with the text first, then shortest).
    pub fn suggest(&self, typed: &str, limit: usize) -> Result<Vec<Suggestion>, SearchError> {
        let limit = limit.min(MAX_SUGGESTIONS);
        let (_, mut raw) = self.text.analyzers();
        let words = tokens(&mut raw, typed);
        let Some((last, whole)) = words.split_last() else {
            return Ok(Vec::new());
        };
        let matches = |text: &str, raw: &mut tantivy::tokenizer::TextAnalyzer| {
            let have = tokens(raw, text);
            whole.iter().all(|w| have.contains(w))
                && have.iter().any(|h| h.starts_with(last.as_str()))
        };
        let mut out: Vec<Suggestion> = Vec::new();
        for code in FeatureCode::all() {
            let label = code.feature().label;
            if !matches(label, &mut raw) {
                continue;
            }
            let count: u64 = self
                .blocks
                .iter()
                .filter_map(|b| b.postings[Dim::Feature as usize].get(code_index(code)))
                .map(|p| p.len())
                .sum();
            if count > 0 {
                out.push(Suggestion {
                    kind: SuggestionKind::Feature,
                    text: label.to_owned(),
                    feature: Some(code),
                    id: None,
                    count,
                });
            }
        }
        out.sort_by(|a, b| b.count.cmp(&a.count).then(a.feature.cmp(&b.feature)));

        let mut programmes: HashMap<String, (String, u64)> = HashMap::new();
        for ord in self.candidates(self.text.fields.programme_raw, whole, last)? {
            if let Some(p) = self.doc(ord).and_then(|d| d.programme.as_ref()) {
                let entry = programmes
                    .entry(p.to_lowercase())
                    .or_insert_with(|| (p.clone(), 0));
                entry.1 += 1;
            }
        }
        let mut programmes: Vec<(String, u64)> = programmes.into_values().collect();
        programmes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out.extend(programmes.into_iter().map(|(text, count)| Suggestion {
            kind: SuggestionKind::Programme,
            text,
            feature: None,
            id: None,
            count,
        }));

        let typed_lower = typed.trim().to_lowercase();
        let mut titles: Vec<Suggestion> = self
            .candidates(self.text.fields.title_raw, whole, last)?
            .into_iter()
            .filter_map(|ord| self.doc(ord))
            .map(|d| Suggestion {
                kind: SuggestionKind::Title,
                text: d.title.clone(),
                feature: None,
                id: Some(d.id.clone()),
                count: 1,
            })
            .collect();
        titles.sort_by_cached_key(|s| {
            (
                !s.text.to_lowercase().starts_with(&typed_lower),
                s.text.chars().count(),
                s.text.clone(),
                s.id.clone(),
            )
        });
        titles.dedup_by(|a, b| a.text == b.text);
        out.extend(titles);
        out.truncate(limit);
        Ok(out)
    }

    /// Documents whose `field` has every whole word and a word beginning with `last`.
    fn candidates(
        &self,
        field: Field,
        whole: &[String],
        last: &str,
    ) -> Result<Vec<u32>, SearchError> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = whole
            .iter()
            .map(|w| {
                let q: Box<dyn Query> = Box::new(TermQuery::new(
                    Term::from_field_text(field, w),
                    IndexRecordOption::Basic,
                ));
                (Occur::Must, q)
            })
            .collect();
        clauses.push((
            Occur::Must,
            Box::new(FuzzyTermQuery::new_prefix(
                Term::from_field_text(field, last),
                0,
                false,
            )),
        ));
        let query = BooleanQuery::new(clauses);
        let mut ords: Vec<u32> = self
            .text
            .run(&query, false, CANDIDATES)?
            .into_iter()
            .map(|(o, _)| o)
            .collect();
        ords.sort_unstable();
        Ok(ords)
    }
}

fn code_index(code: FeatureCode) -> usize {
    ri_taxonomy::FeatureSet::from_iter([code])
        .bits()
        .trailing_zeros() as usize
}
