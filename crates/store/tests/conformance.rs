//! The store's contract, run on both SQLite and PostgreSQL.

mod common;

use std::collections::HashSet;

use chrono::{Duration, NaiveDate};
use common::{TestDb, answered_record, at, bare_record};
use hotline_cdr::{CallKind, CallRecord, CallRecordBuilder, EndReason};
use hotline_store::{
    AgentStateRow, AlertRow, AttachmentMeta, AttachmentRow, AuditRow, Backend, CalendarOverrideRow,
    CallbackRow, EventRow, FactDimension, Inserted, KbEntryRow, KbKpiCounts, KbLinkRow, KbQuery,
    KbSaved, KbVersionRow, KpiCounts, LIST_LIMIT_MAX, NewOutbox, OrderFactRow, OrderQuery,
    OrderRow, Store, StoreError, UserRow,
};
use sqlx::Connection;

on_both_backends!(
    connect_migrates_and_reconnect_is_idempotent,
    an_edited_migration_is_an_error_not_a_hang,
    orders_to_check_are_those_whose_check_time_has_come,
    answered_record_round_trips,
    bare_record_round_trips,
    insert_is_idempotent_by_id,
    missing_record_is_none,
    recent_is_newest_first_and_limited,
    a_callers_calls_newest_first_with_their_orders,
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
    order_projection_round_trips_co_units_and_counts,
    bad_co_units_and_counts_are_rejected,
    list_orders_filters_and_co_unit_visibility,
    list_orders_pages_by_keyset_without_duplicates_or_gaps,
    list_orders_caps_a_page,
    unit_orders_due_rows_carry_co_units,
    order_kpis_sum_per_unit_over_the_period,
    call_records_without_order_are_found,
    users_round_trip_and_put_keeps_created_at,
    user_role_and_unit_rules_are_refused,
    sessions_round_trip_expire_and_purge,
    audit_log_newest_first_per_order,
    calendar_overrides_round_trip_upsert_and_delete,
    outbox_due_failed_sent_cycle,
    outbox_with_a_bad_channel_stores_nothing,
    append_event_with_outbox_is_all_or_nothing,
    kb_save_round_trips_entry_and_versions,
    kb_save_refuses_rows_out_of_step,
    kb_create_of_an_existing_id_conflicts,
    kb_save_with_a_stale_rev_conflicts_and_writes_nothing,
    kb_concurrent_saves_exactly_one_wins,
    kb_list_filters_category_prefix_and_keyset_pages,
    kb_published_lists_only_versions_in_force_by_page,
    kb_fingerprint_changes_on_every_write,
    kb_import_is_all_or_nothing,
    kb_link_is_idempotent_and_counts_hits,
    kb_top_hits_most_linked_in_range,
    kb_kpis_count_answered_on_spot_and_linked,
    attachments_round_trip_every_byte,
    attachments_list_oldest_first_per_order,
    attachment_of_an_unknown_order_or_a_bad_row_is_refused,
    attachment_of_another_order_is_not_returned,
    order_facts_round_trip_and_replace,
    order_fact_counts_stay_in_step_with_the_facts,
    order_facts_count_on_beijing_days,
    count_by_and_count_by_day_over_a_range,
    fact_orders_page_newest_first_by_keyset,
    bad_order_facts_are_refused_and_nothing_is_written,
    concurrent_fact_writers_keep_the_counts_in_step,
    counts_out_of_step_are_refused_and_a_rebuild_repairs_them,
    alert_upsert_keeps_first_at_and_takes_the_rest,
    alerts_list_newest_first_and_open_only,
    bad_alerts_are_refused,
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

/// A database whose applied migration no longer matches the shipped one (edited by hand, or a
/// different build): connecting says so, every time, and never waits for a lock a failed run
/// left behind (PostgreSQL's migration lock is per session).
async fn an_edited_migration_is_an_error_not_a_hang(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    store.close().await;
    let mut conn = sqlx::AnyConnection::connect(&db.url)
        .await
        .expect("raw connect");
    sqlx::query("UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 1")
        .bind(vec![0u8; 48])
        .execute(&mut conn)
        .await
        .expect("tamper");
    conn.close().await.ok();
    for attempt in 0..2 {
        let r = tokio::time::timeout(std::time::Duration::from_secs(20), Store::connect(&db.url))
            .await
            .unwrap_or_else(|_| panic!("connect {attempt} hung"));
        let e = r
            .err()
            .unwrap_or_else(|| panic!("connect {attempt} accepted an edited migration"));
        assert!(e.to_string().contains("migration"), "{e}");
    }
}

/// The scheduler's index: only orders whose `next_check_at` has come are listed, earliest first;
/// an append or `set_next_check` (guarded by version) moves it; `mark_for_check` sets it by
/// status.
async fn orders_to_check_are_those_whose_check_time_has_come(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let rows = [
        ("YC20261201-000001", Some(5_000)),
        ("YC20261201-000002", None),
        ("YC20261201-000003", Some(1_000)),
        ("YC20261201-000004", Some(9_000)),
    ];
    for (i, (no, check)) in rows.iter().enumerate() {
        let mut row = order_row(no, &format!("rec-{i}"), 0);
        row.next_check_at = check.map(at);
        store
            .create_order(&row, &event_row(no, 1, "drafted", 0))
            .await
            .expect("create");
        assert_eq!(
            store.order(no).await.unwrap().unwrap().next_check_at,
            check.map(at)
        );
    }
    assert_eq!(
        store.orders_to_check(at(5_000), 10).await.unwrap(),
        ["YC20261201-000003", "YC20261201-000001"]
    );
    assert_eq!(store.orders_to_check(at(5_000), 1).await.unwrap().len(), 1);
    // An append carries the new time; a stale version does not set it.
    let no = "YC20261201-000003";
    let mut next = dispatched(
        &store.order(no).await.unwrap().unwrap(),
        2,
        "市交通局",
        50_000,
        2_000,
    );
    next.next_check_at = Some(at(40_000));
    store
        .append_event(&next, &event_row(no, 2, "dispatched", 2_000), 1)
        .await
        .expect("append");
    assert!(!store.set_next_check(no, 1, None).await.unwrap());
    assert_eq!(
        store.order(no).await.unwrap().unwrap().next_check_at,
        Some(at(40_000))
    );
    assert!(store.set_next_check(no, 2, Some(at(30_000))).await.unwrap());
    assert_eq!(
        store.orders_to_check(at(30_000), 10).await.unwrap(),
        ["YC20261201-000001", "YC20261201-000004", no]
    );
    // Marked by status: only the unchecked ones, or all.
    assert_eq!(
        store
            .mark_for_check(&["draft"], at(100), true)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .order("YC20261201-000002")
            .await
            .unwrap()
            .unwrap()
            .next_check_at,
        Some(at(100))
    );
    assert_eq!(
        store
            .mark_for_check(&["dispatched"], at(200), false)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.order(no).await.unwrap().unwrap().next_check_at,
        Some(at(200))
    );
    assert_eq!(store.mark_for_check(&[], at(200), false).await.unwrap(), 0);
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

/// The desktop's repeat-caller history: one caller's calls since a time, newest first, each
/// with its work order's number when it became one; other callers and older calls left out.
async fn a_callers_calls_newest_first_with_their_orders(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let call = |id: &str, caller: &str, arrived: i64| {
        CallRecordBuilder::arrived(
            id,
            format!("{id}@h"),
            caller,
            "12345",
            CallKind::Hotline,
            at(arrived),
        )
        .ended(EndReason::CallerHangup, 200, at(arrived + 60_000))
    };
    for r in [
        call("old", "13800000001", 1_000),
        call("x1", "13800000001", 10_000),
        call("other", "13900000009", 20_000),
        call("x2", "13800000001", 30_000),
        call("x3", "13800000001", 40_000),
    ] {
        store.insert_call_record(&r).await.expect("insert");
    }
    let no = "YC20261201-000042";
    store
        .create_order(&order_row(no, "x2", 0), &event_row(no, 1, "drafted", 0))
        .await
        .expect("create");
    let got: Vec<(String, Option<String>)> = store
        .calls_from_caller("13800000001", at(5_000), 10)
        .await
        .expect("calls")
        .into_iter()
        .map(|(r, o)| (r.id, o))
        .collect();
    assert_eq!(
        got,
        [
            ("x3".to_string(), None),
            ("x2".to_string(), Some(no.to_string())),
            ("x1".to_string(), None)
        ]
    );
    let limited = store
        .calls_from_caller("13800000001", at(0), 2)
        .await
        .expect("calls");
    assert_eq!(limited.len(), 2);
    assert!(
        store
            .calls_from_caller("13700000000", at(0), 10)
            .await
            .expect("calls")
            .is_empty()
    );
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
        request_type: None,
        co_units: Vec::new(),
        counts: KpiCounts::default(),
        next_check_at: None,
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

// ---- Work orders, second part: request type, co-units, counts and the listings (0005). ----

/// Counts with every field set to a different value: a column swapped with another shows.
fn distinct_counts(base: u64) -> KpiCounts {
    KpiCounts {
        dispatched: base + 1,
        signed: base + 2,
        signed_on_time: base + 3,
        returned: base + 4,
        return_requests: base + 5,
        returns_rejected: base + 6,
        replied: base + 7,
        replied_on_time: base + 8,
        reviewed: base + 9,
        called_back: base + 10,
        reached: base + 11,
        satisfied: base + 12,
        solved_known: base + 13,
        solved: base + 14,
        redone: base + 15,
        reminders: base + 16,
        notices: base + 17,
        criticisms: base + 18,
    }
}

fn units(names: &[&str]) -> Vec<String> {
    names.iter().map(|&u| u.to_owned()).collect()
}

/// Creates an order straight in the given state (version 1, one event): `YC20261201-<n>` for
/// call `call-<n>`, created at `created_ms`.
async fn put_order(store: &Store, n: u32, created_ms: i64, build: impl FnOnce(&mut OrderRow)) {
    let no = format!("YC20261201-{n:06}");
    let mut row = order_row(&no, &format!("call-{n}"), created_ms);
    build(&mut row);
    assert_eq!(
        store
            .create_order(&row, &event_row(&no, 1, "drafted", created_ms))
            .await
            .expect("create"),
        Inserted::New
    );
}

fn no(n: u32) -> String {
    format!("YC20261201-{n:06}")
}

async fn outbox_count(store_url: &str) -> i64 {
    let mut conn = sqlx::AnyConnection::connect(store_url)
        .await
        .expect("connect");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(&mut conn)
        .await
        .expect("count");
    let _ = conn.close().await;
    n
}

async fn order_projection_round_trips_co_units_and_counts(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let no = "YC20261201-000001";
    let mut created = order_row(no, "call-1", 1_000);
    created.request_type = Some("complaint".into());
    created.counts = distinct_counts(0);
    created.lead_unit = Some("市住建局".into());
    // Given unsorted and with a repeat: stored as a set, read back in byte order.
    created.co_units = units(&["市水务局", "B-unit", "市水务局", "A-unit"]);
    store
        .create_order(&created, &event_row(no, 1, "drafted", 1_000))
        .await
        .expect("create");
    let expected = OrderRow {
        co_units: units(&["A-unit", "B-unit", "市水务局"]),
        ..created.clone()
    };
    assert_eq!(
        store.order(no).await.expect("order"),
        Some(expected.clone())
    );
    assert_eq!(
        store.order_by_record("call-1").await.expect("by record"),
        Some(expected)
    );

    // An append replaces all of it: other co-units (one kept, one new, two gone), other
    // counts, the request type.
    let next = OrderRow {
        version: 2,
        updated_at: at(2_000),
        request_type: Some("help".into()),
        co_units: units(&["市水务局", "市交通局"]),
        counts: distinct_counts(100),
        ..created.clone()
    };
    store
        .append_event(&next, &event_row(no, 2, "reassigned", 2_000), 1)
        .await
        .expect("append");
    let back = store.order(no).await.expect("order").expect("stored");
    assert_eq!(back.co_units, units(&["市交通局", "市水务局"]));
    assert_eq!(back.counts, distinct_counts(100));
    assert_eq!(back.request_type.as_deref(), Some("help"));

    // And to none at all.
    let last = OrderRow {
        version: 3,
        co_units: Vec::new(),
        request_type: None,
        counts: KpiCounts::default(),
        ..next.clone()
    };
    store
        .append_event(&last, &event_row(no, 3, "reassigned", 3_000), 2)
        .await
        .expect("append");
    assert_eq!(store.order(no).await.expect("order"), Some(last));

    // A row written without the new columns (as before migration 0005) counts nothing.
    raw_execute(
        &db,
        "INSERT INTO work_orders (no, record, status, created_at, updated_at, version) \
         VALUES ('YC20261130-000001', 'old-call', 'archived', 5, 5, 1)",
    )
    .await
    .expect("raw insert");
    let old = store
        .order("YC20261130-000001")
        .await
        .expect("order")
        .expect("stored");
    assert_eq!(old.counts, KpiCounts::default());
    assert_eq!((old.request_type, old.co_units), (None, Vec::new()));
}

async fn bad_co_units_and_counts_are_rejected(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let no = "YC20261201-000001";
    let created = OrderRow {
        lead_unit: Some("lead".into()),
        ..order_row(no, "call-1", 0)
    };
    let first = event_row(no, 1, "drafted", 0);
    let bad_rows = [
        OrderRow {
            co_units: units(&["x", ""]),
            ..created.clone()
        },
        OrderRow {
            co_units: units(&["x", "lead"]),
            ..created.clone()
        },
        OrderRow {
            counts: KpiCounts {
                reminders: u64::from(u32::MAX),
                ..KpiCounts::default()
            },
            ..created.clone()
        },
    ];
    for bad in &bad_rows {
        let err = store.create_order(bad, &first).await.expect_err("refused");
        assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    }
    assert_eq!(store.order(no).await.expect("order"), None);

    store.create_order(&created, &first).await.expect("create");
    for bad in &bad_rows {
        let next = OrderRow {
            version: 2,
            ..bad.clone()
        };
        let err = store
            .append_event(&next, &event_row(no, 2, "dispatched", 1), 1)
            .await
            .expect_err("refused");
        assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    }
    assert_eq!(store.order(no).await.expect("order"), Some(created));
    assert_eq!(event_count(&db.url).await, 1);
    // The schema refuses negative counts and empty co-unit names too.
    raw_execute(
        &db,
        "UPDATE work_orders SET reminders = -1 WHERE no = 'YC20261201-000001'",
    )
    .await
    .expect_err("CHECK on a count");
    raw_execute(
        &db,
        "INSERT INTO work_order_co_units (no, unit) VALUES ('YC20261201-000001', '')",
    )
    .await
    .expect_err("CHECK on a co-unit");
}

/// Seven orders of units A and B (with co-units), statuses and owners mixed; created a second
/// apart, so newest first is 7, 6, … 1.
async fn seed_listing(store: &Store) {
    type Seed<'a> = (u32, Option<&'a str>, &'a [&'a str], &'a str, &'a str);
    let orders: [Seed; 7] = [
        (1, Some("A"), &[], "handling", "1001"),
        (2, Some("B"), &["A"], "handling", "1002"),
        (3, None, &[], "draft", "1001"),
        (4, Some("A"), &["B", "C"], "archived", "1002"),
        (5, Some("C"), &["A", "B"], "dispatched", "1001"),
        (6, Some("B"), &[], "archived", "1001"),
        (7, Some("C"), &[], "handling", "1002"),
    ];
    for (n, lead, co, status, owner) in orders {
        put_order(store, n, i64::from(n) * 1_000, |r| {
            r.lead_unit = lead.map(str::to_owned);
            r.co_units = units(co);
            r.status = status.into();
            r.owner = Some(owner.into());
        })
        .await;
    }
}

async fn list_orders_filters_and_co_unit_visibility(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    seed_listing(&store).await;
    let list = |q: OrderQuery| {
        let store = store.clone();
        async move {
            let rows = store.list_orders(&q).await.expect("list");
            rows.iter()
                .map(|r| r.no[11..].parse::<u32>().expect("number"))
                .collect::<Vec<_>>()
        }
    };
    let q = |build: fn(&mut OrderQuery)| {
        let mut q = OrderQuery {
            limit: 100,
            ..OrderQuery::default()
        };
        build(&mut q);
        q
    };
    assert_eq!(list(q(|_| {})).await, [7, 6, 5, 4, 3, 2, 1]);
    assert!(list(OrderQuery::default()).await.is_empty(), "limit 0");
    // A sees what it leads (1, 4) and what it co-handles (2, 5); B its own 2, 6 and 4, 5.
    assert_eq!(
        list(q(|q| q.visible_to_unit = Some("A".into()))).await,
        [5, 4, 2, 1]
    );
    assert_eq!(
        list(q(|q| q.visible_to_unit = Some("B".into()))).await,
        [6, 5, 4, 2]
    );
    assert_eq!(
        list(q(|q| q.visible_to_unit = Some("C".into()))).await,
        [7, 5, 4]
    );
    assert!(
        list(q(|q| q.visible_to_unit = Some("nobody".into())))
            .await
            .is_empty()
    );
    assert_eq!(list(q(|q| q.lead_unit = Some("A".into()))).await, [4, 1]);
    assert_eq!(
        list(q(|q| {
            q.visible_to_unit = Some("A".into());
            q.statuses = vec!["handling".into(), "dispatched".into()];
        }))
        .await,
        [5, 2, 1]
    );
    assert_eq!(
        list(q(|q| {
            q.visible_to_unit = Some("B".into());
            q.lead_unit = Some("A".into());
        }))
        .await,
        [4]
    );
    assert_eq!(
        list(q(|q| {
            q.owner = Some("1001".into());
            q.statuses = vec!["handling".into(), "draft".into()];
        }))
        .await,
        [3, 1]
    );
    // Created in [2 s, 5 s): from inclusive, to exclusive.
    assert_eq!(
        list(q(|q| {
            q.created_from = Some(at(2_000));
            q.created_to = Some(at(5_000));
        }))
        .await,
        [4, 3, 2]
    );
    assert_eq!(
        list(q(|q| {
            q.visible_to_unit = Some("A".into());
            q.created_to = Some(at(5_000));
            q.limit = 2;
        }))
        .await,
        [4, 2]
    );
    // A co-unit added by an append is listed by the order's created time, not the one in the
    // projection handed over (which the append ignores).
    let one = store.order(&no(1)).await.expect("order").expect("stored");
    store
        .append_event(
            &OrderRow {
                version: 2,
                co_units: units(&["C"]),
                created_at: at(99_000),
                ..one
            },
            &event_row(&no(1), 2, "reassigned", 9_000),
            1,
        )
        .await
        .expect("append");
    assert_eq!(
        list(q(|q| {
            q.visible_to_unit = Some("C".into());
            q.created_to = Some(at(2_000));
        }))
        .await,
        [1]
    );
    assert_eq!(
        list(q(|q| q.visible_to_unit = Some("C".into()))).await,
        [7, 5, 4, 1]
    );
    // Rows carry their co-units, in byte order.
    let rows = store
        .list_orders(&q(|q| q.visible_to_unit = Some("A".into())))
        .await
        .expect("list");
    assert_eq!(rows[0].co_units, units(&["A", "B"]));
    assert_eq!(rows[1].co_units, units(&["B", "C"]));
    assert_eq!(rows[2].co_units, units(&["A"]));
    assert_eq!(rows[3].co_units, units(&["C"]));
    let six = store.order(&no(6)).await.expect("order").expect("stored");
    assert!(six.co_units.is_empty());
}

/// Pages of `q` (with `q.limit` rows) until an empty one, following the keyset cursor; a
/// cursor that does not move on fails the test instead of looping.
async fn all_pages(store: &Store, mut q: OrderQuery) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    loop {
        assert!(pages.len() < 100, "the cursor does not move on: {pages:?}");
        let page = store.list_orders(&q).await.expect("page");
        let Some(last) = page.last() else {
            return pages;
        };
        q.before = Some((last.created_at, last.no.clone()));
        pages.push(page.into_iter().map(|r| r.no).collect());
    }
}

