//! The search box's syntax, as PostgreSQL's `websearch_to_tsquery` reads it, turned into a
//! tantivy query: words all must match, `"a phrase"` matches the words in a row, `-word` and
//! `-"a phrase"` exclude, `a or b` matches either (binding tighter than the implicit "and").
//!
//! Beyond the SQL search: a word matches its English stem in any text (title, programme,
//! feature labels, tenant name, summary); a word of 5 letters or more also matches any word one
//! edit away (a typo, transpositions included); and the last word, while it is being typed (no
//! space after it), also matches any word it begins (2 letters or more).

use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::IndexRecordOption;
use tantivy::tokenizer::TextAnalyzer;

use super::{Fields, tokens};

/// Letters a word needs before one typo is forgiven.
const FUZZY_MIN_CHARS: usize = 5;
/// Letters the last word needs before it matches as a prefix.
const PREFIX_MIN_CHARS: usize = 2;
/// Fuzzy and prefix matches score a constant: small next to a word's BM25.
const FUZZY_BOOST: f32 = 0.2;
const PREFIX_BOOST: f32 = 0.3;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Lexeme {
    Atom {
        negated: bool,
        phrase: bool,
        text: String,
    },
    Or,
}

fn lex(text: &str) -> Vec<Lexeme> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let mut negated = false;
        if chars[i] == '-' && chars.get(i + 1).is_some_and(|c| !c.is_whitespace()) {
            negated = true;
            i += 1;
        }
        if chars[i] == '"' {
            let start = i + 1;
            let mut end = start;
            while end < chars.len() && chars[end] != '"' {
                end += 1;
            }
            out.push(Lexeme::Atom {
                negated,
                phrase: true,
                text: chars[start..end].iter().collect(),
            });
            i = end + 1;
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '"' {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if !negated && word.eq_ignore_ascii_case("or") {
                out.push(Lexeme::Or);
            } else {
                out.push(Lexeme::Atom {
                    negated,
                    phrase: false,
                    text: word,
                });
            }
        }
    }
    out
}

/// The search text as queries: what must match (everything, when only exclusions are given)
/// and what must not.
pub(crate) struct Parsed {
    pub(crate) positive: Match,
    pub(crate) excluded: Vec<Match>,
}

/// A query as a tree of tantivy queries: scored as one boolean query ([`Match::query`]), or
/// evaluated leaf by leaf into bitmaps when unscored, where or'ing and and'ing a block's words
/// is cheaper than tantivy's union of many posting lists.
pub(crate) enum Match {
    /// Every document.
    All,
    /// One query, with its weight in the score.
    Leaf(Leaf),
    /// Any of these.
    Any(Vec<Match>),
    /// Every one of these.
    Every(Vec<Match>),
}

/// One tantivy query and what it asks, as a key for [`super::TextCache`].
pub(crate) struct Leaf {
    pub(crate) key: LeafKey,
    pub(crate) query: Box<dyn Query>,
}

/// What a leaf asks; equal keys match the same documents in one searcher.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum LeafKey {
    /// The stems in a row in one stemmed field (by its id).
    Stems(u32, Vec<String>),
    /// Words one edit from this one.
    Typo(String),
    /// Words this one begins.
    Prefix(String),
}

impl Match {
    /// The tree as one tantivy query.
    pub(crate) fn query(&self) -> Box<dyn Query> {
        match self {
            Match::All => Box::new(AllQuery),
            Match::Leaf(leaf) => leaf.query.box_clone(),
            Match::Any(list) => Self::boolean(Occur::Should, list),
            Match::Every(list) => Self::boolean(Occur::Must, list),
        }
    }

    fn boolean(occur: Occur, list: &[Match]) -> Box<dyn Query> {
        match list {
            [one] => one.query(),
            _ => Box::new(BooleanQuery::new(
                list.iter().map(|m| (occur, m.query())).collect(),
            )),
        }
    }
}

