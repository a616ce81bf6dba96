//! Snippets: highlight ranges lie on char boundaries and cover the words matched; the body
//! snippet is the stretch around them; HTML output is escaped.

mod common;

use common::{doc, entry, index_of};
use hotline_kb::EntryKind;
use hotline_kb_search::{Query, Snippet};

fn marked(s: &Snippet) -> Vec<&str> {
    s.highlights.iter().map(|r| &s.text[r.clone()]).collect()
}

fn check_ranges(s: &Snippet) {
    let mut last_end = 0;
    for r in &s.highlights {
        assert!(
            s.text.is_char_boundary(r.start) && s.text.is_char_boundary(r.end),
            "{s:?}"
        );
        assert!(
            r.start < r.end && r.start >= last_end,
            "sorted, not overlapping: {s:?}"
        );
        last_end = r.end;
    }
}

#[test]
fn title_and_body_highlight_the_matched_words() {
    let long_body = format!(
        "{}如果家中暖气不热，请先检查阀门，再拨打12345热线。{}",
        "供热季为每年11月15日至次年3月15日。".repeat(10),
        "其他说明。".repeat(20)
    );
    let index = index_of(vec![doc(
        "heat",
        entry(
            EntryKind::HotTopic,
            "城乡建设/供暖",
            "市住建局",
            "暖气不热怎么办",
            &long_body,
        ),
    )]);
    let hits = index.search(&Query::text("暖气不热")).expect("search");
    let hit = &hits[0];
    check_ranges(&hit.title_snippet);
    check_ranges(&hit.body_snippet);
    assert_eq!(hit.title_snippet.text, "暖气不热怎么办");
    assert_eq!(marked(&hit.title_snippet), ["暖气不热"]);
    let body = &hit.body_snippet;
    assert!(
        body.text.chars().count() <= 122,
        "a window, not the whole body: {body:?}"
    );
    assert!(body.text.starts_with('…') && body.text.ends_with('…'));
    assert!(body.text.contains("暖气不热"));
    assert!(marked(body).contains(&"暖气不热"), "{body:?}");
    for m in &hit.matched {
        assert!(
            marked(&hit.title_snippet)
                .iter()
                .any(|x| x.contains(m.as_str()))
                || marked(body).iter().any(|x| x.contains(m.as_str())),
            "matched word {m} is highlighted"
        );
    }
}

#[test]
fn ascii_words_highlight_whatever_their_case() {
    let index = index_of(vec![doc(
        "etc",
        entry(
            EntryKind::Guide,
            "交通/高速",
            "市交通局",
            "ETC办理流程",
            "ETC可在银行网点办理。",
        ),
    )]);
    let hits = index.search(&Query::text("etc怎么办")).expect("search");
    assert_eq!(marked(&hits[0].title_snippet), ["ETC"]);
    assert_eq!(marked(&hits[0].body_snippet), ["ETC"]);
}

#[test]
fn html_is_escaped_and_marked() {
    let s = Snippet {
        text: "a<b>&\"暖气\"'".into(),
        highlights: std::iter::once(6..12).collect(),
    };
    assert_eq!(&s.text[6..12], "暖气");
    assert_eq!(
        s.to_html(),
        "a&lt;b&gt;&amp;&quot;<mark>暖气</mark>&quot;&#39;"
    );
    let none = Snippet {
        text: "<x>".into(),
        highlights: vec![],
    };
    assert_eq!(none.to_html(), "&lt;x&gt;");
}
