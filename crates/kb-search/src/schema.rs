//! The index's fields and how an entry becomes a tantivy document.

use hotline_kb::Entry;
use tantivy::TantivyDocument;
use tantivy::schema::{
    FAST, Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};

/// Bumped whenever the fields change: an index with other fields is rebuilt.
pub(crate) const SCHEMA_VERSION: u32 = 1;

pub(crate) const ZH: &str = "zh";

/// An entry as the index holds it: which entry, which of its published versions, its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doc {
    pub id: String,
    pub version: u32,
    pub entry: Entry,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub id: Field,
    pub version: Field,
    pub kind: Field,
    pub unit: Field,
    pub category: Field,
    /// Every ancestor path of the category as a raw term, so a prefix by whole parts is a term.
    pub category_path: Field,
    /// Stored only: what a hit shows.
    pub title: Field,
    pub keywords: Field,
    pub body: Field,
    /// The question and its keywords as words: the short field a match counts most in.
    pub head: Field,
    /// Everything as words: title, keywords, category parts, unit and body. One field rather
    /// than one per part, since every query word costs a posting list per field searched and
    /// a typed description has dozens of words (the bench measured 4 fields at 2-3 times the
    /// latency of this pair).
    pub all: Field,
    pub valid_from: Field,
    pub valid_to: Field,
}

impl Fields {
    pub fn schema() -> (Schema, Fields) {
        let mut b = Schema::builder();
        // Frequencies, no positions: queries are bags of words (no phrases), and positions
        // would roughly double the postings.
        let text = |tokenizer: &str| {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(tokenizer)
                    .set_index_option(IndexRecordOption::WithFreqs),
            )
        };
        let fields = Fields {
            id: b.add_text_field("id", STRING | STORED),
            version: b.add_u64_field("version", STORED),
            kind: b.add_text_field("kind", STRING | STORED),
            unit: b.add_text_field("unit", STRING | STORED),
            category: b.add_text_field("category", STORED),
            category_path: b.add_text_field("category_path", STRING),
            title: b.add_text_field("title", STORED),
            keywords: b.add_text_field("keywords", STORED),
            body: b.add_text_field("body", STORED),
            head: b.add_text_field("head", text(ZH)),
            all: b.add_text_field("all", text(ZH)),
            valid_from: b.add_i64_field("valid_from", FAST),
            valid_to: b.add_i64_field("valid_to", FAST),
        };
        (b.build(), fields)
    }

    pub fn document(&self, doc: &Doc) -> TantivyDocument {
        let e = &doc.entry;
        let mut d = TantivyDocument::new();
        d.add_text(self.id, &doc.id);
        d.add_u64(self.version, u64::from(doc.version));
        d.add_text(self.kind, e.kind.name());
        d.add_text(self.unit, e.unit.trim());
        let category = clean_category(&e.category);
        d.add_text(self.category, &category);
        for path in ancestors(&category) {
            d.add_text(self.category_path, path);
        }
        d.add_text(self.title, &e.title);
        for k in &e.keywords {
            d.add_text(self.keywords, k);
        }
        d.add_text(self.body, &e.body);
        let keywords = e.keywords.join("\n");
        d.add_text(self.head, format!("{}\n{keywords}", e.title));
        d.add_text(
            self.all,
            format!(
                "{}\n{keywords}\n{}\n{}\n{}",
                e.title,
                category.replace('/', "\n"),
                e.unit,
                e.body
            ),
        );
        d.add_i64(
            self.valid_from,
            e.validity.from.map_or(i64::MIN, day_number),
        );
        d.add_i64(self.valid_to, e.validity.to.map_or(i64::MAX, day_number));
        d
    }
}

pub(crate) fn day_number(d: chrono::NaiveDate) -> i64 {
    use chrono::Datelike;
    i64::from(d.num_days_from_ce())
}

/// A category path with its parts trimmed and empty parts dropped: " 城乡建设 / 供暖/" is
/// "城乡建设/供暖", so a filter matches however the path was typed.
pub(crate) fn clean_category(path: &str) -> String {
    path.split('/')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

/// "a/b/c" → "a", "a/b", "a/b/c".
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/')
        .map(move |(i, _)| &path[..i])
        .chain((!path.is_empty()).then_some(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestor_paths() {
        let a: Vec<&str> = ancestors("城乡建设/供暖/收费").collect();
        assert_eq!(a, ["城乡建设", "城乡建设/供暖", "城乡建设/供暖/收费"]);
        assert_eq!(clean_category(" 城乡建设 / 供暖/"), "城乡建设/供暖");
    }
}
