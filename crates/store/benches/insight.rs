//! Decision support's tables at a city's scale: three years of order facts loaded through the
//! store's API, then the leaders' dashboard for one month and the hot-topic run's load of the
//! month's facts, timed through the store as the server will call it, on SQLite and PostgreSQL.
//!
//! ```text
//! cargo bench -p hotline-store --bench insight -- [--orders 10000000] [--backend both]
//!     [--runs 3] [--compare-group-by] [--explain]
//! ```
//!
//! Each backend gets a fresh database: a SQLite file in a temporary directory, and a PostgreSQL
//! database created on the server of `TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`; only a loopback server is accepted) and dropped at
//! the end. The facts go in through `Store::upsert_order_facts`, 10 000 a transaction, with the
//! daily counts kept in step as in the service.
//!
//! The data (deterministic): `--orders` facts over the 1 096 Beijing days from 2023-12-01 to
//! 2026-11-30, weekends at 70 % of a weekday, heating complaints from November to March, most
//! calls in office hours; 62 categories under 21 top levels with a falling share, their units
//! (about a fifth of the orders not dispatched: consultations answered on the spot) and annex
//! lines; the 13 counties and districts of 运城 with their shares; phone, WeChat, web, app and
//! letters; consultations about 45 %, complaints a quarter.
//!
//! The dashboard of October 2026 (31 days): breakdowns by request type, category1, area,
//! unit, line and channel, and the daily trend, for the month, the period before (September,
//! 环比) and a year before (October 2025, 同比), then one drill-down page (the biggest area's
//! 50 newest orders): 22 queries one after the other. Each is timed on its own; the dashboard's
//! time is their sum. `--compare-group-by` also times the same figures as a plain GROUP BY of
//! `order_facts` with the best index for it ((day, dimension), built for the measurement and
//! dropped after), to say whether the daily counts are worth keeping.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc, Weekday};
use hotline_store::{FactDimension, OrderFactRow, Store};
use sqlx::{Connection, Executor};

const BEIJING_MS: i64 = 8 * 3_600_000;
const DAY_MS: i64 = 86_400_000;
/// Facts per `upsert_order_facts` call (one transaction).
const BATCH: usize = 10_000;

/// The breakdowns of the dashboard, in its order.
const BREAKDOWNS: [FactDimension; 6] = [
    FactDimension::RequestType,
    FactDimension::Category1,
    FactDimension::Area,
    FactDimension::Unit,
    FactDimension::Line,
    FactDimension::Channel,
];

