//! The work-order store at a city's scale: five years of orders, then the queries the service
//! and the scheduler run all day, timed through the store's API as the server calls it.
//!
//! ```text
//! cargo bench -p hotline-store --bench work_orders -- --backend sqlite|postgres \
//!     --orders 10000000 [--db PATH_OR_URL] [--runs 3]
//! ```
//!
//! The database is seeded once and reused: a file (default `/work/bench-data/orders-N.sqlite`)
//! or the PostgreSQL database `bench_orders` on 127.0.0.1 (created through the `postgres`
//! database if missing, dropped and re-created if it holds another number of orders). Only a
//! loopback server is accepted.
//!
//! The seed writes the projection (`work_orders`, `work_order_co_units`) with multi-row
//! INSERTs, a thousand rows a statement, in big transactions, and no events: every measured
//! query reads only the projection, and the events table is only ever read by order number
//! (its primary key), whose cost does not grow with the table. The orders created through the
//! API in measurement (a) do write their event, as the service does, and are deleted after
//! each run so that the seeded database stays as seeded.
//!
//! The data: created times spread evenly over the five years up to 2026-11-30 (Beijing), ~80
//! units with a Zipf-like share (the largest about a fifth of the dispatches), 40 % of orders
//! closed by the center itself (no unit), the rest dispatched. The recent dispatches are in
//! flight by how far along their deadline they are; of the older ones 3 % are still open (an
//! extended or stuck order, due from two days before "now", 2026-12-01 10:00 Beijing, to a
//! month after it) and the rest closed (archived, called back, unreachable). That makes about
//! 2 % of all orders open and a few thousand overdue at ten million. 8 % of dispatches have one
//! or two co-units. The KPI counts follow the stage an order reached (signed, replied,
//! reviewed, called back) with plausible rates.
//!
//! Each measurement runs `--runs` times; the table shows the median of the runs' figures.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use hotline_store::{EventRow, KpiCounts, OrderQuery, OrderRow, Store, StoreOptions};
use sqlx::{Connection, Executor};

const BEIJING: i32 = 8 * 3600;
const DAY_MS: i64 = 86_400_000;
const OPEN: [&str; 3] = ["dispatched", "handling", "return_pending"];
/// Rows per multi-row INSERT: 28 values each, under SQLite's 32 766 and PostgreSQL's 65 535.
const ROWS_PER_INSERT: usize = 1_000;
/// Rows per seeding transaction.
const ROWS_PER_COMMIT: usize = 100_000;

const ORDER_COLUMNS: &str = "no, record, status, lead_unit, due_at, owner, created_at, \
     updated_at, version, request_type, dispatched, signed, signed_on_time, returned, \
     return_requests, returns_rejected, replied, replied_on_time, reviewed, called_back, \
     reached, satisfied, solved_known, solved, redone, reminders, notices, criticisms";
const ORDER_COLUMN_COUNT: usize = 28;

/// The handling units, the busiest first (their share falls as 1/rank).
const UNITS: [&str; 80] = [
    "市住房和城乡建设局",
    "市城市管理局",
    "余杭区人民政府",
    "市市场监督管理局",
    "西湖区人民政府",
    "市人力资源和社会保障局",
    "萧山区人民政府",
    "市交通运输局",
    "拱墅区人民政府",
    "市公安局",
    "上城区人民政府",
    "市教育局",
    "滨江区人民政府",
    "市卫生健康委员会",
    "临平区人民政府",
    "市生态环境局",
    "钱塘区人民政府",
    "市自然资源和规划局",
    "富阳区人民政府",
    "市水务集团",
    "临安区人民政府",
    "市医疗保障局",
    "市供电公司",
    "市燃气集团",
    "市民政局",
    "市公交集团",
    "市交警支队",
    "市房产管理局",
    "市商务局",
    "桐庐县人民政府",
    "市文化广电旅游局",
    "市农业农村局",
    "淳安县人民政府",
    "市应急管理局",
    "市税务局",
    "建德市人民政府",
    "市住房公积金管理中心",
    "市不动产登记中心",
    "市数据资源管理局",
    "市司法局",
    "市退役军人事务局",
    "市地铁集团",
    "市排水公司",
    "市环境集团",
    "市园林文物局",
    "市体育局",
    "市林业水利局",
    "市车辆管理所",
    "市出入境管理局",
    "市消防救援支队",
    "市行政审批服务局",
    "市发展和改革委员会",
    "市经济和信息化局",
    "市科学技术局",
    "市财政局",
    "市通信管理局",
    "市邮政管理局",
    "市热力公司",
    "市城投集团",
    "市港航管理中心",
    "市残疾人联合会",
    "市妇女联合会",
    "市总工会",
    "市信访局",
    "市气象局",
    "市统计局",
    "市审计局",
    "市国资委",
    "市人民防空办公室",
    "市机关事务管理局",
    "市档案馆",
    "市粮食和物资储备局",
    "市烟草专卖局",
    "市殡葬管理所",
    "市口岸办",
    "市海关",
    "市人民银行",
    "市金融监管局",
    "市红十字会",
    "市图书馆",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sqlite,
    Postgres,
}

