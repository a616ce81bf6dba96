//! The search index: kept in memory or in a directory, rebuilt whole or changed one entry at a
//! time, and searched with a BM25 bag of the query's words.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use hotline_kb::EntryKind;
use jieba_rs::Jieba;
use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query as TantivyQuery, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::{
    Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, TantivyError, Term,
};

use crate::error::SearchError;
use crate::lexicon::Lexicon;
use crate::query::{Hit, MAX_TERMS, Query, TermGroup, candidate_groups};
use crate::schema::{Doc, Fields, SCHEMA_VERSION, ZH, clean_category, day_number};
use crate::snippet;
use crate::tokenizer::ZhTokenizer;

/// What a rebuild did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebuildStats {
    /// Entries now in the index.
    pub docs: u64,
    /// Docs given more than once for one id (the last one was kept).
    pub duplicates: u64,
}

/// What is stored with each commit, to know later what the index was built from.
#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    schema: u32,
    lexicon: String,
    fingerprint: String,
}

/// Tunables of the ranking, kept together so the relevance test measures one set of them.
mod ranking {
    /// Field boosts: a word in the question (or its keywords) says more than one in the
    /// answer; `all` has the title's words too, so a title word counts HEAD + ALL.
    pub const HEAD: f32 = 1.5;
    pub const ALL: f32 = 1.0;
    /// Score multiplier per share of the query's information found in the title.
    pub const TITLE_BONUS: f32 = 0.5;
    /// Candidates taken from BM25 to re-rank with the title bonus, per hit asked.
    pub const POOL_FACTOR: usize = 3;
    pub const POOL_MIN: usize = 30;
    /// Query words always searched (the most informative), and the posting-list budget, as a
    /// multiple of the number of entries, for further words.
    pub const MIN_TERMS: usize = 8;
    pub const POSTINGS_BUDGET: f32 = 1.0;
    /// Characters of body shown in a snippet.
    pub const SNIPPET_CHARS: usize = 120;
}

/// Writer memory: tantivy flushes a segment when a thread's share is used up; 2 threads of
/// 50 MB index 100,000 entries in a handful of segments without holding much memory.
const WRITER_THREADS: usize = 2;
const WRITER_BYTES: usize = 100_000_000;

/// The knowledge base's search index. `Send + Sync`; every call is blocking (run it on a
/// blocking thread).
pub struct SearchIndex {
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    jieba: Arc<Jieba>,
    synonyms: BTreeMap<String, Vec<String>>,
    lexicon_digest: String,
    fingerprint: RwLock<Option<String>>,
}

impl SearchIndex {
    /// An index in memory (tests, or a process that rebuilds at start).
    pub fn in_memory(lexicon: Lexicon) -> Result<Self, SearchError> {
        let (schema, _) = Fields::schema();
        SearchIndex::from_index(Index::create_in_ram(schema), lexicon)
    }