/// (category path, lead unit, annex line, share, share from November to March).
const CATEGORIES: [(&str, &str, &str, f64, f64); 62] = [
    ("城乡建设/供暖/暖气不热", "市住建局", "12345", 2.0, 30.0),
    ("城乡建设/供暖/收费", "市住建局", "12345", 1.0, 6.0),
    ("城乡建设/物业/服务", "市住建局", "12345", 8.0, 8.0),
    ("城乡建设/物业/收费", "市住建局", "12345", 4.0, 4.0),
    ("城乡建设/房屋/质量", "市住建局", "12345", 2.5, 2.5),
    ("城乡建设/房屋/交房", "市住建局", "12345", 2.0, 2.0),
    ("城乡建设/燃气/供气", "市燃气公司", "12345", 1.5, 4.0),
    ("城乡建设/老旧小区改造", "市住建局", "12345", 1.2, 1.2),
    ("水电/停水", "运城供水公司", "12345", 5.0, 5.0),
    ("水电/水压", "运城供水公司", "12345", 1.5, 1.5),
    ("水电/停电", "国网运城供电公司", "95598", 4.0, 4.0),
    ("水电/电费", "国网运城供电公司", "95598", 1.5, 1.5),
    ("社会保障/养老保险", "市人社局", "12333", 4.0, 4.0),
    ("社会保障/医保/报销", "市医保局", "12393", 3.5, 3.5),
    ("社会保障/医保/参保", "市医保局", "12393", 2.0, 2.0),
    ("社会保障/低保", "市民政局", "12345", 1.5, 1.5),
    ("劳动保障/工资拖欠", "市人社局", "12333", 3.0, 5.0),
    ("劳动保障/劳动合同", "市人社局", "12333", 1.5, 1.5),
    ("住房公积金/提取", "市住房公积金中心", "12329", 2.5, 2.5),
    ("住房公积金/贷款", "市住房公积金中心", "12329", 1.5, 1.5),
    ("交通运输/公交", "市交通局", "12345", 3.0, 3.0),
    ("交通运输/出租车", "市交通局", "12328", 2.0, 2.0),
    ("交通运输/道路破损", "市交通局", "12345", 2.0, 2.0),
    ("交通运输/违章停车", "市公安局交警支队", "12345", 2.5, 2.5),
    ("生态环境/噪音", "市生态环境局", "12369", 3.0, 2.0),
    ("生态环境/油烟", "市生态环境局", "12369", 1.5, 1.5),
    ("生态环境/大气污染", "市生态环境局", "12369", 1.2, 2.0),
    ("生态环境/水污染", "市生态环境局", "12369", 0.6, 0.6),
    ("市场监管/食品安全", "市市场监管局", "12315", 3.0, 3.0),
    ("市场监管/消费纠纷", "市市场监管局", "12315", 4.0, 4.0),
    ("市场监管/价格", "市市场监管局", "12315", 1.5, 1.5),
    ("市场监管/药品", "市市场监管局", "12315", 0.8, 0.8),
    ("城市管理/占道经营", "市城市管理局", "12319", 2.5, 2.0),
    ("城市管理/垃圾清运", "市城市管理局", "12319", 2.5, 2.5),
    ("城市管理/路灯", "市城市管理局", "12319", 1.2, 1.5),
    ("城市管理/违建", "市城市管理局", "12319", 1.5, 1.5),
    ("城市管理/绿化", "市城市管理局", "12319", 0.8, 0.5),
    ("城市管理/排水/井盖", "市城市管理局", "12319", 1.0, 1.0),
    ("教育/入学", "市教育局", "12345", 2.5, 1.5),
    ("教育/校外培训", "市教育局", "12345", 1.2, 1.2),
    ("教育/学校收费", "市教育局", "12345", 0.8, 0.8),
    ("卫生健康/医疗服务", "市卫健委", "12345", 2.5, 2.5),
    ("卫生健康/疫苗接种", "市卫健委", "12345", 1.0, 1.0),
    ("公安/户籍", "市公安局", "12345", 2.5, 2.5),
    ("公安/身份证", "市公安局", "12345", 1.5, 1.5),
    ("公安/治安", "市公安局", "12345", 1.0, 1.0),
    ("不动产/登记", "市自然资源局", "12345", 2.0, 2.0),
    ("不动产/办证", "市自然资源局", "12345", 1.2, 1.2),
    ("税务/发票", "市税务局", "12366", 1.2, 1.2),
    ("税务/个税", "市税务局", "12366", 1.0, 1.5),
    ("农业农村/补贴", "市农业农村局", "12316", 1.0, 1.0),
    ("农业农村/土地流转", "市农业农村局", "12316", 0.6, 0.6),
    ("农业农村/农资", "市农业农村局", "12316", 0.5, 0.3),
    ("通信/宽带", "市通信管理办", "12300", 1.2, 1.2),
    ("通信/资费", "市通信管理办", "12300", 0.8, 0.8),
    ("文化旅游/景区", "市文旅局", "12345", 1.0, 0.4),
    ("文化旅游/旅行社", "市文旅局", "12345", 0.4, 0.2),
    ("应急管理/安全隐患", "市应急管理局", "12350", 1.0, 1.2),
    ("妇女儿童/权益", "市妇联", "12338", 0.5, 0.5),
    ("青少年/权益", "团市委", "12355", 0.3, 0.3),
    (
        "政务服务/办事效率",
        "市行政审批服务管理局",
        "12345",
        1.5,
        1.5,
    ),
    ("政务服务/表扬", "市行政审批服务管理局", "12345", 0.8, 0.8),
];

const AREAS: [(&str, f64); 13] = [
    ("盐湖区", 30.0),
    ("永济市", 8.0),
    ("河津市", 8.0),
    ("临猗县", 7.0),
    ("万荣县", 5.0),
    ("闻喜县", 6.0),
    ("稷山县", 5.0),
    ("新绛县", 6.0),
    ("绛县", 4.0),
    ("垣曲县", 4.0),
    ("夏县", 5.0),
    ("平陆县", 5.0),
    ("芮城县", 7.0),
];

