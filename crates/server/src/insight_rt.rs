//! Decision support and early warning in the server (issue 9): the warning rules run over the
//! latest orders every `[insight] evaluate_secs`; a new or changed alert is saved, pushed on
//! `/api/insight/events` and queued in the outbox for the recipients. The dashboard reads the
//! store's daily counts and a cached hot-topic run per period. The rules are in
//! `hotline-insight`; here only loading, caching and pushing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use hotline_insight::cluster::{Cluster, ClusterConfig, clusters};
use hotline_insight::cube::{Cell, Point};
use hotline_insight::dashboard::{AREA_GRID, BARS, Dashboard};
use hotline_insight::terms::{HotTerm, TermsConfig, hot_terms};
use hotline_insight::warning::{Admitted, Alert, AlertBook, AlertState, Entry, Rules, evaluate};
use hotline_insight::{OrderFact, Period};
use hotline_kb_search::Segmenter;
use hotline_orders::OrderService;
use hotline_store::{AlertRow, FactDimension, NewOutbox, OrderFactRow, Store, StoreError};
use tokio::sync::{OnceCell, broadcast};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// How long a period's hot words and clusters are reused before they are computed again.
const HOT_TTL: Duration = Duration::from_secs(600);

pub struct Insight {
    orders: Arc<OnceCell<OrderService>>,
    segmenter: Segmenter,
    rules: Rules,
    recipients: Vec<hotline_config::AlertRecipient>,
    book: tokio::sync::Mutex<Option<AlertBook>>,
    events: broadcast::Sender<String>,
    hot: Mutex<HashMap<Period, (Instant, Vec<HotTerm>, Vec<Cluster>)>>,
}

#[derive(Debug, thiserror::Error)]
pub enum InsightError {
    #[error("the work-order database is not reachable yet")]
    NotReady,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Alert(#[from] hotline_insight::warning::AlertError),
}

fn name_of<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn from_name<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

fn row_of(e: &Entry, now: DateTime<Utc>) -> AlertRow {
    let (state, by, note) = match &e.state {
        AlertState::Open => ("open", None, None),
        AlertState::Acknowledged { by, note } => {
            ("acknowledged", Some(by.clone()), Some(note.clone()))
        }
        AlertState::Closed { by, note } => ("closed", Some(by.clone()), Some(note.clone())),
    };
    AlertRow {
        cause: e.alert.cause.clone(),
        rule: e.alert.rule.clone(),
        kind: name_of(&e.alert.kind),
        level: name_of(&e.alert.level),
        title: e.alert.title.clone(),
        orders: e.alert.orders.clone(),
        state: state.into(),
        by_user: by,
        note,
        pushes: e.pushes,
        first_at: e.alert.at,
        last_at: now,
    }
}

fn entry_of(r: &AlertRow) -> Option<Entry> {
    let state = match r.state.as_str() {
        "open" => AlertState::Open,
        "acknowledged" => AlertState::Acknowledged {
            by: r.by_user.clone().unwrap_or_default(),
            note: r.note.clone().unwrap_or_default(),
        },
        _ => AlertState::Closed {
            by: r.by_user.clone().unwrap_or_default(),
            note: r.note.clone().unwrap_or_default(),
        },
    };
    Some(Entry {
        alert: Alert {
            cause: r.cause.clone(),
            rule: r.rule.clone(),
            kind: from_name(&r.kind)?,
            level: from_name(&r.level)?,
            title: r.title.clone(),
            orders: r.orders.clone(),
            at: r.first_at,
        },
        state,
        pushes: r.pushes,
    })
}

/// An order's facts as the rules take them; words only when asked (the warning rules need
/// none, the hot-topic run does).
fn fact(r: OrderFactRow, seg: Option<&Segmenter>) -> OrderFact {
    let words = seg.map(|s| s.words(&r.text)).unwrap_or_default();
    r.into_fact(words)
}

fn last_day(p: Period) -> NaiveDate {
    p.days().1 - chrono::Duration::days(1)
}

impl Insight {
    pub fn new(
        cfg: &hotline_config::Insight,
        lexicon: &hotline_kb_search::Lexicon,
        orders: Arc<OnceCell<OrderService>>,
    ) -> Arc<Insight> {
        Arc::new(Insight {
            orders,
            segmenter: Segmenter::new(lexicon),
            rules: cfg.rules(),
            recipients: cfg.recipients.clone(),
            book: tokio::sync::Mutex::new(None),
            events: broadcast::channel(256).0,
            hot: Mutex::new(HashMap::new()),
        })
    }

    fn store(&self) -> Result<&Store, InsightError> {
        self.orders
            .get()
            .map(|s| s.store())
            .ok_or(InsightError::NotReady)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.events.subscribe()
    }

