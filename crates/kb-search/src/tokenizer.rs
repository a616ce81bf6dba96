//! The tokenizer used for both indexing and querying: jieba (search mode) over a shared
//! dictionary, punctuation dropped, words normalized (ASCII lower case, full-width forms to
//! half-width) so that "ＥＴＣ", "etc" and "ETC" are one term.
//!
//! Ours rather than `tantivy_jieba::JiebaTokenizer`: that one accepts a custom `Jieba`, but holds
//! it by value, and tantivy clones a field's analyzer for every segment writer and every lookup,
//! which would deep-copy the ~350,000-word dictionary each time. This one shares it behind an
//! `Arc`, so a clone costs a reference count.

use std::sync::Arc;

use jieba_rs::{Jieba, TokenizeMode};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// One word of a text: where it is (bytes) and its normalized form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// Normalizes one word the same way at index and query time.
pub(crate) fn normalize(word: &str) -> String {
    word.chars()
        .map(|c| match c {
            // Full-width ASCII forms (Ａ, １, ＥＴＣ) are what a Chinese IME types.
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xff01 + 0x21)
                .unwrap_or(c)
                .to_ascii_lowercase(),
            '\u{3000}' => ' ',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// A word worth indexing has a letter or a digit (CJK counts as letters); punctuation, spaces
/// and symbols are not words.
fn is_word(word: &str) -> bool {
    word.chars().any(char::is_alphanumeric)
}

/// Cuts a text into its words in search mode: long words also yield the dictionary words inside
/// them (供暖公司 gives 供暖, 公司 and 供暖公司), so a query word is found inside a compound.
pub(crate) fn words(jieba: &Jieba, text: &str) -> Vec<Word> {
    jieba
        .tokenize(text, TokenizeMode::Search, true)
        .into_iter()
        .filter(|t| is_word(t.word))
        .map(|t| Word {
            start: t.byte_start,
            end: t.byte_end,
            text: normalize(t.word),
        })
        .collect()
}

/// The tantivy tokenizer for the text fields.
#[derive(Clone)]
pub(crate) struct ZhTokenizer {
    jieba: Arc<Jieba>,
}

impl ZhTokenizer {
    pub fn new(jieba: Arc<Jieba>) -> Self {
        ZhTokenizer { jieba }
    }
}

pub(crate) struct WordStream {
    words: std::vec::IntoIter<Word>,
    position: usize,
    token: Token,
}

impl Tokenizer for ZhTokenizer {
    type TokenStream<'a> = WordStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordStream {
        WordStream {
            words: words(&self.jieba, text).into_iter(),
            position: 0,
            token: Token::default(),
        }
    }
}

impl TokenStream for WordStream {
    fn advance(&mut self) -> bool {
        let Some(w) = self.words.next() else {
            return false;
        };
        self.token.offset_from = w.start;
        self.token.offset_to = w.end;
        // Positions are not indexed (no phrase queries), so an ordinal is enough.
        self.token.position = self.position;
        self.token.position_length = 1;
        self.token.text = w.text;
        self.position += 1;
        true
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_is_half_width() {
        assert_eq!(normalize("ＥＴＣ１２３"), "etc123");
    }
}