const CHANNELS: [(&str, f64); 5] = [
    ("phone", 72.0),
    ("wechat", 12.0),
    ("web", 8.0),
    ("app", 6.0),
    ("letter", 2.0),
];

const TYPES: [(&str, f64); 7] = [
    ("consultation", 45.0),
    ("help", 12.0),
    ("complaint", 25.0),
    ("report", 4.0),
    ("suggestion", 10.0),
    ("praise", 2.0),
    ("other", 2.0),
];

const STREETS: [&str; 16] = [
    "解放路",
    "中银大道",
    "河东街",
    "红旗街",
    "人民路",
    "槐东路",
    "学苑路",
    "禹都大道",
    "盐湖路",
    "东风路",
    "工农街",
    "机场路",
    "府东街",
    "条山街",
    "凤凰路",
    "舜帝路",
];

const PLACES: [&str; 16] = [
    "阳光花园",
    "锦绣家园",
    "东城名苑",
    "翠园小区",
    "康馨苑",
    "滨河苑",
    "金水湾",
    "御景园",
    "和平小区",
    "电力小区",
    "文化苑",
    "河东小区",
    "盛世华庭",
    "南郊新村",
    "农贸市场",
    "汽车站",
];

const SAYS: [&str; 8] = [
    "市民来电反映{}的问题，{}已经持续一段时间，希望相关部门尽快处理",
    "来电人咨询{}相关政策，想了解{}需要准备哪些材料",
    "市民投诉{}，多次联系{}没有结果，要求给个说法",
    "来电反映{}，附近居民深受影响，{}请尽快派人查看",
    "市民建议加强{}管理，{}方面还有改进空间",
    "来电询问{}的办理进度，{}至今没有答复",
    "市民反映{}情况严重，{}存在安全隐患",
    "来电表扬{}工作人员服务热情，{}办理很快",
];

const DETAILS: [&str; 10] = [
    "这几天",
    "上个月以来",
    "从周一开始",
    "晚上十点后",
    "节假日期间",
    "小区门口",
    "单位",
    "社区",
    "物业",
    "窗口",
];

/// splitmix64: deterministic, so every load of N facts is the same data.
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

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Draws indexes by weight.
struct Weighted {
    cumulative: Vec<f64>,
}

impl Weighted {
    fn new(weights: impl IntoIterator<Item = f64>) -> Weighted {
        let mut total = 0.0;
        let mut cumulative: Vec<f64> = weights
            .into_iter()
            .map(|w| {
                total += w;
                total
            })
            .collect();
        for c in &mut cumulative {
            *c /= total;
        }
        Weighted { cumulative }
    }

    fn pick(&self, rng: &mut Rng) -> usize {
        let x = rng.f();
        self.cumulative
            .partition_point(|&c| c <= x)
            .min(self.cumulative.len() - 1)
    }
}

fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2023, 12, 1).expect("date")
}

/// The day after the last day of the data.
fn end_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 1).expect("date")
}

fn winter(d: NaiveDate) -> bool {
    matches!(d.month(), 11 | 12 | 1 | 2 | 3)
}

fn beijing_midnight(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
        - chrono::Duration::milliseconds(BEIJING_MS)
}

/// The facts, day by day in time order, numbered per day like the service's orders.
struct Generator {
    rng: Rng,
    /// (day, how many orders) for every day, in order.
    days: Vec<(NaiveDate, usize)>,
    day_index: usize,
    pending: std::vec::IntoIter<OrderFactRow>,
    summer: Weighted,
    winter: Weighted,
    areas: Weighted,
    channels: Weighted,
    types: Weighted,
}

impl Generator {
    fn new(n: u64) -> Generator {
        let days: Vec<NaiveDate> = first_day()
            .iter_days()
            .take_while(|d| *d < end_day())
            .collect();
        let weight = |d: &NaiveDate| match d.weekday() {
            Weekday::Sat | Weekday::Sun => 0.7,
            _ => 1.0,
        };
        let total: f64 = days.iter().map(weight).sum();
        // Each day's share, the rounding carried so the days add up to n exactly.
        let mut carried = 0.0;
        let mut given = 0_u64;
        let days = days
            .iter()
            .map(|d| {
                carried += n as f64 * weight(d) / total;
                let upto = (carried.round() as u64).min(n);
                let count = (upto - given) as usize;
                given = upto;
                (*d, count)
            })
            .collect();
        Generator {
            rng: Rng(0x5eed_0009_1234_5678),
            days,
            day_index: 0,
            pending: Vec::new().into_iter(),
            summer: Weighted::new(CATEGORIES.iter().map(|c| c.3)),
            winter: Weighted::new(CATEGORIES.iter().map(|c| c.4)),
            areas: Weighted::new(AREAS.iter().map(|a| a.1)),
            channels: Weighted::new(CHANNELS.iter().map(|c| c.1)),
            types: Weighted::new(TYPES.iter().map(|t| t.1)),
        }
    }

