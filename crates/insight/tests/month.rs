//! A synthetic month of orders (January 2026, winter) with planted events, segmented by the
//! hotline's own jieba dictionary: the planted cluster and spike are found and nothing else
//! is; a normal month raises no spike alert; sensitive-word alerts fire once; a repeated
//! address alerts, then alerts again only when it changes; hot words of a winter month lead
//! with the heating; the type mix and the breakdowns add up.

use std::sync::OnceLock;

use chrono::{Duration, NaiveDate};
use hotline_insight::cluster::{ClusterConfig, clusters};
use hotline_insight::cube::{Dimension, breakdown, trend};
use hotline_insight::period::midnight;
use hotline_insight::synth::{MonthSpec, Planted, month};
use hotline_insight::terms::{TermsConfig, hot_terms};
use hotline_insight::warning::{
    Admitted, AlertBook, AlertError, AlertKind, Level, RepeatKey, RepeatRule, Rules, SensitiveRule,
    SpikeRule, evaluate,
};
use hotline_insight::{Granularity, OrderFact, Period};
use hotline_kb_search::{Lexicon, Segmenter};

fn segmenter() -> &'static Segmenter {
    static S: OnceLock<Segmenter> = OnceLock::new();
    S.get_or_init(|| Segmenter::new(&Lexicon::default_set()))
}

fn generate(spec: &MonthSpec) -> (Vec<OrderFact>, Planted) {
    let s = segmenter();
    month(spec, &|t| s.words(t))
}

fn planted_january() -> &'static (Vec<OrderFact>, Planted) {
    static M: OnceLock<(Vec<OrderFact>, Planted)> = OnceLock::new();
    M.get_or_init(|| {
        let mut spec = MonthSpec::normal(2026, 1, 7);
        spec.plant_cluster = true;
        spec.plant_spike = true;
        spec.plant_sensitive = true;
        generate(&spec)
    })
}

const JANUARY: Period = Period::Month {
    year: 2026,
    month: 1,
};

fn in_january(facts: &[OrderFact]) -> Vec<&OrderFact> {
    facts.iter().filter(|f| JANUARY.contains(f.at)).collect()
}

/// K = 5 over 28 days: about 20 categories are checked every day, some 600 checks a month,
/// so one check's false alarm must be rarer than 1 in 10^4 (a Poisson tail at about 5
/// spreads). Measured while writing this test: K = 3 over 14 days raised 4 to 7 false alarms
/// in a normal month; K = 4 over 28 days still one (22 orders against a mean of 8.9, a
/// chance day of the generator). The planted day, 46 against about 5, stands far above.
fn spike_rule() -> SpikeRule {
    SpikeRule {
        name: "分类激增".into(),
        level: Level::Warning,
        depth: 2,
        k: 5.0,
        baseline_days: 28,
        min_count: 12,
    }
}

/// The end of each January day, as the service would evaluate the rules.
fn day_ends() -> Vec<chrono::DateTime<chrono::Utc>> {
    (1..=31)
        .map(|d| {
            midnight(NaiveDate::from_ymd_opt(2026, 1, d).unwrap()) + Duration::hours(24)
                - Duration::seconds(1)
        })
        .collect()
}