async fn list_orders_pages_by_keyset_without_duplicates_or_gaps(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    // 23 orders, three at a time created in the same millisecond (ties broken by number); unit
    // U leads every third and co-handles every fifth.
    for n in 1..=23_u32 {
        put_order(&store, n, i64::from(n / 3), |r| {
            r.lead_unit = Some(if n.is_multiple_of(3) { "U" } else { "V" }.into());
            if n.is_multiple_of(5) && !n.is_multiple_of(3) {
                r.co_units = units(&["U"]);
            }
        })
        .await;
    }
    // Newest first: by created_at, then by number, both descending.
    let mut expected: Vec<u32> = (1..=23).collect();
    expected.sort_by_key(|&n| std::cmp::Reverse((n / 3, n)));
    let expected: Vec<String> = expected.into_iter().map(no).collect();

    let pages = all_pages(
        &store,
        OrderQuery {
            limit: 4,
            ..OrderQuery::default()
        },
    )
    .await;
    assert_eq!(pages.len(), 6, "23 rows in pages of 4");
    assert!(pages[..5].iter().all(|p| p.len() == 4));
    assert_eq!(pages.concat(), expected);

    let visible: Vec<String> = expected
        .iter()
        .filter(|no| {
            let n: u32 = no[11..].parse().expect("number");
            n.is_multiple_of(3) || n.is_multiple_of(5)
        })
        .cloned()
        .collect();
    assert_eq!(visible.len(), 10);
    let pages = all_pages(
        &store,
        OrderQuery {
            visible_to_unit: Some("U".into()),
            limit: 3,
            ..OrderQuery::default()
        },
    )
    .await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 3, 1]);
    assert_eq!(pages.concat(), visible);

    // An order created after the first page was read does not shift the next pages.
    let q = OrderQuery {
        limit: 10,
        ..OrderQuery::default()
    };
    let first = store.list_orders(&q).await.expect("page");
    put_order(&store, 99, 100, |_| {}).await;
    let last = first.last().expect("rows");
    let second = store
        .list_orders(&OrderQuery {
            before: Some((last.created_at, last.no.clone())),
            ..q
        })
        .await
        .expect("page");
    let numbers: Vec<String> = first.iter().chain(&second).map(|r| r.no.clone()).collect();
    assert_eq!(numbers, expected[..20]);
}

async fn list_orders_caps_a_page(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    // More rows than the cap, in one raw statement (500 creates would only slow the test).
    let values: Vec<String> = (1..=LIST_LIMIT_MAX + 7)
        .map(|n| format!("('YC20261201-{n:06}', 'call-{n}', 'archived', {n}, {n}, 1)"))
        .collect();
    let sql = format!(
        "INSERT INTO work_orders (no, record, status, created_at, updated_at, version) VALUES {}",
        values.join(", ")
    );
    let mut conn = sqlx::AnyConnection::connect(&db.url)
        .await
        .expect("connect");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .expect("raw insert");
    let _ = conn.close().await;
    let rows = store
        .list_orders(&OrderQuery {
            limit: 10_000,
            ..OrderQuery::default()
        })
        .await
        .expect("list");
    assert_eq!(rows.len(), LIST_LIMIT_MAX as usize);
    assert_eq!(rows[0].no, no(LIST_LIMIT_MAX + 7));
    assert_eq!(rows[499].no, no(8));
}

async fn unit_orders_due_rows_carry_co_units(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    put_order(&store, 1, 0, |r| {
        r.lead_unit = Some("A".into());
        r.due_at = Some(at(1_000));
        r.status = "handling".into();
        r.co_units = units(&["C", "B"]);
    })
    .await;
    // A co-unit's order is not in its "due" list: the deadline is the lead unit's.
    let due = store
        .unit_orders_due("A", &["handling"], at(2_000), 10)
        .await
        .expect("due");
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].co_units, units(&["B", "C"]));
    assert!(
        store
            .unit_orders_due("B", &["handling"], at(2_000), 10)
            .await
            .expect("due")
            .is_empty()
    );
}

async fn order_kpis_sum_per_unit_over_the_period(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let one = KpiCounts {
        dispatched: 1,
        signed: 1,
        signed_on_time: 1,
        replied: 1,
        ..KpiCounts::default()
    };
    // (n, created, unit, counts)
    let orders: [(u32, i64, Option<&str>, KpiCounts); 7] = [
        // Before the period.
        (1, 999, Some("B"), distinct_counts(1_000)),
        // At its start: counted.
        (2, 1_000, Some("B"), distinct_counts(0)),
        (3, 1_500, Some("B"), one),
        (4, 2_000, Some("环保"), one),
        (5, 2_500, Some("A"), distinct_counts(10)),
        // Not dispatched: the center's own.
        (6, 2_600, None, distinct_counts(500)),
        // At its end: not counted.
        (7, 3_000, Some("A"), distinct_counts(2_000)),
    ];
    for (n, created, unit, counts) in orders {
        put_order(&store, n, created, |r| {
            r.lead_unit = unit.map(str::to_owned);
            r.counts = counts;
        })
        .await;
    }
    let kpis = store.order_kpis(at(1_000), at(3_000)).await.expect("kpis");
    let b = KpiCounts {
        dispatched: 2,
        signed: 3,
        signed_on_time: 4,
        replied: 8,
        ..distinct_counts(0)
    };
    assert_eq!(
        kpis,
        [
            ("A".to_owned(), distinct_counts(10)),
            ("B".to_owned(), b),
            ("环保".to_owned(), one),
        ]
    );
    assert!(
        store
            .order_kpis(at(3_001), at(9_000))
            .await
            .expect("kpis")
            .is_empty()
    );
    assert_eq!(
        store.order_kpis(at(0), at(1_000)).await.expect("kpis"),
        [("B".to_owned(), distinct_counts(1_000))]
    );
}

async fn call_records_without_order_are_found(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    // bare_record ends 3 s after it arrives.
    for (id, arrived) in [("r-a", 0), ("r-b", 1_000), ("r-c", 2_000), ("r-d", 3_000)] {
        store
            .insert_call_record(&bare_record(id, arrived))
            .await
            .expect("insert");
    }
    let ids = |records: Vec<CallRecord>| records.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store
            .call_records_without_order(at(0), 10)
            .await
            .expect("without")),
        ["r-a", "r-b", "r-c", "r-d"]
    );
    for (n, record) in [(1, "r-b"), (2, "r-d"), (3, "not-a-record-yet")] {
        let no = no(n);
        store
            .create_order(&order_row(&no, record, 0), &event_row(&no, 1, "drafted", 0))
            .await
            .expect("create");
    }
    assert_eq!(
        ids(store
            .call_records_without_order(at(0), 10)
            .await
            .expect("without")),
        ["r-a", "r-c"]
    );
    // Ended at or after `since`: r-a ended at 3 000, r-c at 5 000.
    assert_eq!(
        ids(store
            .call_records_without_order(at(3_001), 10)
            .await
            .expect("without")),
        ["r-c"]
    );
    assert_eq!(
        ids(store
            .call_records_without_order(at(3_000), 1)
            .await
            .expect("without")),
        ["r-a"]
    );
    let full = store
        .call_records_without_order(at(5_000), 10)
        .await
        .expect("without");
    assert_eq!(full, [bare_record("r-c", 2_000)]);
}

// ---- Users, sessions, the audit log, the calendar and the outbox (0005). ----

fn user(id: &str, role: &str, unit: Option<&str>) -> UserRow {
    UserRow {
        id: id.into(),
        name: format!("name of {id}"),
        role: role.into(),
        unit: unit.map(str::to_owned),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        disabled: false,
        created_at: at(1_000),
    }
}

async fn users_round_trip_and_put_keeps_created_at(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    assert_eq!(store.user("u1").await.expect("user"), None);
    let rows = [
        user("zhang", "agent", None),
        user("Admin", "admin", None),
        user("li", "unit_head", Some("市住建局")),
        user("wang", "unit_staff", Some("市水务局")),
        user("chen", "supervisor", None),
    ];
    for row in &rows {
        store.put_user(row).await.expect("put");
    }
    // Byte order: upper case first.
    let ids: Vec<String> = store
        .users()
        .await
        .expect("users")
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(ids, ["Admin", "chen", "li", "wang", "zhang"]);
    assert_eq!(store.user("li").await.expect("user"), Some(rows[2].clone()));

    // A put replaces everything but the creation time.
    let changed = UserRow {
        name: "王五".into(),
        role: "agent".into(),
        unit: None,
        password_hash: "other-hash".into(),
        disabled: true,
        created_at: at(9_000),
        ..rows[3].clone()
    };
    store.put_user(&changed).await.expect("put");
    assert_eq!(
        store.user("wang").await.expect("user"),
        Some(UserRow {
            created_at: at(1_000),
            ..changed
        })
    );
    assert_eq!(store.users().await.expect("users").len(), 5);
}

