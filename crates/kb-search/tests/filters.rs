//! Filters by unit, category prefix (whole parts only), kind, and validity on a day (open ends
//! included); none of them changes which entry ranks first among those left.

mod common;

use common::{day, doc, entry, fixture, ids, index_of};
use hotline_kb::{EntryKind, Validity};
use hotline_kb_search::Query;

/// "城乡" appears in every entry (城乡建设, 城乡建设局, 城乡居民): a query all of them match.
const EVERYONE: &str = "城乡";

#[test]
fn by_unit() {
    let index = index_of(fixture());
    let q = Query {
        unit: Some("市住建局".into()),
        ..Query::text(EVERYONE)
    };
    assert_eq!(ids(&index.search(&q).expect("search")), ["heat"]);
    let q = Query {
        unit: Some("市住建".into()),
        ..Query::text(EVERYONE)
    };
    assert!(
        index.search(&q).expect("search").is_empty(),
        "a unit is matched whole"
    );
}

#[test]
fn by_category_prefix_of_whole_parts() {
    let index = index_of(fixture());
    let search = |category: &str| {
        let q = Query {
            category: Some(category.into()),
            ..Query::text(EVERYONE)
        };
        let mut v: Vec<String> = index
            .search(&q)
            .expect("search")
            .into_iter()
            .map(|h| h.id)
            .collect();
        v.sort();
        v
    };
    // 城乡建设 is a whole part of 城乡建设/供暖 and 城乡建设/住房公积金, not of 城乡建设局/供水.
    assert_eq!(search("城乡建设"), ["fund", "heat"]);
    assert_eq!(search("城乡建设/供暖"), ["heat"]);
    assert_eq!(search(" 城乡建设 / 供暖 /"), ["heat"], "parts are trimmed");
    assert_eq!(search("城乡建设局"), ["water"]);
    assert!(search("城乡").is_empty(), "a partial part matches nothing");
    assert!(search("城乡建设/供").is_empty());
}

#[test]
fn by_kind() {
    let index = index_of(fixture());
    let q = Query {
        kind: Some(EntryKind::Policy),
        ..Query::text(EVERYONE)
    };
    assert_eq!(ids(&index.search(&q).expect("search")), ["pension"]);
}

#[test]
fn by_validity_on_a_day_with_open_ends() {
    let with = |id: &str, from: Option<&str>, to: Option<&str>| {
        let mut e = entry(
            EntryKind::Notice,
            "通知",
            "市政府办",
            &format!("停电通知{id}"),
            "计划停电。",
        );
        e.validity = Validity {
            from: from.map(day),
            to: to.map(day),
        };
        doc(id, e)
    };
    let index = index_of(vec![
        with("always", None, None),
        with("until", None, Some("2025-01-31")),
        with("from", Some("2025-02-01"), None),
        with("window", Some("2025-01-10"), Some("2025-01-20")),
    ]);
    let on = |d: Option<&str>| {
        let q = Query {
            valid_on: d.map(day),
            ..Query::text("停电")
        };
        let mut v: Vec<String> = index
            .search(&q)
            .expect("search")
            .into_iter()
            .map(|h| h.id)
            .collect();
        v.sort();
        v
    };
    assert_eq!(on(None), ["always", "from", "until", "window"]);
    assert_eq!(on(Some("2025-01-09")), ["always", "until"]);
    // Both ends are inclusive.
    assert_eq!(on(Some("2025-01-10")), ["always", "until", "window"]);
    assert_eq!(on(Some("2025-01-20")), ["always", "until", "window"]);
    assert_eq!(on(Some("2025-01-31")), ["always", "until"]);
    assert_eq!(on(Some("2025-02-01")), ["always", "from"]);
    assert_eq!(on(Some("1900-01-01")), ["always", "until"]);
    assert_eq!(on(Some("2999-12-31")), ["always", "from"]);
}

#[test]
fn filters_combine_and_keep_the_score() {
    let index = index_of(fixture());
    let plain = index.search(&Query::text("暖气不热")).expect("search");
    let q = Query {
        unit: Some("市住建局".into()),
        category: Some("城乡建设".into()),
        kind: Some(EntryKind::HotTopic),
        valid_on: Some(day("2025-06-01")),
        ..Query::text("暖气不热")
    };
    let filtered = index.search(&q).expect("search");
    assert_eq!(ids(&filtered), ["heat"]);
    assert_eq!(
        filtered[0].score, plain[0].score,
        "filters add nothing to the score"
    );
    let q = Query {
        kind: Some(EntryKind::Guide),
        ..q
    };
    assert!(index.search(&q).expect("search").is_empty());
}
