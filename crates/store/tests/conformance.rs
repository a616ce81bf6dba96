//! The store's contract, run on both SQLite and PostgreSQL.

mod common;

use std::collections::HashSet;

use chrono::Duration;
use common::{TestDb, answered_record, at, bare_record};
use hotline_cdr::{CallKind, CallRecordBuilder, EndReason};
use hotline_store::{Backend, Inserted, Store, StoreError};

on_both_backends!(
    connect_migrates_and_reconnect_is_idempotent,
    answered_record_round_trips,
    bare_record_round_trips,
    insert_is_idempotent_by_id,
    missing_record_is_none,
    recent_is_newest_first_and_limited,
    every_kind_and_end_reason_round_trips,
    times_keep_milliseconds_only,
    concurrent_first_connects_all_succeed,
    batch_insert_skips_ids_already_there,
);

/// The writer's batches: every record of a batch is stored, ids already present are skipped (a
/// replayed spool).
async fn batch_insert_skips_ids_already_there(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    store
        .insert_call_record(&bare_record("b-1", 1_000))
        .await
        .expect("insert");
    let batch: Vec<_> = (1..=5)
        .map(|i| bare_record(&format!("b-{i}"), 1_000 + i))
        .collect();
    assert_eq!(
        store.insert_call_records(&batch).await.expect("batch"),
        4,
        "b-1 was already there"
    );
    assert_eq!(store.count_call_records().await.expect("count"), 5);
    let got = store
        .get_call_record("b-5")
        .await
        .expect("get")
        .expect("b-5 stored");
    assert_eq!(got, batch[4]);
}

/// The server opens its store and the call record writer at the same moment on a new database:
/// both run the migrations.
async fn concurrent_first_connects_all_succeed(db: TestDb) {
    const CONNECTS: usize = 16;
    // Real threads with their own runtimes: tasks on the test's single-threaded runtime would
    // take turns and rarely overlap inside the migration.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(CONNECTS));
    let threads: Vec<_> = (0..CONNECTS)
        .map(|_| {
            let url = db.url.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                barrier.wait();
                runtime.block_on(async move {
                    let store = Store::connect(&url).await?;
                    store.ping().await
                })
            })
        })
        .collect();
    let results = tokio::task::spawn_blocking(move || {
        threads
            .into_iter()
            .map(|t| t.join().expect("connect thread"))
            .collect::<Vec<_>>()
    })
    .await
    .expect("join");
    for result in results {
        result.expect("concurrent connect");
    }
    let store = Store::connect(&db.url).await.expect("connect");
    assert_eq!(store.count_call_records().await.expect("count"), 0);
}

async fn connect_migrates_and_reconnect_is_idempotent(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let expected = match db.kind {
        common::Kind::Sqlite => Backend::Sqlite,
        common::Kind::Postgres => Backend::Postgres,
    };
    assert_eq!(store.backend(), expected);
    store.ping().await.expect("ping");
    assert_eq!(store.count_call_records().await.expect("count"), 0);
    store
        .insert_call_record(&answered_record("r1"))
        .await
        .expect("insert");
    store.close().await;

    // Migrations already applied: a second connect must neither fail nor reset the table.
    let again = Store::connect(&db.url).await.expect("reconnect");
    assert_eq!(again.count_call_records().await.expect("count"), 1);
}

async fn answered_record_round_trips(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let record = answered_record("answered-1");
    assert_eq!(
        store.insert_call_record(&record).await.expect("insert"),
        Inserted::New
    );
    let back = store
        .get_call_record("answered-1")
        .await
        .expect("get")
        .expect("present");
    assert_eq!(back, record);
    assert_eq!(back.duration_secs(), 60);
    assert_eq!(back.wait_secs(), 9);
}

async fn bare_record_round_trips(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let record = bare_record("bare-1", 0);
    assert_eq!(record.caller_display, None);
    assert_eq!(record.agent, None);
    store.insert_call_record(&record).await.expect("insert");
    let back = store.get_call_record("bare-1").await.expect("get");
    assert_eq!(back, Some(record));
}