struct Args {
    kind: Kind,
    orders: u64,
    db: Option<String>,
    runs: usize,
}

fn parse_args() -> Args {
    let mut kind = None;
    let mut orders = 1_000_000;
    let mut db = None;
    let mut runs = 3;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| panic!("{name} needs a value"))
        };
        match arg.as_str() {
            "--backend" => {
                kind = Some(match value("--backend").as_str() {
                    "sqlite" => Kind::Sqlite,
                    "postgres" => Kind::Postgres,
                    other => panic!("--backend sqlite|postgres, not {other}"),
                })
            }
            "--orders" => orders = value("--orders").parse().expect("--orders N"),
            "--db" => db = Some(value("--db")),
            "--runs" => runs = value("--runs").parse().expect("--runs N"),
            // cargo bench passes --bench to every bench binary.
            "--bench" => {}
            other => panic!(
                "unknown argument {other}; usage: --backend sqlite|postgres --orders N \
                 [--db PATH_OR_URL] [--runs 3]"
            ),
        }
    }
    Args {
        kind: kind.expect("--backend sqlite|postgres"),
        orders,
        db,
        runs: runs.max(1),
    }
}

/// splitmix64: deterministic, so every seed of N orders is the same database.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn f(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1_u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.f() < p
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Picks a unit with probability proportional to 1/rank.
struct Units {
    cumulative: Vec<f64>,
}

impl Units {
    fn new() -> Units {
        let mut total = 0.0;
        let cumulative = (1..=UNITS.len())
            .map(|rank| {
                total += 1.0 / rank as f64;
                total
            })
            .collect::<Vec<_>>();
        let cumulative = cumulative.iter().map(|c| c / total).collect();
        Units { cumulative }
    }

    fn pick(&self, rng: &mut Rng) -> usize {
        let x = rng.f();
        self.cumulative
            .partition_point(|&c| c <= x)
            .min(UNITS.len() - 1)
    }
}

fn beijing() -> FixedOffset {
    FixedOffset::east_opt(BEIJING).expect("offset")
}

fn beijing_midnight(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    beijing()
        .with_ymd_and_hms(y, m, d, 0, 0, 0)
        .single()
        .expect("date")
        .with_timezone(&Utc)
}

/// "Now" for the measurements: a Tuesday morning, the day after the seed's last day.
fn now() -> DateTime<Utc> {
    beijing()
        .with_ymd_and_hms(2026, 12, 1, 10, 0, 0)
        .single()
        .expect("now")
        .with_timezone(&Utc)
}

/// The end of the next working day after `now` (2026-12-02 24:00 Beijing): the bound of "due
/// within one working day". A fixed instant: the working-day calendar is hotline-workorder's,
/// which the store does not depend on.
fn one_working_day_later() -> DateTime<Utc> {
    beijing_midnight(2026, 12, 3)
}

/// One seeded order.
struct Seed {
    no: String,
    record: String,
    status: &'static str,
    lead: Option<&'static str>,
    due_at: Option<i64>,
    owner: String,
    created_at: i64,
    updated_at: i64,
    version: i32,
    request_type: &'static str,
    counts: [i32; 18],
    co: Vec<&'static str>,
}

/// Generates the orders in creation order.
struct Generator {
    rng: Rng,
    units: Units,
    n: u64,
    i: u64,
    start_ms: i64,
    span_ms: i64,
    now_ms: i64,
    day: NaiveDate,
    day_seq: u32,
}