#[test]
fn the_type_mix_is_like_real_reports_and_breakdowns_add_up() {
    let (facts, _) = planted_january();
    let month = in_january(facts);
    assert!(month.len() > 3000, "{} orders", month.len());
    let types = breakdown(facts, JANUARY, Dimension::RequestType);
    let share = |k: &str| types.iter().find(|c| c.key == k).map_or(0.0, |c| c.share);
    assert!((0.34..=0.76).contains(&share("consultation")), "{types:?}");
    assert!((0.06..=0.51).contains(&share("complaint")), "{types:?}");
    for dim in [
        Dimension::Channel,
        Dimension::RequestType,
        Dimension::Category { depth: 1 },
        Dimension::Area,
        Dimension::Unit,
        Dimension::Line,
    ] {
        let cells = breakdown(facts, JANUARY, dim);
        assert_eq!(
            cells.iter().map(|c| c.count).sum::<u64>(),
            month.len() as u64,
            "{dim:?}"
        );
        for c in &cells {
            // Drill-down: the number is its orders, each of the period and of the key.
            assert_eq!(c.orders.len() as u64, c.count);
            let f = facts.iter().find(|f| f.no == c.orders[0]).unwrap();
            assert!(JANUARY.contains(f.at) && dim.key(f) == c.key);
        }
        assert!(
            cells.windows(2).all(|w| w[0].count >= w[1].count),
            "biggest first"
        );
    }
    // Winter: heating is the top second-level category's share leader among complaints.
    let cats = breakdown(facts, JANUARY, Dimension::Category { depth: 2 });
    assert_eq!(cats[0].key, "城乡建设/供暖", "{:?}", &cats[..3]);
    // 环比 against the lead-in days of December (only its last 28 days exist).
    let heating = &cats[0];
    assert!(heating.previous > 0 && heating.period_on_period().is_some());
    assert_eq!(heating.year_before, 0);
    assert_eq!(
        heating.year_on_year(),
        None,
        "no data a year before: no ratio"
    );
}

#[test]
fn the_daily_trend_shows_the_spike_day() {
    let (facts, planted) = planted_january();
    let day = planted.spike_day.expect("planted");
    let points = trend(
        facts,
        Granularity::Day,
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        NaiveDate::from_ymd_opt(2026, 1, 31).unwrap(),
        Some((Dimension::Category { depth: 2 }, "水电/停水")),
    );
    assert_eq!(points.len(), 31);
    let top = points.iter().max_by_key(|p| p.count).unwrap();
    assert_eq!(top.period, Period::Day { day });
    assert!(top.count >= 40, "{top:?}");
}

#[test]
fn the_planted_cluster_is_found_with_its_orders() {
    let (facts, planted) = planted_january();
    let month = in_january(facts);
    let found = clusters(&month, &ClusterConfig::default());
    let best = found
        .iter()
        .max_by_key(|c| {
            c.orders
                .iter()
                .filter(|o| planted.cluster.contains(o))
                .count()
        })
        .expect("clusters");
    let hits = best
        .orders
        .iter()
        .filter(|o| planted.cluster.contains(o))
        .count();
    assert!(
        hits >= 10,
        "{hits} of {} planted: {best:?}",
        planted.cluster.len()
    );
    assert!(
        best.orders.len() <= hits + 2,
        "strangers in the cluster: {best:?}"
    );
    assert_eq!(best.address, planted.cluster_address);
    assert!(best.words.iter().any(|w| w == "污水"), "{best:?}");
    assert_eq!(
        found[0],
        *best,
        "the biggest cluster is the planted one: {:?}",
        &found[..found.len().min(3)]
    );
}

#[test]
fn the_planted_spike_is_detected_on_its_day_only() {
    let (facts, planted) = planted_january();
    let rules = Rules {
        spikes: vec![spike_rule()],
        ..Rules::default()
    };
    let mut alerts = Vec::new();
    for end in day_ends() {
        alerts.extend(evaluate(&rules, facts, end));
    }
    assert_eq!(
        alerts.len(),
        1,
        "{:#?}",
        alerts.iter().map(|a| &a.title).collect::<Vec<_>>()
    );
    let a = &alerts[0];
    assert_eq!(a.kind, AlertKind::Spike);
    assert!(
        a.cause.contains("水电/停水") && a.cause.contains("2026-01-20"),
        "{a:?}"
    );
    let planted_in = a
        .orders
        .iter()
        .filter(|o| planted.spike_orders.contains(o))
        .count();
    assert_eq!(
        planted_in,
        planted.spike_orders.len(),
        "the alert names the orders"
    );
}

