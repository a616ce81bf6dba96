//! The dictionary and synonym files: bad lines are named by number and reason; comments and
//! blank lines are skipped; the repo's own files parse.

use hotline_kb_search::{Lexicon, LexiconFile, SearchError};

fn error(dict: &str, syn: &str) -> (LexiconFile, usize, String) {
    match Lexicon::parse(dict, syn) {
        Err(SearchError::Lexicon { file, line, reason }) => (file, line, reason),
        other => panic!("expected a lexicon error, got {other:?}"),
    }
}

#[test]
fn good_files_parse() {
    let lexicon = Lexicon::parse(
        "# local names\n\n盐湖区 1000 ns\n12329\n解州镇 50\n",
        "# groups\n暖气 供暖 供热\n公积金，住房公积金、公基金\n",
    )
    .expect("lexicon");
    assert_eq!(lexicon.sizes(), (3, 2));
}

#[test]
fn bad_dictionary_lines_are_named() {
    let (file, line, reason) = error("盐湖区 1000 ns\n# c\n解州镇 many\n", "");
    assert_eq!((file, line), (LexiconFile::Dictionary, 3));
    assert!(reason.contains("many"), "{reason}");
    let (_, line, reason) = error("盐湖区 0\n", "");
    assert_eq!(line, 1);
    assert!(reason.contains("positive"), "{reason}");
    let (_, line, reason) = error("\n\n盐湖区 10 ns extra\n", "");
    assert_eq!(line, 3);
    assert!(reason.contains("4 fields"), "{reason}");
    let (_, _, reason) = error("盐湖区 10 地名\n", "");
    assert!(reason.contains("tag"), "{reason}");
    let (_, _, reason) = error("—— 10\n", "");
    assert!(reason.contains("no letter or digit"), "{reason}");
    let e = Lexicon::parse("a 1\nb x\n", "").expect_err("bad");
    assert_eq!(
        e.to_string(),
        "dictionary line 2: frequency `x` of `b` is not a positive whole number"
    );
}

#[test]
fn bad_synonym_lines_are_named() {
    let (file, line, reason) = error("", "暖气 供暖\n\n# one word\n暖气\n");
    assert_eq!((file, line), (LexiconFile::Synonyms, 4));
    assert!(reason.contains("two or more"), "{reason}");
    let (_, line, reason) = error("", "暖气 供暖 暖气\n");
    assert_eq!(line, 1);
    assert!(reason.contains("twice"), "{reason}");
    let (_, _, reason) = error("", "暖气 ～～\n");
    assert!(reason.contains("no letter or digit"), "{reason}");
}

#[test]
fn configuration_groups_of_one_are_ignored() {
    let lexicon = Lexicon::default().with_groups(vec![
        vec!["暖气".into(), "供暖".into()],
        vec!["孤单".into()],
        vec!["重复".into(), " 重复 ".into()],
    ]);
    assert_eq!(lexicon.sizes(), (0, 1));
}

#[test]
fn the_repos_files_parse() {
    let dict = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/kb/dict.txt"
    ))
    .expect("config/kb/dict.txt");
    let syn = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/kb/synonyms.txt"
    ))
    .expect("config/kb/synonyms.txt");
    let parsed = Lexicon::parse(&dict, &syn).expect("the repo's lexicon parses");
    assert_eq!(parsed.sizes(), Lexicon::default_set().sizes());
    assert!(parsed.sizes().0 > 0 && parsed.sizes().1 > 0);
}

#[test]
fn a_config_dictionary_adds_words_and_names_its_own_bad_lines() {
    let base = Lexicon::parse("盐湖区 1000 ns\n", "暖气 供暖\n").expect("lexicon");
    let more = base
        .clone()
        .with_dictionary("# 本市新增\n关公大道 50 ns\n")
        .expect("more");
    assert_eq!(more.sizes(), (2, 1));
    match base.with_dictionary("关公大道 50 ns\n\n解州镇 many\n") {
        Err(SearchError::Lexicon { file, line, .. }) => {
            assert_eq!(
                (file, line),
                (LexiconFile::Dictionary, 3),
                "its own line number"
            )
        }
        other => panic!("expected a lexicon error, got {other:?}"),
    }
}
