//! A caller's word finds an entry that uses another word of its synonym group, from the
//! synonyms file or from the configuration; the word said counts more than its synonym.

mod common;

use common::{doc, entry, ids};
use hotline_kb::EntryKind;
use hotline_kb_search::{Lexicon, Query, SearchIndex};

fn docs() -> Vec<hotline_kb_search::Doc> {
    vec![
        doc(
            "heat",
            entry(
                EntryKind::HotTopic,
                "城乡建设/供暖",
                "市住建局",
                "供热温度不达标怎么办",
                "室温低于18度的，可向供热公司报修。",
            ),
        ),
        doc(
            "fund",
            entry(
                EntryKind::Guide,
                "住房/公积金",
                "市住房公积金管理中心",
                "住房公积金提取材料",
                "提取住房公积金需携带身份证。",
            ),
        ),
    ]
}

fn index_with(lexicon: Lexicon) -> SearchIndex {
    let index = SearchIndex::in_memory(lexicon).expect("index");
    index.rebuild(docs(), "t").expect("rebuild");
    index
}

#[test]
fn without_synonyms_the_caller_word_misses() {
    let index = index_with(Lexicon::default());
    assert!(
        index
            .search(&Query::text("暖气"))
            .expect("search")
            .is_empty()
    );
}

#[test]
fn a_group_from_the_synonyms_file() {
    let lexicon = Lexicon::parse("", "# heating\n暖气 供热 供暖\n").expect("lexicon");
    let index = index_with(lexicon);
    let hits = index
        .search(&Query::text("我家暖气不行了"))
        .expect("search");
    assert_eq!(ids(&hits), ["heat"]);
    assert!(
        hits[0].matched.contains(&"供热".to_string()),
        "why: the synonym found in the entry: {:?}",
        hits[0].matched
    );
    assert!(!hits[0].title_snippet.highlights.is_empty());
}

#[test]
fn a_group_from_the_configuration() {
    let lexicon = Lexicon::default().with_groups(vec![vec!["公积金".into(), "住房金".into()]]);
    let index = index_with(lexicon);
    assert_eq!(
        ids(&index.search(&Query::text("住房金怎么取")).expect("search")),
        ["fund"]
    );
}

#[test]
fn the_word_said_outranks_its_synonym() {
    let lexicon = Lexicon::parse("", "供热 供暖\n").expect("lexicon");
    let index = SearchIndex::in_memory(lexicon).expect("index");
    let mut d = docs();
    d.push(doc(
        "heat2",
        entry(
            EntryKind::HotTopic,
            "城乡建设/供暖",
            "市住建局",
            "供暖温度不达标怎么办",
            "室温低于18度的，可向供热公司报修。",
        ),
    ));
    index.rebuild(d, "t").expect("rebuild");
    assert_eq!(
        ids(&index.search(&Query::text("供暖")).expect("search"))[0],
        "heat2"
    );
    assert_eq!(
        ids(&index.search(&Query::text("供热")).expect("search"))[0],
        "heat"
    );
}