async fn user_role_and_unit_rules_are_refused(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let bad = [
        user("a", "unit_staff", None),
        user("b", "unit_head", Some("")),
        user("c", "agent", Some("市住建局")),
        user("d", "root", None),
        user("", "agent", None),
        UserRow {
            password_hash: String::new(),
            ..user("e", "agent", None)
        },
    ];
    for row in &bad {
        let err = store.put_user(row).await.expect_err("refused");
        assert!(matches!(err, StoreError::Invalid(_)), "{row:?}: {err}");
    }
    // A good user turned bad stays as it was.
    store
        .put_user(&user("f", "unit_staff", Some("u")))
        .await
        .expect("put");
    let err = store
        .put_user(&user("f", "unit_staff", None))
        .await
        .expect_err("refused");
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    assert_eq!(
        store.users().await.expect("users"),
        [user("f", "unit_staff", Some("u"))]
    );
    // The schema's own CHECKs, for writers that bypass the store.
    for sql in [
        "INSERT INTO users (id, name, role, unit, password_hash, disabled, created_at) \
         VALUES ('x', 'x', 'unit_staff', NULL, 'h', 0, 0)",
        "INSERT INTO users (id, name, role, unit, password_hash, disabled, created_at) \
         VALUES ('x', 'x', 'agent', 'u', 'h', 0, 0)",
        "INSERT INTO users (id, name, role, unit, password_hash, disabled, created_at) \
         VALUES ('x', 'x', 'root', NULL, 'h', 0, 0)",
        "INSERT INTO users (id, name, role, unit, password_hash, disabled, created_at) \
         VALUES ('x', 'x', 'agent', NULL, 'h', 2, 0)",
    ] {
        raw_execute(&db, sql).await.expect_err(sql);
    }
    raw_execute(
        &db,
        "INSERT INTO users (id, name, role, unit, password_hash, disabled, created_at) \
         VALUES ('x', 'x', 'unit_head', 'u', 'h', 1, 0)",
    )
    .await
    .expect("a valid raw insert goes through");
}

async fn sessions_round_trip_expire_and_purge(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    store
        .put_user(&user("zhang", "agent", None))
        .await
        .expect("put");
    store
        .put_user(&user("li", "unit_staff", Some("u")))
        .await
        .expect("put");
    store
        .create_session("h1", "zhang", at(0), at(10_000))
        .await
        .expect("session");
    store
        .create_session("h2", "li", at(0), at(20_000))
        .await
        .expect("session");
    store
        .create_session("h3", "zhang", at(5_000), at(30_000))
        .await
        .expect("session");
    let s = store.session("h2").await.expect("session").expect("stored");
    assert_eq!(
        (
            s.token_hash.as_str(),
            s.user_id.as_str(),
            s.created_at,
            s.expires_at
        ),
        ("h2", "li", at(0), at(20_000))
    );
    assert_eq!(store.session("nope").await.expect("session"), None);

    // Refused: an unknown user (the foreign key), a token hash already there, an end before
    // the start.
    let err = store
        .create_session("h4", "ghost", at(0), at(1))
        .await
        .expect_err("unknown user");
    assert!(matches!(err, StoreError::Database(_)), "{err}");
    let err = store
        .create_session("h1", "li", at(0), at(1))
        .await
        .expect_err("taken");
    assert!(matches!(err, StoreError::Database(_)), "{err}");
    let err = store
        .create_session("h5", "li", at(7), at(7))
        .await
        .expect_err("no lifetime");
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    assert_eq!(store.session("h4").await.expect("session"), None);
    assert_eq!(store.session("h5").await.expect("session"), None);
    assert_eq!(
        store.session("h1").await.expect("s").expect("s").user_id,
        "zhang"
    );

    // Purge at 20 000: h1 (expired at 10 000) and h2 (expiring exactly now) go, h3 stays.
    assert_eq!(store.purge_sessions(at(9_999)).await.expect("purge"), 0);
    assert_eq!(store.purge_sessions(at(20_000)).await.expect("purge"), 2);
    assert_eq!(store.session("h1").await.expect("session"), None);
    assert_eq!(store.session("h2").await.expect("session"), None);
    assert!(store.session("h3").await.expect("session").is_some());
    assert_eq!(store.purge_sessions(at(20_000)).await.expect("purge"), 0);

    assert!(store.delete_session("h3").await.expect("delete"));
    assert!(!store.delete_session("h3").await.expect("delete"));
    assert_eq!(store.session("h3").await.expect("session"), None);
}

async fn audit_log_newest_first_per_order(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let entry = |user: &str, action: &str, order: Option<&str>, ms: i64| AuditRow {
        id: 0,
        at: at(ms),
        user_id: user.into(),
        action: action.into(),
        order_no: order.map(str::to_owned),
        detail: format!(r#"{{"note":"{action} 第{ms}"}}"#),
    };
    let written = [
        entry("zhang", "order.create", Some("YC1"), 1),
        entry("admin", "user.disable", None, 2),
        entry("li", "order.sign", Some("YC1"), 3),
        entry("zhang", "order.create", Some("YC2"), 4),
        entry("system", "order.remind", Some("YC1"), 5),
    ];
    let mut ids = Vec::new();
    for row in &written {
        ids.push(store.audit(row).await.expect("audit"));
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow: {ids:?}");
    let with_id = |i: usize| AuditRow {
        id: ids[i],
        ..written[i].clone()
    };
    assert_eq!(
        store.audit_entries(Some("YC1"), 10).await.expect("entries"),
        [with_id(4), with_id(2), with_id(0)]
    );
    assert_eq!(
        store.audit_entries(Some("YC1"), 2).await.expect("entries"),
        [with_id(4), with_id(2)]
    );
    assert_eq!(
        store.audit_entries(None, 3).await.expect("entries"),
        [with_id(4), with_id(3), with_id(2)]
    );
    assert_eq!(
        store.audit_entries(None, 10).await.expect("entries").len(),
        5
    );
    assert!(
        store
            .audit_entries(Some("YC9"), 10)
            .await
            .expect("entries")
            .is_empty()
    );
    let err = store
        .audit(&entry("x", "", None, 6))
        .await
        .expect_err("no action");
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    assert_eq!(
        store.audit_entries(None, 10).await.expect("entries").len(),
        5
    );
}

async fn calendar_overrides_round_trip_upsert_and_delete(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    assert!(store.calendar_overrides().await.expect("list").is_empty());
    let date = |m, d| NaiveDate::from_ymd_opt(2027, m, d).expect("date");
    let row = |d: NaiveDate, working, note: &str| CalendarOverrideRow {
        date: d,
        working,
        note: note.into(),
        set_by: "admin".into(),
        set_at: at(1_000),
    };
    let saturday = row(date(2, 20), true, "春节调休上班");
    let holiday = row(date(1, 4), false, "元旦");
    store.put_calendar_override(&saturday).await.expect("put");
    store.put_calendar_override(&holiday).await.expect("put");
    assert_eq!(
        store.calendar_overrides().await.expect("list"),
        [holiday.clone(), saturday.clone()]
    );
    // The same date again replaces the row.
    let undone = CalendarOverrideRow {
        working: false,
        note: "取消调休".into(),
        set_by: "admin2".into(),
        set_at: at(2_000),
        ..saturday.clone()
    };
    store.put_calendar_override(&undone).await.expect("put");
    assert_eq!(
        store.calendar_overrides().await.expect("list"),
        [holiday.clone(), undone]
    );
    assert!(
        store
            .delete_calendar_override(date(2, 20))
            .await
            .expect("delete")
    );
    assert!(
        !store
            .delete_calendar_override(date(2, 20))
            .await
            .expect("delete")
    );
    assert_eq!(store.calendar_overrides().await.expect("list"), [holiday]);
}

fn sms(target: &str, order: Option<&str>, ms: i64) -> NewOutbox {
    NewOutbox {
        channel: "sms".into(),
        target: target.into(),
        order_no: order.map(str::to_owned),
        body: format!("【12345】您的工单已受理 {ms}"),
        created_at: at(ms),
    }
}

async fn outbox_due_failed_sent_cycle(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let hook = NewOutbox {
        channel: "webhook".into(),
        target: "https://example.org/hook".into(),
        order_no: None,
        body: r#"{"event":"dispatched"}"#.into(),
        created_at: at(2_000),
    };
    let ids = store
        .enqueue_outbox(&[sms("13800000001", Some("YC1"), 1_000), hook.clone()])
        .await
        .expect("enqueue");
    let more = store
        .enqueue_outbox(&[sms("13800000002", Some("YC2"), 1_500)])
        .await
        .expect("enqueue");
    assert_eq!(ids.len(), 2);
    assert!(ids[0] < ids[1] && ids[1] < more[0]);
    assert!(store.enqueue_outbox(&[]).await.expect("nothing").is_empty());

    // Due from created_at on, oldest due first.
    let due = |ms| {
        let store = store.clone();
        async move {
            store
                .outbox_due(at(ms), 10)
                .await
                .expect("due")
                .into_iter()
                .map(|r| r.id)
                .collect::<Vec<_>>()
        }
    };
    assert!(due(999).await.is_empty());
    assert_eq!(due(1_500).await, [ids[0], more[0]]);
    assert_eq!(due(2_000).await, [ids[0], more[0], ids[1]]);
    let first = &store.outbox_due(at(2_000), 1).await.expect("due")[0];
    assert_eq!(
        (
            first.channel.as_str(),
            first.target.as_str(),
            first.order_no.as_deref(),
            first.created_at,
            first.next_at,
            first.attempts,
            first.sent_at,
            first.last_error.as_deref()
        ),
        (
            "sms",
            "13800000001",
            Some("YC1"),
            at(1_000),
            at(1_000),
            0,
            None,
            None
        )
    );
    assert_eq!(first.body, "【12345】您的工单已受理 1000");

    // The first SMS fails twice, backing off; the webhook is sent.
    assert!(
        store
            .outbox_failed(ids[0], "timeout", at(5_000))
            .await
            .expect("failed")
    );
    assert!(
        store
            .outbox_failed(ids[0], "HTTP 503", at(9_000))
            .await
            .expect("failed")
    );
    assert!(store.outbox_sent(ids[1], at(2_100)).await.expect("sent"));
    assert_eq!(due(8_999).await, [more[0]]);
    assert_eq!(due(9_000).await, [more[0], ids[0]]);
    let retried = store
        .outbox_items(Some("YC1"), 10)
        .await
        .expect("items")
        .pop()
        .expect("item");
    assert_eq!(
        (
            retried.attempts,
            retried.next_at,
            retried.last_error.as_deref()
        ),
        (2, at(9_000), Some("HTTP 503"))
    );
    // Sent once: a second mark changes nothing, nor does a late failure.
    assert!(store.outbox_sent(ids[0], at(9_100)).await.expect("sent"));
    assert!(!store.outbox_sent(ids[0], at(9_200)).await.expect("sent"));
    assert!(
        !store
            .outbox_failed(ids[0], "late", at(10_000))
            .await
            .expect("failed")
    );
    assert!(
        !store
            .outbox_sent(12_345_678, at(1))
            .await
            .expect("no such id")
    );
    assert_eq!(due(100_000).await, [more[0]]);

    let all = store.outbox_items(None, 10).await.expect("items");
    assert_eq!(
        all.iter().map(|r| r.id).collect::<Vec<_>>(),
        [more[0], ids[1], ids[0]]
    );
    assert_eq!(all[2].sent_at, Some(at(9_100)));
    assert_eq!(all[2].attempts, 2);
    assert_eq!(all[2].last_error.as_deref(), Some("HTTP 503"));
    assert_eq!(all[1].sent_at, Some(at(2_100)));
    assert_eq!(all[1].body, hook.body);
    assert_eq!(store.outbox_items(None, 1).await.expect("items").len(), 1);
    assert!(
        store
            .outbox_items(Some("YC9"), 10)
            .await
            .expect("items")
            .is_empty()
    );
}

async fn outbox_with_a_bad_channel_stores_nothing(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let fax = NewOutbox {
        channel: "fax".into(),
        ..sms("0571-1234", None, 1)
    };
    let no_target = sms("", None, 1);
    for bad in [fax, no_target] {
        let err = store
            .enqueue_outbox(&[sms("13800000001", None, 0), bad])
            .await
            .expect_err("refused");
        assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    }
    assert_eq!(outbox_count(&db.url).await, 0);
    raw_execute(
        &db,
        "INSERT INTO outbox (created_at, channel, target, body, next_at) \
         VALUES (0, 'fax', 't', 'b', 0)",
    )
    .await
    .expect_err("CHECK on channel");
    raw_execute(
        &db,
        "INSERT INTO outbox (created_at, channel, target, body, next_at) \
         VALUES (0, 'webhook', 't', 'b', 0)",
    )
    .await
    .expect("a valid raw insert goes through");
    assert_eq!(outbox_count(&db.url).await, 1);
}

async fn append_event_with_outbox_is_all_or_nothing(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let no = "YC20261201-000001";
    let created = order_row(no, "call-1", 0);
    store
        .create_order(&created, &event_row(no, 1, "drafted", 0))
        .await
        .expect("create");
    let reminded = OrderRow {
        version: 2,
        counts: KpiCounts {
            reminders: 1,
            ..KpiCounts::default()
        },
        ..created.clone()
    };
    let notice = [sms("13800000001", Some(no), 1_000)];
    store
        .append_event_with(&reminded, &event_row(no, 2, "reminded", 1_000), 1, &notice)
        .await
        .expect("append");
    assert_eq!(
        store.order(no).await.expect("order"),
        Some(reminded.clone())
    );
    assert_eq!(
        store.outbox_items(Some(no), 10).await.expect("items").len(),
        1
    );

    // Computed from version 1 again: neither the event nor its SMS.
    let stale = OrderRow {
        counts: KpiCounts {
            reminders: 5,
            ..KpiCounts::default()
        },
        ..reminded.clone()
    };
    let err = store
        .append_event_with(&stale, &event_row(no, 2, "reminded", 2_000), 1, &notice)
        .await
        .expect_err("stale");
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                expected: 1,
                found: 2,
                ..
            }
        ),
        "{err}"
    );
    // A bad notification: neither the (otherwise good) event nor the good notification.
    let next = OrderRow {
        version: 3,
        ..reminded.clone()
    };
    let bad = [
        sms("13800000002", Some(no), 3_000),
        NewOutbox {
            channel: "pager".into(),
            ..sms("1", Some(no), 3_000)
        },
    ];
    let err = store
        .append_event_with(&next, &event_row(no, 3, "reminded", 3_000), 2, &bad)
        .await
        .expect_err("bad channel");
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    assert_eq!(store.order(no).await.expect("order"), Some(reminded));
    assert_eq!(event_count(&db.url).await, 2);
    assert_eq!(outbox_count(&db.url).await, 1);

    // Without notifications it is the plain append.
    store
        .append_event_with(&next, &event_row(no, 3, "reminded", 3_000), 2, &[])
        .await
        .expect("append");
    assert_eq!(event_count(&db.url).await, 3);
    assert_eq!(outbox_count(&db.url).await, 1);
}

