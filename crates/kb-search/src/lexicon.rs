//! The words the tokenizer must know (local names: districts, streets, units, hotline numbers)
//! and the synonym groups a query is widened with, read from the repo's `config/kb/` files or
//! given by the caller.
//!
//! Dictionary lines are jieba's `word [freq] [tag]`; synonym lines are one group of words
//! separated by spaces (or `,` `，` `、`). `#` starts a comment line; blank lines are skipped.

use std::collections::{BTreeMap, BTreeSet};

use jieba_rs::Jieba;

use crate::error::{LexiconFile, SearchError};
use crate::tokenizer::normalize;

/// Bumped whenever tokenization changes in a way that makes an existing index stale.
const TOKENIZER_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
struct DictWord {
    word: String,
    freq: Option<usize>,
    tag: Option<String>,
}

/// Dictionary words and synonym groups.
#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    words: Vec<DictWord>,
    groups: Vec<Vec<String>>,
}

fn lexicon_error(file: LexiconFile, line: usize, reason: impl Into<String>) -> SearchError {
    SearchError::Lexicon {
        file,
        line,
        reason: reason.into(),
    }
}

/// Lines that carry content, numbered from 1 as an editor shows them.
fn content_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_start_matches('\u{feff}').trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

fn is_word(w: &str) -> bool {
    w.chars().any(char::is_alphanumeric)
}

impl Lexicon {
    /// Reads a dictionary and a synonyms list; the first bad line is named with its number and
    /// what is wrong with it.
    pub fn parse(dictionary: &str, synonyms: &str) -> Result<Lexicon, SearchError> {
        let mut words = Vec::new();
        for (n, line) in content_lines(dictionary) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let err = |reason: String| lexicon_error(LexiconFile::Dictionary, n, reason);
            if fields.len() > 3 {
                return Err(err(format!(
                    "`{line}` has {} fields; expected `word [freq] [tag]`",
                    fields.len()
                )));
            }
            let word = fields[0];
            if !is_word(word) {
                return Err(err(format!("`{word}` has no letter or digit")));
            }
            let freq = match fields.get(1) {
                None => None,
                Some(f) => match f.parse::<usize>() {
                    Ok(0) | Err(_) => {
                        return Err(err(format!(
                            "frequency `{f}` of `{word}` is not a positive whole number"
                        )));
                    }
                    Ok(v) => Some(v),
                },
            };
            let tag = match fields.get(2) {
                None => None,
                Some(t) if t.chars().all(|c| c.is_ascii_alphabetic()) => Some(t.to_string()),
                Some(t) => {
                    return Err(err(format!(
                        "tag `{t}` of `{word}` is not a part-of-speech tag (ASCII letters, like ns)"
                    )));
                }
            };
            words.push(DictWord {
                word: word.to_string(),
                freq,
                tag,
            });
        }
        let mut groups = Vec::new();
        for (n, line) in content_lines(synonyms) {
            let err = |reason: String| lexicon_error(LexiconFile::Synonyms, n, reason);
            let mut group: Vec<String> = Vec::new();
            for w in line
                .split(|c: char| c.is_whitespace() || matches!(c, ',' | '，' | '、'))
                .filter(|w| !w.is_empty())
            {
                if !is_word(w) {
                    return Err(err(format!("`{w}` has no letter or digit")));
                }
                if group.iter().any(|g| normalize(g) == normalize(w)) {
                    return Err(err(format!("`{w}` appears twice in the group")));
                }
                group.push(w.to_string());
            }
            if group.len() < 2 {
                return Err(err(format!(
                    "`{line}` is a group of one; a group needs two or more words"
                )));
            }
            groups.push(group);
        }
        Ok(Lexicon { words, groups })
    }

    /// Adds synonym groups (from the configuration file); groups of fewer than two words are
    /// ignored, since they widen nothing.
    pub fn with_groups(mut self, extra: Vec<Vec<String>>) -> Self {
        for g in extra {
            let mut group: Vec<String> = Vec::new();
            for w in g.iter().map(|w| w.trim()).filter(|w| is_word(w)) {
                if !group.iter().any(|x| normalize(x) == normalize(w)) {
                    group.push(w.to_string());
                }
            }
            if group.len() >= 2 {
                self.groups.push(group);
            }
        }
        self
    }

    /// Adds the words of another dictionary file (the configuration's `kb.dictionary`); a bad
    /// line is named with its number in that file.
    pub fn with_dictionary(mut self, dictionary: &str) -> Result<Self, SearchError> {
        let more = Lexicon::parse(dictionary, "")?;
        self.words.extend(more.words);
        Ok(self)
    }

    /// The repo's dictionary (`config/kb/dict.txt`) and synonyms (`config/kb/synonyms.txt`).
    pub fn default_set() -> Lexicon {
        const DICT: &str = include_str!("../../../config/kb/dict.txt");
        const SYNONYMS: &str = include_str!("../../../config/kb/synonyms.txt");
        // The files are checked by this crate's tests (lexicon.rs parses them), so a bad line
        // fails CI rather than a running server; should one slip through anyway, search still
        // works without the local words.
        Lexicon::parse(DICT, SYNONYMS).unwrap_or_default()
    }

    /// The number of dictionary words and of synonym groups.
    pub fn sizes(&self) -> (usize, usize) {
        (self.words.len(), self.groups.len())
    }

    /// jieba's own dictionary plus ours. Every word of ours, and every synonym, is kept whole:
    /// its frequency is raised to at least what jieba needs to join it, since a local name
    /// split in two (盐湖/区) would not be found by the name.
    pub(crate) fn jieba(&self) -> Jieba {
        let mut jieba = Jieba::new();
        let synonym_words = self.groups.iter().flatten();
        for w in &self.words {
            let freq = w.freq.unwrap_or(0).max(jieba.suggest_freq(&w.word));
            jieba.add_word(&w.word, Some(freq), w.tag.as_deref());
        }
        for w in synonym_words {
            // jieba's dictionary is case-sensitive ASCII-wise; normalized forms are what the
            // index holds, so the word is added as typed (jieba sees the original text).
            if !jieba.has_word(w) {
                let freq = jieba.suggest_freq(w);
                jieba.add_word(w, Some(freq), None);
            }
        }
        jieba
    }

    /// Normalized word → the other words of every group it is in.
    pub(crate) fn synonym_map(&self) -> BTreeMap<String, Vec<String>> {
        let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for g in &self.groups {
            let norm: Vec<String> = g.iter().map(|w| normalize(w)).collect();
            for w in &norm {
                let e = map.entry(w.clone()).or_default();
                e.extend(norm.iter().filter(|o| *o != w).cloned());
            }
        }
        map.into_iter()
            .map(|(k, v)| (k, v.into_iter().collect()))
            .collect()
    }

    /// A stable digest of everything that decides how text is cut into terms, stored with the
    /// index so that an index built with another lexicon is known to be stale.
    pub(crate) fn digest(&self) -> String {
        // FNV-1a: stable across Rust versions and platforms, unlike std's hasher.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |s: &str| {
            for b in s.bytes().chain(std::iter::once(0xff)) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        eat(&TOKENIZER_VERSION.to_string());
        for w in &self.words {
            eat(&w.word);
            eat(&w.freq.map(|f| f.to_string()).unwrap_or_default());
            eat(w.tag.as_deref().unwrap_or(""));
        }
        for g in &self.groups {
            for w in g {
                eat(w);
            }
            eat("|");
        }
        format!("{h:016x}")
    }
}