    /// The index in `dir`, created if absent. A directory that holds no readable index of this
    /// schema (corrupt, from another version, or something else entirely) is wiped and a new
    /// empty index made there: the index is derived data, rebuilt from the store. The
    /// directory belongs to the index.
    pub fn open_or_create(dir: &Path, lexicon: Lexicon) -> Result<Self, SearchError> {
        let dir_error = |source| SearchError::Directory {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(dir_error)?;
        let (schema, _) = Fields::schema();
        let opened = Index::open_in_dir(dir).and_then(|index| {
            if index.schema() == schema {
                Ok(index)
            } else {
                Err(TantivyError::SchemaError("another schema".into()))
            }
        });
        if let Ok(index) = opened {
            match SearchIndex::from_index(index, lexicon.clone()) {
                Ok(s) => return Ok(s),
                // Another writer holds it: not ours to wipe.
                Err(SearchError::Index(e @ TantivyError::LockFailure(..))) => {
                    return Err(SearchError::Writer(e.to_string()));
                }
                Err(_) => {}
            }
        }
        wipe(dir).map_err(dir_error)?;
        let index = Index::create_in_dir(dir, schema)?;
        SearchIndex::from_index(index, lexicon)
    }

    fn from_index(index: Index, lexicon: Lexicon) -> Result<Self, SearchError> {
        let (_, fields) = Fields::schema();
        let jieba = Arc::new(lexicon.jieba());
        index
            .tokenizers()
            .register(ZH, ZhTokenizer::new(Arc::clone(&jieba)));
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let lexicon_digest = lexicon.digest();
        // The fingerprint counts only if the index was built the way this lexicon would build
        // it; otherwise the caller is told nothing is there, and rebuilds.
        let fingerprint = index
            .load_metas()?
            .payload
            .and_then(|p| serde_json::from_str::<Payload>(&p).ok())
            .filter(|p| p.schema == SCHEMA_VERSION && p.lexicon == lexicon_digest)
            .map(|p| p.fingerprint);
        let writer = index
            .writer_with_num_threads(WRITER_THREADS, WRITER_BYTES)
            .map_err(SearchError::Index)?;
        Ok(SearchIndex {
            reader,
            writer: Mutex::new(writer),
            fields,
            jieba,
            synonyms: lexicon.synonym_map(),
            lexicon_digest,
            fingerprint: RwLock::new(fingerprint),
        })
    }

    /// What the last rebuild or update recorded; `None` for a new index, or one built with
    /// another lexicon or schema (its content is stale: rebuild it).
    pub fn fingerprint(&self) -> Option<String> {
        self.fingerprint
            .read()
            .map(|f| f.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    fn writer(&self) -> Result<MutexGuard<'_, IndexWriter>, SearchError> {
        self.writer
            .lock()
            .map_err(|_| SearchError::Writer("a previous write panicked".into()))
    }

    /// Commits what the writer holds with the fingerprint, and makes it visible to the next
    /// search; on failure nothing of it is kept.
    fn commit(&self, writer: &mut IndexWriter, fingerprint: &str) -> Result<(), SearchError> {
        let payload = serde_json::to_string(&Payload {
            schema: SCHEMA_VERSION,
            lexicon: self.lexicon_digest.clone(),
            fingerprint: fingerprint.to_string(),
        })
        .map_err(|e| SearchError::Writer(e.to_string()))?;
        let committed = writer.prepare_commit().and_then(|mut prepared| {
            prepared.set_payload(&payload);
            prepared.commit()
        });
        if let Err(e) = committed {
            let _ = writer.rollback();
            return Err(e.into());
        }
        self.reader.reload()?;
        let mut f = self
            .fingerprint
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *f = Some(fingerprint.to_string());
        Ok(())
    }

    /// Replaces the whole index with `docs` in one commit: a search sees the old index or the
    /// new one, never part of either.
    pub fn rebuild(
        &self,
        docs: impl IntoIterator<Item = Doc>,
        fingerprint: &str,
    ) -> Result<RebuildStats, SearchError> {
        let mut writer = self.writer()?;
        let added = || -> Result<RebuildStats, TantivyError> {
            writer.delete_all_documents()?;
            let mut seen = HashSet::new();
            let mut stats = RebuildStats {
                docs: 0,
                duplicates: 0,
            };
            for doc in docs {
                if seen.insert(doc.id.clone()) {
                    stats.docs += 1;
                } else {
                    // Deletes apply to the documents added before them, also uncommitted ones.
                    writer.delete_term(Term::from_field_text(self.fields.id, &doc.id));
                    stats.duplicates += 1;
                }
                writer.add_document(self.fields.document(&doc))?;
            }
            Ok(stats)
        };
        match added() {
            Ok(stats) => {
                self.commit(&mut writer, fingerprint)?;
                // One segment: a search then looks each word up once and keeps one top-k,
                // instead of once per segment the indexing threads flushed. A merge keeps the
                // commit's payload and changes no content, so readers may switch at any time.
                let segments = writer.index().searchable_segment_ids()?;
                if segments.len() > 1 {
                    writer.merge(&segments).wait()?;
                    self.reader.reload()?;
                }
                Ok(stats)
            }
            Err(e) => {
                let _ = writer.rollback();
                Err(e.into())
            }
        }
    }

    /// Puts one entry's published version in place of whatever the index had for its id.
    pub fn upsert(&self, doc: Doc, fingerprint: &str) -> Result<(), SearchError> {
        let mut writer = self.writer()?;
        writer.delete_term(Term::from_field_text(self.fields.id, &doc.id));
        if let Err(e) = writer.add_document(self.fields.document(&doc)) {
            let _ = writer.rollback();
            return Err(e.into());
        }
        self.commit(&mut writer, fingerprint)
    }

    /// Takes an entry out (retired). Removing an id that is not there is no error.
    pub fn remove(&self, id: &str, fingerprint: &str) -> Result<(), SearchError> {
        let mut writer = self.writer()?;
        writer.delete_term(Term::from_field_text(self.fields.id, id));
        self.commit(&mut writer, fingerprint)
    }

    /// Entries in the index.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entries that best answer the query, best first. A query with no content words
    /// (empty, or only fillers) finds nothing.
    pub fn search(&self, q: &Query) -> Result<Vec<Hit>, SearchError> {
        let limit = q.limit.min(Query::MAX_LIMIT);
        let searcher = self.reader.searcher();
        if limit == 0 || searcher.num_docs() == 0 {
            return Ok(Vec::new());
        }
        let terms = self.informative_terms(&searcher, &q.text)?;
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let query = self.filtered(self.text_query(&terms), q);
        let pool = (limit * ranking::POOL_FACTOR).max(ranking::POOL_MIN);
        let top = searcher.search(&query, &TopDocs::with_limit(pool).order_by_score())?;
        let total_info: f32 = terms.iter().map(|t| t.info).sum();
        let mut scored = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let title = self.text_of(&doc, self.fields.title);
            let title_info: f32 = terms
                .iter()
                .filter(|t| snippet::present(&title, &t.words()).contains(&true))
                .map(|t| t.info)
                .sum();
            let bonus = 1.0 + ranking::TITLE_BONUS * title_info / total_info.max(f32::EPSILON);
            scored.push((score * bonus, doc));
        }
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.truncate(limit);
        Ok(scored
            .into_iter()
            .filter_map(|(score, doc)| self.hit(score, &doc, &terms))
            .collect())
    }

    fn text_of(&self, doc: &TantivyDocument, field: Field) -> String {
        doc.get_first(field)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    }

    fn hit(&self, score: f32, doc: &TantivyDocument, terms: &[WeightedTerm]) -> Option<Hit> {
        let f = &self.fields;
        // A document without its kind could only come from another schema, which opening
        // rules out; skip it rather than fail the search.
        let kind = EntryKind::parse(&self.text_of(doc, f.kind))?;
        let title = self.text_of(doc, f.title);
        let body = self.text_of(doc, f.body);
        let unit = self.text_of(doc, f.unit);
        let category = self.text_of(doc, f.category);
        let keywords: Vec<String> = doc
            .get_all(f.keywords)
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        let everything = format!(
            "{title}\n{}\n{category}\n{unit}\n{body}",
            keywords.join("\n")
        );
        // The words as found in the entry, in the order the caller said them; a word inside
        // another found word (供暖 in 供暖公司) adds nothing.
        let mut found: Vec<String> = Vec::new();
        for t in terms {
            for w in t.words() {
                if snippet::present(&everything, std::slice::from_ref(&w))[0] && !found.contains(&w)
                {
                    found.push(w);
                }
            }
        }
        let matched: Vec<String> = found
            .iter()
            .filter(|w| !found.iter().any(|o| o != *w && o.contains(&***w)))
            .cloned()
            .collect();
        let version = doc
            .get_first(f.version)
            .and_then(|v| v.as_u64())
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(0);
        Some(Hit {
            id: self.text_of(doc, f.id),
            version,
            score,
            title_snippet: snippet::whole(&title, &found),
            body_snippet: snippet::window(&body, &found, ranking::SNIPPET_CHARS),
            title,
            unit,
            kind,
            category,
            matched,
        })
    }

    /// The query's words that are in the index, most informative first, at most MAX_TERMS.
    fn informative_terms(
        &self,
        searcher: &Searcher,
        text: &str,
    ) -> Result<Vec<WeightedTerm>, SearchError> {
        let n = searcher.num_docs() as f32;
        let idf = |df: u64| {
            // A group's summed frequency can pass the number of entries; clamped, the IDF
            // stays positive (it is a share of the query below).
            let df = (df as f32).min(n);
            (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
        };
        let mut out = Vec::new();
        let groups = candidate_groups(&self.jieba, &self.synonyms, text);
        for (order, TermGroup { alts }) in groups.into_iter().enumerate() {
            let mut present = Vec::new();
            let mut group_df = 0;
            for (word, weight) in alts {
                // How common the word is: `all` holds every word of an entry.
                let df = searcher.doc_freq(&Term::from_field_text(self.fields.all, &word))?;
                if df > 0 {
                    group_df += df;
                    present.push((word, weight));
                }
            }
            if !present.is_empty() {
                // A word with synonyms is as common as all of them together (a rare synonym
                // does not make 停电 rare).
                let info = idf(group_df);
                out.push(WeightedTerm {
                    order,
                    info,
                    df: group_df,
                    present,
                });
            }
        }
        // The rarest words decide; ties keep the caller's order.
        out.sort_by(|a, b| b.info.total_cmp(&a.info).then(a.order.cmp(&b.order)));
        out.truncate(MAX_TERMS);
        // Past the first few, a word is kept only while the posting lists searched stay
        // within a budget proportional to the index: a whole typed description otherwise
        // searches dozens of common words whose long lists add time but barely move the top.
        let budget = ranking::POSTINGS_BUDGET * n;
        let mut spent = 0.0;
        let mut kept = 0;
        for t in &out {
            spent += t.df as f32;
            if kept >= ranking::MIN_TERMS && spent > budget {
                break;
            }
            kept += 1;
        }
        out.truncate(kept);
        Ok(out)
    }

    fn text_fields(&self) -> [(Field, f32); 2] {
        [
            (self.fields.head, ranking::HEAD),
            (self.fields.all, ranking::ALL),
        ]
    }

    /// One flat disjunction of boosted term queries: tantivy then runs block-max WAND over it,
    /// which skips most of the postings of common words.
    fn text_query(&self, terms: &[WeightedTerm]) -> Box<dyn TantivyQuery> {
        let mut boosts: HashMap<Term, f32> = HashMap::new();
        for t in terms {
            for (word, weight) in &t.present {
                // A field without the word costs one dictionary lookup and matches nothing.
                for (field, boost) in self.text_fields() {
                    let b = boosts
                        .entry(Term::from_field_text(field, word))
                        .or_insert(0.0);
                    *b = b.max(boost * weight);
                }
            }
        }
        let mut clauses: Vec<(Term, f32)> = boosts.into_iter().collect();
        // Deterministic clause order, so equal scores come out the same way every run.
        clauses.sort_by(|a, b| a.0.cmp(&b.0));
        Box::new(BooleanQuery::new(
            clauses
                .into_iter()
                .map(|(term, boost)| {
                    let q: Box<dyn TantivyQuery> = Box::new(BoostQuery::new(
                        Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)),
                        boost,
                    ));
                    (Occur::Should, q)
                })
                .collect(),
        ))
    }

