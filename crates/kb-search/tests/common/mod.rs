//! Small fixtures shared by the tests: entries built in a line, an index over them.

#![allow(dead_code)]

use chrono::NaiveDate;
use hotline_kb::{Entry, EntryKind, Validity};
use hotline_kb_search::{Doc, Lexicon, SearchIndex};

pub fn entry(kind: EntryKind, category: &str, unit: &str, title: &str, body: &str) -> Entry {
    Entry {
        kind,
        category: category.into(),
        title: title.into(),
        body: body.into(),
        unit: unit.into(),
        keywords: Vec::new(),
        validity: Validity::default(),
    }
}

pub fn doc(id: &str, entry: Entry) -> Doc {
    Doc {
        id: id.into(),
        version: 1,
        entry,
    }
}

pub fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a test date")
}

/// A few entries of different units, categories and kinds.
pub fn fixture() -> Vec<Doc> {
    use EntryKind::*;
    vec![
        doc(
            "heat",
            entry(
                HotTopic,
                "城乡建设/供暖",
                "市住建局",
                "冬季供暖温度不达标怎么办",
                "居民家中暖气不热、室温低于18度的，可拨打供热公司客服电话报修，也可拨打12345反映。",
            ),
        ),
        doc(
            "fund",
            entry(
                Guide,
                "城乡建设/住房公积金",
                "市住房公积金管理中心",
                "住房公积金提取需要哪些材料",
                "提取住房公积金需携带身份证、银行卡；咨询电话12329。",
            ),
        ),
        doc(
            "water",
            entry(
                Everyday,
                "城乡建设局/供水",
                "市供水公司",
                "停水通知在哪里查询",
                "计划停水会提前在供水公司网站公告，突发停水请拨打供水热线。",
            ),
        ),
        doc(
            "pension",
            entry(
                Policy,
                "人力社保/养老保险",
                "市人社局",
                "城乡居民养老保险缴费标准",
                "城乡居民养老保险每年缴费一次，缴费档次由个人选择。",
            ),
        ),
    ]
}

pub fn index_of(docs: Vec<Doc>) -> SearchIndex {
    let index = SearchIndex::in_memory(Lexicon::default()).expect("an in-memory index");
    index.rebuild(docs, "test").expect("rebuild");
    index
}

pub fn ids(hits: &[hotline_kb_search::Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.id.as_str()).collect()
}
