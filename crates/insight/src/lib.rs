//! Decision support and early warning (issue 9, requirements D1 and D2), as pure functions
//! over order facts: no database, no clock, no tokenizer (the words of each order come in with
//! it), so every rule is tested on a manual calendar and the same code serves a synthetic
//! month, a live service and a benchmark.
//!
//! - [`period`]: days, weeks and months in Beijing time, the period before (环比) and the same
//!   period a year before (同比).
//! - [`cube`]: counts by a dimension (channel, request type, category level, area, unit, annex
//!   line) with both comparisons and the orders behind every number (drill-down); trends.
//! - [`terms`]: the period's hot words, scored against a baseline period, with their growth.
//! - [`cluster`]: near-duplicate requests (the same issue at the same place) as clusters.
//! - [`warning`]: rules (sensitive words, the same address or issue repeated N times in M
//!   days, a category above its baseline by K standard deviations), the alerts they raise,
//!   and the book that keeps an alert from repeating until its cause changes.
//! - [`dashboard`]: what the leaders' dashboard shows for a period, as one value.
//! - [`brief`]: the weekly or monthly brief (简报) for the leaders as one printable HTML page.
//! - [`synth`]: a seeded synthetic month of orders with the mixes of real 12345 reports, and
//!   optional planted events (a cluster, a spike, sensitive requests).

pub mod brief;
pub mod cluster;
pub mod cube;
pub mod dashboard;
pub mod facts;
pub mod period;
pub mod synth;
pub mod terms;
pub mod warning;

pub use facts::OrderFact;
pub use period::{Granularity, Period};