    /// The alert book, loaded from the store the first time.
    async fn book(&self) -> Result<tokio::sync::MutexGuard<'_, Option<AlertBook>>, InsightError> {
        let mut g = self.book.lock().await;
        if g.is_none() {
            let mut b = AlertBook::new();
            for r in self.store()?.alerts(false, 10_000).await? {
                if let Some(e) = entry_of(&r) {
                    b.restore(e);
                }
            }
            *g = Some(b);
        }
        Ok(g)
    }

    /// Runs the rules as of `now` over the orders of their longest window; saves, pushes and
    /// queues every new or changed alert. Returns them.
    pub async fn evaluate(&self, now: DateTime<Utc>) -> Result<Vec<Alert>, InsightError> {
        let days = self
            .rules
            .repeats
            .iter()
            .map(|r| r.days)
            .chain(self.rules.spikes.iter().map(|r| r.baseline_days + 1))
            .max()
            .unwrap_or(1)
            .max(1);
        let from = now - chrono::Duration::days(i64::from(days));
        let store = self.store()?;
        let facts: Vec<OrderFact> = store
            .order_facts_between(from, now + chrono::Duration::seconds(1))
            .await?
            .into_iter()
            .map(|r| fact(r, None))
            .collect();
        let found = evaluate(&self.rules, &facts, now);
        let mut pushed = Vec::new();
        let mut guard = self.book().await?;
        let book = guard.as_mut().ok_or(InsightError::NotReady)?;
        for a in found {
            let alert = match book.admit(a) {
                Admitted::New(a) | Admitted::Changed(a) => a,
                Admitted::Same => continue,
            };
            if let Some(e) = book.get(&alert.cause) {
                store.save_alert(&row_of(e, now)).await?;
            }
            let notes: Vec<NewOutbox> = self
                .recipients
                .iter()
                .map(|r| match (&r.sms, &r.webhook) {
                    (Some(n), _) => NewOutbox {
                        channel: "sms".into(),
                        target: n.clone(),
                        order_no: alert.orders.first().cloned(),
                        body: format!("【12345预警】{}", alert.title),
                        created_at: now,
                    },
                    (_, w) => NewOutbox {
                        channel: "webhook".into(),
                        target: w.clone().unwrap_or_default(),
                        order_no: alert.orders.first().cloned(),
                        body: serde_json::json!({"type": "alert", "to": r.name, "alert": alert})
                            .to_string(),
                        created_at: now,
                    },
                })
                .collect();
            if !notes.is_empty() {
                store.enqueue_outbox(&notes).await?;
            }
            let _ = self
                .events
                .send(serde_json::json!({"type": "alert", "alert": alert}).to_string());
            info!(cause = %alert.cause, "alert");
            pushed.push(alert);
        }
        Ok(pushed)
    }

    pub async fn open_alerts(&self) -> Result<Vec<Entry>, InsightError> {
        let guard = self.book().await?;
        Ok(guard
            .as_ref()
            .map(|b| b.open().into_iter().cloned().collect())
            .unwrap_or_default())
    }

    /// Acknowledges (`close` false) or closes an alert with a note.
    pub async fn handle_alert(
        &self,
        cause: &str,
        by: &str,
        note: &str,
        close: bool,
        now: DateTime<Utc>,
    ) -> Result<Entry, InsightError> {
        let mut guard = self.book().await?;
        let book = guard.as_mut().ok_or(InsightError::NotReady)?;
        let e = if close {
            book.close(cause, by, note)?.clone()
        } else {
            book.acknowledge(cause, by, note)?.clone()
        };
        self.store()?.save_alert(&row_of(&e, now)).await?;
        Ok(e)
    }

