//! Keeping the index current: upsert replaces an entry's doc, remove takes it out, rebuild
//! replaces everything; the fingerprint is kept with the index on disk; a directory that holds
//! no usable index is rebuilt rather than failing.

mod common;

use common::{doc, entry, fixture, ids, index_of};
use hotline_kb::EntryKind;
use hotline_kb_search::{Doc, Lexicon, Query, SearchIndex};

fn notice(id: &str, version: u32, title: &str) -> Doc {
    Doc {
        version,
        ..doc(
            id,
            entry(EntryKind::Notice, "通知", "市政府办", title, "详见公告。"),
        )
    }
}

#[test]
fn upsert_replaces_the_entrys_doc() {
    let index = index_of(fixture());
    index
        .upsert(notice("n1", 1, "春节期间停水通知"), "f1")
        .expect("upsert");
    assert_eq!(index.len(), 5);
    assert_eq!(
        ids(&index.search(&Query::text("停水通知")).expect("search"))[0],
        "n1"
    );
    index
        .upsert(notice("n1", 2, "国庆期间停电通知"), "f2")
        .expect("upsert");
    assert_eq!(index.len(), 5, "replaced, not added");
    let hits = index.search(&Query::text("停电")).expect("search");
    assert_eq!(ids(&hits), ["n1"]);
    assert_eq!(hits[0].version, 2);
    assert!(
        !ids(&index.search(&Query::text("春节")).expect("search")).contains(&"n1"),
        "the old version's words are gone"
    );
    assert_eq!(index.fingerprint().as_deref(), Some("f2"));
}

#[test]
fn remove_takes_the_entry_out() {
    let index = index_of(fixture());
    index.remove("heat", "f3").expect("remove");
    assert_eq!(index.len(), 3);
    assert!(
        index
            .search(&Query::text("暖气"))
            .expect("search")
            .is_empty()
    );
    index
        .remove("no-such-id", "f4")
        .expect("removing nothing is fine");
    assert_eq!(index.len(), 3);
    assert_eq!(index.fingerprint().as_deref(), Some("f4"));
}

#[test]
fn rebuild_replaces_everything() {
    let index = index_of(fixture());
    let stats = index
        .rebuild(
            vec![
                notice("a", 1, "停电通知"),
                notice("b", 1, "停气通知"),
                notice("a", 2, "停水通知"),
            ],
            "r2",
        )
        .expect("rebuild");
    assert_eq!((stats.docs, stats.duplicates), (2, 1));
    assert_eq!(index.len(), 2);
    assert!(
        index
            .search(&Query::text("暖气"))
            .expect("search")
            .is_empty()
    );
    let hits = index.search(&Query::text("停水")).expect("search");
    assert_eq!(
        (ids(&hits), hits[0].version),
        (vec!["a"], 2),
        "the last doc of an id wins"
    );
    assert!(
        index
            .search(&Query::text("停电"))
            .expect("search")
            .is_empty()
    );
    index
        .rebuild(Vec::new(), "empty")
        .expect("rebuild to nothing");
    assert!(index.is_empty());
}

#[test]
fn the_fingerprint_and_docs_persist_on_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let index = SearchIndex::open_or_create(dir.path(), Lexicon::default()).expect("create");
        assert_eq!(index.fingerprint(), None, "a new index has none");
        index.rebuild(fixture(), "kb-v7").expect("rebuild");
        index
            .upsert(notice("n1", 1, "停电通知"), "kb-v8")
            .expect("upsert");
    }
    let index = SearchIndex::open_or_create(dir.path(), Lexicon::default()).expect("reopen");
    assert_eq!(index.fingerprint().as_deref(), Some("kb-v8"));
    assert_eq!(index.len(), 5);
    assert_eq!(
        ids(&index.search(&Query::text("暖气")).expect("search"))[0],
        "heat"
    );
    drop(index);
    // Another lexicon cuts words otherwise: the index is stale, and says so.
    let other = Lexicon::parse("暖气不热 100\n", "").expect("lexicon");
    let index = SearchIndex::open_or_create(dir.path(), other).expect("reopen");
    assert_eq!(index.fingerprint(), None);
}

#[test]
fn a_garbage_directory_is_rebuilt_not_a_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("meta.json"), "{ not json").expect("write");
    std::fs::write(dir.path().join("junk.bin"), [0u8, 1, 2, 3]).expect("write");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    let index = SearchIndex::open_or_create(dir.path(), Lexicon::default()).expect("wiped");
    assert!(index.is_empty());
    assert_eq!(index.fingerprint(), None);
    assert!(!dir.path().join("junk.bin").exists());
    index.rebuild(fixture(), "fresh").expect("rebuild");
    drop(index);
    let index = SearchIndex::open_or_create(dir.path(), Lexicon::default()).expect("reopen");
    assert_eq!(index.fingerprint().as_deref(), Some("fresh"));
}

#[test]
fn an_index_of_another_schema_is_rebuilt() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut b = tantivy::schema::Schema::builder();
        b.add_text_field(
            "something_else",
            tantivy::schema::TEXT | tantivy::schema::STORED,
        );
        tantivy::Index::create_in_dir(dir.path(), b.build()).expect("another index");
    }
    let index = SearchIndex::open_or_create(dir.path(), Lexicon::default()).expect("wiped");
    assert!(index.is_empty());
    index.rebuild(fixture(), "x").expect("rebuild");
    assert_eq!(index.len(), 4);
}

#[test]
fn a_second_writer_on_the_same_directory_is_an_error_not_a_wipe() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = SearchIndex::open_or_create(dir.path(), Lexicon::default()).expect("create");
    first.rebuild(fixture(), "one").expect("rebuild");
    assert!(SearchIndex::open_or_create(dir.path(), Lexicon::default()).is_err());
    assert_eq!(first.len(), 4, "the first index's data is untouched");
}

#[test]
fn the_index_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<SearchIndex>();
}
