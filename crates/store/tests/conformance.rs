//! The store's contract, run on both SQLite and PostgreSQL.

mod common;

use std::collections::HashSet;

use chrono::{Duration, NaiveDate};
use common::{TestDb, answered_record, at, bare_record};
use hotline_cdr::{CallKind, CallRecord, CallRecordBuilder, EndReason};
use hotline_store::{
    AgentStateRow, Backend, CallbackRow, EventRow, Inserted, OrderRow, Store, StoreError,
};
use sqlx::Connection;

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
    agent_states_round_trip_ordered_by_agent,
    agent_state_upsert_keeps_the_newer_row,
    agent_state_outside_the_three_is_rejected,
    callback_round_trips_and_add_is_idempotent,
    callback_finishes_only_once,
    pending_callbacks_oldest_first_and_callbacks_newest_first,
    queue_stats_round_trip_and_upsert,
    queue_stats_that_are_not_a_json_object_are_rejected,
    queue_stats_batch_is_all_or_nothing,
    recent_answered_callers_newest_per_caller,
    order_numbers_count_per_day,
    concurrent_order_numbers_are_unique,
    order_round_trips_with_its_events,
    create_order_is_idempotent_by_record,
    create_order_refuses_a_number_already_used,
    append_with_a_stale_version_conflicts_and_writes_nothing,
    concurrent_appends_exactly_one_wins,
    events_that_are_not_a_json_object_are_rejected,
    inconsistent_order_writes_are_rejected,
    unit_orders_due_soonest_first,
    overdue_counted_per_unit,
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

fn agent_state(agent: &str, state: &str, reason: Option<&str>, ms: i64) -> AgentStateRow {
    AgentStateRow {
        agent: agent.into(),
        state: state.into(),
        reason: reason.map(str::to_owned),
        updated_at: at(ms),
    }
}

fn pending_callback(tag: &str, requested_ms: i64) -> CallbackRow {
    CallbackRow {
        tag: tag.into(),
        queue: "default".into(),
        caller: "13800000000".into(),
        priority: 0,
        message: false,
        recording: None,
        requested_at: at(requested_ms),
        status: "pending".into(),
        agent: None,
        done_at: None,
        outcome: None,
    }
}

fn tags(rows: &[CallbackRow]) -> Vec<&str> {
    rows.iter().map(|r| r.tag.as_str()).collect()
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, d).expect("valid date")
}

/// A statement run behind the store's back, to show what the schema itself refuses.
async fn raw_execute(db: &TestDb, sql: &'static str) -> Result<(), sqlx::Error> {
    let mut conn = sqlx::AnyConnection::connect(&db.url)
        .await
        .expect("connect");
    let result = sqlx::query(sql).execute(&mut conn).await.map(drop);
    let _ = conn.close().await;
    result
}

async fn agent_states_round_trip_ordered_by_agent(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    assert!(store.agent_states().await.expect("states").is_empty());
    // Saved out of order; mixed case shows the order is bytewise on both backends.
    let rows = [
        agent_state("b1002", "not_ready", Some("小休"), 2_000),
        agent_state("a1001", "ready", None, 1_000),
        agent_state("B1003", "logged_out", None, 3_000),
    ];
    for row in &rows {
        store.save_agent_state(row).await.expect("save");
    }
    let back = store.agent_states().await.expect("states");
    assert_eq!(back, [rows[2].clone(), rows[1].clone(), rows[0].clone()]);

    // Milliseconds are kept, finer precision dropped.
    let mut fine = agent_state("c1004", "ready", None, 0);
    fine.updated_at += Duration::nanoseconds(7_654_321);
    store.save_agent_state(&fine).await.expect("save");
    let back = store.agent_states().await.expect("states");
    assert_eq!(back.last().expect("c1004").updated_at, at(7));

    // Survives a reconnect (the point of the table).
    store.close().await;
    let again = Store::connect(&db.url).await.expect("reconnect");
    assert_eq!(again.agent_states().await.expect("states").len(), 4);
}

async fn agent_state_upsert_keeps_the_newer_row(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let ready = agent_state("1001", "ready", None, 2_000);
    store.save_agent_state(&ready).await.expect("save");

    // An older save arriving late changes nothing.
    store
        .save_agent_state(&agent_state("1001", "not_ready", Some("就餐"), 1_999))
        .await
        .expect("save older");
    assert_eq!(store.agent_states().await.expect("states"), [ready]);

    // A newer one replaces every column, the reason included.
    let break_ = agent_state("1001", "not_ready", Some("会议"), 5_000);
    store.save_agent_state(&break_).await.expect("save newer");
    assert_eq!(store.agent_states().await.expect("states"), [break_]);
    let back_ready = agent_state("1001", "ready", None, 6_000);
    store
        .save_agent_state(&back_ready)
        .await
        .expect("save newer");
    assert_eq!(store.agent_states().await.expect("states"), [back_ready]);

    // At the same instant the later save wins.
    let same_time = agent_state("1001", "logged_out", None, 6_000);
    store
        .save_agent_state(&same_time)
        .await
        .expect("save same time");
    assert_eq!(store.agent_states().await.expect("states"), [same_time]);
}

