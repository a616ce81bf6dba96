//! Words of a caller's text for analysis (issue 9: hot topics, near-duplicate requests): the
//! same dictionary and normalization as the search index, but jieba's default mode, so each
//! stretch of text counts once (search mode would also count the words inside a compound).

use std::sync::Arc;

use jieba_rs::{Jieba, TokenizeMode};

use crate::lexicon::Lexicon;
use crate::tokenizer::normalize;

/// Cuts texts into words; cheap to clone (the dictionary is shared).
#[derive(Clone)]
pub struct Segmenter {
    jieba: Arc<Jieba>,
}

impl Segmenter {
    /// A segmenter over `lexicon`'s dictionary (building it takes a moment: do it once).
    pub fn new(lexicon: &Lexicon) -> Self {
        Segmenter {
            jieba: Arc::new(lexicon.jieba()),
        }
    }

    /// The words of `text` in order, normalized (ASCII lower case, full-width forms to
    /// half-width), punctuation and spaces dropped.
    pub fn words(&self, text: &str) -> Vec<String> {
        // Full-width letters and digits (what a Chinese IME types) are made half-width first:
        // jieba cuts an unknown full-width run into single characters.
        let text: String = text
            .chars()
            .map(|c| match c {
                '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xff01 + 0x21).unwrap_or(c),
                c => c,
            })
            .collect();
        self.jieba
            .tokenize(&text, TokenizeMode::Default, true)
            .into_iter()
            .filter(|t| t.word.chars().any(char::is_alphanumeric))
            .map(|t| normalize(t.word))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_names_stay_whole_and_full_width_letters_make_one_word() {
        let s = Segmenter::new(&Lexicon::default_set());
        let w = s.words("盐湖区凤凰小区暖气不热，供暖公司不管！ＥＴＣ");
        assert!(w.contains(&"盐湖区".to_string()), "{w:?}");
        assert!(w.contains(&"暖气".to_string()), "{w:?}");
        assert!(w.contains(&"etc".to_string()), "{w:?}");
        assert!(!w.iter().any(|x| x == "，" || x == "！"), "{w:?}");
    }
}