#[test]
fn a_normal_month_raises_no_spike_alert() {
    let rules = Rules {
        spikes: vec![spike_rule()],
        ..Rules::default()
    };
    for seed in [1, 2, 3] {
        let (facts, _) = generate(&MonthSpec::normal(2026, 1, seed));
        let alerts: Vec<_> = day_ends()
            .into_iter()
            .flat_map(|end| evaluate(&rules, &facts, end))
            .collect();
        assert!(
            alerts.is_empty(),
            "seed {seed}: {:#?}",
            alerts.iter().map(|a| &a.title).collect::<Vec<_>>()
        );
    }
}

fn sensitive_rules() -> Rules {
    Rules {
        sensitive: vec![
            SensitiveRule {
                name: "公共安全".into(),
                level: Level::Critical,
                phrases: vec!["燃气泄漏".into(), "煤气泄漏".into(), "爆炸".into()],
                months: vec![],
            },
            SensitiveRule {
                name: "群体性事件".into(),
                level: Level::Critical,
                phrases: vec!["集体讨薪".into(), "集体上访".into(), "聚集".into()],
                months: vec![],
            },
            SensitiveRule {
                name: "节前欠薪".into(),
                level: Level::Warning,
                phrases: vec!["拖欠工资".into()],
                months: vec![6, 7],
            },
        ],
        ..Rules::default()
    }
}

#[test]
fn sensitive_words_alert_once_per_order_and_are_closed_with_a_note() {
    let (facts, planted) = planted_january();
    let rules = sensitive_rules();
    let mut book = AlertBook::new();
    let mut pushed = Vec::new();
    // Evaluated at the end of every day, over everything so far: each order alerts once.
    for end in day_ends() {
        for a in evaluate(&rules, facts, end) {
            match book.admit(a) {
                Admitted::New(a) | Admitted::Changed(a) => pushed.push(a),
                Admitted::Same => {}
            }
        }
    }
    let mut named: Vec<&String> = pushed.iter().flat_map(|a| &a.orders).collect();
    named.sort();
    let mut want: Vec<&String> = planted.sensitive.iter().collect();
    want.sort();
    assert_eq!(named, want, "{pushed:#?}");
    assert!(pushed.iter().all(|a| a.level == Level::Critical));
    // The months rule: 拖欠工资 is in the background all month, but its rule holds in June
    // and July only.
    assert!(pushed.iter().all(|a| a.rule != "节前欠薪"));
    // Acknowledged, then closed with a note; a closed one takes no more steps.
    let cause = pushed[0].cause.clone();
    book.acknowledge(&cause, "sup", "已通知燃气公司").unwrap();
    assert_eq!(book.close(&cause, "sup", " "), Err(AlertError::NoNote));
    book.close(&cause, "sup", "燃气公司已到场处置，无人员伤亡")
        .unwrap();
    assert_eq!(
        book.acknowledge(&cause, "sup", "x").err(),
        Some(AlertError::Closed)
    );
    assert_eq!(book.open().len(), 1);
    assert!(matches!(
        book.acknowledge("nope", "sup", "x"),
        Err(AlertError::Unknown(_))
    ));
}

#[test]
fn a_repeated_address_alerts_and_again_only_when_it_changes() {
    let (facts, planted) = planted_january();
    let rules = Rules {
        repeats: vec![RepeatRule {
            name: "同址重复".into(),
            level: Level::Warning,
            by: RepeatKey::Address,
            times: 5,
            days: 7,
        }],
        ..Rules::default()
    };
    let mut book = AlertBook::new();
    let mut log = Vec::new();
    for end in day_ends() {
        for a in evaluate(&rules, facts, end) {
            let what = book.admit(a);
            log.push((end, what));
        }
    }
    let news: Vec<_> = log
        .iter()
        .filter(|(_, w)| matches!(w, Admitted::New(_)))
        .collect();
    assert_eq!(news.len(), 1, "one address repeated: {news:#?}");
    let Admitted::New(first) = &news[0].1 else {
        unreachable!()
    };
    assert!(
        first.orders.iter().all(|o| planted.cluster.contains(o)),
        "{first:?}"
    );
    assert!(first.orders.len() >= 5);
    // Day 14 brings four more reports: one update; then nothing new until the window moves on.
    let changes = log
        .iter()
        .filter(|(_, w)| matches!(w, Admitted::Changed(_)))
        .count();
    assert_eq!(changes, 1, "{log:#?}");
    let entry = book.get(&first.cause).unwrap();
    assert_eq!(entry.pushes, 2);
    assert_eq!(entry.alert.orders.len(), planted.cluster.len());
}

