//! The spool-and-retry writer: no call record is lost while the database is down.

mod common;

use std::time::Duration;

use common::{TestDb, admin_exec, bare_record, eventually, fast_writer, spool_lines};
use hotline_cdr::CallRecord;
use hotline_store::{BAD_FILE, CallRecordWriter, REPLAYING_FILE, SPOOL_FILE, Store, WriterConfig};

const WAIT: Duration = Duration::from_secs(20);

/// Nothing listens on port 1 of the loopback address: connections are refused at once.
const DEAD_PG_URL: &str = "postgres://postgres@127.0.0.1:1/hotline";

on_both_backends!(
    writes_straight_to_a_healthy_database,
    records_spooled_while_unreachable_are_replayed_exactly_once,
    leftover_replaying_file_is_replayed_first_and_bad_lines_are_kept,
    full_queue_spools_on_the_callers_thread,
);

async fn count(url: &str) -> i64 {
    Store::connect(url)
        .await
        .expect("connect")
        .count_call_records()
        .await
        .expect("count")
}

async fn writes_straight_to_a_healthy_database(db: TestDb) {
    let (handle, task) =
        CallRecordWriter::start_with(db.url.clone(), db.spool_dir(), fast_writer());
    for i in 0..20 {
        handle.submit(bare_record(&format!("h{i}"), i));
    }
    handle.flush().await.expect("flush");
    assert_eq!(count(&db.url).await, 20);
    assert!(!db.spool_dir().join(SPOOL_FILE).exists());
    drop(handle);
    task.await.expect("writer task");
}

async fn records_spooled_while_unreachable_are_replayed_exactly_once(db: TestDb) {
    const N: usize = 25;
    let ids: Vec<String> = (0..N).map(|i| format!("down-{i}")).collect();

    let (handle, task) =
        CallRecordWriter::start_with(DEAD_PG_URL.to_owned(), db.spool_dir(), fast_writer());
    for (i, id) in ids.iter().enumerate() {
        handle.submit(bare_record(id, i64::try_from(i).expect("small")));
    }
    handle.flush().await.expect("flush");
    // flush promises the records are on disk: read them back before the task stops.
    let spooled: Vec<String> = spool_lines(&db.spool_dir().join(SPOOL_FILE))
        .iter()
        .map(|l| {
            serde_json::from_str::<CallRecord>(l)
                .expect("spool line")
                .id
        })
        .collect();
    assert_eq!(spooled, ids, "spooled in submission order");
    drop(handle);
    task.await.expect("writer task");

    let (handle, task) =
        CallRecordWriter::start_with(db.url.clone(), db.spool_dir(), fast_writer());
    let url = db.url.clone();
    eventually("the spool to be replayed", WAIT, || {
        let url = url.clone();
        async move { count(&url).await == N as i64 }
    })
    .await;
    handle.flush().await.expect("flush");
    assert!(!db.spool_dir().join(SPOOL_FILE).exists());
    assert!(!db.spool_dir().join(REPLAYING_FILE).exists());
    let store = Store::connect(&db.url).await.expect("connect");
    for id in &ids {
        assert!(
            store.get_call_record(id).await.expect("get").is_some(),
            "{id} missing"
        );
    }
    assert_eq!(store.count_call_records().await.expect("count"), N as i64);
    drop(handle);
    task.await.expect("writer task");
}

async fn leftover_replaying_file_is_replayed_first_and_bad_lines_are_kept(db: TestDb) {
    let dir = db.spool_dir();
    std::fs::create_dir_all(&dir).expect("mkdir");
    let line = |r: &CallRecord| serde_json::to_string(r).expect("json");
    let mut first = bare_record("dup", 0);
    first.caller = "from-replaying".into();
    let mut second = bare_record("dup", 0);
    second.caller = "from-spool".into();
    // A crash mid-replay left `.replaying`; newer records went to the spool after it. The same
    // id in both shows the order: the first insert wins, the later one is a duplicate.
    std::fs::write(
        dir.join(REPLAYING_FILE),
        format!(
            "{}\nthis is not json\n\n{}\n",
            line(&first),
            line(&bare_record("r1", 1))
        ),
    )
    .expect("write replaying");
    std::fs::write(
        dir.join(SPOOL_FILE),
        format!(
            "{}\n{}\n{{\"id\":\"torn",
            line(&second),
            line(&bare_record("s1", 2))
        ),
    )
    .expect("write spool");

    let (handle, task) = CallRecordWriter::start_with(db.url.clone(), dir.clone(), fast_writer());
    handle.flush().await.expect("flush");
    let store = Store::connect(&db.url).await.expect("connect");
    assert_eq!(store.count_call_records().await.expect("count"), 3);
    let dup = store
        .get_call_record("dup")
        .await
        .expect("get")
        .expect("present");
    assert_eq!(dup.caller, "from-replaying");
    assert_eq!(
        spool_lines(&dir.join(BAD_FILE)),
        ["this is not json", "{\"id\":\"torn"]
    );
    assert!(!dir.join(SPOOL_FILE).exists());
    assert!(!dir.join(REPLAYING_FILE).exists());
    drop(handle);
    task.await.expect("writer task");
}