    /// The text query restricted by the filters, which add nothing to the score.
    fn filtered(&self, text: Box<dyn TantivyQuery>, q: &Query) -> Box<dyn TantivyQuery> {
        let f = &self.fields;
        let mut must: Vec<Box<dyn TantivyQuery>> = Vec::new();
        let raw = |field: Field, value: &str| -> Box<dyn TantivyQuery> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, value),
                IndexRecordOption::Basic,
            ))
        };
        if let Some(unit) = &q.unit {
            must.push(raw(f.unit, unit.trim()));
        }
        if let Some(category) = &q.category {
            must.push(raw(f.category_path, &clean_category(category)));
        }
        if let Some(kind) = q.kind {
            must.push(raw(f.kind, kind.name()));
        }
        if let Some(day) = q.valid_on {
            let day = day_number(day);
            must.push(Box::new(RangeQuery::new(
                Bound::Unbounded,
                Bound::Included(Term::from_field_i64(f.valid_from, day)),
            )));
            must.push(Box::new(RangeQuery::new(
                Bound::Included(Term::from_field_i64(f.valid_to, day)),
                Bound::Unbounded,
            )));
        }
        if must.is_empty() {
            return text;
        }
        let mut clauses = vec![(Occur::Must, text)];
        clauses.extend(must.into_iter().map(|m| {
            let q: Box<dyn TantivyQuery> = Box::new(ConstScoreQuery::new(m, 0.0));
            (Occur::Must, q)
        }));
        Box::new(BooleanQuery::new(clauses))
    }
}

/// A query word found in the index, with how informative it is and its term queries.
struct WeightedTerm {
    order: usize,
    /// The IDF of its words together.
    info: f32,
    /// How many entries have its words (summed over them: an upper bound).
    df: u64,
    /// The words (itself and synonyms) the index has, with their weights.
    present: Vec<(String, f32)>,
}

impl WeightedTerm {
    fn words(&self) -> Vec<String> {
        self.present.iter().map(|(w, _)| w.clone()).collect()
    }
}

/// Removes everything inside `dir`, keeping `dir` itself (it may be a mount point).
fn wipe(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}
