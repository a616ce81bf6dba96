//! Counts by a dimension over a period, with the period before (环比) and a year before
//! (同比), and the orders behind every count (drill-down); trends by day, week or month; the
//! top issues.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::facts::OrderFact;
use crate::period::{Granularity, Period};

/// What the orders are counted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Dimension {
    Channel,
    RequestType,
    /// The category tree cut at `depth` parts (1: the top level).
    Category {
        depth: usize,
    },
    Area,
    /// The lead unit; orders not yet dispatched count under "".
    Unit,
    Line,
}

impl Dimension {
    pub fn key<'a>(&self, f: &'a OrderFact) -> &'a str {
        match *self {
            Dimension::Channel => &f.channel,
            Dimension::RequestType => &f.request_type,
            Dimension::Category { depth } => f.category_at(depth),
            Dimension::Area => &f.area,
            Dimension::Unit => f.unit.as_deref().unwrap_or(""),
            Dimension::Line => &f.line,
        }
    }
}

/// One number of a breakdown and where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub key: String,
    pub count: u64,
    /// Its share of the period's orders.
    pub share: f64,
    /// The same key in the period before and a year before.
    pub previous: u64,
    pub year_before: u64,
    /// The orders counted, newest first (drill-down).
    pub orders: Vec<String>,
}

impl Cell {
    /// Change against the period before, as a ratio (0.25 = +25 %); none from zero.
    pub fn period_on_period(&self) -> Option<f64> {
        change(self.count, self.previous)
    }

    /// Change against the same period a year before.
    pub fn year_on_year(&self) -> Option<f64> {
        change(self.count, self.year_before)
    }
}

/// (now − before) / before; none when there was nothing before.
pub fn change(now: u64, before: u64) -> Option<f64> {
    (before > 0).then(|| (now as f64 - before as f64) / before as f64)
}

/// The period's orders counted by `dim`, biggest first (ties by key), each with its two
/// comparisons and its orders.
pub fn breakdown(facts: &[OrderFact], period: Period, dim: Dimension) -> Vec<Cell> {
    let (prev, year) = (period.previous(), period.year_before());
    let mut now: BTreeMap<&str, Vec<&OrderFact>> = BTreeMap::new();
    let mut before: BTreeMap<&str, u64> = BTreeMap::new();
    let mut last_year: BTreeMap<&str, u64> = BTreeMap::new();
    let mut total = 0u64;
    for f in facts {
        let key = dim.key(f);
        if period.contains(f.at) {
            now.entry(key).or_default().push(f);
            total += 1;
        } else if prev.contains(f.at) {
            *before.entry(key).or_default() += 1;
        } else if year.contains(f.at) {
            *last_year.entry(key).or_default() += 1;
        }
    }
    let mut cells: Vec<Cell> = now
        .into_iter()
        .map(|(key, mut fs)| {
            fs.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.no.cmp(&b.no)));
            Cell {
                key: key.to_string(),
                count: fs.len() as u64,
                share: fs.len() as f64 / total.max(1) as f64,
                previous: before.get(key).copied().unwrap_or(0),
                year_before: last_year.get(key).copied().unwrap_or(0),
                orders: fs.iter().map(|f| f.no.clone()).collect(),
            }
        })
        .collect();
    cells.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    cells
}

/// One point of a trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub period: Period,
    pub label: String,
    pub count: u64,
}

/// Orders per period of `granularity` over `periods` (those with none count 0), optionally
/// only those whose `dim` is `key`.
pub fn trend(
    facts: &[OrderFact],
    granularity: Granularity,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    filter: Option<(Dimension, &str)>,
) -> Vec<Point> {
    let periods = Period::series(granularity, from, to);
    let mut counts: BTreeMap<Period, u64> = periods.iter().map(|p| (*p, 0)).collect();
    for f in facts {
        if let Some((dim, key)) = filter
            && dim.key(f) != key
        {
            continue;
        }
        let p = Period::containing(granularity, crate::period::day_of(f.at));
        if let Some(c) = counts.get_mut(&p) {
            *c += 1;
        }
    }
    counts
        .into_iter()
        .map(|(period, count)| Point {
            label: period.label(),
            period,
            count,
        })
        .collect()
}

/// The top issues of the period: the most frequent finest categories, with how many of them
/// are complaints (投诉) — what a weekly brief lists first.
pub fn top_issues(facts: &[OrderFact], period: Period, limit: usize) -> Vec<(Cell, u64)> {
    let cells = breakdown(facts, period, Dimension::Category { depth: 0 });
    let complaints: BTreeMap<&str, u64> = facts
        .iter()
        .filter(|f| period.contains(f.at) && f.request_type == "complaint")
        .fold(BTreeMap::new(), |mut m, f| {
            *m.entry(f.category.as_str()).or_default() += 1;
            m
        });
    cells
        .into_iter()
        .take(limit)
        .map(|c| {
            let n = complaints.get(c.key.as_str()).copied().unwrap_or(0);
            (c, n)
        })
        .collect()
}