async fn agent_state_outside_the_three_is_rejected(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    for state in ["talking", "wrap_up", "Ready", ""] {
        let err = store
            .save_agent_state(&agent_state("1001", state, None, 1_000))
            .await
            .expect_err("not a stored state");
        assert!(matches!(err, StoreError::Invalid(_)), "{state:?}: {err}");
        assert!(
            err.to_string().contains("logged_out, ready, not_ready"),
            "{err}"
        );
    }
    // A rejected save does not replace a stored row either.
    let ready = agent_state("1002", "ready", None, 1_000);
    store.save_agent_state(&ready).await.expect("save");
    assert!(
        store
            .save_agent_state(&agent_state("1002", "reserved", None, 9_000))
            .await
            .is_err()
    );
    assert_eq!(store.agent_states().await.expect("states"), [ready]);

    // The schema refuses it too, for writers that bypass the store.
    raw_execute(
        &db,
        "INSERT INTO acd_agent_states (agent, state, reason, updated_at) \
         VALUES ('1003', 'talking', NULL, 0)",
    )
    .await
    .expect_err("CHECK on state");
    raw_execute(
        &db,
        "INSERT INTO acd_agent_states (agent, state, reason, updated_at) \
         VALUES ('1003', 'ready', NULL, 0)",
    )
    .await
    .expect("a valid raw insert goes through");
}

async fn callback_round_trips_and_add_is_idempotent(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let full = CallbackRow {
        tag: "call-1".into(),
        queue: "环保".into(),
        caller: "13900000000".into(),
        priority: 255,
        message: true,
        recording: Some("data/recordings/2026/12/01/call-1-message.wav".into()),
        requested_at: at(1_000),
        status: "done".into(),
        agent: Some("1001".into()),
        done_at: Some(at(90_000)),
        outcome: Some("reached".into()),
    };
    let bare = pending_callback("call-2", 2_000);
    assert_eq!(store.add_callback(&full).await.expect("add"), Inserted::New);
    assert_eq!(store.add_callback(&bare).await.expect("add"), Inserted::New);
    assert_eq!(
        store.add_callback(&bare).await.expect("add again"),
        Inserted::Duplicate
    );
    // A different item under the same tag does not overwrite the first.
    let mut other = pending_callback("call-1", 5_000);
    other.caller = "someone-else".into();
    assert_eq!(
        store.add_callback(&other).await.expect("add other"),
        Inserted::Duplicate
    );
    assert_eq!(
        store.callbacks(10).await.expect("callbacks"),
        [bare.clone(), full.clone()]
    );

    // An unknown status is refused before the database sees it, and by the schema as well.
    let mut lost = pending_callback("call-3", 3_000);
    lost.status = "lost".into();
    let err = store.add_callback(&lost).await.expect_err("bad status");
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    raw_execute(
        &db,
        "INSERT INTO acd_callbacks (tag, queue, caller, priority, message, requested_at, status) \
         VALUES ('call-3', 'q', 'c', 0, 0, 0, 'lost')",
    )
    .await
    .expect_err("CHECK on status");
    raw_execute(
        &db,
        "INSERT INTO acd_callbacks (tag, queue, caller, priority, message, requested_at, status) \
         VALUES ('call-3', 'q', 'c', 0, 2, 0, 'pending')",
    )
    .await
    .expect_err("CHECK on message");
    assert_eq!(store.callbacks(10).await.expect("callbacks").len(), 2);
}

async fn callback_finishes_only_once(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    store
        .add_callback(&pending_callback("cb-1", 1_000))
        .await
        .expect("add");
    let mut assigned = pending_callback("cb-2", 2_000);
    assigned.agent = Some("1002".into());
    store.add_callback(&assigned).await.expect("add");

    assert!(
        store
            .finish_callback("cb-1", "done", Some("1001"), Some("reached"), at(60_000))
            .await
            .expect("finish")
    );
    // The second finish (another agent, a retry) changes nothing.
    assert!(
        !store
            .finish_callback("cb-1", "cancelled", Some("1009"), Some("late"), at(70_000))
            .await
            .expect("finish again")
    );
    assert!(
        !store
            .finish_callback("nobody", "done", None, None, at(70_000))
            .await
            .expect("unknown tag")
    );
    // A cancel without an agent keeps the one already on the row.
    assert!(
        store
            .finish_callback("cb-2", "cancelled", None, None, at(80_000))
            .await
            .expect("cancel")
    );
    // "pending" is not a way to finish.
    let tail = pending_callback("cb-3", 3_000);
    store.add_callback(&tail).await.expect("add");
    let err = store
        .finish_callback("cb-3", "pending", None, None, at(1))
        .await
        .expect_err("pending is not a finish");
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");

    let mut cb1 = pending_callback("cb-1", 1_000);
    cb1.status = "done".into();
    cb1.agent = Some("1001".into());
    cb1.done_at = Some(at(60_000));
    cb1.outcome = Some("reached".into());
    assigned.status = "cancelled".into();
    assigned.done_at = Some(at(80_000));
    assert_eq!(
        store.callbacks(10).await.expect("callbacks"),
        [tail.clone(), assigned, cb1]
    );
    assert_eq!(store.pending_callbacks().await.expect("pending"), [tail]);
}