impl Generator {
    fn new(n: u64) -> Generator {
        let start = beijing_midnight(2021, 12, 1);
        let end = beijing_midnight(2026, 12, 1);
        Generator {
            rng: Rng(0x1234_5678_9abc_def0),
            units: Units::new(),
            n,
            i: 0,
            start_ms: start.timestamp_millis(),
            span_ms: (end - start).num_milliseconds(),
            now_ms: now().timestamp_millis(),
            day: NaiveDate::MIN,
            day_seq: 0,
        }
    }
}

impl Iterator for Generator {
    type Item = Seed;

    fn next(&mut self) -> Option<Seed> {
        if self.i >= self.n {
            return None;
        }
        let i = self.i;
        self.i += 1;
        let rng = &mut self.rng;
        // Evenly spread, a random instant inside each order's slot: non-decreasing.
        let slot = i128::from(self.span_ms) * i128::from(i) / i128::from(self.n);
        let next_slot = i128::from(self.span_ms) * i128::from(i + 1) / i128::from(self.n);
        let width = (next_slot - slot).max(1) as u64;
        let created_at = self.start_ms + slot as i64 + rng.below(width) as i64;
        let day = DateTime::<Utc>::from_timestamp_millis(created_at)
            .expect("time")
            .with_timezone(&beijing())
            .date_naive();
        if day != self.day {
            self.day = day;
            self.day_seq = 0;
        }
        self.day_seq += 1;
        let no = format!("YC{}-{:06}", day.format("%Y%m%d"), self.day_seq);
        // Time-ordered record ids (the seed's index inserts stay at the right edge; the size
        // of the index is what the queries see, and that is the same).
        let record = format!("seed-{created_at:013}-{i:09}");
        let owner = format!("1{:03}", rng.below(200));
        let r = rng.f();
        let (request_type, working_days) = match r {
            r if r < 0.45 => ("consultation", 5),
            r if r < 0.65 => ("help", 10),
            r if r < 0.90 => ("complaint", 15),
            r if r < 0.93 => ("report", 15),
            r if r < 0.98 => ("suggestion", 10),
            r if r < 0.99 => ("praise", 5),
            _ => ("other", 5),
        };
        let age_ms = self.now_ms - created_at;
        if rng.chance(0.40) {
            // Answered on the spot, told where to go, moved to an emergency line.
            return Some(Seed {
                no,
                record,
                status: "closed",
                lead: None,
                due_at: None,
                owner,
                created_at,
                updated_at: created_at + 600_000,
                version: 3,
                request_type,
                counts: [0; 18],
                co: Vec::new(),
            });
        }
        let lead_index = self.units.pick(rng);
        let lead = UNITS[lead_index];
        let mut co = Vec::new();
        if rng.chance(0.08) {
            let wanted = if rng.chance(0.3) { 2 } else { 1 };
            while co.len() < wanted {
                let unit = UNITS[self.units.pick(rng)];
                if unit != lead && !co.contains(&unit) {
                    co.push(unit);
                }
            }
        }
        // Working days as calendar days, to the next Beijing midnight.
        let calendar_days = i64::from(working_days) * 7 / 5 + 1;
        let beijing_ms = i64::from(BEIJING) * 1_000;
        let local_day = (created_at + beijing_ms).div_euclid(DAY_MS);
        let due_at = (local_day + calendar_days) * DAY_MS - beijing_ms;
        let progress = age_ms as f64 / (due_at - created_at) as f64;
        let status = match progress {
            p if p < 0.1 => "dispatched",
            p if p < 0.7 => {
                if rng.chance(0.03) {
                    "return_pending"
                } else {
                    "handling"
                }
            }
            p if p < 1.0 => {
                if rng.chance(0.5) {
                    "handling"
                } else {
                    "replied"
                }
            }
            p if p < 1.6 => match rng.f() {
                r if r < 0.10 => "handling",
                r if r < 0.30 => "replied",
                r if r < 0.70 => "awaiting_callback",
                _ => "called_back",
            },
            _ => match rng.f() {
                r if r < 0.03 => "handling",
                r if r < 0.9705 => "archived",
                r if r < 0.9905 => "unreachable",
                _ => "callback_unsatisfied",
            },
        };
        // The old orders still open: their deadline was extended, or they are stuck; due
        // from two days ago to a month ahead, so a few in a hundred of them are overdue.
        let due_at = if progress >= 1.6 && status == "handling" {
            self.now_ms - 2 * DAY_MS + rng.below(32 * DAY_MS as u64) as i64
        } else {
            due_at
        };
        let stage = match status {
            "dispatched" => 0,
            "handling" | "return_pending" => 1,
            "replied" => 2,
            "awaiting_callback" => 3,
            _ => 4,
        };
        let mut k = KpiCounts {
            dispatched: 1,
            ..KpiCounts::default()
        };
        if stage >= 1 {
            k.signed = 1;
            k.signed_on_time = u64::from(rng.chance(0.95));
        }
        if rng.chance(0.03) {
            k.returned = 1;
            k.return_requests = if rng.chance(0.1) { 2 } else { 1 };
            k.returns_rejected = u64::from(rng.chance(0.3));
        }
        if stage >= 2 {
            k.replied = 1;
            k.replied_on_time = u64::from(rng.chance(0.92));
        }
        if stage >= 3 {
            k.reviewed = 1;
            if rng.chance(0.03) {
                // A second round: signed and replied again.
                k.redone = 1;
                k.signed += 1;
                k.signed_on_time += u64::from(rng.chance(0.95));
                k.replied += 1;
                k.replied_on_time += u64::from(rng.chance(0.92));
            }
        }
        if stage >= 4 && rng.chance(0.98) {
            k.called_back = 1;
            if status != "unreachable" && rng.chance(0.93) {
                k.reached = 1;
                k.satisfied = u64::from(status != "callback_unsatisfied" && rng.chance(0.88));
                k.solved_known = 1;
                k.solved = u64::from(rng.chance(0.85));
            }
        }
        if rng.chance(0.10) {
            k.reminders = 1 + rng.below(3);
        }
        if rng.chance(0.02) {
            k.notices = 1;
        }
        if rng.chance(0.003) {
            k.criticisms = 1;
        }
        let version = 2 + stage * 2 + rng.below(3) as i32;
        let updated_at = (created_at + (age_ms as f64 * 0.8) as i64).min(self.now_ms);
        Some(Seed {
            no,
            record,
            status,
            lead: Some(lead),
            due_at: Some(due_at),
            owner,
            created_at,
            updated_at,
            version,
            request_type,
            counts: counts_array(&k),
            co,
        })
    }
}