// The knowledge base (issue 7).

/// Version `n` of entry `id` in `state`, of unit 市住建局, changed at `ms`.
fn kb_version(id: &str, n: u32, state: &str, ms: i64) -> KbVersionRow {
    KbVersionRow {
        entry_id: id.into(),
        n,
        state: state.into(),
        kind: "hot_topic".into(),
        category: "城乡建设/供暖".into(),
        title: format!("供暖费怎么交？（第{n}版）"),
        body: format!("登录“一网通办”，选择供暖缴费。第{n}版。"),
        unit: "市住建局".into(),
        keywords: vec!["供暖".into(), "缴费".into(), "暖气费".into()],
        valid_from: Some(day(1)),
        valid_to: NaiveDate::from_ymd_opt(2027, 3, 31),
        author: "zhang".into(),
        changed_at: at(ms),
        note: None,
    }
}

/// The summary of entry `id` with `versions` (the newest's fields), `published` in force.
fn kb_summary(versions: &[KbVersionRow], published: Option<u32>, ms: i64) -> KbEntryRow {
    let newest = versions.last().expect("a version");
    KbEntryRow {
        id: newest.entry_id.clone(),
        unit: newest.unit.clone(),
        // Not used by a save: the store counts.
        rev: 99,
        state: newest.state.clone(),
        published,
        kind: newest.kind.clone(),
        category: newest.category.clone(),
        title: newest.title.clone(),
        // Not used by a save either.
        hits: 7,
        created_at: at(ms),
        updated_at: at(ms),
    }
}

/// Creates entry `id` with one version in `state` (published in force if that is its state).
async fn kb_put(store: &Store, id: &str, build: impl FnOnce(&mut KbVersionRow)) -> KbEntryRow {
    let mut v = kb_version(id, 1, "draft", 0);
    build(&mut v);
    let published = (v.state == "published").then_some(1);
    let entry = kb_summary(std::slice::from_ref(&v), published, 0);
    assert_eq!(
        store.kb_save(&entry, &[v], 0, None).await.expect("create"),
        KbSaved::Saved { rev: 1 }
    );
    store.kb_entry(id).await.expect("entry").expect("stored")
}

async fn kb_entry_count(store_url: &str, table: &'static str) -> i64 {
    let mut conn = sqlx::AnyConnection::connect(store_url)
        .await
        .expect("connect");
    let sql = format!("SELECT COUNT(*) FROM {table}");
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(&mut conn)
        .await
        .expect("count");
    let _ = conn.close().await;
    n
}

/// An entry through its workflow: created as a draft, submitted, published, then a second
/// version drafted over the published one. Every write reads back as written (Chinese text,
/// dates, keywords, notes), the rev counts the writes, created_at stays, hits are the store's.
async fn kb_save_round_trips_entry_and_versions(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let id = "KB-000123";
    let mut v1 = kb_version(id, 1, "draft", 100);
    v1.keywords.push("“引号”与\\反斜杠".into());
    let created = kb_summary(std::slice::from_ref(&v1), None, 100);
    let audit = AuditRow {
        id: 0,
        at: at(100),
        user_id: "zhang".into(),
        action: "kb.draft".into(),
        order_no: None,
        detail: format!(r#"{{"entry":"{id}"}}"#),
    };
    assert_eq!(
        store
            .kb_save(&created, std::slice::from_ref(&v1), 0, Some(&audit))
            .await
            .expect("create"),
        KbSaved::Saved { rev: 1 }
    );
    let stored = store.kb_entry(id).await.expect("entry").expect("stored");
    assert_eq!(
        stored,
        KbEntryRow {
            rev: 1,
            hits: 0,
            ..created.clone()
        }
    );
    assert_eq!(store.kb_versions(id).await.expect("versions"), [v1.clone()]);
    let logged = store.audit_entries(None, 10).await.expect("audit");
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].action, "kb.draft");

    // Submitted, then approved with the validity cleared and a note.
    v1.state = "in_review".into();
    v1.changed_at = at(200);
    let mut summary = kb_summary(std::slice::from_ref(&v1), None, 200);
    assert_eq!(
        store
            .kb_save(&summary, std::slice::from_ref(&v1), 1, None)
            .await
            .expect("submit"),
        KbSaved::Saved { rev: 2 }
    );
    v1.state = "published".into();
    v1.valid_from = None;
    v1.valid_to = None;
    v1.note = Some("同意发布".into());
    v1.changed_at = at(300);
    summary = kb_summary(std::slice::from_ref(&v1), Some(1), 300);
    assert_eq!(
        store
            .kb_save(&summary, std::slice::from_ref(&v1), 2, None)
            .await
            .expect("approve"),
        KbSaved::Saved { rev: 3 }
    );
    // A new draft over the published version: only the new version is handed over; the first
    // stays as stored. The summary is the draft's, the version in force still 1.
    let mut v2 = kb_version(id, 2, "draft", 400);
    v2.title = "供暖费在哪里交？".into();
    v2.category = "城乡建设/供暖/缴费".into();
    v2.keywords = Vec::new();
    v2.valid_from = NaiveDate::from_ymd_opt(2026, 11, 15);
    v2.valid_to = None;
    let both = [v1.clone(), v2.clone()];
    summary = kb_summary(&both, Some(1), 400);
    assert_eq!(
        store
            .kb_save(&summary, std::slice::from_ref(&v2), 3, None)
            .await
            .expect("new draft"),
        KbSaved::Saved { rev: 4 }
    );
    let stored = store.kb_entry(id).await.expect("entry").expect("stored");
    assert_eq!(
        stored,
        KbEntryRow {
            rev: 4,
            hits: 0,
            created_at: at(100),
            ..summary.clone()
        }
    );
    assert_eq!(stored.state, "draft");
    assert_eq!(stored.title, "供暖费在哪里交？");
    assert_eq!(store.kb_versions(id).await.expect("versions"), both);
    assert!(store.kb_entry("KB-000999").await.expect("entry").is_none());
    assert!(
        store
            .kb_versions("KB-000999")
            .await
            .expect("versions")
            .is_empty()
    );
}

/// A summary that disagrees with the versions, versions that are not the entry's, or a write
/// that would leave a gap is refused and writes nothing.
async fn kb_save_refuses_rows_out_of_step(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let id = "KB-1";
    let v1 = kb_version(id, 1, "draft", 0);
    let good = kb_summary(std::slice::from_ref(&v1), None, 0);
    let invalid = |r: Result<KbSaved, StoreError>, what: &str| match r {
        Err(StoreError::Invalid(m)) => m,
        other => panic!("{what}: expected Invalid, got {other:?}"),
    };
    // Creates that are refused.
    invalid(store.kb_save(&good, &[], 0, None).await, "no version");
    let mut wrong_title = good.clone();
    wrong_title.title = "别的标题".into();
    let m = invalid(
        store
            .kb_save(&wrong_title, std::slice::from_ref(&v1), 0, None)
            .await,
        "title",
    );
    assert!(m.contains("title"), "{m}");
    let mut wrong_state = good.clone();
    wrong_state.state = "published".into();
    invalid(
        store
            .kb_save(&wrong_state, std::slice::from_ref(&v1), 0, None)
            .await,
        "state",
    );
    let mut gap = v1.clone();
    gap.n = 2;
    let m = invalid(store.kb_save(&good, &[gap], 0, None).await, "gap");
    assert!(m.contains("gap"), "{m}");
    let mut other_unit = v1.clone();
    other_unit.unit = "市教育局".into();
    invalid(store.kb_save(&good, &[other_unit], 0, None).await, "unit");
    let mut other_entry = v1.clone();
    other_entry.entry_id = "KB-2".into();
    invalid(store.kb_save(&good, &[other_entry], 0, None).await, "entry");
    invalid(
        store
            .kb_save(&good, &[v1.clone(), v1.clone()], 0, None)
            .await,
        "twice",
    );
    let mut backwards = v1.clone();
    backwards.valid_to = NaiveDate::from_ymd_opt(2026, 1, 1);
    invalid(store.kb_save(&good, &[backwards], 0, None).await, "dates");
    let mut too_far = good.clone();
    too_far.published = Some(2);
    invalid(
        store
            .kb_save(&too_far, std::slice::from_ref(&v1), 0, None)
            .await,
        "published",
    );
    let mut no_unit = good.clone();
    no_unit.unit = String::new();
    invalid(store.kb_save(&no_unit, &[], 1, None).await, "empty unit");
    let bad_audit = AuditRow {
        id: 0,
        at: at(0),
        user_id: "zhang".into(),
        action: String::new(),
        order_no: None,
        detail: String::new(),
    };
    invalid(
        store
            .kb_save(&good, std::slice::from_ref(&v1), 0, Some(&bad_audit))
            .await,
        "audit",
    );
    assert!(store.kb_entry(id).await.expect("entry").is_none());
    assert_eq!(kb_entry_count(&db.url, "kb_versions").await, 0);
    assert_eq!(kb_entry_count(&db.url, "audit_log").await, 0);

    // An update out of step with a version stored before (the summary still names version 1's
    // title though version 2 is handed over) rolls back the version it wrote.
    store
        .kb_save(&good, std::slice::from_ref(&v1), 0, None)
        .await
        .expect("create");
    let v2 = kb_version(id, 2, "draft", 10);
    let stale_summary = KbEntryRow {
        state: "draft".into(),
        ..good.clone()
    };
    invalid(
        store
            .kb_save(&stale_summary, std::slice::from_ref(&v2), 1, None)
            .await,
        "summary of version 1",
    );
    let mut v3 = kb_version(id, 3, "draft", 10);
    v3.title = good.title.clone();
    invalid(
        store
            .kb_save(&good, std::slice::from_ref(&v3), 1, None)
            .await,
        "gap after 1",
    );
    assert_eq!(
        store.kb_entry(id).await.expect("entry").expect("kept").rev,
        1
    );
    assert_eq!(store.kb_versions(id).await.expect("versions"), [v1]);
}

/// A create of an id that exists is a conflict, and leaves the stored entry as it was.
async fn kb_create_of_an_existing_id_conflicts(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let first = kb_put(&store, "KB-1", |_| {}).await;
    let mut v = kb_version("KB-1", 1, "draft", 50);
    v.title = "抢先创建".into();
    let entry = kb_summary(std::slice::from_ref(&v), None, 50);
    assert_eq!(
        store.kb_save(&entry, &[v], 0, None).await.expect("save"),
        KbSaved::Conflict
    );
    assert_eq!(store.kb_entry("KB-1").await.expect("entry"), Some(first));
    assert_eq!(
        store.kb_versions("KB-1").await.expect("versions"),
        [kb_version("KB-1", 1, "draft", 0)]
    );
}

/// A save computed from an older rev (or of an entry that is not there) is a conflict and
/// writes nothing: neither the summary, nor the versions, nor the audit entry.
async fn kb_save_with_a_stale_rev_conflicts_and_writes_nothing(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let id = "KB-1";
    kb_put(&store, id, |_| {}).await;
    let mut v1 = kb_version(id, 1, "in_review", 10);
    let summary = kb_summary(std::slice::from_ref(&v1), None, 10);
    assert_eq!(
        store
            .kb_save(&summary, std::slice::from_ref(&v1), 1, None)
            .await
            .expect("save"),
        KbSaved::Saved { rev: 2 }
    );
    let before = store.kb_entry(id).await.expect("entry");
    let versions_before = store.kb_versions(id).await.expect("versions");
    v1.state = "published".into();
    v1.body = "过时的修改".into();
    let stale = kb_summary(std::slice::from_ref(&v1), Some(1), 20);
    let audit = AuditRow {
        id: 0,
        at: at(20),
        user_id: "li".into(),
        action: "kb.approve".into(),
        order_no: None,
        detail: String::new(),
    };
    for expected in [1, 3, 100] {
        assert_eq!(
            store
                .kb_save(&stale, std::slice::from_ref(&v1), expected, Some(&audit))
                .await
                .expect("save"),
            KbSaved::Conflict,
            "rev {expected}"
        );
    }
    assert_eq!(store.kb_entry(id).await.expect("entry"), before);
    assert_eq!(
        store.kb_versions(id).await.expect("versions"),
        versions_before
    );
    assert_eq!(kb_entry_count(&db.url, "audit_log").await, 0);
    // An update of an entry that does not exist.
    let mut ghost = stale.clone();
    ghost.id = "KB-404".into();
    let mut ghost_version = v1.clone();
    ghost_version.entry_id = "KB-404".into();
    assert_eq!(
        store
            .kb_save(&ghost, &[ghost_version], 1, None)
            .await
            .expect("save"),
        KbSaved::Conflict
    );
    assert!(store.kb_entry("KB-404").await.expect("entry").is_none());
    assert_eq!(kb_entry_count(&db.url, "kb_versions").await, 1);
    let err = store
        .kb_save(&stale, std::slice::from_ref(&v1), -1, None)
        .await
        .expect_err("negative rev");
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
}

