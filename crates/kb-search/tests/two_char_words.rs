//! Two-character words and hotline numbers are words of their own: found alone, in a sentence,
//! and inside longer words.

mod common;

use common::{fixture, ids, index_of};
use hotline_kb_search::Query;

#[test]
fn a_two_character_word_finds_the_body_that_uses_it() {
    let index = index_of(fixture());
    let hits = index.search(&Query::text("暖气")).expect("search");
    assert_eq!(ids(&hits).first(), Some(&"heat"), "{hits:#?}");
    assert!(hits[0].matched.contains(&"暖气".to_string()));
}

#[test]
fn a_caller_sentence_with_the_word_finds_it() {
    let index = index_of(fixture());
    let hits = index
        .search(&Query::text("我家那个暖气不热了怎么办啊"))
        .expect("search");
    assert_eq!(ids(&hits).first(), Some(&"heat"));
}

#[test]
fn a_hotline_number_is_found() {
    let index = index_of(fixture());
    let hits = index.search(&Query::text("12329")).expect("search");
    assert_eq!(ids(&hits), ["fund"]);
    let hits = index
        .search(&Query::text("打12329是干什么的"))
        .expect("search");
    assert_eq!(ids(&hits).first(), Some(&"fund"));
}

#[test]
fn a_query_of_fillers_only_finds_nothing() {
    let index = index_of(fixture());
    for text in ["", "   ", "我想问一下那个怎么办啊", "？！。"] {
        assert!(
            index.search(&Query::text(text)).expect("search").is_empty(),
            "{text}"
        );
    }
}

#[test]
fn a_long_typed_description_still_answers() {
    let index = index_of(fixture());
    let text = "来电人反映：".to_string()
        + &"小区里最近一直很冷，家里温度很低，".repeat(60)
        + "暖气不热，希望尽快处理。";
    let hits = index.search(&Query::text(text)).expect("search");
    assert_eq!(ids(&hits).first(), Some(&"heat"));
}