fn counts_array(k: &KpiCounts) -> [i32; 18] {
    [
        k.dispatched,
        k.signed,
        k.signed_on_time,
        k.returned,
        k.return_requests,
        k.returns_rejected,
        k.replied,
        k.replied_on_time,
        k.reviewed,
        k.called_back,
        k.reached,
        k.satisfied,
        k.solved_known,
        k.solved,
        k.redone,
        k.reminders,
        k.notices,
        k.criticisms,
    ]
    .map(|v| i32::try_from(v).expect("small count"))
}

/// `($1, $2), ($3, $4)…` for PostgreSQL, `(?, ?), (?, ?)…` for SQLite: SQLite looks a named
/// parameter's number up by walking the list of names, once per parameter, which makes a
/// statement of 28 000 `$n` quadratic (half a second each); anonymous ones bind in order.
fn values_list(kind: Kind, rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| {
            let row = (1..=columns)
                .map(|c| match kind {
                    Kind::Sqlite => "?".to_owned(),
                    Kind::Postgres => format!("${}", r * columns + c),
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!("({row})")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn insert_seeds(
    conn: &mut sqlx::AnyConnection,
    kind: Kind,
    seeds: &[Seed],
) -> Result<(), sqlx::Error> {
    for chunk in seeds.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO work_orders ({ORDER_COLUMNS}) VALUES {}",
            values_list(kind, chunk.len(), ORDER_COLUMN_COUNT)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for s in chunk {
            query = query
                .bind(s.no.as_str())
                .bind(s.record.as_str())
                .bind(s.status)
                .bind(s.lead)
                .bind(s.due_at)
                .bind(s.owner.as_str())
                .bind(s.created_at)
                .bind(s.updated_at)
                .bind(s.version)
                .bind(s.request_type);
            for count in s.counts {
                query = query.bind(count);
            }
        }
        conn.execute(query).await?;
    }
    let co: Vec<(&str, &str, i64)> = seeds
        .iter()
        .flat_map(|s| s.co.iter().map(|u| (s.no.as_str(), *u, s.created_at)))
        .collect();
    for chunk in co.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO work_order_co_units (no, unit, created_at) VALUES {}",
            values_list(kind, chunk.len(), 3)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (no, unit, created_at) in chunk {
            query = query.bind(*no).bind(*unit).bind(*created_at);
        }
        conn.execute(query).await?;
    }
    Ok(())
}

async fn seed(url: &str, kind: Kind, n: u64) -> Result<(), sqlx::Error> {
    let mut conn = sqlx::AnyConnection::connect(url).await?;
    match kind {
        // Seeding only: a crash would just mean seeding again. The store's own connections
        // keep synchronous=FULL for the measurements.
        Kind::Sqlite => {
            conn.execute("PRAGMA synchronous=OFF; PRAGMA cache_size=-1048576;")
                .await?;
        }
        Kind::Postgres => {
            conn.execute("SET synchronous_commit = off").await?;
        }
    }
    let started = Instant::now();
    let mut generator = Generator::new(n);
    let mut done = 0_u64;
    loop {
        let batch: Vec<Seed> = generator.by_ref().take(ROWS_PER_COMMIT).collect();
        if batch.is_empty() {
            break;
        }
        let mut tx = conn.begin().await?;
        insert_seeds(&mut tx, kind, &batch).await?;
        tx.commit().await?;
        done += batch.len() as u64;
        if done.is_multiple_of(1_000_000) || done == n {
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "  seeded {done} orders in {secs:.0} s ({:.0} orders/s)",
                done as f64 / secs
            );
        }
    }
    // PostgreSQL: what autovacuum does after a bulk load anyway (statistics, the visibility
    // map), done before the queries are timed. SQLite: nothing. The store never runs ANALYZE,
    // so the planner works without sqlite_stat1 as it does in the server (its plans for these
    // queries are index ranges either way; see the README).
    let seeded = started.elapsed();
    if kind == Kind::Postgres {
        conn.execute("VACUUM ANALYZE").await?;
    }
    eprintln!(
        "  seeded in {:.0} s, then {:.0} s for VACUUM ANALYZE",
        seeded.as_secs_f64(),
        (started.elapsed() - seeded).as_secs_f64()
    );
    conn.close().await?;
    Ok(())
}

/// Refuses any PostgreSQL server but a loopback one: the bench drops and creates databases.
fn check_loopback(url: &str) {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or_default();
    let authority = rest.split('/').next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = host_port
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(host_port);
    assert!(
        matches!(host, "127.0.0.1" | "localhost" | "[::1]"),
        "the bench only runs against a loopback PostgreSQL, not {host:?}"
    );
}

/// `base` with the database `name`.
fn pg_url_for(base: &str, name: &str) -> String {
    let (scheme, rest) = base.split_once("://").expect("URL with ://");
    let authority = rest.split('/').next().unwrap_or_default();
    format!("{scheme}://{authority}/{name}")
}

async fn count_seeded(store_url: &str) -> Result<i64, sqlx::Error> {
    let mut conn = sqlx::AnyConnection::connect(store_url).await?;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM work_orders")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    Ok(n)
}

/// The orders in an existing bench database, after migrating it; -1 if it cannot be migrated
/// (seeded under an edited migration that is not landed yet: sqlx refuses a changed checksum).
async fn seeded_orders(url: &str) -> i64 {
    match Store::connect(url).await {
        Ok(store) => store.close().await,
        Err(e) => {
            eprintln!("the existing database does not migrate ({e}): seeding it again");
            return -1;
        }
    }
    count_seeded(url).await.expect("count")
}

/// The store's URL, with the database seeded with exactly `n` orders.
async fn prepare(args: &Args) -> String {
    let n = args.orders;
    match args.kind {
        Kind::Sqlite => {
            let path = args
                .db
                .clone()
                .unwrap_or_else(|| format!("/work/bench-data/orders-{n}.sqlite"));
            let url = format!("sqlite://{path}?mode=rwc");
            if std::path::Path::new(&path).exists() {
                let have = seeded_orders(&url).await;
                if have == n as i64 {
                    eprintln!("reusing {path}: {have} orders");
                    return url;
                }
                if have >= 0 {
                    eprintln!("{path} has {have} orders, not {n}: seeding it again");
                }
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{path}{suffix}"));
                }
            }
            eprintln!("seeding {n} orders into {path}");
            drop(Store::connect(&url).await.expect("connect and migrate"));
            seed(&url, Kind::Sqlite, n).await.expect("seed");
            url
        }
        Kind::Postgres => {
            let url = args
                .db
                .clone()
                .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/bench_orders".into());
            check_loopback(&url);
            let name = url
                .rsplit('/')
                .next()
                .and_then(|n| n.split('?').next())
                .unwrap_or_default()
                .to_owned();
            assert!(
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "a plain database name, not {name:?}"
            );
            sqlx::any::install_default_drivers();
            let mut admin = sqlx::AnyConnection::connect(&pg_url_for(&url, "postgres"))
                .await
                .expect("connect to the postgres database");
            let exists: Option<i32> =
                sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
                    .bind(name.as_str())
                    .fetch_optional(&mut admin)
                    .await
                    .expect("look up");
            if exists.is_some() {
                let have = seeded_orders(&url).await;
                if have == n as i64 {
                    eprintln!("reusing database {name}: {have} orders");
                    return url;
                }
                if have >= 0 {
                    eprintln!("database {name} has {have} orders, not {n}: seeding it again");
                }
                admin
                    .execute(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE {name} WITH (FORCE)"
                    )))
                    .await
                    .expect("drop");
            }
            admin
                .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .await
                .expect("create database");
            admin.close().await.expect("close");
            eprintln!("seeding {n} orders into database {name}");
            drop(Store::connect(&url).await.expect("connect and migrate"));
            seed(&url, Kind::Postgres, n).await.expect("seed");
            url
        }
    }
}