#[test]
fn hot_words_of_a_winter_month_lead_with_the_heating() {
    let (january, _) = planted_january();
    let (october, _) = generate(&MonthSpec::normal(2025, 10, 11));
    let autumn = Period::Month {
        year: 2025,
        month: 10,
    };
    let base: Vec<&OrderFact> = october.iter().filter(|f| autumn.contains(f.at)).collect();
    let now = in_january(january);
    let hot = hot_terms(&now, &base, &TermsConfig::default());
    let top: Vec<&str> = hot.iter().take(8).map(|t| t.term.as_str()).collect();
    let heating = hot.iter().find(|t| t.term == "暖气").expect("暖气 is hot");
    assert!(top.contains(&"暖气"), "{top:?}");
    assert!(heating.growth > 3.0, "{heating:?}");
    assert_eq!(heating.orders.len() as u64, heating.docs);
    // Words of any request, and how questions are asked, are not hot.
    for stop in ["市民", "问题", "哪些", "今年", "晚上"] {
        assert!(
            !hot.iter().any(|t| t.term == stop),
            "{stop} is hot: {top:?}"
        );
    }
}

#[test]
fn the_brief_has_the_numbers_the_hot_issues_the_cluster_and_the_alerts() {
    let (facts, planted) = planted_january();
    let rules = Rules {
        spikes: vec![spike_rule()],
        ..sensitive_rules()
    };
    let mut book = AlertBook::new();
    for end in day_ends() {
        for a in evaluate(&rules, facts, end) {
            book.admit(a);
        }
    }
    let alerts: Vec<_> = book.open().into_iter().map(|e| e.alert.clone()).collect();
    let b = hotline_insight::brief::compute(facts, JANUARY, alerts);
    assert_eq!(b.total, in_january(facts).len() as u64);
    assert!(b.previous > 0, "December's lead-in days count");
    let html = hotline_insight::brief::to_html(&b, "运城市");
    for needle in [
        "运城市 12345 政务服务热线简报",
        "2026-01",
        "风险预警",
        "水电/停水",
        "城乡建设/供暖/暖气不热",
        "暖气",
        planted.cluster_address.as_str(),
        "盐湖区",
    ] {
        assert!(html.contains(needle), "{needle} missing");
    }
    assert!(!html.contains("<script"), "a printable page runs nothing");
    assert_eq!(
        hotline_insight::brief::escape("<b>&\"'"),
        "&lt;b&gt;&amp;&quot;&#39;"
    );
}

#[test]
fn the_dashboard_of_the_month_adds_up_and_keeps_every_area() {
    let (facts, planted) = planted_january();
    let d = hotline_insight::dashboard::compute(facts, JANUARY, vec![]);
    assert_eq!(d.trend.len(), 31);
    assert_eq!(d.trend.iter().map(|p| p.count).sum::<u64>(), d.total);
    assert_eq!(d.trend_previous.len(), 31, "December, whole or not");
    assert_eq!(d.areas.len(), 13);
    assert_eq!(d.areas.iter().map(|c| c.count).sum::<u64>(), d.total);
    assert!(d.units.len() <= hotline_insight::dashboard::BARS);
    let spike_day = planted.spike_day.unwrap();
    let top = d.trend.iter().max_by_key(|p| p.count).unwrap();
    assert_eq!(
        top.period,
        Period::Day { day: spike_day },
        "the spike shows in the trend"
    );
    assert!(
        d.clusters
            .iter()
            .any(|c| c.address == planted.cluster_address)
    );
    assert!(d.hot.iter().any(|t| t.term == "暖气"));
    // It is what the page reads: a JSON value.
    let json = serde_json::to_string(&d).unwrap();
    assert!(json.contains("\"areas\""));
}