    /// The period's hot words (against the period before) and clusters, cached.
    async fn hot_part(&self, period: Period) -> Result<(Vec<HotTerm>, Vec<Cluster>), InsightError> {
        if let Some((at, h, c)) = self
            .hot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&period)
            && at.elapsed() < HOT_TTL
        {
            return Ok((h.clone(), c.clone()));
        }
        let store = self.store()?;
        let (a, b) = period.span();
        let (pa, pb) = period.previous().span();
        let now: Vec<OrderFact> = store
            .order_facts_between(a, b)
            .await?
            .into_iter()
            .map(|r| fact(r, Some(&self.segmenter)))
            .collect();
        let base: Vec<OrderFact> = store
            .order_facts_between(pa, pb)
            .await?
            .into_iter()
            .map(|r| fact(r, Some(&self.segmenter)))
            .collect();
        let (now_r, base_r): (Vec<&OrderFact>, Vec<&OrderFact>) =
            (now.iter().collect(), base.iter().collect());
        let mut hot = hot_terms(&now_r, &base_r, &TermsConfig::default());
        for t in &mut hot {
            t.orders.truncate(50);
        }
        let found: Vec<Cluster> = clusters(&now_r, &ClusterConfig::default())
            .into_iter()
            .take(10)
            .collect();
        self.hot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(period, (Instant::now(), hot.clone(), found.clone()));
        Ok((hot, found))
    }

    async fn cells(
        &self,
        dim: FactDimension,
        period: Period,
        keep: usize,
    ) -> Result<Vec<Cell>, InsightError> {
        let store = self.store()?;
        let span = |p: Period| (p.days().0, last_day(p));
        let (a, b) = span(period);
        let now = store.count_by(dim, a, b).await?;
        let (pa, pb) = span(period.previous());
        let prev: HashMap<String, i64> = store.count_by(dim, pa, pb).await?.into_iter().collect();
        let (ya, yb) = span(period.year_before());
        let year: HashMap<String, i64> = store.count_by(dim, ya, yb).await?.into_iter().collect();
        let total: i64 = now.iter().map(|(_, n)| n).sum();
        Ok(now
            .into_iter()
            .take(keep)
            .map(|(key, n)| Cell {
                share: n as f64 / total.max(1) as f64,
                previous: prev.get(&key).copied().unwrap_or(0) as u64,
                year_before: year.get(&key).copied().unwrap_or(0) as u64,
                count: n as u64,
                orders: vec![],
                key,
            })
            .collect())
    }

    async fn points(&self, period: Period) -> Result<Vec<Point>, InsightError> {
        let (a, b) = (period.days().0, last_day(period));
        let counts: HashMap<NaiveDate, i64> = self
            .store()?
            .count_by_day(a, b, None)
            .await?
            .into_iter()
            .collect();
        Ok(Period::series(hotline_insight::Granularity::Day, a, b)
            .into_iter()
            .map(|p| {
                let Period::Day { day } = p else {
                    unreachable!("a series of days")
                };
                Point {
                    label: p.label(),
                    period: p,
                    count: counts.get(&day).copied().unwrap_or(0) as u64,
                }
            })
            .collect())
    }

    /// The dashboard of `period` from the store's counts and the cached hot-topic run.
    pub async fn dashboard(&self, period: Period) -> Result<Dashboard, InsightError> {
        let trend = self.points(period).await?;
        let trend_previous = self.points(period.previous()).await?;
        let year: u64 = self
            .points(period.year_before())
            .await?
            .iter()
            .map(|p| p.count)
            .sum();
        let areas_all = self.cells(FactDimension::Area, period, usize::MAX).await?;
        let areas = AREA_GRID
            .iter()
            .map(|n| {
                areas_all
                    .iter()
                    .find(|c| c.key == *n)
                    .cloned()
                    .unwrap_or(Cell {
                        key: n.to_string(),
                        count: 0,
                        share: 0.0,
                        previous: 0,
                        year_before: 0,
                        orders: vec![],
                    })
            })
            .collect();
        let (hot, found) = self.hot_part(period).await?;
        let alerts = self
            .open_alerts()
            .await?
            .into_iter()
            .map(|e| e.alert)
            .collect();
        Ok(Dashboard {
            period,
            label: period.label(),
            total: trend.iter().map(|p| p.count).sum(),
            previous: trend_previous.iter().map(|p| p.count).sum(),
            year_before: year,
            trend,
            trend_previous,
            types: self.cells(FactDimension::RequestType, period, BARS).await?,
            categories: self.cells(FactDimension::Category1, period, BARS).await?,
            units: self.cells(FactDimension::Unit, period, BARS).await?,
            areas,
            channels: self.cells(FactDimension::Channel, period, BARS).await?,
            lines: self.cells(FactDimension::Line, period, BARS).await?,
            hot,
            clusters: found,
            alerts,
        })
    }

    /// The orders behind one number of the dashboard, newest first.
    pub async fn drill(
        &self,
        dim: FactDimension,
        key: &str,
        period: Period,
        limit: u32,
        before: Option<&str>,
    ) -> Result<Vec<String>, InsightError> {
        Ok(self
            .store()?
            .fact_orders(dim, key, period.days().0, last_day(period), limit, before)
            .await?)
    }

    /// The brief of `period`, computed from its facts (and the period before and a year
    /// before), with the open alerts.
    pub async fn brief(&self, period: Period) -> Result<String, InsightError> {
        let store = self.store()?;
        let mut facts = Vec::new();
        for p in [period.year_before(), period.previous(), period] {
            let (a, b) = p.span();
            facts.extend(
                store
                    .order_facts_between(a, b)
                    .await?
                    .into_iter()
                    .map(|r| fact(r, Some(&self.segmenter))),
            );
        }
        let alerts = self
            .open_alerts()
            .await?
            .into_iter()
            .map(|e| e.alert)
            .collect();
        let b = hotline_insight::brief::compute(&facts, period, alerts);
        Ok(hotline_insight::brief::to_html(&b, "运城市"))
    }
}

/// Runs the rules every `every` until stopped (a database not up yet is waited for).
pub fn start(
    insight: Arc<Insight>,
    every: Duration,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.cancelled() => return,
            }
            match insight.evaluate(Utc::now()).await {
                Ok(_) | Err(InsightError::NotReady) => {}
                Err(e) => warn!(error = %e, "warning rules not run"),
            }
        }
    })
}
