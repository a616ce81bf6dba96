//! What a search asks and what it answers, and how a caller's sentence becomes weighted terms:
//! jieba words, fillers dropped, synonyms added, the most informative kept.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use hotline_kb::EntryKind;
use jieba_rs::Jieba;

use crate::lexicon::STOP_WORDS;
use crate::snippet::Snippet;
use crate::tokenizer::{normalize, words};

/// A search: free text (a few words, a caller's sentence or a whole typed description) and
/// optional filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub text: String,
    /// The issuing unit, exactly.
    pub unit: Option<String>,
    /// A category path prefix by whole parts: "城乡建设" matches "城乡建设/供暖", not "城乡建设局".
    pub category: Option<String>,
    pub kind: Option<EntryKind>,
    /// Only entries in force that day; `None` = any.
    pub valid_on: Option<NaiveDate>,
    /// At most this many hits (capped at [`Query::MAX_LIMIT`]).
    pub limit: usize,
}

impl Query {
    pub const MAX_LIMIT: usize = 100;

    /// A text search with no filters and ten hits.
    pub fn text(text: impl Into<String>) -> Query {
        Query {
            text: text.into(),
            unit: None,
            category: None,
            kind: None,
            valid_on: None,
            limit: 10,
        }
    }

    /// Suggestions for the agent while a work order is typed: entries in force on `day`.
    pub fn suggest(text: impl Into<String>, day: NaiveDate, limit: usize) -> Query {
        Query {
            valid_on: Some(day),
            limit,
            ..Query::text(text)
        }
    }
}

/// One entry found.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: String,
    pub version: u32,
    pub score: f32,
    pub title: String,
    pub unit: String,
    pub kind: EntryKind,
    pub category: String,
    pub title_snippet: Snippet,
    pub body_snippet: Snippet,
    /// The query's words (or their synonyms) found in this entry, as the entry writes them:
    /// why it matched.
    pub matched: Vec<String>,
}

/// The most distinct query words searched for: a whole typed description has hundreds, and
/// the rarest few decide the ranking anyway while every extra word costs a posting list.
pub(crate) const MAX_TERMS: usize = 32;

/// How much less a synonym counts than the word the caller said.
pub(crate) const SYNONYM_WEIGHT: f32 = 0.8;

/// One word of the query and what may stand for it.
#[derive(Debug, Clone)]
pub(crate) struct TermGroup {
    /// (normalized word, weight): the word itself first, then its synonyms.
    pub alts: Vec<(String, f32)>,
}

/// The query's distinct content words in order of first appearance, each with its synonyms.
pub(crate) fn candidate_groups(
    jieba: &Jieba,
    synonyms: &BTreeMap<String, Vec<String>>,
    text: &str,
) -> Vec<TermGroup> {
    let stop: HashSet<&str> = STOP_WORDS.iter().copied().collect();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for w in words(jieba, text) {
        if stop.contains(w.text.as_str()) || !seen.insert(w.text.clone()) {
            continue;
        }
        let mut alts = vec![(w.text.clone(), 1.0)];
        if let Some(others) = synonyms.get(&w.text) {
            alts.extend(others.iter().map(|o| (normalize(o), SYNONYM_WEIGHT)));
        }
        out.push(TermGroup { alts });
    }
    out
}
