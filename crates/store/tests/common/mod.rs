//! Test databases for the conformance suite: every test body runs once on SQLite (a temp dir)
//! and once on PostgreSQL (a fresh database per test, dropped afterwards).
#![allow(dead_code)]

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use hotline_cdr::{CallKind, CallRecord, CallRecordBuilder, EndReason};
use hotline_store::WriterConfig;
use sqlx::{Connection, Executor};
use tempfile::TempDir;

pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Generates `mod <name> { sqlite, postgres }` tests that both run the async fn `<name>(TestDb)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let db = $crate::common::TestDb::sqlite();
                super::$name(db).await;
            }

            #[tokio::test]
            async fn postgres() {
                let db = $crate::common::TestDb::postgres().await;
                super::$name(db).await;
            }
        }
    )*};
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

pub struct TestDb {
    pub kind: Kind,
    pub url: String,
    /// Scratch space for spools (and the SQLite file).
    pub dir: TempDir,
    pg: Option<PgDatabase>,
}

struct PgDatabase {
    admin_url: String,
    name: String,
}

pub fn pg_admin_url() -> String {
    std::env::var("TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned())
}

/// `base` with its database name replaced.
pub fn pg_url_for(base: &str, database: &str) -> String {
    let (scheme, rest) = base.split_once("://").expect("URL with ://");
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let authority = rest.split('/').next().unwrap_or_default();
    match query {
        Some(q) => format!("{scheme}://{authority}/{database}?{q}"),
        None => format!("{scheme}://{authority}/{database}"),
    }
}

pub async fn admin_connection() -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    let url = pg_admin_url();
    match sqlx::AnyConnection::connect(&url).await {
        Ok(conn) => conn,
        Err(e) => panic!(
            "PostgreSQL at {url} is unreachable ({e}). The PostgreSQL half of the conformance \
             suite needs a running server: start it (the CI script does) or point \
             TEST_PG_URL at one."
        ),
    }
}

/// Runs statements on the maintenance database (CREATE/DROP/ALTER DATABASE cannot run inside
/// the database they change).
pub async fn admin_exec(sql: &str) {
    let mut conn = admin_connection().await;
    conn.execute(sqlx::AssertSqlSafe(sql.to_owned()))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = conn.close().await;
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        // A nested path checks that connect creates the parent directories.
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("db/nested/hotline.db").display()
        );
        TestDb {
            kind: Kind::Sqlite,
            url,
            dir,
            pg: None,
        }
    }

    pub async fn postgres() -> TestDb {
        let name = format!("hotline_test_{}", uuid::Uuid::new_v4().simple());
        admin_exec(&format!("CREATE DATABASE {name}")).await;
        TestDb {
            kind: Kind::Postgres,
            url: pg_url_for(&pg_admin_url(), &name),
            dir: tempfile::tempdir().expect("tempdir"),
            pg: Some(PgDatabase {
                admin_url: pg_admin_url(),
                name,
            }),
        }
    }

    pub fn pg_name(&self) -> Option<&str> {
        self.pg.as_ref().map(|p| p.name.as_str())
    }

    pub fn spool_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("spool")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(pg) = self.pg.take() else { return };
        // Drop runs inside the test's runtime, which cannot be blocked on; a thread with its own
        // runtime drops the database even when the test panicked.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                if let Ok(mut conn) = sqlx::AnyConnection::connect(&pg.admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", pg.name);
                    if let Err(e) = conn.execute(sqlx::AssertSqlSafe(sql)).await {
                        eprintln!("could not drop test database {}: {e}", pg.name);
                    }
                    let _ = conn.close().await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

/// A fixed instant with whole milliseconds (what the database keeps).
pub fn at(millis: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(1_700_000_000_000 + millis)
        .single()
        .expect("valid timestamp")
}

pub fn answered_record(id: &str) -> CallRecord {
    let mut b = CallRecordBuilder::arrived(
        id,
        format!("{id}@10.0.0.1"),
        "13800000000",
        "12369",
        CallKind::Hotline,
        at(0),
    );
    b.caller_display("张三")
        .source("10.0.0.1:5060")
        .line("12369", Some("市生态环境局".into()), "remote_seat")
        .ringing(at(1_250))
        .route("greeting > menu:2 > queue:default")
        .recording("data/recordings/2026/12/01/x.wav")
        .answered(Some("1001".into()), at(9_999));
    b.ended(EndReason::CallerHangup, 200, at(70_001))
}

pub fn bare_record(id: &str, arrived_ms: i64) -> CallRecord {
    CallRecordBuilder::arrived(
        id,
        format!("{id}@h"),
        "alice",
        "12345",
        CallKind::Other,
        at(arrived_ms),
    )
    .ended(EndReason::Cancelled, 487, at(arrived_ms + 3_000))
}

pub fn fast_writer() -> WriterConfig {
    WriterConfig {
        retry_initial: Duration::from_millis(50),
        retry_max: Duration::from_millis(200),
        acquire_timeout: Duration::from_millis(500),
        ..WriterConfig::default()
    }
}

/// Polls `check` until it holds; panics with `what` after `timeout`.
pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn spool_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|s| s.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}