async fn pending_callbacks_oldest_first_and_callbacks_newest_first(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    assert!(store.pending_callbacks().await.expect("pending").is_empty());
    assert!(store.callbacks(10).await.expect("callbacks").is_empty());
    // Added out of order; "t-b" and "t-a" were requested in the same millisecond.
    for (tag, requested) in [
        ("t-c", 3_000),
        ("t-b", 1_000),
        ("t-e", 5_000),
        ("t-a", 1_000),
        ("t-d", 4_000),
    ] {
        store
            .add_callback(&pending_callback(tag, requested))
            .await
            .expect("add");
    }
    assert!(
        store
            .finish_callback("t-c", "done", Some("1001"), None, at(9_000))
            .await
            .expect("finish")
    );
    assert_eq!(
        tags(&store.pending_callbacks().await.expect("pending")),
        ["t-a", "t-b", "t-d", "t-e"]
    );
    assert_eq!(
        tags(&store.callbacks(100).await.expect("callbacks")),
        ["t-e", "t-d", "t-c", "t-b", "t-a"]
    );
    assert_eq!(
        tags(&store.callbacks(2).await.expect("callbacks")),
        ["t-e", "t-d"]
    );
    assert!(store.callbacks(0).await.expect("callbacks").is_empty());
}

async fn queue_stats_round_trip_and_upsert(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    assert!(store.queue_stats(day(1)).await.expect("stats").is_empty());
    let json = |offered: u32| format!(r#"{{"offered":{offered},"answered":1}}"#);
    store
        .save_queue_stats(day(1), "default", &json(3), at(1_000))
        .await
        .expect("save");
    store
        .save_queue_stats(day(1), "English", &json(1), at(1_000))
        .await
        .expect("save");
    store
        .save_queue_stats(day(2), "default", &json(7), at(2_000))
        .await
        .expect("save other day");
    // The last save of a (day, queue) replaces it; the text is kept as written.
    store
        .save_queue_stats(day(1), "default", &json(4), at(1_500))
        .await
        .expect("save again");
    store
        .save_queue_stats(day(1), "环保", "{}", at(1_500))
        .await
        .expect("save empty object");
    assert_eq!(
        store.queue_stats(day(1)).await.expect("stats"),
        [
            ("English".to_owned(), json(1)),
            ("default".to_owned(), json(4)),
            ("环保".to_owned(), "{}".to_owned()),
        ]
    );
    assert_eq!(
        store.queue_stats(day(2)).await.expect("stats"),
        [("default".to_owned(), json(7))]
    );
    assert!(store.queue_stats(day(3)).await.expect("stats").is_empty());
}

async fn queue_stats_that_are_not_a_json_object_are_rejected(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    store
        .save_queue_stats(day(1), "default", r#"{"offered":1}"#, at(0))
        .await
        .expect("save");
    for bad in [
        "",
        "not json",
        r#"{"offered":"#,
        "[1,2]",
        "3",
        "null",
        r#""{}""#,
    ] {
        let err = store
            .save_queue_stats(day(1), "default", bad, at(1_000))
            .await
            .expect_err("not an object");
        assert!(matches!(err, StoreError::Invalid(_)), "{bad:?}: {err}");
        store
            .save_queue_stats(day(1), "other", bad, at(1_000))
            .await
            .expect_err("not an object");
    }
    assert_eq!(
        store.queue_stats(day(1)).await.expect("stats"),
        [("default".to_owned(), r#"{"offered":1}"#.to_owned())]
    );
}

async fn queue_stats_batch_is_all_or_nothing(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    store
        .save_queue_stats(day(1), "q1", r#"{"offered":1}"#, at(0))
        .await
        .expect("save");
    let batch = |third: &str| -> Vec<(String, String)> {
        [
            ("q1", r#"{"offered":2}"#),
            ("q2", r#"{"offered":5}"#),
            ("q3", third),
            ("q4", r#"{"offered":9}"#),
        ]
        .into_iter()
        .map(|(q, j)| (q.to_owned(), j.to_owned()))
        .collect()
    };
    let err = store
        .save_queue_stats_batch(day(1), &batch("{oops"), at(1_000))
        .await
        .expect_err("bad JSON in the middle");
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    assert!(err.to_string().contains("q3"), "names the queue: {err}");
    // Neither the update of q1 nor the insert of q2 before the bad entry was kept.
    assert_eq!(
        store.queue_stats(day(1)).await.expect("stats"),
        [("q1".to_owned(), r#"{"offered":1}"#.to_owned())]
    );

    let good = batch(r#"{"offered":7}"#);
    store
        .save_queue_stats_batch(day(1), &good, at(2_000))
        .await
        .expect("good batch");
    assert_eq!(store.queue_stats(day(1)).await.expect("stats"), good);
    store
        .save_queue_stats_batch(day(1), &[], at(3_000))
        .await
        .expect("empty batch");
    assert_eq!(store.queue_stats(day(1)).await.expect("stats"), good);
}

fn answered_by(id: &str, caller: &str, agent: Option<&str>, answered_ms: i64) -> CallRecord {
    let mut b = CallRecordBuilder::arrived(
        id,
        format!("{id}@h"),
        caller,
        "12345",
        CallKind::Hotline,
        at(answered_ms - 8_000),
    );
    b.ringing(at(answered_ms - 6_000))
        .answered(agent.map(str::to_owned), at(answered_ms));
    b.ended(EndReason::CallerHangup, 200, at(answered_ms + 60_000))
}

async fn recent_answered_callers_newest_per_caller(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let since = at(100_000);
    assert!(
        store
            .recent_answered_callers(since)
            .await
            .expect("recent")
            .is_empty()
    );
    let mut records = vec![
        // Two recent answers: the newer agent is the one to go back to.
        answered_by("x-1", "13800000001", Some("1001"), 150_000),
        answered_by("x-2", "13800000001", Some("1002"), 300_000),
        // Answered only before `since`.
        answered_by("y-1", "13800000002", Some("1003"), 99_999),
        // Exactly at `since` counts.
        answered_by("z-1", "13800000003", Some("1004"), 100_000),
        // The newest answer named no agent: the latest one with an agent is used.
        answered_by("w-1", "13800000004", Some("1005"), 200_000),
        answered_by("w-2", "13800000004", None, 400_000),
        // Callers that identify nobody.
        answered_by("a-1", "anonymous", Some("1006"), 250_000),
        answered_by("a-2", "Anonymous", Some("1006"), 250_000),
        answered_by("a-3", "", Some("1006"), 250_000),
    ];
    // Never answered, recent: the caller is not a repeat caller of anyone.
    records.push(
        CallRecordBuilder::arrived(
            "u-1",
            "u-1@h",
            "13800000005",
            "12345",
            CallKind::Hotline,
            at(500_000),
        )
        .ended(EndReason::Abandoned, 487, at(530_000)),
    );
    // A recent answer of an older caller, and an unanswered later call of the same caller.
    records.push(answered_by("v-1", "13800000006", Some("1007"), 120_000));
    records.push(
        CallRecordBuilder::arrived(
            "v-2",
            "v-2@h",
            "13800000006",
            "12345",
            CallKind::Hotline,
            at(600_000),
        )
        .ended(EndReason::NoAnswer, 408, at(630_000)),
    );
    store.insert_call_records(&records).await.expect("insert");

    let expect = |caller: &str, agent: &str, ms: i64| (caller.to_owned(), agent.to_owned(), at(ms));
    assert_eq!(
        store.recent_answered_callers(since).await.expect("recent"),
        [
            expect("13800000003", "1004", 100_000),
            expect("13800000006", "1007", 120_000),
            expect("13800000004", "1005", 200_000),
            expect("13800000001", "1002", 300_000),
        ]
    );
    assert_eq!(
        store
            .recent_answered_callers(at(250_000))
            .await
            .expect("recent"),
        [expect("13800000001", "1002", 300_000)]
    );
    assert!(
        store
            .recent_answered_callers(at(300_001))
            .await
            .expect("recent")
            .is_empty()
    );
}

fn order_row(no: &str, record: &str, ms: i64) -> OrderRow {
    OrderRow {
        no: no.into(),
        record: record.into(),
        status: "draft".into(),
        lead_unit: None,
        due_at: None,
        owner: Some("1001".into()),
        created_at: at(ms),
        updated_at: at(ms),
        version: 1,
    }
}

fn event_row(no: &str, seq: u32, step: &str, ms: i64) -> EventRow {
    EventRow {
        no: no.into(),
        seq,
        at: at(ms),
        actor: "1001".into(),
        step: step.into(),
        event_json: format!(
            r#"{{"at":{ms},"actor":{{"id":"1001","role":{{"role":"agent"}}}},"kind":{{"step":"{step}","n":{seq}}}}}"#
        ),
    }
}

/// The projection after `seq` events, dispatched to `unit` with a deadline.
fn dispatched(base: &OrderRow, version: u32, unit: &str, due_ms: i64, ms: i64) -> OrderRow {
    OrderRow {
        status: "dispatched".into(),
        lead_unit: Some(unit.into()),
        due_at: Some(at(due_ms)),
        updated_at: at(ms),
        version,
        ..base.clone()
    }
}

async fn event_count(store_url: &str) -> i64 {
    let mut conn = sqlx::AnyConnection::connect(store_url)
        .await
        .expect("connect");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM work_order_events")
        .fetch_one(&mut conn)
        .await
        .expect("count");
    let _ = conn.close().await;
    n
}

async fn order_numbers_count_per_day(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    for expected in 1..=3 {
        assert_eq!(store.next_order_seq(day(1)).await.expect("next"), expected);
    }
    // Another day has its own sequence; the first day's goes on where it was.
    assert_eq!(store.next_order_seq(day(2)).await.expect("next"), 1);
    assert_eq!(store.next_order_seq(day(1)).await.expect("next"), 4);
    // Survives a reconnect: numbers are never handed out twice.
    store.close().await;
    let again = Store::connect(&db.url).await.expect("reconnect");
    assert_eq!(again.next_order_seq(day(1)).await.expect("next"), 5);
    assert_eq!(again.next_order_seq(day(2)).await.expect("next"), 2);
}

async fn concurrent_order_numbers_are_unique(db: TestDb) {
    const TASKS: u32 = 8;
    const EACH: u32 = 25;
    let store = Store::connect(&db.url).await.expect("connect");
    // Two stores (two pools) as well as several tasks per pool: as two server processes would.
    let other = Store::connect(&db.url).await.expect("connect");
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            let store = if i % 2 == 0 {
                store.clone()
            } else {
                other.clone()
            };
            tokio::spawn(async move {
                let mut got = Vec::new();
                for _ in 0..EACH {
                    got.push(store.next_order_seq(day(25)).await.expect("next"));
                }
                got
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("task"));
    }
    let unique: HashSet<u32> = all.iter().copied().collect();
    assert_eq!(all.len(), unique.len(), "a number was handed out twice");
    assert_eq!(
        unique,
        (1..=TASKS * EACH).collect::<HashSet<_>>(),
        "no gaps"
    );
    assert_eq!(
        store.next_order_seq(day(25)).await.expect("next"),
        TASKS * EACH + 1
    );
}

async fn order_round_trips_with_its_events(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let no = "YC20261201-000001";
    assert_eq!(store.order(no).await.expect("order"), None);
    assert!(store.order_events(no).await.expect("events").is_empty());
    assert_eq!(
        store.order_by_record("call-1").await.expect("by record"),
        None
    );

    let created = order_row(no, "call-1", 1_000);
    let drafted = event_row(no, 1, "drafted", 1_000);
    assert_eq!(
        store
            .create_order(&created, &drafted)
            .await
            .expect("create"),
        Inserted::New
    );
    assert_eq!(store.order(no).await.expect("order"), Some(created.clone()));
    assert_eq!(
        store.order_by_record("call-1").await.expect("by record"),
        Some(created.clone())
    );

    // Appends replace the projection (created_at and record stay) and add events in order.
    let mut filled = created.clone();
    filled.version = 2;
    filled.updated_at = at(2_000);
    let intake = EventRow {
        // Chinese text and escapes are kept byte for byte.
        event_json: r#"{"kind":{"step":"intake_filled","content":"暖气不热\n\"三楼\""}}"#.into(),
        ..event_row(no, 2, "intake_filled", 2_000)
    };
    store
        .append_event(&filled, &intake, 1)
        .await
        .expect("append intake");
    let mut sent = dispatched(&created, 3, "市住建局", 900_000, 3_000);
    sent.created_at = at(555); // ignored: the created time is the create's
    sent.owner = None;
    let dispatch = event_row(no, 3, "dispatched", 3_000);
    store
        .append_event(&sent, &dispatch, 2)
        .await
        .expect("append dispatch");

    let back = store.order(no).await.expect("order").expect("stored");
    assert_eq!(
        back,
        OrderRow {
            created_at: at(1_000),
            ..sent.clone()
        }
    );
    assert_eq!(
        store.order_events(no).await.expect("events"),
        [drafted, intake, dispatch]
    );

    // Milliseconds are kept, finer precision dropped.
    let mut fine = order_row("YC20261201-000002", "call-2", 0);
    fine.due_at = Some(at(5) + Duration::nanoseconds(999_999));
    let mut first = event_row("YC20261201-000002", 1, "drafted", 0);
    first.at += Duration::nanoseconds(3_000_001);
    store.create_order(&fine, &first).await.expect("create");
    let back = store
        .order("YC20261201-000002")
        .await
        .expect("order")
        .expect("stored");
    assert_eq!(back.due_at, Some(at(5)));
    assert_eq!(back.owner.as_deref(), Some("1001"));
    let events = store
        .order_events("YC20261201-000002")
        .await
        .expect("events");
    assert_eq!(events[0].at, at(3));

    // Survives a reconnect.
    store.close().await;
    let again = Store::connect(&db.url).await.expect("reconnect");
    assert_eq!(again.order_events(no).await.expect("events").len(), 3);
}

async fn create_order_is_idempotent_by_record(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let first = order_row("YC20261201-000001", "call-1", 1_000);
    let drafted = event_row("YC20261201-000001", 1, "drafted", 1_000);
    assert_eq!(
        store.create_order(&first, &drafted).await.expect("create"),
        Inserted::New
    );
    // The same create again (a retry) and a create under another number for the same call
    // (two agents, or a number taken twice) both leave the first order as it was.
    assert_eq!(
        store.create_order(&first, &drafted).await.expect("again"),
        Inserted::Duplicate
    );
    let mut rival = order_row("YC20261201-000002", "call-1", 2_000);
    rival.owner = Some("1002".into());
    assert_eq!(
        store
            .create_order(&rival, &event_row("YC20261201-000002", 1, "drafted", 2_000))
            .await
            .expect("rival"),
        Inserted::Duplicate
    );
    assert_eq!(
        store.order_by_record("call-1").await.expect("by record"),
        Some(first)
    );
    assert_eq!(store.order("YC20261201-000002").await.expect("order"), None);
    assert!(
        store
            .order_events("YC20261201-000002")
            .await
            .expect("events")
            .is_empty()
    );
    assert_eq!(event_count(&db.url).await, 1);
}

async fn create_order_refuses_a_number_already_used(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let no = "YC20261201-000001";
    store
        .create_order(&order_row(no, "call-1", 0), &event_row(no, 1, "drafted", 0))
        .await
        .expect("create");
    // Another call under a number already taken: the numbering is broken, which must show.
    let err = store
        .create_order(&order_row(no, "call-2", 5), &event_row(no, 1, "drafted", 5))
        .await
        .expect_err("number taken");
    assert!(matches!(err, StoreError::Database(_)), "{err}");
    assert_eq!(
        store.order_by_record("call-2").await.expect("by record"),
        None
    );
    assert_eq!(event_count(&db.url).await, 1);
}

async fn append_with_a_stale_version_conflicts_and_writes_nothing(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let no = "YC20261201-000001";
    let created = order_row(no, "call-1", 0);
    store
        .create_order(&created, &event_row(no, 1, "drafted", 0))
        .await
        .expect("create");
    let v2 = dispatched(&created, 2, "市住建局", 100_000, 1_000);
    store
        .append_event(&v2, &event_row(no, 2, "dispatched", 1_000), 1)
        .await
        .expect("append");

    // Computed from version 1 again: the store is at 2.
    let stale = dispatched(&created, 2, "市水务局", 200_000, 2_000);
    let err = store
        .append_event(&stale, &event_row(no, 2, "reassigned", 2_000), 1)
        .await
        .expect_err("stale");
    match &err {
        StoreError::Conflict {
            no: n,
            expected,
            found,
        } => {
            assert_eq!((n.as_str(), *expected, *found), (no, 1, 2));
        }
        other => panic!("expected a conflict, got {other}"),
    }
    // Ahead of the store is a conflict too.
    let ahead = dispatched(&created, 6, "市水务局", 200_000, 2_000);
    let err = store
        .append_event(&ahead, &event_row(no, 6, "reassigned", 2_000), 5)
        .await
        .expect_err("ahead");
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                expected: 5,
                found: 2,
                ..
            }
        ),
        "{err}"
    );
    // An order that does not exist is at version 0.
    let ghost = dispatched(&order_row("YC20261201-000009", "call-9", 0), 2, "u", 1, 1);
    let err = store
        .append_event(
            &ghost,
            &event_row("YC20261201-000009", 2, "dispatched", 1),
            1,
        )
        .await
        .expect_err("no such order");
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                expected: 1,
                found: 0,
                ..
            }
        ),
        "{err}"
    );

    assert_eq!(store.order(no).await.expect("order"), Some(v2));
    assert_eq!(store.order_events(no).await.expect("events").len(), 2);
    assert_eq!(event_count(&db.url).await, 2);
}

async fn concurrent_appends_exactly_one_wins(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let other = Store::connect(&db.url).await.expect("connect");
    let no = "YC20261201-000001";
    let created = order_row(no, "call-1", 0);
    store
        .create_order(&created, &event_row(no, 1, "drafted", 0))
        .await
        .expect("create");
    for round in 1..=10_u32 {
        // Both computed from version `round`; they race, on two pools.
        let a = dispatched(&created, round + 1, "unit-a", 100_000, i64::from(round));
        let b = dispatched(&created, round + 1, "unit-b", 200_000, i64::from(round));
        let ea = event_row(no, round + 1, "dispatched", i64::from(round));
        let mut eb = ea.clone();
        eb.step = "reassigned".into();
        eb.event_json = r#"{"kind":{"step":"reassigned"}}"#.into();
        let (ra, rb) = tokio::join!(
            store.append_event(&a, &ea, round),
            other.append_event(&b, &eb, round)
        );
        let (winner, winner_event, loser) = match (ra, rb) {
            (Ok(()), Err(e)) => (a, ea, e),
            (Err(e), Ok(())) => (b, eb, e),
            (ra, rb) => panic!("round {round}: exactly one must win: {ra:?} / {rb:?}"),
        };
        assert!(
            matches!(loser, StoreError::Conflict { expected, found, .. }
                if expected == round && found == round + 1),
            "round {round}: {loser}"
        );
        assert_eq!(store.order(no).await.expect("order"), Some(winner));
        let events = store.order_events(no).await.expect("events");
        assert_eq!(events.len(), round as usize + 1, "the loser left no event");
        assert_eq!(events.last(), Some(&winner_event));
    }
    assert_eq!(event_count(&db.url).await, 11);
}

async fn events_that_are_not_a_json_object_are_rejected(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let no = "YC20261201-000001";
    let created = order_row(no, "call-1", 0);
    let bad_values = [
        "",
        "not json",
        r#"{"kind":"#,
        "[1,2]",
        "3",
        "null",
        r#""{}""#,
    ];
    for bad in bad_values {
        let mut first = event_row(no, 1, "drafted", 0);
        first.event_json = bad.into();
        let err = store
            .create_order(&created, &first)
            .await
            .expect_err("not an object");
        assert!(matches!(err, StoreError::Invalid(_)), "{bad:?}: {err}");
        assert!(err.to_string().contains(no), "names the order: {err}");
    }
    // Not even the order row was kept.
    assert_eq!(store.order(no).await.expect("order"), None);
    assert_eq!(
        store.order_by_record("call-1").await.expect("by record"),
        None
    );

    store
        .create_order(&created, &event_row(no, 1, "drafted", 0))
        .await
        .expect("create");
    let next = dispatched(&created, 2, "u", 1_000, 1_000);
    for bad in bad_values {
        let mut event = event_row(no, 2, "dispatched", 1_000);
        event.event_json = bad.into();
        let err = store
            .append_event(&next, &event, 1)
            .await
            .expect_err("not an object");
        assert!(matches!(err, StoreError::Invalid(_)), "{bad:?}: {err}");
    }
    // Neither the projection nor the version moved.
    assert_eq!(store.order(no).await.expect("order"), Some(created));
    assert_eq!(event_count(&db.url).await, 1);

    // The schema refuses them too, for writers that bypass the store.
    for bad in ["not json", "[1,2]", "3"] {
        let sql = format!(
            "INSERT INTO work_order_events (no, seq, at, actor, step, event) \
             VALUES ('{no}', 2, 0, 'x', 'dispatched', '{bad}')"
        );
        let mut conn = sqlx::AnyConnection::connect(&db.url)
            .await
            .expect("connect");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .expect_err("CHECK on event");
        let _ = conn.close().await;
    }
    raw_execute(
        &db,
        "INSERT INTO work_order_events (no, seq, at, actor, step, event) \
         VALUES ('YC20261201-000001', 2, 0, 'x', 'dispatched', '{\"a\":1}')",
    )
    .await
    .expect("a valid raw insert goes through");
}

async fn inconsistent_order_writes_are_rejected(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let no = "YC20261201-000001";
    let created = order_row(no, "call-1", 0);
    let first = event_row(no, 1, "drafted", 0);
    let invalid = |r: Result<Inserted, StoreError>| {
        let err = r.expect_err("inconsistent");
        assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    };
    invalid(
        store
            .create_order(
                &OrderRow {
                    version: 2,
                    ..created.clone()
                },
                &first,
            )
            .await,
    );
    invalid(
        store
            .create_order(&created, &event_row(no, 2, "drafted", 0))
            .await,
    );
    invalid(
        store
            .create_order(&created, &event_row("YC20261201-000002", 1, "drafted", 0))
            .await,
    );
    invalid(store.create_order(&created, &event_row(no, 1, "", 0)).await);
    invalid(
        store
            .create_order(
                &OrderRow {
                    status: String::new(),
                    ..created.clone()
                },
                &first,
            )
            .await,
    );
    assert_eq!(store.order(no).await.expect("order"), None);

    store.create_order(&created, &first).await.expect("create");
    let next = dispatched(&created, 2, "u", 1_000, 1_000);
    let append_invalid = |r: Result<(), StoreError>| {
        let err = r.expect_err("inconsistent");
        assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    };
    // The projection's version is not the one after the append.
    append_invalid(
        store
            .append_event(
                &OrderRow {
                    version: 3,
                    ..next.clone()
                },
                &event_row(no, 2, "d", 1),
                1,
            )
            .await,
    );
    // The event is not at the next position, or belongs to another order.
    append_invalid(
        store
            .append_event(&next, &event_row(no, 3, "d", 1), 1)
            .await,
    );
    append_invalid(
        store
            .append_event(&next, &event_row("YC20261201-000002", 2, "d", 1), 1)
            .await,
    );
    // Version 0 is the create's.
    append_invalid(
        store
            .append_event(
                &OrderRow {
                    version: 1,
                    ..next.clone()
                },
                &event_row(no, 1, "d", 1),
                0,
            )
            .await,
    );
    assert_eq!(store.order(no).await.expect("order"), Some(created));
    assert_eq!(event_count(&db.url).await, 1);
}

/// Creates order `YC20261201-<n>` for call `call-<n>`, then dispatches it to `unit` (due at
/// `due_ms`) and moves it to `status`.
async fn seed_order(store: &Store, n: u32, unit: Option<&str>, due_ms: Option<i64>, status: &str) {
    let no = format!("YC20261201-{n:06}");
    let created = order_row(&no, &format!("call-{n}"), 0);
    store
        .create_order(&created, &event_row(&no, 1, "drafted", 0))
        .await
        .expect("create");
    let projection = OrderRow {
        status: status.into(),
        lead_unit: unit.map(str::to_owned),
        due_at: due_ms.map(at),
        updated_at: at(1),
        version: 2,
        ..created
    };
    store
        .append_event(&projection, &event_row(&no, 2, "dispatched", 1), 1)
        .await
        .expect("append");
}

fn numbers(rows: &[OrderRow]) -> Vec<&str> {
    rows.iter().map(|r| r.no.as_str()).collect()
}

async fn unit_orders_due_soonest_first(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let open: &[&str] = &["dispatched", "handling"];
    seed_order(&store, 1, Some("住建"), Some(5_000), "handling").await;
    seed_order(&store, 2, Some("住建"), Some(3_000), "dispatched").await;
    // Same deadline as 2: ties by number.
    seed_order(&store, 3, Some("住建"), Some(3_000), "handling").await;
    // Closed: not listed.
    seed_order(&store, 4, Some("住建"), Some(1_000), "replied").await;
    // Another unit.
    seed_order(&store, 5, Some("水务"), Some(1_000), "handling").await;
    // No deadline.
    seed_order(&store, 6, Some("住建"), None, "handling").await;
    // Due exactly at the bound: not before it.
    seed_order(&store, 7, Some("住建"), Some(9_000), "handling").await;

    let due = store
        .unit_orders_due("住建", open, at(9_000), 100)
        .await
        .expect("due");
    assert_eq!(
        numbers(&due),
        [
            "YC20261201-000002",
            "YC20261201-000003",
            "YC20261201-000001"
        ]
    );
    assert_eq!(due[2].lead_unit.as_deref(), Some("住建"));
    assert_eq!(due[2].due_at, Some(at(5_000)));
    assert_eq!(
        numbers(
            &store
                .unit_orders_due("住建", open, at(9_000), 2)
                .await
                .expect("due")
        ),
        ["YC20261201-000002", "YC20261201-000003"]
    );
    assert_eq!(
        numbers(
            &store
                .unit_orders_due("住建", &["handling"], at(4_000), 100)
                .await
                .expect("due")
        ),
        ["YC20261201-000003"]
    );
    assert_eq!(
        numbers(
            &store
                .unit_orders_due("住建", &["replied"], at(9_001), 100)
                .await
                .expect("due")
        ),
        ["YC20261201-000004"]
    );
    assert!(
        store
            .unit_orders_due("住建", &[], at(9_000), 100)
            .await
            .expect("due")
            .is_empty()
    );
    assert!(
        store
            .unit_orders_due("住建", open, at(9_000), 0)
            .await
            .expect("due")
            .is_empty()
    );
    assert!(
        store
            .unit_orders_due("nobody", open, at(9_000), 100)
            .await
            .expect("due")
            .is_empty()
    );
}

async fn overdue_counted_per_unit(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let open: &[&str] = &["dispatched", "handling", "return_pending"];
    let now = at(10_000);
    assert!(
        store
            .overdue_by_unit(open, now)
            .await
            .expect("overdue")
            .is_empty()
    );
    seed_order(&store, 1, Some("b-unit"), Some(1_000), "handling").await;
    seed_order(&store, 2, Some("b-unit"), Some(9_999), "dispatched").await;
    seed_order(&store, 3, Some("A-unit"), Some(2_000), "return_pending").await;
    seed_order(&store, 4, Some("环保"), Some(3_000), "handling").await;
    // Not overdue: due exactly now, due later, closed, no deadline, no unit.
    seed_order(&store, 5, Some("b-unit"), Some(10_000), "handling").await;
    seed_order(&store, 6, Some("c-unit"), Some(20_000), "handling").await;
    seed_order(&store, 7, Some("c-unit"), Some(1_000), "replied").await;
    seed_order(&store, 8, Some("c-unit"), None, "handling").await;
    seed_order(&store, 9, None, Some(1_000), "handling").await;

    let expect = |rows: &[(&str, u64)]| -> Vec<(String, u64)> {
        rows.iter().map(|&(u, n)| (u.to_owned(), n)).collect()
    };
    // Byte order: upper case before lower case, CJK last, on both backends.
    assert_eq!(
        store.overdue_by_unit(open, now).await.expect("overdue"),
        expect(&[("A-unit", 1), ("b-unit", 2), ("环保", 1)])
    );
    assert_eq!(
        store
            .overdue_by_unit(&["handling"], now)
            .await
            .expect("overdue"),
        expect(&[("b-unit", 1), ("环保", 1)])
    );
    assert_eq!(
        store
            .overdue_by_unit(open, at(10_001))
            .await
            .expect("overdue"),
        expect(&[("A-unit", 1), ("b-unit", 3), ("环保", 1)])
    );
    assert!(
        store
            .overdue_by_unit(&[], now)
            .await
            .expect("overdue")
            .is_empty()
    );
}