async fn insert_is_idempotent_by_id(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let first = answered_record("same-id");
    assert_eq!(
        store.insert_call_record(&first).await.expect("insert"),
        Inserted::New
    );
    assert_eq!(
        store.insert_call_record(&first).await.expect("insert"),
        Inserted::Duplicate
    );
    // A different record under the same id does not overwrite the first.
    let mut other = bare_record("same-id", 5_000);
    other.caller = "someone-else".into();
    assert_eq!(
        store.insert_call_record(&other).await.expect("insert"),
        Inserted::Duplicate
    );
    assert_eq!(store.count_call_records().await.expect("count"), 1);
    assert_eq!(
        store.get_call_record("same-id").await.expect("get"),
        Some(first)
    );
}

async fn missing_record_is_none(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    store
        .insert_call_record(&bare_record("present", 0))
        .await
        .expect("insert");
    assert_eq!(store.get_call_record("absent").await.expect("get"), None);
}

async fn recent_is_newest_first_and_limited(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    for (id, arrived) in [
        ("c", 3_000),
        ("a", 1_000),
        ("e", 5_000),
        ("b", 2_000),
        ("d", 4_000),
    ] {
        store
            .insert_call_record(&bare_record(id, arrived))
            .await
            .expect("insert");
    }
    let ids = |records: Vec<hotline_cdr::CallRecord>| -> Vec<String> {
        records.into_iter().map(|r| r.id).collect()
    };
    assert_eq!(
        ids(store.recent_call_records(3).await.expect("recent")),
        ["e", "d", "c"]
    );
    assert_eq!(
        ids(store.recent_call_records(100).await.expect("recent")),
        ["e", "d", "c", "b", "a"]
    );
    assert!(
        store
            .recent_call_records(0)
            .await
            .expect("recent")
            .is_empty()
    );
    assert_eq!(store.count_call_records().await.expect("count"), 5);
}

async fn every_kind_and_end_reason_round_trips(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let mut expected = Vec::new();
    for (i, reason) in EndReason::ALL.into_iter().enumerate() {
        let kind = CallKind::ALL[i % CallKind::ALL.len()];
        let id = format!("reason-{i}");
        let record = CallRecordBuilder::arrived(&id, "c", "u", "110", kind, at(0)).ended(
            reason,
            u16::try_from(400 + i).expect("small"),
            at(1),
        );
        store.insert_call_record(&record).await.expect("insert");
        expected.push(record);
    }
    for record in expected {
        let back = store.get_call_record(&record.id).await.expect("get");
        assert_eq!(back, Some(record));
    }
    let kinds: HashSet<_> = store
        .recent_call_records(100)
        .await
        .expect("recent")
        .into_iter()
        .map(|r| r.kind)
        .collect();
    assert_eq!(kinds.len(), CallKind::ALL.len());
}

async fn times_keep_milliseconds_only(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let arrived = at(0) + Duration::nanoseconds(123_456_789);
    let record = CallRecordBuilder::arrived("ns", "c", "u", "12345", CallKind::Hotline, arrived)
        .ended(EndReason::NoAnswer, 408, arrived + Duration::seconds(30));
    store.insert_call_record(&record).await.expect("insert");
    let back = store
        .get_call_record("ns")
        .await
        .expect("get")
        .expect("present");
    assert_eq!(back.arrived_at, at(123));
    assert_eq!(back.ended_at, at(30_123));
}

#[tokio::test]
async fn sqlite_connect_creates_parent_directories() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a/b/c/cdr.db");
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let store = Store::connect(&url).await.expect("connect");
    store.ping().await.expect("ping");
    assert!(file.exists());
}

#[tokio::test]
async fn sqlite_in_memory_keeps_its_tables() {
    let store = Store::connect("sqlite::memory:").await.expect("connect");
    store
        .insert_call_record(&bare_record("m", 0))
        .await
        .expect("insert");
    assert_eq!(store.count_call_records().await.expect("count"), 1);
}

#[tokio::test]
async fn unsupported_url_is_an_error() {
    let err = Store::connect("mysql://root:pw@localhost/db")
        .await
        .expect_err("mysql is not supported");
    assert!(matches!(err, StoreError::UnsupportedUrl(_)), "{err}");
    assert!(!err.to_string().contains("pw"), "password leaked: {err}");
}