/// Deletes what measurement (a) created: the orders of 2026-12-01 (the seed ends the day
/// before), their events and the day's number sequence.
async fn delete_created(url: &str) {
    let mut conn = sqlx::AnyConnection::connect(url).await.expect("connect");
    for sql in [
        "DELETE FROM work_order_events WHERE no >= 'YC20261201' AND no < 'YC20261202'",
        "DELETE FROM work_orders WHERE no >= 'YC20261201' AND no < 'YC20261202'",
        "DELETE FROM work_order_numbers WHERE day = '20261201'",
    ] {
        conn.execute(sql).await.expect("delete");
    }
    conn.close().await.expect("close");
}

#[derive(Debug, Clone, Copy)]
struct Latency {
    p50: f64,
    p99: f64,
    max: f64,
}

fn latency(mut samples: Vec<Duration>) -> Latency {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
    let n = samples.len();
    Latency {
        p50: ms(samples[n / 2]),
        p99: ms(samples[(n * 99).div_ceil(100) - 1]),
        max: ms(samples[n - 1]),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn median_latency(runs: &[Latency]) -> Latency {
    Latency {
        p50: median(runs.iter().map(|l| l.p50).collect()),
        p99: median(runs.iter().map(|l| l.p99).collect()),
        max: median(runs.iter().map(|l| l.max).collect()),
    }
}

/// Times `count` calls of `query`, one after the other.
async fn time_queries<F, Fut>(count: usize, mut query: F) -> Latency
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let mut samples = Vec::with_capacity(count);
    for i in 0..count {
        let started = Instant::now();
        std::hint::black_box(query(i).await);
        samples.push(started.elapsed());
    }
    latency(samples)
}

/// Measurement (a): `total` orders created through the API by `concurrency` tasks, each as the
/// service does it: the day's next number, then the draft with its `drafted` event.
async fn create_orders(store: &Store, total: usize, concurrency: usize, run: usize) -> f64 {
    let day = NaiveDate::from_ymd_opt(2026, 12, 1).expect("date");
    let base = now();
    let store = Arc::new(store.clone());
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut rng = Rng(0xC0FFEE ^ ((run * 100 + t) as u64));
                for i in (t..total).step_by(concurrency) {
                    let seq = store.next_order_seq(day).await.expect("number");
                    let no = format!("YC20261201-{seq:06}");
                    let record = format!("{:016x}{:016x}", rng.next(), rng.next());
                    let at = base + chrono::Duration::milliseconds(i as i64);
                    let agent = format!("1{:03}", rng.below(200));
                    let row = OrderRow {
                        no: no.clone(),
                        record: record.clone(),
                        status: "draft".into(),
                        lead_unit: None,
                        due_at: None,
                        owner: Some(agent.clone()),
                        created_at: at,
                        updated_at: at,
                        version: 1,
                        request_type: None,
                        co_units: Vec::new(),
                        counts: KpiCounts::default(),
                        next_check_at: None,
                    };
                    // The shape hotline-workorder's Event serializes to.
                    let event_json = format!(
                        r#"{{"at":"{}","actor":{{"id":"{agent}","role":{{"role":"agent"}}}},"kind":{{"step":"drafted","record":"{record}","agent":"{agent}","caller":"138{:08}","line":"12345"}}}}"#,
                        at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                        rng.below(100_000_000)
                    );
                    let first = EventRow {
                        no,
                        seq: 1,
                        at,
                        actor: agent,
                        step: "drafted".into(),
                        event_json,
                    };
                    store.create_order(&row, &first).await.expect("create");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    total as f64 / started.elapsed().as_secs_f64()
}

struct Facts {
    open: i64,
    overdue: i64,
    co_rows: i64,
    bytes: i64,
}

async fn facts(url: &str, kind: Kind) -> Facts {
    let mut conn = sqlx::AnyConnection::connect(url).await.expect("connect");
    let now_ms = now().timestamp_millis();
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM work_orders WHERE status IN ('dispatched', 'handling', \
         'return_pending')",
    )
    .fetch_one(&mut conn)
    .await
    .expect("open");
    let overdue: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM work_orders WHERE status IN ('dispatched', 'handling', \
         'return_pending') AND due_at < $1",
    )
    .bind(now_ms)
    .fetch_one(&mut conn)
    .await
    .expect("overdue");
    let co_rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM work_order_co_units")
        .fetch_one(&mut conn)
        .await
        .expect("co-units");
    let bytes: i64 = match kind {
        Kind::Sqlite => sqlx::query_scalar(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
        )
        .fetch_one(&mut conn)
        .await
        .expect("size"),
        Kind::Postgres => sqlx::query_scalar("SELECT pg_database_size(current_database())")
            .fetch_one(&mut conn)
            .await
            .expect("size"),
    };
    conn.close().await.expect("close");
    Facts {
        open,
        overdue,
        co_rows,
        bytes,
    }
}

