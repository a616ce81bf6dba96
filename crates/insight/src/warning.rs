//! Early warning (风险监测预警, D2): rules from config, the alerts they raise over a window of
//! orders, and the book that keeps each alert once per cause: a cause alerts again only when
//! it changes (more orders), and an alert is acknowledged and closed with a note.
//!
//! Three kinds of rule:
//! - **sensitive**: a phrase in a request (燃气泄漏, 集体上访, 讨薪…), once per order; a rule may
//!   hold only in some months (wage arrears before the Spring Festival);
//! - **repeat**: the same address, or the same issue in the same area, N times in M days;
//! - **spike**: a category's orders on a day above its baseline days' mean by K standard
//!   deviations. The baseline is the days of the same kind (weekdays for a weekday, weekends
//!   for a weekend: a Monday is not a spike over a Sunday), with a Poisson floor on the
//!   spread, so a quiet category's flat baseline is not a hair trigger.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::facts::OrderFact;
use crate::period::{day_of, midnight};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 关注
    Notice,
    /// 预警
    Warning,
    /// 紧急
    Critical,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensitiveRule {
    pub name: String,
    pub level: Level,
    pub phrases: Vec<String>,
    /// Only in these months (1–12); empty: all year.
    #[serde(default)]
    pub months: Vec<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepeatKey {
    /// The same address (as written, spaces and punctuation ignored).
    Address,
    /// The same finest category in the same area.
    Issue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepeatRule {
    pub name: String,
    pub level: Level,
    pub by: RepeatKey,
    pub times: usize,
    pub days: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpikeRule {
    pub name: String,
    pub level: Level,
    /// The category level compared (1: the top of the tree).
    pub depth: usize,
    /// Standard deviations above the baseline mean.
    pub k: f64,
    pub baseline_days: u32,
    /// A day with fewer orders than this is never a spike.
    pub min_count: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    #[serde(default)]
    pub sensitive: Vec<SensitiveRule>,
    #[serde(default)]
    pub repeats: Vec<RepeatRule>,
    #[serde(default)]
    pub spikes: Vec<SpikeRule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    Sensitive,
    Repeat,
    Spike,
}

/// What a rule found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// What the alert is about: the rule and its key (an order, an address, a category and
    /// day). One cause, one alert.
    pub cause: String,
    pub rule: String,
    pub kind: AlertKind,
    pub level: Level,
    /// A line for the recipients, in Chinese.
    pub title: String,
    /// The orders that raised it, oldest first.
    pub orders: Vec<String>,
    pub at: DateTime<Utc>,
}

fn squash(address: &str) -> String {
    address.chars().filter(|c| c.is_alphanumeric()).collect()
}

fn sorted_orders(mut fs: Vec<&OrderFact>) -> Vec<String> {
    fs.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.no.cmp(&b.no)));
    fs.iter().map(|f| f.no.clone()).collect()
}

/// Every alert the rules find in `facts` as of `now` (repeat windows end at `now`; spikes are
/// for the Beijing day of `now`, against the days before it).
pub fn evaluate(rules: &Rules, facts: &[OrderFact], now: DateTime<Utc>) -> Vec<Alert> {
    let mut out = Vec::new();
    let month = day_of(now).month();
    for r in &rules.sensitive {
        if !r.months.is_empty() && !r.months.contains(&month) {
            continue;
        }
        for f in facts.iter().filter(|f| f.at <= now) {
            if let Some(p) = r.phrases.iter().find(|p| f.text.contains(p.as_str())) {
                out.push(Alert {
                    cause: format!("sensitive:{}:{}", r.name, f.no),
                    rule: r.name.clone(),
                    kind: AlertKind::Sensitive,
                    level: r.level,
                    title: format!("{}：工单 {}（{}）提到“{p}”", r.name, f.no, f.area),
                    orders: vec![f.no.clone()],
                    at: now,
                });
            }
        }
    }
    for r in &rules.repeats {
        let from = now - Duration::days(i64::from(r.days));
        let mut groups: BTreeMap<String, Vec<&OrderFact>> = BTreeMap::new();
        for f in facts.iter().filter(|f| from < f.at && f.at <= now) {
            let key = match r.by {
                RepeatKey::Address => squash(&f.address),
                RepeatKey::Issue => format!("{}|{}", f.area, f.category),
            };
            if !key.is_empty() && key != "|" {
                groups.entry(key).or_default().push(f);
            }
        }
        for (key, fs) in groups {
            if fs.len() < r.times {
                continue;
            }
            let what = match r.by {
                RepeatKey::Address => format!("同一地址“{}”", fs[0].address),
                RepeatKey::Issue => format!("{}的“{}”", fs[0].area, fs[0].category),
            };
            out.push(Alert {
                cause: format!("repeat:{}:{key}", r.name),
                rule: r.name.clone(),
                kind: AlertKind::Repeat,
                level: r.level,
                title: format!("{}：{what} {} 天内 {} 件", r.name, r.days, fs.len()),
                orders: sorted_orders(fs),
                at: now,
            });
        }
    }
    for r in &rules.spikes {
        out.extend(spikes(r, facts, now));
    }
    out
}

fn weekend(d: NaiveDate) -> bool {
    d.weekday().number_from_monday() >= 6
}

/// Mean and (population) standard deviation.
fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len().max(1) as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