    fn day(&mut self, day: NaiveDate, count: usize) -> Vec<OrderFactRow> {
        let rng = &mut self.rng;
        let midnight = beijing_midnight(day).timestamp_millis();
        // Office hours (08:00–20:00) for most calls, the rest any time.
        let mut times: Vec<i64> = (0..count)
            .map(|_| {
                if rng.f() < 0.85 {
                    midnight + 8 * 3_600_000 + (rng.f() * 12.0 * 3_600_000.0) as i64
                } else {
                    midnight + (rng.f() * DAY_MS as f64) as i64
                }
            })
            .collect();
        times.sort_unstable();
        let categories = if winter(day) {
            &self.winter
        } else {
            &self.summer
        };
        let stamp = day.format("%Y%m%d").to_string();
        times
            .into_iter()
            .enumerate()
            .map(|(i, at)| {
                let (category, unit, line, _, _) = CATEGORIES[categories.pick(rng)];
                let (area, _) = AREAS[self.areas.pick(rng)];
                let channel = CHANNELS[self.channels.pick(rng)].0;
                let request_type = TYPES[self.types.pick(rng)].0;
                let dispatched = match request_type {
                    "consultation" => rng.f() < 0.55,
                    "praise" => rng.f() < 0.3,
                    _ => rng.f() < 0.92,
                };
                // Most calls come in on 12345 whatever they are about.
                let line = if line != "12345" && rng.f() < 0.3 {
                    line
                } else {
                    "12345"
                };
                let what = category.rsplit('/').next().unwrap_or(category);
                let say = SAYS[rng.below(SAYS.len())];
                let detail = DETAILS[rng.below(DETAILS.len())];
                let place = PLACES[rng.below(PLACES.len())];
                let text = say
                    .replacen("{}", &format!("{place}{what}"), 1)
                    .replacen("{}", detail, 1);
                OrderFactRow {
                    no: format!("YC{stamp}-{:06}", i + 1),
                    at: DateTime::from_timestamp_millis(at).expect("time"),
                    channel: channel.into(),
                    request_type: request_type.into(),
                    category: category.into(),
                    area: area.into(),
                    address: format!(
                        "{area}{}{place}{}号楼",
                        STREETS[rng.below(STREETS.len())],
                        1 + rng.below(30)
                    ),
                    unit: dispatched.then(|| unit.to_owned()),
                    line: line.into(),
                    text,
                }
            })
            .collect()
    }
}

impl Iterator for Generator {
    type Item = OrderFactRow;

    fn next(&mut self) -> Option<OrderFactRow> {
        loop {
            if let Some(f) = self.pending.next() {
                return Some(f);
            }
            let (day, count) = *self.days.get(self.day_index)?;
            self.day_index += 1;
            self.pending = self.day(day, count).into_iter();
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sqlite,
    Postgres,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Sqlite => "SQLite",
            Kind::Postgres => "PostgreSQL",
        }
    }
}

struct Args {
    orders: u64,
    kinds: Vec<Kind>,
    runs: usize,
    compare_group_by: bool,
    explain: bool,
}