fn main() {
    let args = parse_args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(args));
}

async fn run(args: Args) {
    sqlx::any::install_default_drivers();
    let url = prepare(&args).await;
    delete_created(&url).await;
    let kind = args.kind;
    let facts = facts(&url, kind).await;
    let store = Store::connect_with(&url, &StoreOptions::default())
        .await
        .expect("connect");
    let backend = match kind {
        Kind::Sqlite => "SQLite",
        Kind::Postgres => "PostgreSQL",
    };
    println!(
        "\n{backend}, {} orders ({} open, {} overdue, {} co-unit rows), database {:.2} GB",
        args.orders,
        facts.open,
        facts.overdue,
        facts.co_rows,
        facts.bytes as f64 / 1e9
    );

    let now = now();
    let due_before = one_working_day_later();
    let month_from = beijing_midnight(2026, 10, 1);
    let month_to = beijing_midnight(2026, 11, 1);
    let mut rows: Vec<(String, Vec<Latency>)> = Vec::new();
    let mut notes: Vec<String> = Vec::new();

    // (b) A unit's open orders due within one working day, for units picked uniformly.
    let mut runs = Vec::new();
    let mut found = 0;
    for run in 0..args.runs {
        let mut rng = Rng(0xB0 + run as u64);
        let picks: Vec<usize> = (0..2_000).map(|_| rng.below(80) as usize).collect();
        runs.push(
            time_queries(picks.len(), |i| {
                let store = &store;
                let unit = UNITS[picks[i]];
                async move {
                    store
                        .unit_orders_due(unit, &OPEN, due_before, 100)
                        .await
                        .expect("due")
                        .len()
                }
            })
            .await,
        );
    }
    for unit in [UNITS[0], UNITS[79]] {
        let n = store
            .unit_orders_due(unit, &OPEN, due_before, 100)
            .await
            .expect("due")
            .len();
        found += n;
        notes.push(format!("(b) {unit}: {n} rows (limit 100)"));
    }
    std::hint::black_box(found);
    rows.push(("(b) unit_orders_due, 2 000 queries".into(), runs));

    // (c) Overdue orders counted per unit.
    let mut runs = Vec::new();
    for _ in 0..args.runs {
        runs.push(
            time_queries(200, |_| {
                let store = &store;
                async move {
                    store
                        .overdue_by_unit(&OPEN, now)
                        .await
                        .expect("overdue")
                        .len()
                }
            })
            .await,
        );
    }
    let overdue = store.overdue_by_unit(&OPEN, now).await.expect("overdue");
    notes.push(format!(
        "(c) {} units, {} overdue orders",
        overdue.len(),
        overdue.iter().map(|(_, n)| n).sum::<u64>()
    ));
    rows.push(("(c) overdue_by_unit, 200 queries".into(), runs));

    // (d) October 2026's KPIs per unit.
    let mut runs = Vec::new();
    for _ in 0..args.runs {
        runs.push(
            time_queries(20, |_| {
                let store = &store;
                async move {
                    store
                        .order_kpis(month_from, month_to)
                        .await
                        .expect("kpis")
                        .len()
                }
            })
            .await,
        );
    }
    let kpis = store.order_kpis(month_from, month_to).await.expect("kpis");
    notes.push(format!(
        "(d) {} units, {} dispatched orders in the month",
        kpis.len(),
        kpis.iter().map(|(_, k)| k.dispatched).sum::<u64>()
    ));
    rows.push(("(d) order_kpis for a month, 20 queries".into(), runs));

    // (e) The first page of the orders a unit sees (lead or co-unit).
    let mut runs = Vec::new();
    for run in 0..args.runs {
        let mut rng = Rng(0xE0 + run as u64);
        let picks: Vec<usize> = (0..500).map(|_| rng.below(80) as usize).collect();
        runs.push(
            time_queries(picks.len(), |i| {
                let store = &store;
                let q = OrderQuery {
                    visible_to_unit: Some(UNITS[picks[i]].to_owned()),
                    limit: 50,
                    ..OrderQuery::default()
                };
                async move { store.list_orders(&q).await.expect("list").len() }
            })
            .await,
        );
    }
    rows.push((
        "(e) list_orders visible_to_unit, first 50, 500 queries".into(),
        runs,
    ));
    let mut runs = Vec::new();
    for run in 0..args.runs {
        let mut rng = Rng(0xF0 + run as u64);
        let picks: Vec<usize> = (0..500).map(|_| rng.below(80) as usize).collect();
        runs.push(
            time_queries(picks.len(), |i| {
                let store = &store;
                let q = OrderQuery {
                    visible_to_unit: Some(UNITS[picks[i]].to_owned()),
                    statuses: OPEN.iter().map(|s| s.to_string()).collect(),
                    limit: 50,
                    ..OrderQuery::default()
                };
                async move { store.list_orders(&q).await.expect("list").len() }
            })
            .await,
        );
    }
    rows.push(("(e') the same, open statuses only".into(), runs));

    // (a) Creation, last: it adds and deletes rows.
    let mut rates: Vec<(usize, Vec<f64>)> = Vec::new();
    for concurrency in [1, 8] {
        let mut per_run = Vec::new();
        for run in 0..args.runs {
            let rate = create_orders(&store, 20_000, concurrency, run).await;
            delete_created(&url).await;
            per_run.push(rate);
        }
        rates.push((concurrency, per_run));
    }

    println!(
        "{:<56} {:>9} {:>9} {:>9}",
        "query (median of the runs' figures)", "p50 ms", "p99 ms", "max ms"
    );
    for (name, runs) in &rows {
        let m = median_latency(runs);
        println!("{name:<56} {:>9.2} {:>9.2} {:>9.2}", m.p50, m.p99, m.max);
    }
    for (concurrency, per_run) in &rates {
        println!(
            "(a) create_order ×20 000, concurrency {concurrency:<23} {:>9.0} orders/s (runs: {})",
            median(per_run.clone()),
            per_run
                .iter()
                .map(|r| format!("{r:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!("per run:");
    for (name, runs) in &rows {
        let figures: Vec<String> = runs
            .iter()
            .map(|l| format!("{:.2}/{:.2}/{:.2}", l.p50, l.p99, l.max))
            .collect();
        println!("  {name}: {}", figures.join("  "));
    }
    for note in notes {
        println!("  {note}");
    }
    store.close().await;
}
