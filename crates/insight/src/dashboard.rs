//! What the leaders' dashboard shows for a period, as one serializable value: the total with
//! its comparisons, the daily trend beside the period before, the breakdowns (type, unit,
//! area tiles, channel, line, top-level category), hot words, clusters and the open alerts.
//! [`compute`] makes it from order facts (tests, the synthetic month, small centers); the
//! service fills the same value from the store's aggregates and its cached hot-topic run.

use serde::{Deserialize, Serialize};

use crate::cluster::{Cluster, ClusterConfig, clusters};
use crate::cube::{Cell, Dimension, Point, breakdown, trend};
use crate::facts::OrderFact;
use crate::period::{Granularity, Period};
use crate::synth::AREAS;
use crate::terms::{HotTerm, TermsConfig, hot_terms};
use crate::warning::Alert;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub period: Period,
    pub label: String,
    pub total: u64,
    pub previous: u64,
    pub year_before: u64,
    /// Per day of the period, and per day of the period before (aligned by position).
    pub trend: Vec<Point>,
    pub trend_previous: Vec<Point>,
    pub types: Vec<Cell>,
    pub categories: Vec<Cell>,
    pub units: Vec<Cell>,
    /// Every county and district, in the map's order, with none left out for having no
    /// requests.
    pub areas: Vec<Cell>,
    pub channels: Vec<Cell>,
    pub lines: Vec<Cell>,
    pub hot: Vec<HotTerm>,
    pub clusters: Vec<Cluster>,
    pub alerts: Vec<Alert>,
}

/// How many keys a bar chart shows (the rest are in the drill-down).
pub const BARS: usize = 10;

/// The counties and districts in the order of the map-like grid (north to south, west to
/// east, roughly as they lie).
pub const AREA_GRID: [&str; 13] = [
    "河津市",
    "稷山县",
    "新绛县",
    "绛县",
    "万荣县",
    "闻喜县",
    "垣曲县",
    "临猗县",
    "盐湖区",
    "夏县",
    "永济市",
    "芮城县",
    "平陆县",
];

/// Keeps the drill-down lists short in the dashboard's value (the full lists come from the
/// drill-down route).
fn trim(mut cells: Vec<Cell>, keep: usize, orders: usize) -> Vec<Cell> {
    cells.truncate(keep);
    for c in &mut cells {
        c.orders.truncate(orders);
    }
    cells
}

pub fn compute(facts: &[OrderFact], period: Period, alerts: Vec<Alert>) -> Dashboard {
    let now: Vec<&OrderFact> = facts.iter().filter(|f| period.contains(f.at)).collect();
    let before = period.previous();
    let base: Vec<&OrderFact> = facts.iter().filter(|f| before.contains(f.at)).collect();
    let year = period.year_before();
    let (a, b) = period.days();
    let (pa, pb) = before.days();
    let last = |d: chrono::NaiveDate| d - chrono::Duration::days(1);
    let areas_all = breakdown(facts, period, Dimension::Area);
    let areas = AREA_GRID
        .iter()
        .map(|name| {
            areas_all
                .iter()
                .find(|c| c.key == *name)
                .cloned()
                .unwrap_or(Cell {
                    key: name.to_string(),
                    count: 0,
                    share: 0.0,
                    previous: 0,
                    year_before: 0,
                    orders: vec![],
                })
        })
        .map(|mut c| {
            c.orders.truncate(20);
            c
        })
        .collect();
    debug_assert!(AREAS.iter().all(|(n, _)| AREA_GRID.contains(n)));
    let mut hot_cfg = TermsConfig::default();
    hot_cfg.limit = 30;
    let mut hot = hot_terms(&now, &base, &hot_cfg);
    for t in &mut hot {
        t.orders.truncate(20);
    }
    Dashboard {
        period,
        label: period.label(),
        total: now.len() as u64,
        previous: base.len() as u64,
        year_before: facts.iter().filter(|f| year.contains(f.at)).count() as u64,
        trend: trend(facts, Granularity::Day, a, last(b), None),
        trend_previous: trend(facts, Granularity::Day, pa, last(pb), None),
        types: trim(breakdown(facts, period, Dimension::RequestType), BARS, 20),
        categories: trim(
            breakdown(facts, period, Dimension::Category { depth: 1 }),
            BARS,
            20,
        ),
        units: trim(breakdown(facts, period, Dimension::Unit), BARS, 20),
        areas,
        channels: trim(breakdown(facts, period, Dimension::Channel), BARS, 20),
        lines: trim(breakdown(facts, period, Dimension::Line), BARS, 20),
        hot,
        clusters: clusters(&now, &ClusterConfig::default())
            .into_iter()
            .take(5)
            .collect(),
        alerts,
    }
}
