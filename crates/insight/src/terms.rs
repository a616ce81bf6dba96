//! The period's hot words: words that many of the period's requests use and the baseline
//! period's requests use rarely, scored as document frequency times the baseline's inverse
//! document frequency (TF-IDF with the baseline as the reference corpus), with their growth.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::facts::OrderFact;

/// Words that say nothing about the issue: how callers and agents talk about any request.
pub const STOP_WORDS: &[&str] = &[
    // How questions are asked, not what they are about.
    "哪些",
    "多少",
    "今年",
    "明年",
    "去年",
    "家里",
    "早上",
    "中午",
    "下午",
    "晚上",
    "这些",
    "那些",
    "还是",
    "或者",
    "因为",
    "所以",
    "但是",
    "如果",
    "一下",
    "一些",
    "一个",
    "什么时候",
    "怎么办",
    "能不能",
    "多长时间",
    "市民",
    "来电",
    "反映",
    "表示",
    "希望",
    "要求",
    "请求",
    "问题",
    "情况",
    "现在",
    "目前",
    "已经",
    "没有",
    "不能",
    "可以",
    "需要",
    "相关",
    "部门",
    "处理",
    "解决",
    "尽快",
    "一直",
    "多次",
    "咨询",
    "投诉",
    "举报",
    "建议",
    "请",
    "我",
    "我们",
    "他们",
    "这个",
    "那个",
    "什么",
    "怎么",
    "为什么",
    "是否",
    "如何",
    "的",
    "了",
    "在",
    "是",
    "有",
    "和",
    "就",
    "都",
    "也",
    "还",
    "被",
    "把",
    "对",
    "让",
    "给",
    "从",
    "到",
    "说",
    "想",
    "要",
    "去",
    "不",
    "很",
    "太",
    "又",
    "再",
    "能",
    "会",
    "该",
    "个",
    "一",
    "年",
    "月",
    "日",
    "号",
    "天",
    "小时",
    "时候",
    "之前",
    "以后",
    "今天",
    "昨天",
    "每天",
];

/// How hot words are picked.
#[derive(Debug, Clone)]
pub struct TermsConfig {
    /// A word must be in at least this many of the period's requests.
    pub min_docs: usize,
    /// Words of one character (except digits-and-letters) are mostly grammar.
    pub min_chars: usize,
    pub stop: BTreeSet<String>,
    pub limit: usize,
}

impl Default for TermsConfig {
    fn default() -> Self {
        TermsConfig {
            min_docs: 3,
            min_chars: 2,
            stop: STOP_WORDS.iter().map(|s| s.to_string()).collect(),
            limit: 30,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HotTerm {
    pub term: String,
    /// Requests of the period using it, and of the baseline.
    pub docs: u64,
    pub baseline_docs: u64,
    /// docs × ln((N_baseline + 1) / (baseline_docs + 1)) + docs: frequent now, rare before.
    pub score: f64,
    /// Its share of the period's requests over its share of the baseline's (smoothed by half
    /// a request), minus one: +3.0 is four times as common.
    pub growth: f64,
    /// The orders using it, newest first (drill-down).
    pub orders: Vec<String>,
}

/// The words of a request that say something: at least `min_chars` characters, not a stop
/// word, not a bare number; each once.
pub fn informative<'a>(
    f: &'a OrderFact,
    stop: &BTreeSet<String>,
    min_chars: usize,
) -> BTreeSet<&'a str> {
    f.words
        .iter()
        .map(String::as_str)
        .filter(|w| w.chars().count() >= min_chars && !stop.contains(*w))
        .filter(|w| !w.chars().all(|c| c.is_ascii_digit()))
        .collect()
}

fn distinct_words<'a>(f: &'a OrderFact, cfg: &TermsConfig) -> BTreeSet<&'a str> {
    informative(f, &cfg.stop, cfg.min_chars)
}

/// The hot words of `period` (the requests in it) against `baseline` (those of the reference
/// period), best first.
pub fn hot_terms(
    period: &[&OrderFact],
    baseline: &[&OrderFact],
    cfg: &TermsConfig,
) -> Vec<HotTerm> {
    let mut docs: BTreeMap<&str, Vec<&OrderFact>> = BTreeMap::new();
    for f in period {
        for w in distinct_words(f, cfg) {
            docs.entry(w).or_default().push(f);
        }
    }
    let mut base: BTreeMap<&str, u64> = BTreeMap::new();
    for f in baseline {
        for w in distinct_words(f, cfg) {
            if docs.contains_key(w) {
                *base.entry(w).or_default() += 1;
            }
        }
    }
    let (n_now, n_base) = (period.len().max(1) as f64, baseline.len() as f64);
    let mut out: Vec<HotTerm> = docs
        .into_iter()
        .filter(|(_, fs)| fs.len() >= cfg.min_docs)
        .map(|(term, mut fs)| {
            let d = fs.len() as f64;
            let b = base.get(term).copied().unwrap_or(0);
            let idf = ((n_base + 1.0) / (b as f64 + 1.0)).ln() + 1.0;
            let growth = if n_base > 0.0 {
                (d / n_now) / ((b as f64 + 0.5) / n_base) - 1.0
            } else {
                0.0
            };
            fs.sort_by(|x, y| y.at.cmp(&x.at).then_with(|| x.no.cmp(&y.no)));
            HotTerm {
                term: term.to_string(),
                docs: fs.len() as u64,
                baseline_docs: b,
                score: d * idf,
                growth,
                orders: fs.iter().map(|f| f.no.clone()).collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.term.cmp(&b.term))
    });
    out.truncate(cfg.limit);
    out
}