/// Turns the search text into queries; `None` when it holds no word.
pub(crate) fn parse(
    text: &str,
    fields: &Fields,
    stem: &mut TextAnalyzer,
    raw: &mut TextAnalyzer,
) -> Option<Parsed> {
    let lexemes = lex(text);
    let typing = !text.ends_with(|c: char| c.is_whitespace() || c == '"');
    let last = lexemes.len().checked_sub(1);
    let mut groups: Vec<Vec<Match>> = Vec::new();
    let mut excluded: Vec<Match> = Vec::new();
    let mut join = false;
    for (i, lexeme) in lexemes.iter().enumerate() {
        let Lexeme::Atom {
            negated,
            phrase,
            text,
        } = lexeme
        else {
            join = !groups.is_empty();
            continue;
        };
        let stems = tokens(stem, text);
        let raws = tokens(raw, text);
        if stems.is_empty() {
            continue;
        }
        if *negated {
            excluded.push(exact(fields, &stems));
            continue;
        }
        let query = if *phrase || stems.len() > 1 || raws.len() != 1 {
            exact(fields, &stems)
        } else {
            word(fields, &stems[0], &raws[0], typing && Some(i) == last)
        };
        match groups.last_mut() {
            Some(group) if join => group.push(query),
            _ => groups.push(vec![query]),
        }
        join = false;
    }
    if groups.is_empty() && excluded.is_empty() {
        return None;
    }
    let positive = if groups.is_empty() {
        Match::All
    } else {
        Match::Every(groups.into_iter().map(any).collect())
    };
    Some(Parsed { positive, excluded })
}

fn any(mut list: Vec<Match>) -> Match {
    if list.len() == 1
        && let Some(m) = list.pop()
    {
        return m;
    }
    Match::Any(list)
}

fn leaf(key: LeafKey, query: impl Query, weight: f32) -> Match {
    Match::Leaf(Leaf {
        key,
        query: Box::new(BoostQuery::new(Box::new(query), weight)),
    })
}

/// The stems in a row, in any stemmed field, each field with its weight.
fn exact(fields: &Fields, stems: &[String]) -> Match {
    any(fields
        .stemmed
        .iter()
        .map(|&(field, weight)| match stems {
            [one] => leaf(
                LeafKey::Stems(field.field_id(), stems.to_vec()),
                TermQuery::new(
                    Term::from_field_text(field, one),
                    IndexRecordOption::WithFreqs,
                ),
                weight,
            ),
            _ => leaf(
                LeafKey::Stems(field.field_id(), stems.to_vec()),
                PhraseQuery::new(
                    stems
                        .iter()
                        .map(|s| Term::from_field_text(field, s))
                        .collect(),
                ),
                weight,
            ),
        })
        .collect())
}

/// One word: its stem anywhere, or (long enough) one typo away, or (the last word, being
/// typed) the beginning of a word.
fn word(fields: &Fields, stem: &str, raw: &str, last: bool) -> Match {
    let mut list = vec![exact(fields, &[stem.to_owned()])];
    let chars = raw.chars().count();
    let term = Term::from_field_text(fields.raw, raw);
    if chars >= FUZZY_MIN_CHARS {
        list.push(leaf(
            LeafKey::Typo(raw.to_owned()),
            FuzzyTermQuery::new(term.clone(), 1, true),
            FUZZY_BOOST,
        ));
    }
    if last && chars >= PREFIX_MIN_CHARS {
        list.push(leaf(
            LeafKey::Prefix(raw.to_owned()),
            FuzzyTermQuery::new_prefix(term, 0, true),
            PREFIX_BOOST,
        ));
    }
    any(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atom(negated: bool, phrase: bool, text: &str) -> Lexeme {
        Lexeme::Atom {
            negated,
            phrase,
            text: text.to_owned(),
        }
    }

    #[test]
    fn lexes_the_web_search_syntax() {
        assert_eq!(
            lex(r#" "border control" -maritime drones or UAV -"sea port" - x"#),
            vec![
                atom(false, true, "border control"),
                atom(true, false, "maritime"),
                atom(false, false, "drones"),
                Lexeme::Or,
                atom(false, false, "UAV"),
                atom(true, true, "sea port"),
                atom(false, false, "-"),
                atom(false, false, "x"),
            ]
        );
        assert_eq!(lex(r#""unclosed"#), vec![atom(false, true, "unclosed")]);
        assert_eq!(lex("-or"), vec![atom(true, false, "or")]);
    }
}
