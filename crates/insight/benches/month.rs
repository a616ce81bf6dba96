//! A month's hot-topic run at the scale of a big city's 12345 (`--per-day 9000`: about
//! 280,000 orders a month, a month of a 10-million-order history): segmenting every request
//! with the hotline's jieba, the month's hot words against the month before, the near-duplicate
//! clusters, and the warning rules evaluated at the end of every day.
//!
//! `cargo bench -p hotline-insight --bench month -- --per-day 9000`

use std::time::Instant;

use chrono::{Duration, NaiveDate};
use hotline_insight::cluster::{ClusterConfig, clusters};
use hotline_insight::period::midnight;
use hotline_insight::synth::{MonthSpec, month};
use hotline_insight::terms::{TermsConfig, hot_terms};
use hotline_insight::warning::{
    Level, RepeatKey, RepeatRule, Rules, SensitiveRule, SpikeRule, evaluate,
};
use hotline_insight::{OrderFact, Period};
use hotline_kb_search::{Lexicon, Segmenter};

fn arg(name: &str, default: f64) -> f64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let per_day = arg("--per-day", 9000.0);
    let seg = Segmenter::new(&Lexicon::default_set());
    // Generate without words first: the segmenting is timed on its own below.
    let t = Instant::now();
    let mut spec = MonthSpec::normal(2026, 1, 42);
    spec.per_day = per_day;
    spec.lead_days = 31;
    spec.plant_cluster = true;
    spec.plant_spike = true;
    spec.plant_sensitive = true;
    let (mut facts, _) = month(&spec, &|_| Vec::new());
    let generated = t.elapsed();

    let t = Instant::now();
    for f in &mut facts {
        f.words = seg.words(&f.text);
    }
    let segmented = t.elapsed();

    let jan = Period::Month {
        year: 2026,
        month: 1,
    };
    let dec = jan.previous();
    let now: Vec<&OrderFact> = facts.iter().filter(|f| jan.contains(f.at)).collect();
    let base: Vec<&OrderFact> = facts.iter().filter(|f| dec.contains(f.at)).collect();

    let t = Instant::now();
    let hot = hot_terms(&now, &base, &TermsConfig::default());
    let terms = t.elapsed();

    let t = Instant::now();
    let found = clusters(&now, &ClusterConfig::default());
    let clustered = t.elapsed();

    let rules = Rules {
        sensitive: vec![SensitiveRule {
            name: "公共安全".into(),
            level: Level::Critical,
            phrases: vec!["燃气泄漏".into(), "集体讨薪".into()],
            months: vec![],
        }],
        repeats: vec![RepeatRule {
            name: "同址重复".into(),
            level: Level::Warning,
            by: RepeatKey::Address,
            times: 5,
            days: 7,
        }],
        spikes: vec![SpikeRule {
            name: "分类激增".into(),
            level: Level::Warning,
            depth: 2,
            k: 5.0,
            baseline_days: 28,
            min_count: 12,
        }],
    };
    let t = Instant::now();
    let mut alerts = 0;
    for d in 1..=31 {
        let end = midnight(NaiveDate::from_ymd_opt(2026, 1, d).unwrap()) + Duration::hours(24)
            - Duration::seconds(1);
        alerts += evaluate(&rules, &facts, end).len();
    }
    let warned = t.elapsed();

    println!(
        "orders: {} in January, {} in December (per day {per_day})",
        now.len(),
        base.len()
    );
    println!("generate (no words): {:.2} s", generated.as_secs_f64());
    println!(
        "segment every request (jieba): {:.2} s, {:.1} µs per request",
        segmented.as_secs_f64(),
        segmented.as_secs_f64() * 1e6 / facts.len() as f64
    );
    println!(
        "hot words of the month against December: {:.2} s (top: {})",
        terms.as_secs_f64(),
        hot.iter()
            .take(5)
            .map(|t| t.term.as_str())
            .collect::<Vec<_>>()
            .join("、")
    );
    println!(
        "near-duplicate clusters of the month: {:.2} s ({} clusters, biggest {})",
        clustered.as_secs_f64(),
        found.len(),
        found.first().map_or(0, |c| c.orders.len())
    );
    println!(
        "warning rules at the end of each of 31 days: {:.2} s ({alerts} alerts found)",
        warned.as_secs_f64()
    );
    println!(
        "month's hot-topic run (segment + hot words + clusters): {:.2} s",
        (segmented + terms + clustered).as_secs_f64()
    );
}