fn spikes(r: &SpikeRule, facts: &[OrderFact], now: DateTime<Utc>) -> Vec<Alert> {
    let today = day_of(now);
    let first = today - Duration::days(i64::from(r.baseline_days));
    let (from, to) = (midnight(first), now);
    // category → per-day counts over the baseline days and today.
    let mut counts: BTreeMap<&str, BTreeMap<NaiveDate, Vec<&OrderFact>>> = BTreeMap::new();
    for f in facts.iter().filter(|f| from <= f.at && f.at <= to) {
        counts
            .entry(f.category_at(r.depth))
            .or_default()
            .entry(day_of(f.at))
            .or_default()
            .push(f);
    }
    let mut out = Vec::new();
    for (category, days) in counts {
        let today_orders = days.get(&today).cloned().unwrap_or_default();
        let n = today_orders.len() as u64;
        if n < r.min_count {
            continue;
        }
        let base: Vec<f64> = (0..r.baseline_days)
            .map(|i| first + Duration::days(i64::from(i)))
            .filter(|d| weekend(*d) == weekend(today))
            .map(|d| days.get(&d).map_or(0, Vec::len) as f64)
            .collect();
        let (mean, sd) = mean_sd(&base);
        // Counts are Poisson-like: a flat baseline still varies by about √mean; and the mean
        // itself is only estimated from the baseline's days (its error, mean / n, is added).
        let n_days = base.len().max(1) as f64;
        let spread = (sd * sd).max(mean).max(1.0) + mean / n_days;
        let spread = spread.sqrt();
        let threshold = mean + r.k * spread;
        if n as f64 > threshold {
            out.push(Alert {
                cause: format!("spike:{}:{category}:{today}", r.name),
                rule: r.name.clone(),
                kind: AlertKind::Spike,
                level: r.level,
                title: format!(
                    "{}：“{category}” {today} 受理 {n} 件，高于前 {} 天均值 {mean:.1} 件（阈值 {threshold:.1}）",
                    r.name, r.baseline_days
                ),
                orders: sorted_orders(today_orders),
                at: now,
            });
        }
    }
    out
}

/// Where an alert is in its handling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AlertState {
    Open,
    Acknowledged { by: String, note: String },
    Closed { by: String, note: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub alert: Alert,
    pub state: AlertState,
    /// How many times it was pushed (1, then once per change).
    pub pushes: u32,
}

/// What the book did with a found alert.
#[derive(Debug, Clone, PartialEq)]
pub enum Admitted {
    /// First seen: push it.
    New(Alert),
    /// Its cause changed (new orders): push the update; a closed one opens again.
    Changed(Alert),
    /// Nothing new: no push.
    Same,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AlertError {
    #[error("no alert for cause {0}")]
    Unknown(String),
    #[error("the alert is closed")]
    Closed,
    #[error("closing an alert needs a note saying what was done")]
    NoNote,
}

/// Every alert by cause, and how far it got.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertBook {
    entries: BTreeMap<String, Entry>,
}

impl AlertBook {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes an alert the rules found.
    pub fn admit(&mut self, a: Alert) -> Admitted {
        match self.entries.get_mut(&a.cause) {
            None => {
                self.entries.insert(
                    a.cause.clone(),
                    Entry {
                        alert: a.clone(),
                        state: AlertState::Open,
                        pushes: 1,
                    },
                );
                Admitted::New(a)
            }
            Some(e) => {
                let known: BTreeSet<&String> = e.alert.orders.iter().collect();
                if a.orders.iter().all(|o| known.contains(o)) {
                    return Admitted::Same;
                }
                let mut orders: Vec<String> = e.alert.orders.clone();
                for o in &a.orders {
                    if !known.contains(o) {
                        orders.push(o.clone());
                    }
                }
                e.alert = Alert { orders, ..a };
                e.pushes += 1;
                if matches!(e.state, AlertState::Closed { .. }) {
                    e.state = AlertState::Open;
                }
                Admitted::Changed(e.alert.clone())
            }
        }
    }

    pub fn acknowledge(&mut self, cause: &str, by: &str, note: &str) -> Result<&Entry, AlertError> {
        let e = self
            .entries
            .get_mut(cause)
            .ok_or_else(|| AlertError::Unknown(cause.to_string()))?;
        if matches!(e.state, AlertState::Closed { .. }) {
            return Err(AlertError::Closed);
        }
        e.state = AlertState::Acknowledged {
            by: by.to_string(),
            note: note.to_string(),
        };
        Ok(e)
    }

    pub fn close(&mut self, cause: &str, by: &str, note: &str) -> Result<&Entry, AlertError> {
        if note.trim().is_empty() {
            return Err(AlertError::NoNote);
        }
        let e = self
            .entries
            .get_mut(cause)
            .ok_or_else(|| AlertError::Unknown(cause.to_string()))?;
        if matches!(e.state, AlertState::Closed { .. }) {
            return Err(AlertError::Closed);
        }
        e.state = AlertState::Closed {
            by: by.to_string(),
            note: note.to_string(),
        };
        Ok(e)
    }

    /// Puts back an entry kept elsewhere (the store), as it was.
    pub fn restore(&mut self, e: Entry) {
        self.entries.insert(e.alert.cause.clone(), e);
    }

    pub fn get(&self, cause: &str) -> Option<&Entry> {
        self.entries.get(cause)
    }

    /// Every alert not closed, most severe first, then newest.
    pub fn open(&self) -> Vec<&Entry> {
        let mut v: Vec<&Entry> = self
            .entries
            .values()
            .filter(|e| !matches!(e.state, AlertState::Closed { .. }))
            .collect();
        v.sort_by(|a, b| {
            b.alert
                .level
                .cmp(&a.alert.level)
                .then_with(|| b.alert.at.cmp(&a.alert.at))
        });
        v
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