async fn full_queue_spools_on_the_callers_thread(db: TestDb) {
    let config = WriterConfig {
        queue_capacity: 1,
        ..fast_writer()
    };
    let (handle, task) = CallRecordWriter::start_with(db.url.clone(), db.spool_dir(), config);
    // The test runtime is single-threaded and nothing has yielded yet, so the task has not
    // taken anything off the queue: the first record fills it, the others must be spooled here.
    handle.submit(bare_record("q0", 0));
    handle.submit(bare_record("q1", 1));
    handle.submit(bare_record("q2", 2));
    let spooled: Vec<String> = spool_lines(&db.spool_dir().join(SPOOL_FILE))
        .iter()
        .map(|l| {
            serde_json::from_str::<CallRecord>(l)
                .expect("spool line")
                .id
        })
        .collect();
    assert_eq!(spooled, ["q1", "q2"]);

    let url = db.url.clone();
    eventually(
        "directly spooled records to reach the database",
        WAIT,
        || {
            let url = url.clone();
            async move { count(&url).await == 3 }
        },
    )
    .await;
    assert!(!db.spool_dir().join(SPOOL_FILE).exists());
    drop(handle);
    task.await.expect("writer task");
}

/// The database goes away under a running writer (connections refused and existing ones
/// killed), then comes back: what was submitted meanwhile is spooled, then replayed.
#[tokio::test]
async fn postgres_outage_mid_run_spools_then_recovers() {
    let db = TestDb::postgres().await;
    let name = db.pg_name().expect("postgres").to_owned();
    let (handle, task) =
        CallRecordWriter::start_with(db.url.clone(), db.spool_dir(), fast_writer());
    for i in 0..5 {
        handle.submit(bare_record(&format!("before-{i}"), i));
    }
    handle.flush().await.expect("flush");
    assert_eq!(count(&db.url).await, 5);

    admin_exec(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).await;
    admin_exec(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .await;
    for i in 0..7 {
        handle.submit(bare_record(&format!("during-{i}"), 100 + i));
    }
    handle.flush().await.expect("flush");
    let spooled = spool_lines(&db.spool_dir().join(SPOOL_FILE));
    assert_eq!(
        spooled.len(),
        7,
        "records submitted during the outage are on disk"
    );

    admin_exec(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await;
    let url = db.url.clone();
    eventually("the outage spool to be replayed", WAIT, || {
        let url = url.clone();
        async move { count(&url).await == 12 }
    })
    .await;
    for i in 0..3 {
        handle.submit(bare_record(&format!("after-{i}"), 200 + i));
    }
    handle.flush().await.expect("flush");
    assert_eq!(count(&db.url).await, 15);
    assert!(!db.spool_dir().join(SPOOL_FILE).exists());
    assert!(!db.spool_dir().join(REPLAYING_FILE).exists());
    drop(handle);
    task.await.expect("writer task");
}

/// PostgreSQL refuses a NUL byte in TEXT. Retrying that record would block every record behind
/// it, so it goes to the bad file and the writer carries on.
#[tokio::test]
async fn postgres_refused_record_goes_to_the_bad_file() {
    let db = TestDb::postgres().await;
    let (handle, task) =
        CallRecordWriter::start_with(db.url.clone(), db.spool_dir(), fast_writer());
    let mut poison = bare_record("poison", 0);
    poison.caller = "alice\0bob".into();
    handle.submit(bare_record("ok-1", 1));
    handle.submit(poison);
    handle.submit(bare_record("ok-2", 2));
    handle.flush().await.expect("flush");

    let store = Store::connect(&db.url).await.expect("connect");
    assert_eq!(store.count_call_records().await.expect("count"), 2);
    let bad: Vec<CallRecord> = spool_lines(&db.spool_dir().join(BAD_FILE))
        .iter()
        .map(|l| serde_json::from_str(l).expect("bad line is the record"))
        .collect();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].caller, "alice\0bob");
    assert!(!db.spool_dir().join(SPOOL_FILE).exists());
    drop(handle);
    task.await.expect("writer task");
}