/// Two editors save the same entry from the same rev at once, on two pools: exactly one wins,
/// the other learns it, and the stored entry and version are the winner's.
async fn kb_concurrent_saves_exactly_one_wins(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let other = Store::connect(&db.url).await.expect("connect");
    let id = "KB-1";
    kb_put(&store, id, |_| {}).await;
    for round in 1..=10_i64 {
        let mut va = kb_version(id, 1, "draft", round);
        va.title = format!("甲的第{round}次修改");
        let mut vb = va.clone();
        vb.title = format!("乙的第{round}次修改");
        let a = kb_summary(std::slice::from_ref(&va), None, round);
        let b = kb_summary(std::slice::from_ref(&vb), None, round);
        let (ra, rb) = tokio::join!(
            store.kb_save(&a, std::slice::from_ref(&va), round, None),
            other.kb_save(&b, std::slice::from_ref(&vb), round, None)
        );
        let (winner, winner_version) = match (ra.expect("save a"), rb.expect("save b")) {
            (KbSaved::Saved { rev }, KbSaved::Conflict) => {
                assert_eq!(rev, round + 1);
                (a, va)
            }
            (KbSaved::Conflict, KbSaved::Saved { rev }) => {
                assert_eq!(rev, round + 1);
                (b, vb)
            }
            (ra, rb) => panic!("round {round}: exactly one must win: {ra:?} / {rb:?}"),
        };
        let stored = store.kb_entry(id).await.expect("entry").expect("stored");
        assert_eq!(stored.rev, round + 1);
        assert_eq!(stored.title, winner.title);
        assert_eq!(
            store.kb_versions(id).await.expect("versions"),
            [winner_version]
        );
    }
}

fn kb_ids(rows: &[KbEntryRow]) -> Vec<&str> {
    rows.iter().map(|r| r.id.as_str()).collect()
}

/// Listings by unit, state, kind and category (a category and those under it, not a sibling
/// sharing its first characters), every filter together, and pages by id that neither repeat
/// nor skip.
async fn kb_list_filters_category_prefix_and_keyset_pages(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    // (id, unit, state, kind, category)
    let rows = [
        ("KB-01", "市住建局", "published", "hot_topic", "城乡建设"),
        ("KB-02", "市住建局", "draft", "guide", "城乡建设/供暖"),
        (
            "KB-03",
            "市住建局",
            "published",
            "hot_topic",
            "城乡建设/供暖/缴费",
        ),
        ("KB-04", "市住建局", "published", "policy", "城乡建设局"),
        ("KB-05", "市教育局", "published", "hot_topic", "教育/入学"),
        (
            "KB-06",
            "市教育局",
            "in_review",
            "hot_topic",
            "城乡建设/物业",
        ),
        ("KB-07", "市住建局", "published", "hot_topic", "城乡建设0"),
        ("KB-08", "市住建局", "published", "hot_topic", "城乡建设_%"),
    ];
    for (id, unit, state, kind, category) in rows {
        kb_put(&store, id, |v| {
            v.unit = unit.into();
            v.state = state.into();
            v.kind = kind.into();
            v.category = category.into();
        })
        .await;
    }
    let list = |q: KbQuery| {
        let store = store.clone();
        async move {
            store
                .kb_list(&KbQuery { limit: 100, ..q })
                .await
                .expect("list")
        }
    };
    let all = list(KbQuery::default()).await;
    assert_eq!(kb_ids(&all).len(), 8);
    assert!(all.windows(2).all(|w| w[0].id < w[1].id), "by id");
    assert_eq!(
        kb_ids(
            &list(KbQuery {
                unit: Some("市教育局".into()),
                ..KbQuery::default()
            })
            .await
        ),
        ["KB-05", "KB-06"]
    );
    assert_eq!(
        kb_ids(
            &list(KbQuery {
                state: Some("draft".into()),
                ..KbQuery::default()
            })
            .await
        ),
        ["KB-02"]
    );
    assert_eq!(
        kb_ids(
            &list(KbQuery {
                kind: Some("policy".into()),
                ..KbQuery::default()
            })
            .await
        ),
        ["KB-04"]
    );
    let under = |prefix: &str| KbQuery {
        category_prefix: Some(prefix.into()),
        ..KbQuery::default()
    };
    assert_eq!(
        kb_ids(&list(under("城乡建设")).await),
        ["KB-01", "KB-02", "KB-03", "KB-06"],
        "not 城乡建设局, 城乡建设0 or 城乡建设_%"
    );
    assert_eq!(
        kb_ids(&list(under("城乡建设/")).await),
        ["KB-01", "KB-02", "KB-03", "KB-06"]
    );
    assert_eq!(
        kb_ids(&list(under("城乡建设/供暖")).await),
        ["KB-02", "KB-03"]
    );
    assert_eq!(
        kb_ids(&list(under("城乡建设/供")).await),
        Vec::<&str>::new()
    );
    assert_eq!(kb_ids(&list(under("城乡建设_%")).await), ["KB-08"]);
    assert_eq!(kb_ids(&list(under("城乡")).await), Vec::<&str>::new());
    assert_eq!(kb_ids(&list(under("")).await).len(), 8);
    assert_eq!(
        kb_ids(
            &list(KbQuery {
                unit: Some("市住建局".into()),
                state: Some("published".into()),
                kind: Some("hot_topic".into()),
                category_prefix: Some("城乡建设".into()),
                ..KbQuery::default()
            })
            .await
        ),
        ["KB-01", "KB-03"]
    );
    // Pages of 3 by keyset, with an entry created meanwhile before the cursor: it does not
    // shift the pages after it.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .kb_list(&KbQuery {
                after_id: after.clone(),
                limit: 3,
                ..KbQuery::default()
            })
            .await
            .expect("page");
        assert!(page.len() <= 3);
        if page.is_empty() {
            break;
        }
        if seen.is_empty() {
            kb_put(&store, "KB-00", |_| {}).await;
        }
        seen.extend(kb_ids(&page).into_iter().map(str::to_owned));
        after = page.last().map(|r| r.id.clone());
    }
    assert_eq!(
        seen,
        [
            "KB-01", "KB-02", "KB-03", "KB-04", "KB-05", "KB-06", "KB-07", "KB-08"
        ]
    );
    assert!(
        store
            .kb_list(&KbQuery::default())
            .await
            .expect("list")
            .is_empty(),
        "limit 0"
    );
}

/// kb_published lists the version in force of each entry that has one, not the newest
/// version, by entry id and page by page.
async fn kb_published_lists_only_versions_in_force_by_page(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    kb_put(&store, "KB-1", |v| v.state = "published".into()).await;
    kb_put(&store, "KB-2", |_| {}).await;
    kb_put(&store, "KB-3", |v| v.state = "published".into()).await;
    kb_put(&store, "KB-4", |v| v.state = "in_review".into()).await;
    kb_put(&store, "KB-5", |v| v.state = "published".into()).await;
    // KB-3 gets a second version, in review: version 1 stays the one in force.
    let v1 = kb_version("KB-3", 1, "published", 0);
    let v2 = kb_version("KB-3", 2, "in_review", 10);
    let summary = kb_summary(&[v1.clone(), v2.clone()], Some(1), 10);
    store
        .kb_save(&summary, std::slice::from_ref(&v2), 1, None)
        .await
        .expect("second version");
    // KB-5 is retired: nothing in force.
    let retired = kb_version("KB-5", 1, "retired", 20);
    store
        .kb_save(
            &kb_summary(std::slice::from_ref(&retired), None, 20),
            &[retired],
            1,
            None,
        )
        .await
        .expect("retire");
    let keys = |rows: &[KbVersionRow]| {
        rows.iter()
            .map(|v| (v.entry_id.clone(), v.n, v.state.clone()))
            .collect::<Vec<_>>()
    };
    let all = store.kb_published(None, 100).await.expect("published");
    assert_eq!(
        keys(&all),
        [
            ("KB-1".to_owned(), 1, "published".to_owned()),
            ("KB-3".to_owned(), 1, "published".to_owned()),
        ]
    );
    assert_eq!(all[1], v1);
    let first = store.kb_published(None, 1).await.expect("page");
    assert_eq!(keys(&first), keys(&all[..1]));
    let second = store.kb_published(Some("KB-1"), 1).await.expect("page");
    assert_eq!(keys(&second), keys(&all[1..]));
    assert!(
        store
            .kb_published(Some("KB-3"), 1)
            .await
            .expect("page")
            .is_empty()
    );
    assert!(store.kb_published(None, 0).await.expect("page").is_empty());
}

/// The fingerprint differs after every save and every import, also from one seen before; a
/// refused or conflicting save and a link leave it.
async fn kb_fingerprint_changes_on_every_write(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let mut seen = HashSet::new();
    let mut fingerprint = store.kb_fingerprint().await.expect("fingerprint");
    assert!(seen.insert(fingerprint.clone()));
    let mut changed = |now: String, what: &str| {
        assert!(seen.insert(now.clone()), "{what}: {now} seen before");
    };
    let v = kb_put(&store, "KB-1", |_| {}).await;
    fingerprint = store.kb_fingerprint().await.expect("fingerprint");
    changed(fingerprint.clone(), "create");
    for rev in 1..=3 {
        let mut v1 = kb_version("KB-1", 1, "draft", rev);
        v1.body = format!("第{rev}次修改");
        let entry = kb_summary(std::slice::from_ref(&v1), None, rev);
        store.kb_save(&entry, &[v1], rev, None).await.expect("save");
        fingerprint = store.kb_fingerprint().await.expect("fingerprint");
        changed(fingerprint.clone(), "save");
    }
    let fresh = kb_version("KB-2", 1, "published", 5);
    store
        .kb_import(
            &[(
                kb_summary(std::slice::from_ref(&fresh), Some(1), 5),
                vec![fresh],
            )],
            None,
        )
        .await
        .expect("import");
    fingerprint = store.kb_fingerprint().await.expect("fingerprint");
    changed(fingerprint.clone(), "import");
    // What writes no entry leaves it.
    let stale = kb_summary(&[kb_version("KB-1", 1, "draft", 0)], None, 0);
    assert_eq!(
        store.kb_save(&stale, &[], v.rev, None).await.expect("save"),
        KbSaved::Conflict
    );
    let link = KbLinkRow {
        order_no: "YC20261201-000001".into(),
        entry_id: "KB-2".into(),
        version: 1,
        agent: "1001".into(),
        at: at(6),
    };
    assert!(store.kb_link(&link).await.expect("link"));
    assert_eq!(
        store.kb_fingerprint().await.expect("fingerprint"),
        fingerprint
    );
}

/// An import creates every entry with its versions or, if one id is taken (or named twice),
/// none; the error names the id.
async fn kb_import_is_all_or_nothing(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let existing = kb_put(&store, "KB-0003", |_| {}).await;
    let batch = |ids: &[&str]| {
        ids.iter()
            .map(|id| {
                let versions = vec![
                    kb_version(id, 1, "superseded", 1),
                    kb_version(id, 2, "published", 2),
                ];
                (kb_summary(&versions, Some(2), 2), versions)
            })
            .collect::<Vec<_>>()
    };
    let audit = AuditRow {
        id: 0,
        at: at(2),
        user_id: "admin".into(),
        action: "kb.import".into(),
        order_no: None,
        detail: "导入".into(),
    };
    let err = store
        .kb_import(
            &batch(&["KB-0001", "KB-0002", "KB-0003", "KB-0004"]),
            Some(&audit),
        )
        .await
        .expect_err("KB-0003 exists");
    assert!(
        matches!(&err, StoreError::Exists { key, .. } if key == "KB-0003"),
        "{err}"
    );
    assert!(err.to_string().contains("KB-0003"), "{err}");
    let err = store
        .kb_import(&batch(&["KB-0005", "KB-0006", "KB-0005"]), None)
        .await
        .expect_err("KB-0005 twice");
    assert!(
        matches!(&err, StoreError::Exists { key, .. } if key == "KB-0005"),
        "{err}"
    );
    // A bad row anywhere: nothing either.
    let mut bad = batch(&["KB-0007", "KB-0008"]);
    bad[1].1[0].entry_id = "KB-0009".into();
    let err = store.kb_import(&bad, None).await.expect_err("bad row");
    assert!(
        matches!(&err, StoreError::Invalid(m) if m.contains("KB-0008")),
        "{err}"
    );
    assert_eq!(kb_entry_count(&db.url, "kb_entries").await, 1);
    assert_eq!(kb_entry_count(&db.url, "kb_versions").await, 1);
    assert_eq!(kb_entry_count(&db.url, "audit_log").await, 0);
    assert_eq!(
        store.kb_entry("KB-0003").await.expect("entry"),
        Some(existing)
    );

    let good = batch(&["KB-0001", "KB-0002", "KB-0004"]);
    assert_eq!(
        store.kb_import(&good, Some(&audit)).await.expect("import"),
        3
    );
    for (entry, versions) in &good {
        let stored = store
            .kb_entry(&entry.id)
            .await
            .expect("entry")
            .expect("stored");
        assert_eq!(
            stored,
            KbEntryRow {
                rev: 1,
                hits: 0,
                ..entry.clone()
            }
        );
        assert_eq!(
            &store.kb_versions(&entry.id).await.expect("versions"),
            versions
        );
    }
    assert_eq!(kb_entry_count(&db.url, "audit_log").await, 1);
    assert_eq!(store.kb_import(&[], None).await.expect("empty"), 0);
}

fn kb_link_row(order: u32, entry: &str, ms: i64) -> KbLinkRow {
    KbLinkRow {
        order_no: no(order),
        entry_id: entry.into(),
        version: 1,
        agent: "1001".into(),
        at: at(ms),
    }
}