fn parse_args() -> Args {
    let mut orders = 10_000_000;
    let mut kinds = vec![Kind::Sqlite, Kind::Postgres];
    let mut runs = 3;
    let mut compare_group_by = false;
    let mut explain = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| panic!("{name} needs a value"))
        };
        match arg.as_str() {
            "--orders" => orders = value("--orders").parse().expect("--orders N"),
            "--runs" => runs = value("--runs").parse().expect("--runs N"),
            "--backend" => {
                kinds = match value("--backend").as_str() {
                    "sqlite" => vec![Kind::Sqlite],
                    "postgres" => vec![Kind::Postgres],
                    "both" => vec![Kind::Sqlite, Kind::Postgres],
                    other => panic!("--backend sqlite|postgres|both, not {other}"),
                }
            }
            "--compare-group-by" => compare_group_by = true,
            "--explain" => explain = true,
            // cargo bench passes --bench to every bench binary.
            "--bench" => {}
            other => panic!(
                "unknown argument {other}; usage: [--orders N] [--backend sqlite|postgres|both] \
                 [--runs 3] [--compare-group-by] [--explain]"
            ),
        }
    }
    Args {
        orders,
        kinds,
        runs: runs.max(1),
        compare_group_by,
        explain,
    }
}

fn pg_admin_url() -> String {
    std::env::var("TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Refuses any PostgreSQL server but a loopback one: the bench creates and drops databases.
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

async fn admin(sql: String) {
    let mut conn = sqlx::AnyConnection::connect(&pg_admin_url())
        .await
        .expect("connect to the PostgreSQL of TEST_PG_URL");
    conn.execute(sqlx::AssertSqlSafe(sql))
        .await
        .expect("admin statement");
    conn.close().await.expect("close");
}

/// A fresh database of `kind`, dropped (PostgreSQL) or deleted (SQLite) with the value.
struct BenchDb {
    kind: Kind,
    url: String,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl BenchDb {
    async fn create(kind: Kind) -> BenchDb {
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("insight.db").display()
                );
                BenchDb {
                    kind,
                    url,
                    pg_name: None,
                    _dir: Some(dir),
                }
            }
            Kind::Postgres => {
                let base = pg_admin_url();
                check_loopback(&base);
                let name = format!("bench_insight_{}", std::process::id());
                admin(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                admin(format!("CREATE DATABASE {name}")).await;
                BenchDb {
                    kind,
                    url: pg_url_for(&base, &name),
                    pg_name: Some(name),
                    _dir: None,
                }
            }
        }
    }

    async fn drop_database(&self) {
        if let Some(name) = &self.pg_name {
            admin(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        }
    }

    async fn bytes(&self) -> u64 {
        match self.kind {
            Kind::Sqlite => {
                let path = self
                    .url
                    .trim_start_matches("sqlite://")
                    .split('?')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                ["", "-wal"]
                    .iter()
                    .filter_map(|s| std::fs::metadata(format!("{path}{s}")).ok())
                    .map(|m| m.len())
                    .sum()
            }
            Kind::Postgres => {
                let mut conn = sqlx::AnyConnection::connect(&self.url)
                    .await
                    .expect("connect");
                let n: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
                    .fetch_one(&mut conn)
                    .await
                    .expect("size");
                conn.close().await.expect("close");
                n as u64
            }
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn fmt_runs(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.1}"))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// A month of the dashboard: its first and last day.
#[derive(Debug, Clone, Copy)]
struct Month {
    label: &'static str,
    first: NaiveDate,
    last: NaiveDate,
}

fn month(label: &'static str, y: i32, m: u32) -> Month {
    let first = NaiveDate::from_ymd_opt(y, m, 1).expect("date");
    let next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)
    }
    .expect("date");
    Month {
        label,
        first,
        last: next.pred_opt().expect("date"),
    }
}

fn months() -> [Month; 3] {
    [
        month("2026-10", 2026, 10),
        month("2026-09 (环比)", 2026, 9),
        month("2025-10 (同比)", 2025, 10),
    ]
}

/// One run of the dashboard through the store: each query's name and time, and the number of
/// rows each returned.
async fn dashboard(store: &Store) -> Vec<(String, Duration, usize)> {
    let mut out = Vec::new();
    for m in months() {
        for dim in BREAKDOWNS {
            let started = Instant::now();
            let rows = store
                .count_by(dim, m.first, m.last)
                .await
                .expect("count_by");
            out.push((
                format!("count_by {} {}", dim.name(), m.label),
                started.elapsed(),
                rows.len(),
            ));
        }
        let started = Instant::now();
        let trend = store
            .count_by_day(m.first, m.last, None)
            .await
            .expect("trend");
        out.push((
            format!("count_by_day {}", m.label),
            started.elapsed(),
            trend.len(),
        ));
    }
    let m = months()[0];
    let top = store
        .count_by(FactDimension::Area, m.first, m.last)
        .await
        .expect("areas");
    let started = Instant::now();
    let page = store
        .fact_orders(FactDimension::Area, &top[0].0, m.first, m.last, 50, None)
        .await
        .expect("drill-down");
    out.push((
        format!("fact_orders area={} first 50", top[0].0),
        started.elapsed(),
        page.len(),
    ));
    out
}

/// The same figures as plain GROUP BYs of the facts (the design without daily counts).
async fn dashboard_group_by(pool: &sqlx::AnyPool) -> Vec<(String, Duration, usize)> {
    let mut out = Vec::new();
    let day = |d: NaiveDate| d.year() * 10_000 + d.month() as i32 * 100 + d.day() as i32;
    for m in months() {
        for dim in BREAKDOWNS {
            let column = dim.name();
            let sql = format!(
                "SELECT {column} AS k, COUNT(*) AS n FROM order_facts \
                 WHERE day >= $1 AND day <= $2 GROUP BY {column} ORDER BY n DESC, k"
            );
            let started = Instant::now();
            let rows: Vec<(Option<String>, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(day(m.first))
                .bind(day(m.last))
                .fetch_all(pool)
                .await
                .expect("group by");
            out.push((
                format!("GROUP BY {column} {}", m.label),
                started.elapsed(),
                rows.len(),
            ));
        }
        let started = Instant::now();
        let rows: Vec<(i32, i64)> = sqlx::query_as(
            "SELECT day, COUNT(*) AS n FROM order_facts WHERE day >= $1 AND day <= $2 \
             GROUP BY day ORDER BY day",
        )
        .bind(day(m.first))
        .bind(day(m.last))
        .fetch_all(pool)
        .await
        .expect("trend");
        out.push((
            format!("GROUP BY day {}", m.label),
            started.elapsed(),
            rows.len(),
        ));
    }
    out
}

/// Prints each query's runs and median, and the dashboard's total per run and median.
fn report(title: &str, runs: &[Vec<(String, Duration, usize)>]) -> f64 {
    println!("  {title} (ms; run 1 / 2 / 3 … then the median):");
    let n = runs[0].len();
    for i in 0..n {
        let times: Vec<f64> = runs.iter().map(|r| ms(r[i].1)).collect();
        println!(
            "    {:<48} {:>5} rows  {:>24}  median {:>8.1}",
            runs[0][i].0,
            runs[0][i].2,
            fmt_runs(&times),
            median(times.clone())
        );
    }
    let totals: Vec<f64> = runs
        .iter()
        .map(|r| r.iter().map(|q| ms(q.1)).sum())
        .collect();
    let m = median(totals.clone());
    println!(
        "    {:<48} {:>5}       {:>24}  median {:>8.1}",
        "TOTAL",
        n,
        fmt_runs(&totals),
        m
    );
    m
}

async fn explain(kind: Kind, pool: &sqlx::AnyPool) {
    let queries = [
        (
            "count_by",
            "SELECT key, SUM(count) AS n FROM order_fact_daily WHERE dim = 'unit' \
             AND day >= 20261001 AND day <= 20261031 GROUP BY key ORDER BY n DESC, key",
        ),
        (
            "count_by_day",
            "SELECT day, SUM(count) AS n FROM order_fact_daily WHERE dim = 'channel' \
             AND day >= 20261001 AND day <= 20261031 GROUP BY day",
        ),
        (
            "fact_orders",
            "SELECT no FROM order_facts WHERE area = '夏县' AND at >= 1759248000000 \
             AND at <= 1760955315000 AND (at, no) < (1760955315000, 'YC20261020-000100') \
             ORDER BY at DESC, no DESC LIMIT 50",
        ),
        (
            "fact_orders, unit IS NULL",
            "SELECT no FROM order_facts WHERE unit IS NULL AND at >= 1759248000000 \
             AND at < 1761926400000 ORDER BY at DESC, no DESC LIMIT 50",
        ),
        (
            "order_facts_between",
            "SELECT no, at, channel, request_type, category, area, address, unit, line, text \
             FROM order_facts WHERE at >= 1759248000000 AND at < 1761926400000 ORDER BY at, no",
        ),
    ];
    for (name, sql) in queries {
        let sql = match kind {
            Kind::Sqlite => format!("EXPLAIN QUERY PLAN {sql}"),
            Kind::Postgres => format!("EXPLAIN {sql}"),
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(pool)
            .await
            .expect("explain");
        println!("  plan of {name}:");
        for row in rows {
            use sqlx::Row;
            let line: String = match kind {
                Kind::Sqlite => row.try_get("detail").expect("detail"),
                Kind::Postgres => row.try_get(0).expect("plan"),
            };
            println!("    {line}");
        }
    }
}

async fn bench(kind: Kind, args: &Args) {
    println!(
        "\n== {} — {} order facts, {} to {} ==",
        kind.name(),
        args.orders,
        first_day(),
        end_day().pred_opt().expect("date")
    );
    let db = BenchDb::create(kind).await;
    let store = Store::connect(&db.url).await.expect("connect and migrate");

    // The load, through the store's API.
    let started = Instant::now();
    let mut generator = Generator::new(args.orders);
    let mut done = 0_u64;
    let mut next_report = 1_000_000;
    let mut generating = Duration::ZERO;
    loop {
        let t = Instant::now();
        let batch: Vec<OrderFactRow> = generator.by_ref().take(BATCH).collect();
        generating += t.elapsed();
        if batch.is_empty() {
            break;
        }
        store.upsert_order_facts(&batch).await.expect("load");
        done += batch.len() as u64;
        if done >= next_report {
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "  loaded {done} facts in {secs:.0} s ({:.0}/s)",
                done as f64 / secs
            );
            next_report += 1_000_000;
        }
    }
    let load = started.elapsed();
    println!(
        "  load: {:.1} s ({:.0} facts/s; generating them {:.1} s of it), through \
         upsert_order_facts in batches of {BATCH}",
        load.as_secs_f64(),
        args.orders as f64 / load.as_secs_f64(),
        generating.as_secs_f64()
    );
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(2)
        .connect(&db.url)
        .await
        .expect("pool");
    if kind == Kind::Postgres {
        // What autovacuum does after a bulk load anyway (statistics, the visibility map for
        // index-only scans), done before the timing.
        let t = Instant::now();
        pool.execute("VACUUM ANALYZE").await.expect("vacuum");
        println!("  VACUUM ANALYZE: {:.1} s", t.elapsed().as_secs_f64());
    }
    let daily: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM order_fact_daily")
        .fetch_one(&pool)
        .await
        .expect("daily rows");
    println!(
        "  database: {:.2} GB; {daily} rows of daily counts",
        db.bytes().await as f64 / 1e9
    );

    // The figures agree with the facts (a spot check at scale).
    let all = store
        .count_by(FactDimension::Channel, first_day(), end_day())
        .await
        .expect("all");
    assert_eq!(
        all.iter().map(|(_, n)| n).sum::<i64>(),
        args.orders as i64,
        "every fact counted once"
    );
    let m = months()[0];
    let from = beijing_midnight(m.first);
    let to = beijing_midnight(m.last.succ_opt().expect("date"));
    let in_month: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM order_facts WHERE at >= $1 AND at < $2")
            .bind(from.timestamp_millis())
            .bind(to.timestamp_millis())
            .fetch_one(&pool)
            .await
            .expect("month");
    let trend = store
        .count_by_day(m.first, m.last, None)
        .await
        .expect("trend");
    assert_eq!(trend.iter().map(|(_, n)| n).sum::<i64>(), in_month);

    if args.explain {
        explain(kind, &pool).await;
    }

    let mut runs = Vec::new();
    for _ in 0..args.runs {
        runs.push(dashboard(&store).await);
    }
    report(
        "dashboard of 2026-10 through the store (daily counts)",
        &runs,
    );
    // The 21 figures without the drill-down page, to compare with the GROUP BYs.
    let figures = median(
        runs.iter()
            .map(|r| r[..r.len() - 1].iter().map(|q| ms(q.1)).sum())
            .collect(),
    );

    // A rare key's drill-down page (the worst case for an index range: few entries), and the
    // next page after a cursor.
    let rare = store
        .count_by(FactDimension::Category, m.first, m.last)
        .await
        .expect("categories");
    let (rare_key, rare_n) = rare.last().expect("a category").clone();
    let mut pages = Vec::new();
    for _ in 0..args.runs {
        let t = Instant::now();
        let first = store
            .fact_orders(
                FactDimension::Category,
                &rare_key,
                m.first,
                m.last,
                50,
                None,
            )
            .await
            .expect("page");
        let t1 = t.elapsed();
        let t = Instant::now();
        let second = store
            .fact_orders(
                FactDimension::Category,
                &rare_key,
                m.first,
                m.last,
                50,
                first.last().map(String::as_str),
            )
            .await
            .expect("page");
        pages.push((ms(t1), ms(t.elapsed()), first.len() + second.len()));
    }
    println!(
        "  drill-down of the rarest category ({rare_key}, {rare_n} orders): first page {} \
         ms, the next {} ms (medians {:.1} / {:.1})",
        fmt_runs(&pages.iter().map(|p| p.0).collect::<Vec<_>>()),
        fmt_runs(&pages.iter().map(|p| p.1).collect::<Vec<_>>()),
        median(pages.iter().map(|p| p.0).collect()),
        median(pages.iter().map(|p| p.1).collect()),
    );

    // The hot-topic run's load of the month.
    let mut loads = Vec::new();
    let mut rows = 0;
    for _ in 0..args.runs {
        let t = Instant::now();
        let facts = store.order_facts_between(from, to).await.expect("month");
        loads.push(ms(t.elapsed()));
        rows = facts.len();
        std::hint::black_box(facts);
    }
    assert_eq!(rows as i64, in_month);
    println!(
        "  order_facts_between 2026-10 ({rows} facts): {} ms, median {:.1} ms",
        fmt_runs(&loads),
        median(loads.clone())
    );

    if args.compare_group_by {
        let t = Instant::now();
        for dim in BREAKDOWNS {
            let sql = format!(
                "CREATE INDEX bench_day_{0} ON order_facts (day, {0})",
                dim.name()
            );
            pool.execute(sqlx::AssertSqlSafe(sql)).await.expect("index");
        }
        if kind == Kind::Postgres {
            pool.execute("VACUUM ANALYZE order_facts")
                .await
                .expect("vacuum");
        }
        println!(
            "  built 6 (day, dimension) indexes for the GROUP BY comparison in {:.0} s; \
             database now {:.2} GB",
            t.elapsed().as_secs_f64(),
            db.bytes().await as f64 / 1e9
        );
        if args.explain {
            let sql = match kind {
                Kind::Sqlite => {
                    "EXPLAIN QUERY PLAN SELECT unit AS k, COUNT(*) AS n FROM order_facts WHERE day >= 20261001 AND day <= 20261031 GROUP BY unit ORDER BY n DESC, k"
                }
                Kind::Postgres => {
                    "EXPLAIN SELECT unit AS k, COUNT(*) AS n FROM order_facts WHERE day >= 20261001 AND day <= 20261031 GROUP BY unit ORDER BY n DESC, k"
                }
            };
            for row in sqlx::query(sql).fetch_all(&pool).await.expect("explain") {
                use sqlx::Row;
                let line: String = match kind {
                    Kind::Sqlite => row.try_get("detail").expect("detail"),
                    Kind::Postgres => row.try_get(0).expect("plan"),
                };
                println!("    {line}");
            }
        }
        let mut runs = Vec::new();
        for _ in 0..args.runs {
            runs.push(dashboard_group_by(&pool).await);
        }
        let plain = report("the same figures by plain GROUP BY of order_facts", &runs);
        println!(
            "  the 21 figures: {figures:.1} ms from the daily counts, {plain:.1} ms by \
             GROUP BY (medians)"
        );
        for dim in BREAKDOWNS {
            let sql = format!("DROP INDEX bench_day_{}", dim.name());
            pool.execute(sqlx::AssertSqlSafe(sql)).await.expect("drop");
        }
    }

    let mut by_area: HashMap<String, i64> = HashMap::new();
    for (k, n) in store
        .count_by(FactDimension::Area, m.first, m.last)
        .await
        .expect("areas")
    {
        by_area.insert(k, n);
    }
    println!(
        "  the month: {in_month} facts, {} areas, 盐湖区 {}",
        by_area.len(),
        by_area.get("盐湖区").copied().unwrap_or(0)
    );
    pool.close().await;
    store.close().await;
    db.drop_database().await;
}

fn main() {
    let args = parse_args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        sqlx::any::install_default_drivers();
        for kind in args.kinds.clone() {
            bench(kind, &args).await;
        }
    });
}
