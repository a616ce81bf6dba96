//! One entry's content, as a unit writes it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// What kind of knowledge an entry is (the notice's 易、快、准、精 asks for each to be findable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EntryKind {
    /// 办事指南
    Guide,
    /// 政策法规
    Policy,
    /// 热点问答
    HotTopic,
    /// 日常咨询
    Everyday,
    /// 通知公告
    Notice,
    /// 名词解释
    Glossary,
}

impl EntryKind {
    pub const ALL: [EntryKind; 6] = [
        EntryKind::Guide,
        EntryKind::Policy,
        EntryKind::HotTopic,
        EntryKind::Everyday,
        EntryKind::Notice,
        EntryKind::Glossary,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EntryKind::Guide => "guide",
            EntryKind::Policy => "policy",
            EntryKind::HotTopic => "hot_topic",
            EntryKind::Everyday => "everyday",
            EntryKind::Notice => "notice",
            EntryKind::Glossary => "glossary",
        }
    }

    pub fn chinese(self) -> &'static str {
        match self {
            EntryKind::Guide => "办事指南",
            EntryKind::Policy => "政策法规",
            EntryKind::HotTopic => "热点问答",
            EntryKind::Everyday => "日常咨询",
            EntryKind::Notice => "通知公告",
            EntryKind::Glossary => "名词解释",
        }
    }

    /// By its English or Chinese name.
    pub fn parse(s: &str) -> Option<EntryKind> {
        let s = s.trim();
        EntryKind::ALL
            .into_iter()
            .find(|k| k.name() == s || k.chinese() == s)
    }
}

/// The Beijing dates an entry is in force, both inclusive; open-ended when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Validity {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl Validity {
    pub fn covers(&self, day: NaiveDate) -> bool {
        self.from.is_none_or(|f| f <= day) && self.to.is_none_or(|t| day <= t)
    }
}

/// The content of one version of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub kind: EntryKind,
    /// Category path, e.g. "城乡建设/供暖".
    pub category: String,
    /// The question (Q&A) or the term (glossary).
    pub title: String,
    /// The answer or the explanation.
    pub body: String,
    /// The unit that issues it and alone may edit it.
    pub unit: String,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub validity: Validity,
}

/// The longest title and body accepted: a title is one question, a body one answer.
pub const TITLE_MAX: usize = 200;
pub const BODY_MAX: usize = 20_000;
pub const KEYWORDS_MAX: usize = 30;

impl Entry {
    /// Every problem with the content, as (field, reason); empty when it is acceptable.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        let blank = |s: &str| s.trim().is_empty();
        if blank(&self.title) {
            p.push(("title", "is empty".to_string()));
        } else if self.title.chars().count() > TITLE_MAX {
            p.push(("title", format!("is longer than {TITLE_MAX} characters")));
        }
        if blank(&self.body) {
            p.push(("body", "is empty".to_string()));
        } else if self.body.chars().count() > BODY_MAX {
            p.push(("body", format!("is longer than {BODY_MAX} characters")));
        }
        if blank(&self.unit) {
            p.push(("unit", "is empty".to_string()));
        }
        if blank(&self.category) || self.category.split('/').any(blank) {
            p.push((
                "category",
                "needs a path of non-empty parts, like 城乡建设/供暖".to_string(),
            ));
        }
        if self.keywords.len() > KEYWORDS_MAX {
            p.push(("keywords", format!("more than {KEYWORDS_MAX}")));
        }
        if self.keywords.iter().any(|k| blank(k)) {
            p.push(("keywords", "has an empty keyword".to_string()));
        }
        if let (Some(f), Some(t)) = (self.validity.from, self.validity.to)
            && t < f
        {
            p.push(("valid_to", format!("{t} is before valid_from {f}")));
        }
        p
    }
}