/// Words a caller says that tell nothing about what they need: pronouns, particles, fillers and
/// question words. Dropped from queries (not from the index: an entry's text is as written).
pub(crate) const STOP_WORDS: &[&str] = &[
    "我",
    "我们",
    "我家",
    "俺",
    "咱",
    "咱们",
    "你",
    "你们",
    "您",
    "他",
    "她",
    "它",
    "他们",
    "她们",
    "人家",
    "自己",
    "的",
    "地",
    "得",
    "了",
    "着",
    "过",
    "啊",
    "呀",
    "吧",
    "吗",
    "呢",
    "嘛",
    "哦",
    "噢",
    "喔",
    "嗯",
    "哎",
    "唉",
    "诶",
    "哈",
    "啦",
    "咧",
    "哇",
    "么",
    "那个",
    "这个",
    "那",
    "这",
    "那些",
    "这些",
    "这样",
    "那样",
    "这么",
    "那么",
    "就是",
    "然后",
    "就",
    "都",
    "也",
    "还",
    "又",
    "再",
    "才",
    "很",
    "太",
    "挺",
    "特别",
    "非常",
    "比较",
    "有点",
    "一点",
    "一下",
    "一些",
    "一个",
    "个",
    "是",
    "在",
    "有",
    "和",
    "跟",
    "与",
    "及",
    "或",
    "或者",
    "还是",
    "而且",
    "但是",
    "可是",
    "因为",
    "所以",
    "如果",
    "要是",
    "的话",
    "怎么",
    "怎么办",
    "怎么样",
    "怎样",
    "如何",
    "什么",
    "啥",
    "为啥",
    "为什么",
    "哪",
    "哪里",
    "哪儿",
    "哪个",
    "哪些",
    "谁",
    "几",
    "多少",
    "请问",
    "问",
    "问问",
    "问一下",
    "想问",
    "想问问",
    "我想",
    "想",
    "要",
    "能",
    "能不能",
    "可以",
    "可不可以",
    "会",
    "会不会",
    "应该",
    "需要",
    "知道",
    "告诉",
    "说",
    "一下子",
    "帮",
    "帮忙",
    "帮我",
    "给",
    "让",
    "把",
    "被",
    "对",
    "向",
    "从",
    "到",
    "去",
    "来",
    "上",
    "下",
    "里",
    "中",
    "咨询",
    "反映",
    "反应",
    "打",
    "现在",
    "今天",
    "昨天",
    "最近",
    "已经",
    "一直",
    "总是",
    "老是",
    "好",
    "好的",
    "谢谢",
    "你好",
    "您好",
    "喂",
    "麻烦",
    "一",
    "等",
    "等等",
    "之",
    "其",
];
