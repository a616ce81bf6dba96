//! The weekly (or monthly) brief (简报) for the city's leaders: the period's numbers with
//! their comparisons, the type mix, the areas and units with most requests, the top issues,
//! hot words, near-duplicate clusters and the alerts, as one printable HTML page (A4, no
//! script, nothing fetched).

use serde::{Deserialize, Serialize};

use crate::cluster::{Cluster, ClusterConfig, clusters};
use crate::cube::{Cell, Dimension, breakdown, change, top_issues};
use crate::facts::OrderFact;
use crate::period::Period;
use crate::terms::{HotTerm, TermsConfig, hot_terms};
use crate::warning::Alert;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Brief {
    pub period: Period,
    pub label: String,
    pub total: u64,
    pub previous: u64,
    pub year_before: u64,
    pub types: Vec<Cell>,
    pub areas: Vec<Cell>,
    pub units: Vec<Cell>,
    /// The finest categories with most requests, and how many of each are complaints.
    pub top_issues: Vec<(Cell, u64)>,
    pub hot: Vec<HotTerm>,
    pub clusters: Vec<Cluster>,
    pub alerts: Vec<Alert>,
}

/// The brief of `period` from `facts` (which must hold the period, the one before it and the
/// one a year before, as far as they exist); hot words against the period before.
pub fn compute(facts: &[OrderFact], period: Period, alerts: Vec<Alert>) -> Brief {
    let now: Vec<&OrderFact> = facts.iter().filter(|f| period.contains(f.at)).collect();
    let before = period.previous();
    let base: Vec<&OrderFact> = facts.iter().filter(|f| before.contains(f.at)).collect();
    let year = period.year_before();
    let year_before = facts.iter().filter(|f| year.contains(f.at)).count() as u64;
    let mut hot_cfg = TermsConfig::default();
    hot_cfg.limit = 15;
    Brief {
        period,
        label: period.label(),
        total: now.len() as u64,
        previous: base.len() as u64,
        year_before,
        types: breakdown(facts, period, Dimension::RequestType),
        areas: breakdown(facts, period, Dimension::Area)
            .into_iter()
            .take(13)
            .collect(),
        units: breakdown(facts, period, Dimension::Unit)
            .into_iter()
            .take(10)
            .collect(),
        top_issues: top_issues(facts, period, 10),
        hot: hot_terms(&now, &base, &hot_cfg),
        clusters: clusters(&now, &ClusterConfig::default())
            .into_iter()
            .take(10)
            .collect(),
        alerts,
    }
}

/// Text for HTML: `&`, `<`, `>`, `"` and `'` escaped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn ratio(now: u64, before: u64) -> String {
    match change(now, before) {
        Some(r) => format!("{:+.1}%", r * 100.0),
        None => "—".into(),
    }
}

/// The request types as the center says them.
pub fn type_name(t: &str) -> &str {
    match t {
        "consultation" => "咨询",
        "help" => "求助",
        "complaint" => "投诉",
        "report" => "举报",
        "suggestion" => "建议",
        "praise" => "表扬",
        "other" => "其他",
        t => t,
    }
}

fn cells_table(title: &str, head: &str, cells: &[Cell], name: impl Fn(&str) -> String) -> String {
    let mut h = format!(
        "<h2>{}</h2><table><thead><tr><th>{}</th><th>件数</th><th>占比</th><th>环比</th><th>同比</th></tr></thead><tbody>",
        escape(title),
        escape(head)
    );
    for c in cells {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{:.1}%</td><td>{}</td><td>{}</td></tr>",
            escape(&name(&c.key)),
            c.count,
            c.share * 100.0,
            ratio(c.count, c.previous),
            ratio(c.count, c.year_before)
        ));
    }
    h.push_str("</tbody></table>");
    h
}

/// The printable page.
pub fn to_html(b: &Brief, city: &str) -> String {
    let mut h = String::new();
    h.push_str("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">");
    h.push_str(&format!(
        "<title>{} 12345 热线简报 {}</title>",
        escape(city),
        escape(&b.label)
    ));
    h.push_str(
        "<style>@page{size:A4;margin:18mm}body{font:12pt/1.6 \"Noto Serif CJK SC\",\"SimSun\",serif;color:#111;max-width:180mm;margin:auto}\
         h1{text-align:center;font-size:20pt;color:#b3261e;border-bottom:2px solid #b3261e;padding-bottom:6px}\
         h2{font-size:14pt;margin:14px 0 6px}table{width:100%;border-collapse:collapse;margin-bottom:8px}\
         th,td{border:1px solid #999;padding:2px 6px;text-align:left;font-size:10.5pt}.lead{font-size:12.5pt}\
         .alert.critical{color:#b3261e;font-weight:700}.muted{color:#555}</style></head><body>",
    );
    h.push_str(&format!(
        "<h1>{} 12345 政务服务热线简报</h1><p class=\"muted\" style=\"text-align:center\">{}</p>",
        escape(city),
        escape(&b.label)
    ));
    h.push_str(&format!(
        "<p class=\"lead\">本期共受理群众诉求 <b>{}</b> 件，环比 {}，同比 {}。",
        b.total,
        ratio(b.total, b.previous),
        ratio(b.total, b.year_before)
    ));
    let mix: Vec<String> = b
        .types
        .iter()
        .map(|c| {
            format!(
                "{} {} 件（{:.1}%）",
                type_name(&c.key),
                c.count,
                c.share * 100.0
            )
        })
        .collect();
    h.push_str(&escape(&format!("其中{}。", mix.join("，"))));
    h.push_str("</p>");
    if !b.alerts.is_empty() {
        h.push_str("<h2>风险预警</h2><ol>");
        for a in &b.alerts {
            let level = format!("{:?}", a.level).to_lowercase();
            h.push_str(&format!(
                "<li class=\"alert {level}\">{}（涉及工单 {} 件）</li>",
                escape(&a.title),
                a.orders.len()
            ));
        }
        h.push_str("</ol>");
    }
    h.push_str("<h2>热点问题</h2><table><thead><tr><th>诉求分类</th><th>件数</th><th>其中投诉</th><th>环比</th></tr></thead><tbody>");
    for (c, complaints) in &b.top_issues {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&c.key),
            c.count,
            complaints,
            ratio(c.count, c.previous)
        ));
    }
    h.push_str("</tbody></table>");
    if !b.hot.is_empty() {
        let words: Vec<String> = b
            .hot
            .iter()
            .map(|t| format!("{}（{} 件，{:+.0}%）", t.term, t.docs, t.growth * 100.0))
            .collect();
        h.push_str(&format!(
            "<h2>热词</h2><p>{}</p>",
            escape(&words.join("、"))
        ));
    }
    if !b.clusters.is_empty() {
        h.push_str("<h2>集中反映</h2><table><thead><tr><th>区域</th><th>地点</th><th>事项</th><th>件数</th></tr></thead><tbody>");
        for c in &b.clusters {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&c.area),
                escape(&c.address),
                escape(&c.words.join("、")),
                c.orders.len()
            ));
        }
        h.push_str("</tbody></table>");
    }
    h.push_str(&cells_table(
        "各区县受理情况",
        "区县",
        &b.areas,
        |k| k.to_string(),
    ));
    h.push_str(&cells_table("承办单位", "单位", &b.units, |k| {
        if k.is_empty() {
            "（未转办）".into()
        } else {
            k.to_string()
        }
    }));
    h.push_str(
        "<p class=\"muted\">本简报由 12345 热线系统根据工单数据自动生成。</p></body></html>",
    );
    h
}
