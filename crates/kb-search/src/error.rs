//! What can go wrong building a lexicon or using the index.

/// Which lexicon file a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LexiconFile {
    Dictionary,
    Synonyms,
}

impl std::fmt::Display for LexiconFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LexiconFile::Dictionary => "dictionary",
            LexiconFile::Synonyms => "synonyms",
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    /// A line of the dictionary or the synonyms list that cannot be read; `line` counts from 1.
    #[error("{file} line {line}: {reason}")]
    Lexicon {
        file: LexiconFile,
        line: usize,
        reason: String,
    },
    /// The index could not be opened, written or read.
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// The index directory could not be created or wiped.
    #[error("search index directory {path}: {source}")]
    Directory {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// Another writer holds the index, or a previous operation panicked while holding it.
    #[error("search index writer is unavailable: {0}")]
    Writer(String),
}