/// A link is stored once per order and entry; only the first counts a hit. An unknown entry or
/// version is an error and stores nothing.
async fn kb_link_is_idempotent_and_counts_hits(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    kb_put(&store, "KB-1", |v| v.state = "published".into()).await;
    kb_put(&store, "KB-2", |v| v.state = "published".into()).await;
    let first = kb_link_row(1, "KB-1", 10);
    assert!(store.kb_link(&first).await.expect("link"));
    // Again, later and by someone else: not new, and the first link stays as it was.
    let again = KbLinkRow {
        agent: "1002".into(),
        at: at(20),
        ..first.clone()
    };
    assert!(!store.kb_link(&again).await.expect("link again"));
    assert!(!store.kb_link(&first).await.expect("link again"));
    let second = kb_link_row(1, "KB-2", 15);
    assert!(store.kb_link(&second).await.expect("link"));
    assert!(
        store
            .kb_link(&kb_link_row(2, "KB-1", 30))
            .await
            .expect("link")
    );
    assert_eq!(
        store.kb_links_of_order(&no(1)).await.expect("links"),
        [first.clone(), second]
    );
    assert!(
        store
            .kb_links_of_order(&no(9))
            .await
            .expect("links")
            .is_empty()
    );
    let hits = |id: &'static str| {
        let store = store.clone();
        async move {
            store
                .kb_entry(id)
                .await
                .expect("entry")
                .expect("stored")
                .hits
        }
    };
    assert_eq!(hits("KB-1").await, 2);
    assert_eq!(hits("KB-2").await, 1);
    // The hits survive a save (the summary's value is not used).
    let v = kb_version("KB-1", 1, "published", 40);
    let saved = store
        .kb_save(
            &kb_summary(std::slice::from_ref(&v), Some(1), 40),
            &[v],
            1,
            None,
        )
        .await
        .expect("save");
    assert_eq!(saved, KbSaved::Saved { rev: 2 });
    assert_eq!(hits("KB-1").await, 2);

    for bad in [
        kb_link_row(3, "KB-404", 50),
        KbLinkRow {
            version: 2,
            ..kb_link_row(3, "KB-1", 50)
        },
    ] {
        let err = store.kb_link(&bad).await.expect_err("unknown");
        assert!(
            matches!(&err, StoreError::Invalid(m) if m.contains(&bad.entry_id)),
            "{err}"
        );
    }
    let err = store
        .kb_link(&KbLinkRow {
            order_no: String::new(),
            ..first
        })
        .await
        .expect_err("no order");
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    assert!(
        store
            .kb_links_of_order(&no(3))
            .await
            .expect("links")
            .is_empty()
    );
    assert_eq!(kb_entry_count(&db.url, "kb_links").await, 3);
    assert_eq!(hits("KB-1").await, 2);
}

/// The most linked entries of a period: counted over links in [from, to) only, most first, ties
/// by id, cut at the limit, with the entry's current title.
async fn kb_top_hits_most_linked_in_range(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    for id in ["KB-A", "KB-B", "KB-C", "KB-D"] {
        kb_put(&store, id, |v| {
            v.state = "published".into();
            v.title = format!("{id}的问题");
        })
        .await;
    }
    // (order, entry, at)
    let links = [
        (1, "KB-B", 1_000),
        (2, "KB-B", 1_500),
        (3, "KB-B", 2_999),
        (1, "KB-C", 1_000),
        (2, "KB-C", 2_000),
        (4, "KB-A", 1_200),
        (5, "KB-A", 1_300),
        // Outside the period: before and at its end.
        (6, "KB-A", 999),
        (7, "KB-A", 3_000),
        (8, "KB-D", 3_000),
        (9, "KB-D", 500),
    ];
    for (order, entry, ms) in links {
        assert!(
            store
                .kb_link(&kb_link_row(order, entry, ms))
                .await
                .expect("link")
        );
    }
    let top = store
        .kb_top_hits(at(1_000), at(3_000), 10)
        .await
        .expect("top");
    assert_eq!(
        top,
        [
            ("KB-B".to_owned(), "KB-B的问题".to_owned(), 3),
            ("KB-A".to_owned(), "KB-A的问题".to_owned(), 2),
            ("KB-C".to_owned(), "KB-C的问题".to_owned(), 2),
        ]
    );
    assert_eq!(
        store
            .kb_top_hits(at(1_000), at(3_000), 2)
            .await
            .expect("top"),
        top[..2]
    );
    assert_eq!(
        store.kb_top_hits(at(0), at(10_000), 1).await.expect("top"),
        [("KB-A".to_owned(), "KB-A的问题".to_owned(), 4)]
    );
    assert!(
        store
            .kb_top_hits(at(5_000), at(6_000), 10)
            .await
            .expect("top")
            .is_empty()
    );
    assert!(
        store
            .kb_top_hits(at(0), at(10_000), 0)
            .await
            .expect("top")
            .is_empty()
    );
}

/// The knowledge base's figures over the answered calls of a period: answered on the spot
/// (an event of the step the service names), linked to an entry, both.
async fn kb_kpis_count_answered_on_spot_and_linked(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    kb_put(&store, "KB-1", |v| v.state = "published".into()).await;
    kb_put(&store, "KB-2", |v| v.state = "published".into()).await;
    /// (n, created, owner, answered on the spot, links)
    type Seeded = (
        u32,
        i64,
        Option<&'static str>,
        bool,
        &'static [&'static str],
    );
    let orders: [Seeded; 8] = [
        (1, 1_000, Some("1001"), true, &["KB-1", "KB-2"]),
        (2, 1_100, Some("1001"), true, &[]),
        (3, 1_200, Some("1002"), false, &["KB-1"]),
        (4, 1_300, Some("1002"), false, &[]),
        (5, 2_999, Some("1003"), true, &["KB-2"]),
        // No owner: not an answered call.
        (6, 1_500, None, true, &["KB-1"]),
        // Outside the period: before and at its end.
        (7, 999, Some("1001"), true, &["KB-1"]),
        (8, 3_000, Some("1001"), true, &["KB-1"]),
    ];
    for (n, created, owner, on_spot, links) in orders {
        put_order(&store, n, created, |r| r.owner = owner.map(str::to_owned)).await;
        if on_spot {
            let mut base = order_row(&no(n), &format!("call-{n}"), created);
            base.owner = owner.map(str::to_owned);
            let done = OrderRow {
                status: "closed".into(),
                updated_at: at(created + 10),
                version: 2,
                ..base
            };
            store
                .append_event(
                    &done,
                    &event_row(&no(n), 2, "answered_on_spot", created + 10),
                    1,
                )
                .await
                .expect("append");
        }
        for entry in links {
            assert!(
                store
                    .kb_link(&kb_link_row(n, entry, created + 5))
                    .await
                    .expect("link")
            );
        }
    }
    // A step whose name merely starts with the on-the-spot step's is another step.
    put_order(&store, 9, 1_400, |_| {}).await;
    let other = OrderRow {
        status: "drafted".into(),
        updated_at: at(1_410),
        version: 2,
        ..order_row(&no(9), "call-9", 1_400)
    };
    store
        .append_event(
            &other,
            &event_row(&no(9), 2, "answered_on_spot_later", 1_410),
            1,
        )
        .await
        .expect("append");
    assert_eq!(
        store
            .kb_kpis(at(1_000), at(3_000), "answered_on_spot")
            .await
            .expect("kpis"),
        KbKpiCounts {
            orders: 6,
            answered_on_spot: 3,
            kb_linked: 3,
            kb_answered: 2,
        }
    );
    assert_eq!(
        store
            .kb_kpis(at(1_000), at(3_000), "no_such_step")
            .await
            .expect("kpis"),
        KbKpiCounts {
            orders: 6,
            answered_on_spot: 0,
            kb_linked: 3,
            kb_answered: 0,
        }
    );
    assert_eq!(
        store
            .kb_kpis(at(5_000), at(6_000), "answered_on_spot")
            .await
            .expect("kpis"),
        KbKpiCounts::default()
    );
}

/// An attachment of order `order` uploaded `ms` after the epoch of the tests; the digest is any
/// 64 lowercase hex digits (the store keeps it, the API computes it).
fn attachment(id: &str, order: &str, name: &str, data: &[u8], ms: i64) -> AttachmentRow {
    AttachmentRow {
        meta: AttachmentMeta {
            id: id.into(),
            order_no: order.into(),
            name: name.into(),
            content_type: "image/png".into(),
            size: data.len() as u64,
            sha256: format!("{:064x}", data.len() * 7 + ms as usize),
            uploaded_by: "jtj".into(),
            uploaded_at: at(ms),
        },
        data: data.to_vec(),
    }
}

/// Bytes come back as they went in: NUL bytes, every byte value, sequences that are not UTF-8
/// (a lone continuation byte, a truncated sequence, an overlong encoding), a one-byte file and
/// a 3 MiB one; names in Chinese with spaces; the metadata as written.
async fn attachments_round_trip_every_byte(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    put_order(&store, 1, 1_000, |_| {}).await;
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend(0..=255u8);
    png.extend([
        0x80, 0xc3, 0x28, 0xe2, 0x82, 0xc0, 0xaf, 0xff, 0xfe, 0x00, 0x00,
    ]);
    let big: Vec<u8> = (0..3 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let rows = [
        attachment("a-png", &no(1), "现场 照片.png", &png, 2_000),
        attachment("a-one", &no(1), "x", &[0x00], 3_000),
        AttachmentRow {
            meta: AttachmentMeta {
                content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                    .into(),
                ..attachment("a-big", &no(1), "统计表.xlsx", &big, 4_000).meta
            },
            data: big.clone(),
        },
    ];
    for row in &rows {
        store.add_attachment(row).await.expect("add");
    }
    for row in &rows {
        let (meta, data) = store
            .attachment(&no(1), &row.meta.id)
            .await
            .expect("read")
            .unwrap_or_else(|| panic!("{} stored", row.meta.id));
        assert_eq!(meta, row.meta);
        assert!(data == row.data, "{}: bytes changed", row.meta.id);
    }
    assert_eq!(
        store.attachments_of(&no(1)).await.expect("list"),
        rows.iter().map(|r| r.meta.clone()).collect::<Vec<_>>()
    );
}

/// An order's attachments are listed oldest first whatever order they were written in (the
/// id breaks a tie within a millisecond), without another order's.
async fn attachments_list_oldest_first_per_order(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    put_order(&store, 1, 1_000, |_| {}).await;
    put_order(&store, 2, 1_000, |_| {}).await;
    for (id, order, ms) in [
        ("c", 1, 5_000),
        ("x-other", 2, 1_500),
        ("a", 1, 2_000),
        ("e", 1, 3_000),
        ("d", 1, 3_000),
    ] {
        store
            .add_attachment(&attachment(
                id,
                &no(order),
                &format!("{id}.png"),
                b"\x89PNG",
                ms,
            ))
            .await
            .expect("add");
    }
    let ids = |rows: Vec<AttachmentMeta>| rows.into_iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.attachments_of(&no(1)).await.expect("list")),
        ["a", "d", "e", "c"]
    );
    assert_eq!(
        ids(store.attachments_of(&no(2)).await.expect("list")),
        ["x-other"]
    );
    assert!(store.attachments_of(&no(3)).await.expect("list").is_empty());
}

/// An attachment of an order that does not exist is refused with an error naming the order,
/// as are rows whose size or digest do not describe their bytes and an id already used; nothing
/// is written by any of them and the first attachment with that id is unchanged.
async fn attachment_of_an_unknown_order_or_a_bad_row_is_refused(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    put_order(&store, 1, 1_000, |_| {}).await;
    let err = store
        .add_attachment(&attachment("u-1", &no(9), "a.pdf", b"%PDF-1.7", 2_000))
        .await
        .expect_err("unknown order");
    assert!(
        matches!(&err, StoreError::NoSuchOrder(n) if *n == no(9)),
        "{err}"
    );
    assert!(err.to_string().contains(&no(9)), "{err}");
    assert_eq!(kb_entry_count(&db.url, "work_order_attachments").await, 0);

    let good = attachment("u-2", &no(1), "a.pdf", b"%PDF-1.7", 2_000);
    let mut wrong_size = good.clone();
    wrong_size.meta.size = 9;
    let mut bad_digest = good.clone();
    bad_digest.meta.sha256 = "ABC".into();
    let mut upper_digest = good.clone();
    upper_digest.meta.sha256 = upper_digest.meta.sha256.to_uppercase().replace('0', "F");
    let mut no_name = good.clone();
    no_name.meta.name = String::new();
    let mut no_id = good.clone();
    no_id.meta.id = String::new();
    for (what, row) in [
        ("size", &wrong_size),
        ("digest", &bad_digest),
        ("uppercase digest", &upper_digest),
        ("name", &no_name),
        ("id", &no_id),
    ] {
        let err = store.add_attachment(row).await.expect_err(what);
        assert!(matches!(err, StoreError::Invalid(_)), "{what}: {err}");
    }
    assert_eq!(kb_entry_count(&db.url, "work_order_attachments").await, 0);

    store.add_attachment(&good).await.expect("add");
    let mut again = attachment("u-2", &no(1), "b.pdf", b"%PDF-2.0 other", 3_000);
    again.meta.uploaded_by = "someone".into();
    let err = store.add_attachment(&again).await.expect_err("id taken");
    assert!(matches!(err, StoreError::Exists { .. }), "{err}");
    assert_eq!(kb_entry_count(&db.url, "work_order_attachments").await, 1);
    let (meta, data) = store
        .attachment(&no(1), "u-2")
        .await
        .expect("read")
        .expect("stored");
    assert_eq!((meta, data), (good.meta, good.data));
}

/// An attachment is read only through its own order: asked for under another order's number
/// (a unit that may see that one) it is not there, and neither is an id never stored.
async fn attachment_of_another_order_is_not_returned(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    put_order(&store, 1, 1_000, |_| {}).await;
    put_order(&store, 2, 1_000, |_| {}).await;
    let mine = attachment("m-1", &no(1), "a.png", b"\x89PNG\0mine", 2_000);
    store.add_attachment(&mine).await.expect("add");
    assert_eq!(store.attachment(&no(2), "m-1").await.expect("read"), None);
    assert_eq!(store.attachment(&no(1), "m-2").await.expect("read"), None);
    assert_eq!(store.attachment(&no(9), "m-1").await.expect("read"), None);
    assert_eq!(
        store.attachment(&no(1), "m-1").await.expect("read"),
        Some((mine.meta, mine.data))
    );
}

// Decision support (issue 9): the order facts, their daily counts, the alerts.

/// An instant in UTC with whole minutes.
fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::Utc
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .expect("valid time")
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

