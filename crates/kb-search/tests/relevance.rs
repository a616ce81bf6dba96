//! The labelled relevance set (tests/kb/relevance.tsv: a query as a caller says it, the title
//! of the entry that answers it) over the sample knowledge base (config/kb/sample.json) with
//! the repo's lexicon: the right entry is in the top 3 for at least 90% of the queries.
//!
//! Both files are required: a missing file fails the test (it is the measure of the ranking,
//! not an optional extra).

use hotline_kb_search::{Doc, Lexicon, Query, SearchIndex};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{ROOT}/{path}"))
        .unwrap_or_else(|e| panic!("{path} is needed for the relevance test: {e}"))
}

#[test]
fn the_right_entry_is_in_the_top_three_for_nine_in_ten_queries() {
    let entries = hotline_kb::parse_json(&read("config/kb/sample.json"))
        .unwrap_or_else(|e| panic!("config/kb/sample.json: {e}"));
    let titles: std::collections::HashSet<String> =
        entries.iter().map(|e| e.title.clone()).collect();
    let index = SearchIndex::in_memory(Lexicon::default_set()).expect("index");
    let docs = entries.into_iter().enumerate().map(|(i, entry)| Doc {
        id: format!("e{i}"),
        version: 1,
        entry,
    });
    index.rebuild(docs, "sample").expect("rebuild");

    let tsv = read("tests/kb/relevance.tsv");
    let mut cases = Vec::new();
    for (n, line) in tsv.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (query, expected) = line
            .split_once('\t')
            .unwrap_or_else(|| panic!("relevance.tsv line {}: no tab in `{line}`", n + 1));
        let expected = expected.trim();
        assert!(
            titles.contains(expected),
            "relevance.tsv line {}: no entry is titled `{expected}`",
            n + 1
        );
        cases.push((query.trim().to_string(), expected.to_string()));
    }
    assert!(
        cases.len() >= 100,
        "only {} queries in the set",
        cases.len()
    );

    let (mut top1, mut top3) = (0, 0);
    for (query, expected) in &cases {
        let hits = index
            .search(&Query {
                limit: 3,
                ..Query::text(query.clone())
            })
            .expect("search");
        let titles: Vec<&str> = hits.iter().map(|h| h.title.as_str()).collect();
        match titles.iter().position(|t| t == expected) {
            Some(0) => {
                top1 += 1;
                top3 += 1;
            }
            Some(_) => top3 += 1,
            None => println!("MISS {query}\n     expected: {expected}\n     got: {titles:?}"),
        }
    }
    let n = cases.len() as f64;
    println!(
        "relevance: {} queries, top-1 {:.1}% ({top1}), top-3 {:.1}% ({top3})",
        cases.len(),
        100.0 * f64::from(top1) / n,
        100.0 * f64::from(top3) / n
    );
    assert!(
        f64::from(top3) / n >= 0.90,
        "top-3 accuracy {:.1}% is below 90%",
        100.0 * f64::from(top3) / n
    );
}
