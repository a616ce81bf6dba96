//! The knowledge base's Chinese full-text search (issue 7): agents find the entry that answers
//! a caller while the work order is still being typed.
//!
//! - **Index**: tantivy 0.27, in memory or in a directory; rebuilt whole from the published
//!   versions (one commit: readers see the old index or the new one) or changed one entry at a
//!   time on publish and retire. Each commit stores a caller's fingerprint (tantivy's commit
//!   payload) so a restart knows whether the index on disk is current.
//! - **Words**: jieba-rs in search mode (long words also give the words inside them) with the
//!   repo's dictionary of local names (`config/kb/dict.txt`) and the synonym words added, so
//!   盐湖区 or 12329 stay one word. The tokenizer is ours over `jieba-rs` (the version
//!   tantivy-jieba 0.21 uses) rather than `tantivy_jieba::JiebaTokenizer`: that one does take
//!   a custom `Jieba` (`with_jieba`) but owns it, and tantivy clones a field's analyzer per
//!   segment writer, which would copy the whole dictionary each time; ours shares it in an
//!   `Arc`.
//! - **Queries**: not tantivy's query parser (it turns a spaceless Chinese sentence into a
//!   phrase and finds nothing for how callers speak) but one flat disjunction of the
//!   sentence's jieba words, fillers dropped (我 的 了 啊 那个 怎么 咋 …), synonyms added at
//!   0.8 of the word's weight. At most the 32 most informative words (highest IDF, a word and
//!   its synonyms counted together) are searched, and past the first 8 only while their
//!   posting lists add up to no more than the number of entries, so a whole typed description
//!   answers about as fast as a sentence.
//! - **Ranking**: BM25 over two fields: `head` (title and keywords, ×1.5) and `all` (title,
//!   keywords, category parts, unit and body, ×1), so a title word counts 2.5 times a body
//!   word. Two fields rather than one per part because each field searched costs a posting
//!   list per query word (four fields measured 2-3 times slower on long texts, and no better
//!   on the relevance set). The best 30 are then re-ranked by the share of the query's
//!   information found in the title (score × (1 + 0.5 × share)). A character-bigram field was
//!   measured and dropped: no gain on the relevance set for a third posting list per word.
//! - **Filters**: unit, category path prefix by whole parts, kind, in force on a given day
//!   (valid_from/valid_to as i64 fast fields, open ends as the extremes), none adding to the
//!   score.
//! - **Hits** carry highlighted title and body snippets and the words they matched on.
//!
//! Synchronous and `Send + Sync`: the server calls it from `spawn_blocking`. No clock is read:
//! the day for validity comes with the query.

mod error;
mod index;
mod lexicon;
mod query;
mod schema;
mod segment;
mod snippet;
mod tokenizer;

pub use error::{LexiconFile, SearchError};
pub use index::{RebuildStats, SearchIndex};
pub use lexicon::Lexicon;
pub use query::{Hit, Query};
pub use schema::Doc;
pub use segment::Segmenter;
pub use snippet::Snippet;