/// The facts of order `no` received at `at`: a complaint by phone about heating in 盐湖区,
/// dispatched to 市住建局, changed by `build`.
fn fact(
    no: &str,
    at: chrono::DateTime<chrono::Utc>,
    build: impl FnOnce(&mut OrderFactRow),
) -> OrderFactRow {
    let mut row = OrderFactRow {
        no: no.into(),
        at,
        channel: "phone".into(),
        request_type: "complaint".into(),
        category: "城乡建设/供暖/暖气不热".into(),
        area: "盐湖区".into(),
        address: "盐湖区解放路阳光花园3号楼".into(),
        unit: Some("市住建局".into()),
        line: "12345".into(),
        text: "家里暖气不热，室温只有12度".into(),
    };
    build(&mut row);
    row
}

/// `(dim, day, key, count)` of every daily count, sorted.
async fn daily_counts(url: &str) -> Vec<(String, i32, String, i64)> {
    let mut conn = sqlx::AnyConnection::connect(url).await.expect("connect");
    let rows: Vec<(String, i32, String, i32)> =
        sqlx::query_as("SELECT dim, day, key, count FROM order_fact_daily")
            .fetch_all(&mut conn)
            .await
            .expect("counts");
    let _ = conn.close().await;
    let mut rows: Vec<_> = rows
        .into_iter()
        .map(|(d, day, k, n)| (d, day, k, i64::from(n)))
        .collect();
    rows.sort();
    rows
}

/// The same, computed by a GROUP BY of the facts themselves.
async fn grouped_facts(url: &str) -> Vec<(String, i32, String, i64)> {
    let mut conn = sqlx::AnyConnection::connect(url).await.expect("connect");
    let mut out = Vec::new();
    for dim in FactDimension::ALL {
        let column = if dim == FactDimension::Unit {
            "COALESCE(unit, '')".to_owned()
        } else {
            dim.name().to_owned()
        };
        let sql = format!(
            "SELECT day, {column} AS k, COUNT(*) AS n FROM order_facts GROUP BY day, {column}"
        );
        let rows: Vec<(i32, String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut conn)
            .await
            .expect("group by");
        out.extend(
            rows.into_iter()
                .map(|(day, k, n)| (dim.name().to_owned(), day, k, n)),
        );
    }
    let _ = conn.close().await;
    out.sort();
    out
}

async fn assert_counts_in_step(url: &str, when: &str) {
    let counts = daily_counts(url).await;
    assert_eq!(counts, grouped_facts(url).await, "{when}");
    assert!(
        counts.iter().all(|(_, _, _, n)| *n > 0),
        "{when}: a count of 0 is kept"
    );
}

/// Facts read back as written (Chinese text, no unit, milliseconds), a second write of a number
/// replaces the first, and a period's facts come oldest first, ties by number, the end
/// excluded.
async fn order_facts_round_trip_and_replace(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let t = utc(2026, 1, 20, 2, 0);
    let ms = |n: i64| t + Duration::milliseconds(n);
    let a = fact("F-a", ms(1), |f| f.unit = None);
    let b = fact("F-b", ms(5), |f| {
        f.channel = "wechat".into();
        f.text = "“停水”了？\n第二行 'quoted' \\ 100%".into();
    });
    let c = fact("F-c", ms(5), |f| f.category = "咨询".into());
    let late = fact("F-d", ms(10_000), |_| {});
    store.upsert_order_fact(&b).await.expect("b");
    store
        .upsert_order_facts(&[late.clone(), c.clone(), a.clone()])
        .await
        .expect("batch");
    assert_eq!(
        store.order_fact("F-a").await.expect("read"),
        Some(a.clone())
    );
    assert_eq!(
        store.order_fact("F-b").await.expect("read"),
        Some(b.clone())
    );
    assert_eq!(store.order_fact("F-x").await.expect("read"), None);
    assert_eq!(
        store
            .order_facts_between(ms(0), ms(10_000))
            .await
            .expect("between"),
        vec![a.clone(), b.clone(), c.clone()],
        "oldest first, F-b before F-c in the same millisecond, F-d at the end excluded"
    );
    assert_eq!(
        store
            .order_facts_between(ms(5), ms(10_001))
            .await
            .expect("between")
            .len(),
        3
    );
    let moved = fact("F-a", ms(20_000), |f| {
        f.unit = Some("市城管局".into());
        f.address = "新地址".into();
    });
    store.upsert_order_fact(&moved).await.expect("replace");
    assert_eq!(store.order_fact("F-a").await.expect("read"), Some(moved));
    assert_eq!(
        store
            .order_facts_between(ms(0), ms(10_000))
            .await
            .expect("between"),
        vec![b, c]
    );
    assert_eq!(kb_entry_count(&db.url, "order_facts").await, 4);
    assert_counts_in_step(&db.url, "after the replace").await;
}

/// The daily counts equal a GROUP BY of the facts after inserts, after updates that move an
/// order to other keys (every dimension, another day, a unit given, taken away), after
/// updates that change nothing counted, after batches with one number twice, and after a
/// rebuild; a count that falls to 0 is deleted. Every write moves order_fact_writes.
async fn order_fact_counts_stay_in_step_with_the_facts(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let writes0 = store.order_fact_writes().await.expect("writes");
    let day1 = utc(2026, 3, 2, 1, 0);
    let day2 = utc(2026, 3, 3, 1, 0);
    let mut rows = Vec::new();
    for i in 0..30 {
        rows.push(fact(
            &format!("C-{i:02}"),
            day1 + Duration::minutes(i),
            |f| {
                if i % 3 == 0 {
                    f.channel = "web".into();
                }
                if i % 4 == 0 {
                    f.unit = None;
                }
                if i % 5 == 0 {
                    f.category = "水电/停水".into();
                    f.request_type = "consultation".into();
                }
                if i % 7 == 0 {
                    f.area = "永济市".into();
                    f.line = "12319".into();
                }
            },
        ));
    }
    store.upsert_order_facts(&rows).await.expect("batch");
    assert_counts_in_step(&db.url, "after the first batch").await;
    assert_eq!(
        store
            .count_by(FactDimension::Category1, date(2026, 3, 2), date(2026, 3, 2))
            .await
            .expect("count"),
        vec![("城乡建设".to_owned(), 24), ("水电".to_owned(), 6)]
    );

    // One by one: each dimension moved, the day moved, the unit given and taken away.
    let moves: Vec<OrderFactRow> = vec![
        fact("C-01", day1 + Duration::minutes(1), |f| {
            f.channel = "app".into()
        }),
        fact("C-02", day1 + Duration::minutes(2), |f| {
            f.request_type = "praise".into()
        }),
        fact("C-03", day1 + Duration::minutes(3), |f| {
            f.channel = "web".into();
            f.category = "交通/公交".into();
        }),
        fact("C-06", day1 + Duration::minutes(6), |f| {
            f.channel = "web".into();
            f.category = "城乡建设/物业".into();
        }),
        fact("C-07", day1 + Duration::minutes(7), |f| {
            f.area = "芮城县".into()
        }),
        fact("C-08", day1 + Duration::minutes(8), |f| {
            f.unit = Some("市水务局".into())
        }),
        fact("C-09", day1 + Duration::minutes(9), |f| {
            f.channel = "web".into();
            f.unit = None;
        }),
        fact("C-11", day1 + Duration::minutes(11), |f| {
            f.line = "12369".into()
        }),
        fact("C-13", day2, |_| {}),
    ];
    for row in &moves {
        store.upsert_order_fact(row).await.expect("move");
        assert_counts_in_step(&db.url, &format!("after moving {}", row.no)).await;
    }
    // 12369 had only C-11 and 芮城县 only C-07: moving them away deletes those counts.
    let back = [
        fact("C-11", day1 + Duration::minutes(11), |_| {}),
        fact("C-07", day1 + Duration::minutes(7), |f| {
            f.area = "永济市".into();
            f.line = "12319".into();
        }),
    ];
    store.upsert_order_facts(&back).await.expect("back");
    assert_counts_in_step(&db.url, "after moving back").await;
    let counts = daily_counts(&db.url).await;
    assert!(
        !counts
            .iter()
            .any(|(_, _, k, _)| k == "12369" || k == "芮城县"),
        "{counts:?}"
    );
    // Only the text and the address changed: nothing counted moves.
    let before = daily_counts(&db.url).await;
    store
        .upsert_order_fact(&fact("C-04", day1 + Duration::minutes(4), |f| {
            f.unit = None;
            f.text = "改了描述".into();
            f.address = "改了地址".into();
        }))
        .await
        .expect("text only");
    assert_eq!(daily_counts(&db.url).await, before);

    // A batch with new and replaced orders, one number three times (the last counts).
    let mut batch: Vec<OrderFactRow> = (25..40)
        .map(|i| {
            fact(&format!("C-{i:02}"), day2 + Duration::minutes(i), |f| {
                f.channel = if i % 2 == 0 { "letter" } else { "phone" }.into();
                f.unit = (i % 3 != 0).then(|| format!("单位{}", i % 4));
            })
        })
        .collect();
    batch.push(fact("C-00", day2, |f| f.channel = "web".into()));
    batch.push(fact("C-00", day2, |f| f.channel = "app".into()));
    batch.push(fact("C-00", day1, |f| f.channel = "letter".into()));
    store.upsert_order_facts(&batch).await.expect("mixed batch");
    assert_counts_in_step(&db.url, "after the mixed batch").await;
    assert_eq!(
        store
            .order_fact("C-00")
            .await
            .expect("read")
            .map(|f| f.channel),
        Some("letter".to_owned())
    );
    assert_eq!(kb_entry_count(&db.url, "order_facts").await, 40);

    let kept = daily_counts(&db.url).await;
    store.rebuild_order_fact_counts().await.expect("rebuild");
    assert_eq!(
        daily_counts(&db.url).await,
        kept,
        "a rebuild changes nothing"
    );
    assert_eq!(
        store.order_fact_writes().await.expect("writes"),
        writes0 + 1 + moves.len() as i64 + 1 + 1 + 1 + 1,
        "one per write"
    );
}

/// Days are Beijing days: an order at 23:30 UTC counts on the next day, one at 15:59:59.999
/// UTC on the same day, one at 16:00 UTC on the next; breakdowns, trends and drill-down all
/// cut there.
async fn order_facts_count_on_beijing_days(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let rows = [
        // 2026-01-31 23:30 UTC is 2026-02-01 07:30 in Beijing.
        fact("B-1", utc(2026, 1, 31, 23, 30), |_| {}),
        // 2026-01-31 15:59:59.999 UTC is 23:59:59.999 on the 31st in Beijing.
        fact(
            "B-2",
            utc(2026, 1, 31, 16, 0) - Duration::milliseconds(1),
            |_| {},
        ),
        // 16:00 UTC is midnight in Beijing: 1 February.
        fact("B-3", utc(2026, 1, 31, 16, 0), |_| {}),
        // 2026-01-30 23:30 UTC: 31 January in Beijing.
        fact("B-4", utc(2026, 1, 30, 23, 30), |_| {}),
    ];
    store.upsert_order_facts(&rows).await.expect("facts");
    assert_eq!(rows[0].day(), date(2026, 2, 1));
    let count = |from, to| {
        let store = store.clone();
        async move {
            store
                .count_by(FactDimension::Channel, from, to)
                .await
                .expect("count")
        }
    };
    assert_eq!(
        count(date(2026, 2, 1), date(2026, 2, 1)).await,
        vec![("phone".to_owned(), 2)]
    );
    assert_eq!(
        count(date(2026, 1, 31), date(2026, 1, 31)).await,
        vec![("phone".to_owned(), 2)]
    );
    assert_eq!(
        store
            .count_by_day(date(2026, 1, 30), date(2026, 2, 2), None)
            .await
            .expect("trend"),
        vec![
            (date(2026, 1, 30), 0),
            (date(2026, 1, 31), 2),
            (date(2026, 2, 1), 2),
            (date(2026, 2, 2), 0),
        ]
    );
    let drill = |from, to| {
        let store = store.clone();
        async move {
            store
                .fact_orders(FactDimension::Area, "盐湖区", from, to, 10, None)
                .await
                .expect("drill")
        }
    };
    assert_eq!(
        drill(date(2026, 2, 1), date(2026, 2, 1)).await,
        ["B-1", "B-3"]
    );
    assert_eq!(
        drill(date(2026, 1, 31), date(2026, 1, 31)).await,
        ["B-2", "B-4"]
    );
    assert_eq!(
        drill(date(2026, 1, 31), date(2026, 2, 1)).await,
        ["B-1", "B-3", "B-2", "B-4"]
    );
    assert!(drill(date(2026, 2, 1), date(2026, 1, 31)).await.is_empty());
    let mut conn = sqlx::AnyConnection::connect(&db.url)
        .await
        .expect("connect");
    let stored: Vec<(String, i32)> = sqlx::query_as("SELECT no, day FROM order_facts ORDER BY no")
        .fetch_all(&mut conn)
        .await
        .expect("days");
    let _ = conn.close().await;
    assert_eq!(
        stored,
        [
            ("B-1".to_owned(), 20260201),
            ("B-2".to_owned(), 20260131),
            ("B-3".to_owned(), 20260201),
            ("B-4".to_owned(), 20260131),
        ]
    );
}

/// Breakdowns over a range of days: biggest first, ties by key in byte order, every
/// dimension (the unit of an order not dispatched under ""), only the range's days; trends of
/// one key with every day listed.
async fn count_by_and_count_by_day_over_a_range(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let mut rows = Vec::new();
    let mut n = 0;
    let mut add = |day: u32, count: usize, build: &dyn Fn(&mut OrderFactRow)| {
        for _ in 0..count {
            n += 1;
            rows.push(fact(
                &format!("R-{n:03}"),
                utc(2026, 5, day, 2, n % 50),
                build,
            ));
        }
    };
    add(4, 3, &|f| f.area = "夏县".into());
    add(4, 2, &|f| {
        f.area = "绛县".into();
        f.unit = None;
    });
    add(5, 2, &|f| {
        f.area = "河津市".into();
        f.request_type = "consultation".into();
        f.category = "社保/养老".into();
    });
    add(6, 4, &|f| {
        f.area = "夏县".into();
        f.unit = None;
        f.channel = "web".into();
    });
    add(7, 9, &|f| f.area = "闻喜县".into());
    store.upsert_order_facts(&rows).await.expect("facts");
    let (from, to) = (date(2026, 5, 4), date(2026, 5, 6));
    let by = |dim| {
        let store = store.clone();
        async move { store.count_by(dim, from, to).await.expect("count") }
    };
    let pairs = |v: &[(&str, i64)]| {
        v.iter()
            .map(|(k, n)| (k.to_string(), *n))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        by(FactDimension::Area).await,
        pairs(&[("夏县", 7), ("河津市", 2), ("绛县", 2)]),
        "ties by key: 河 (U+6CB3) before 绛 (U+7EDB)"
    );
    assert_eq!(
        by(FactDimension::Unit).await,
        pairs(&[("", 6), ("市住建局", 5)])
    );
    assert_eq!(
        by(FactDimension::RequestType).await,
        pairs(&[("complaint", 9), ("consultation", 2)])
    );
    assert_eq!(
        by(FactDimension::Category1).await,
        pairs(&[("城乡建设", 9), ("社保", 2)])
    );
    assert_eq!(
        by(FactDimension::Category).await,
        pairs(&[("城乡建设/供暖/暖气不热", 9), ("社保/养老", 2)])
    );
    assert_eq!(
        by(FactDimension::Channel).await,
        pairs(&[("phone", 7), ("web", 4)])
    );
    assert_eq!(by(FactDimension::Line).await, pairs(&[("12345", 11)]));
    assert!(
        store
            .count_by(FactDimension::Area, date(2026, 5, 8), date(2026, 5, 31))
            .await
            .expect("empty")
            .is_empty()
    );
    assert_eq!(
        store
            .count_by_day(
                date(2026, 5, 3),
                date(2026, 5, 7),
                Some((FactDimension::Area, "夏县"))
            )
            .await
            .expect("trend"),
        vec![
            (date(2026, 5, 3), 0),
            (date(2026, 5, 4), 3),
            (date(2026, 5, 5), 0),
            (date(2026, 5, 6), 4),
            (date(2026, 5, 7), 0),
        ]
    );
    assert_eq!(
        store
            .count_by_day(
                date(2026, 5, 4),
                date(2026, 5, 7),
                Some((FactDimension::Unit, ""))
            )
            .await
            .expect("trend"),
        vec![
            (date(2026, 5, 4), 2),
            (date(2026, 5, 5), 0),
            (date(2026, 5, 6), 4),
            (date(2026, 5, 7), 0),
        ]
    );
    assert_eq!(
        store
            .count_by_day(date(2026, 5, 4), date(2026, 5, 7), None)
            .await
            .expect("trend")
            .into_iter()
            .map(|(_, n)| n)
            .collect::<Vec<_>>(),
        [5, 2, 4, 9]
    );
    assert!(
        store
            .count_by_day(date(2026, 5, 7), date(2026, 5, 4), None)
            .await
            .expect("reversed")
            .is_empty()
    );
}

/// Drill-down pages: newest first, ties within a millisecond by number descending, pages of 3
/// by the last number until none is left, every order once, only the key's orders of the
/// range; undispatched orders under the unit ""; a page is capped; an unknown cursor gives
/// nothing.
async fn fact_orders_page_newest_first_by_keyset(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let base = utc(2026, 7, 1, 1, 0);
    let mut rows = Vec::new();
    for i in 0..20_i64 {
        // Pairs in the same millisecond.
        rows.push(fact(
            &format!("K-{i:02}"),
            base + Duration::milliseconds(i / 2 * 1000),
            |f| {
                if i % 5 == 0 {
                    f.unit = None;
                }
            },
        ));
    }
    rows.push(fact("K-other", base + Duration::seconds(3), |f| {
        f.unit = Some("市城管局".into())
    }));
    rows.push(fact("K-next-day", utc(2026, 7, 2, 1, 0), |_| {}));
    store.upsert_order_facts(&rows).await.expect("facts");
    let day = date(2026, 7, 1);
    let mut expected: Vec<&OrderFactRow> = rows
        .iter()
        .filter(|f| f.unit.as_deref() == Some("市住建局") && f.day() == day)
        .collect();
    expected.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.no.cmp(&a.no)));
    let expected: Vec<String> = expected.iter().map(|f| f.no.clone()).collect();
    assert_eq!(expected.len(), 16);
    let mut got = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let page = store
            .fact_orders(
                FactDimension::Unit,
                "市住建局",
                day,
                day,
                3,
                before.as_deref(),
            )
            .await
            .expect("page");
        assert!(page.len() <= 3);
        if page.is_empty() {
            break;
        }
        before = page.last().cloned();
        got.extend(page);
    }
    assert_eq!(got, expected);
    assert_eq!(&got[..3], ["K-19", "K-18", "K-17"]);
    assert_eq!(
        store
            .fact_orders(FactDimension::Unit, "", day, day, 10, None)
            .await
            .expect("undispatched"),
        ["K-15", "K-10", "K-05", "K-00"]
    );
    assert_eq!(
        store
            .fact_orders(FactDimension::Unit, "", day, day, 2, Some("K-10"))
            .await
            .expect("undispatched, second page"),
        ["K-05", "K-00"]
    );
    assert_eq!(
        store
            .fact_orders(
                FactDimension::Channel,
                "phone",
                day,
                date(2026, 7, 2),
                2,
                None
            )
            .await
            .expect("two days"),
        ["K-next-day", "K-19"]
    );
    assert!(
        store
            .fact_orders(FactDimension::Unit, "市住建局", day, day, 5, Some("K-none"))
            .await
            .expect("unknown cursor")
            .is_empty()
    );
    assert!(
        store
            .fact_orders(FactDimension::Unit, "市住建局", day, day, 0, None)
            .await
            .expect("zero")
            .is_empty()
    );
    let many: Vec<OrderFactRow> = (0..LIST_LIMIT_MAX + 5)
        .map(|i| {
            fact(
                &format!("M-{i:04}"),
                base + Duration::milliseconds(i64::from(i)),
                |f| f.line = "12333".into(),
            )
        })
        .collect();
    store.upsert_order_facts(&many).await.expect("many");
    assert_eq!(
        store
            .fact_orders(
                FactDimension::Line,
                "12333",
                day,
                day,
                LIST_LIMIT_MAX + 100,
                None
            )
            .await
            .expect("capped")
            .len(),
        LIST_LIMIT_MAX as usize
    );
}

/// A batch with one bad row (no number, an empty unit, a year the day cannot be written in)
/// is refused whole: nothing of it is stored or counted.
async fn bad_order_facts_are_refused_and_nothing_is_written(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let good = fact("G-1", utc(2026, 1, 5, 3, 0), |_| {});
    let bad = [
        ("no number", fact("", utc(2026, 1, 5, 3, 0), |_| {})),
        (
            "empty unit",
            fact("G-2", utc(2026, 1, 5, 3, 0), |f| {
                f.unit = Some(String::new())
            }),
        ),
        ("year", fact("G-3", utc(999, 1, 5, 3, 0), |_| {})),
    ];
    for (what, row) in bad {
        let err = store
            .upsert_order_facts(&[good.clone(), row])
            .await
            .expect_err(what);
        assert!(matches!(err, StoreError::Invalid(_)), "{what}: {err}");
    }
    assert_eq!(kb_entry_count(&db.url, "order_facts").await, 0);
    assert_eq!(kb_entry_count(&db.url, "order_fact_daily").await, 0);
    store.upsert_order_facts(&[]).await.expect("nothing");
    store.upsert_order_fact(&good).await.expect("good");
    assert_eq!(kb_entry_count(&db.url, "order_fact_daily").await, 7);
}

/// Writers at once (the service's per-order writes and a catch-up batch over the same
/// orders) never count from the same old row: the counts equal the facts afterwards.
async fn concurrent_fact_writers_keep_the_counts_in_step(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let base = utc(2026, 9, 1, 2, 0);
    let tasks: Vec<_> = (0..6)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                for round in 0..8 {
                    let rows: Vec<OrderFactRow> = (0..10)
                        .map(|i| {
                            let n = (t * 3 + i + round) % 25;
                            fact(
                                &format!("W-{n:02}"),
                                base + Duration::hours(((t + round) % 30) as i64),
                                |f| {
                                    f.channel = ["phone", "web", "app"][(t + i) % 3].into();
                                    f.unit = (round % 2 == 0).then(|| format!("单位{t}"));
                                },
                            )
                        })
                        .collect();
                    if t % 2 == 0 {
                        store.upsert_order_facts(&rows).await.expect("batch");
                    } else {
                        for row in &rows {
                            store.upsert_order_fact(row).await.expect("one");
                        }
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    assert_eq!(kb_entry_count(&db.url, "order_facts").await, 25);
    assert_counts_in_step(&db.url, "after concurrent writers").await;
}

fn alert_row(cause: &str, last_ms: i64, build: impl FnOnce(&mut AlertRow)) -> AlertRow {
    let mut row = AlertRow {
        cause: cause.into(),
        rule: "同址重复".into(),
        kind: "repeat".into(),
        level: "warning".into(),
        title: "同址重复：同一地址“解放路3号” 7 天内 5 件".into(),
        orders: vec!["YC20260101-000001".into(), "YC20260102-000007".into()],
        state: "open".into(),
        by_user: None,
        note: None,
        pushes: 1,
        first_at: at(last_ms),
        last_at: at(last_ms),
    };
    build(&mut row);
    row
}

/// An alert saved again under its cause keeps its first_at and takes the rest: more orders,
/// a later last_at and one more push, then acknowledged and closed with a note; the stored row
/// is returned by every save.
async fn alert_upsert_keeps_first_at_and_takes_the_rest(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let first = alert_row("repeat:同址重复:解放路3号", 1_000, |_| {});
    assert_eq!(store.save_alert(&first).await.expect("save"), first);
    assert_eq!(
        store.alert(&first.cause).await.expect("read"),
        Some(first.clone())
    );
    let pushed = alert_row(&first.cause, 5_000, |a| {
        a.orders.push("YC20260103-000002".into());
        a.title = "同址重复：同一地址“解放路3号” 7 天内 6 件".into();
        a.pushes = 2;
    });
    let stored = store.save_alert(&pushed).await.expect("push again");
    assert_eq!(stored.first_at, at(1_000), "first_at kept");
    assert_eq!(stored.last_at, at(5_000));
    assert_eq!(stored.pushes, 2);
    assert_eq!(stored.orders.len(), 3);
    assert_eq!(
        stored,
        AlertRow {
            first_at: at(1_000),
            ..pushed.clone()
        }
    );
    let closed = AlertRow {
        state: "closed".into(),
        by_user: Some("supervisor-1".into()),
        note: Some("已派城管清理，现场复核完毕".into()),
        last_at: at(9_000),
        first_at: at(9_000),
        ..pushed
    };
    let stored = store.save_alert(&closed).await.expect("close");
    assert_eq!(
        stored,
        AlertRow {
            first_at: at(1_000),
            ..closed
        }
    );
    assert_eq!(store.alert(&first.cause).await.expect("read"), Some(stored));
    assert_eq!(store.alert("none").await.expect("read"), None);
    assert_eq!(kb_entry_count(&db.url, "insight_alerts").await, 1);
}

/// Alerts newest first (by last_at), at most the limit; open_only leaves the closed ones out
/// and keeps the acknowledged.
async fn alerts_list_newest_first_and_open_only(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    for (cause, ms, state) in [
        ("a", 3_000, "open"),
        ("b", 1_000, "closed"),
        ("c", 4_000, "acknowledged"),
        ("d", 2_000, "open"),
        ("e", 5_000, "closed"),
    ] {
        store
            .save_alert(&alert_row(cause, ms, |a| a.state = state.into()))
            .await
            .expect("save");
    }
    let causes = |rows: Vec<AlertRow>| rows.into_iter().map(|a| a.cause).collect::<Vec<_>>();
    assert_eq!(
        causes(store.alerts(false, 10).await.expect("all")),
        ["e", "c", "a", "d", "b"]
    );
    assert_eq!(
        causes(store.alerts(true, 10).await.expect("open")),
        ["c", "a", "d"]
    );
    assert_eq!(
        causes(store.alerts(true, 2).await.expect("open")),
        ["c", "a"]
    );
    assert!(store.alerts(false, 0).await.expect("none").is_empty());
}

/// An alert with no cause, kind or level, or a state outside the three, is refused and nothing
/// is stored.
async fn bad_alerts_are_refused(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    for (what, row) in [
        ("cause", alert_row("", 1_000, |_| {})),
        ("kind", alert_row("x", 1_000, |a| a.kind = String::new())),
        ("level", alert_row("x", 1_000, |a| a.level = String::new())),
        ("state", alert_row("x", 1_000, |a| a.state = "done".into())),
    ] {
        let err = store.save_alert(&row).await.expect_err(what);
        assert!(matches!(err, StoreError::Invalid(_)), "{what}: {err}");
    }
    assert_eq!(kb_entry_count(&db.url, "insight_alerts").await, 0);
}

/// Counts out of step with the facts (a count deleted by hand) are not lowered below what is
/// there: the write that would is refused whole, the facts unchanged; a rebuild puts the counts
/// back in step and the write then goes through.
async fn counts_out_of_step_are_refused_and_a_rebuild_repairs_them(db: TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    let t = utc(2026, 4, 1, 3, 0);
    let first = fact("S-1", t, |_| {});
    store
        .upsert_order_facts(&[first.clone(), fact("S-2", t, |_| {})])
        .await
        .expect("facts");
    let mut conn = sqlx::AnyConnection::connect(&db.url)
        .await
        .expect("connect");
    sqlx::query("DELETE FROM order_fact_daily WHERE dim = 'channel'")
        .execute(&mut conn)
        .await
        .expect("tamper");
    let _ = conn.close().await;
    let moved = fact("S-1", t, |f| f.channel = "web".into());
    let err = store
        .upsert_order_fact(&moved)
        .await
        .expect_err("out of step");
    assert!(
        matches!(
            err,
            StoreError::CorruptRow {
                table: "order_fact_daily",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(store.order_fact("S-1").await.expect("read"), Some(first));
    store.rebuild_order_fact_counts().await.expect("rebuild");
    assert_counts_in_step(&db.url, "after the rebuild").await;
    store.upsert_order_fact(&moved).await.expect("move");
    assert_counts_in_step(&db.url, "after the move").await;
    assert_eq!(
        store
            .count_by(FactDimension::Channel, t.date_naive(), t.date_naive())
            .await
            .expect("count"),
        vec![("phone".to_owned(), 1), ("web".to_owned(), 1)]
    );
}
