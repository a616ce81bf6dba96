//! Decision support and early warning against the running server (issue 9): a synthetic
//! January 2026 (winter, after a winter December: the heating season's start would rightly
//! be a spike of its own) (made by `hotline_insight::synth`, with a planted cluster, a spike and two
//! sensitive requests) goes into the store's analysis facts; the warning rules of the shipped
//! config, run as of the end of each day, raise the spike once on its day, each sensitive
//! request once and the repeated address once, and nothing from the rest; the dashboard's
//! numbers add up and drill down to orders; an alert is closed only with a note; the brief
//! prints; the dashboard renders in headless Chromium (screenshot).

use std::time::Duration;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use hotline_insight::period::midnight;
use hotline_insight::synth::{MonthSpec, month};
use hotline_store::OrderFactRow;
use hotline_tests::Hotline;
use hotline_tests::api::{answered, insert_records, login, order_of, req};
use hotline_tests::webdriver::Browser;
use serde_json::Value;

const SETUP: &str = r#"
[insight]
# The test runs the rules itself, as of each day of the month.
evaluate_secs = 3600

[[insight.recipients]]
name = "值班领导"
sms = "13900000000"

[[users]]
id = "sup"
name = "李班长"
role = "supervisor"
password = "sup-pw"

[[users]]
id = "1001"
name = "王芳"
role = "agent"
password = "agent-pw"
"#;

#[test]
fn a_planted_month_raises_its_alerts_once_and_the_dashboard_shows_it() -> Result<()> {
    let hl = Hotline::start(SETUP)?;
    let mut spec = MonthSpec::normal(2026, 1, 7);
    spec.plant_cluster = true;
    spec.plant_spike = true;
    spec.plant_sensitive = true;
    let (facts, planted) = month(&spec, &|_| Vec::new());
    let rows: Vec<OrderFactRow> = facts.iter().map(OrderFactRow::from).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let store = hotline_store::Store::connect(&hl.db_url).await?;
        store.upsert_order_facts(&rows).await?;
        store.close().await;
        anyhow::Ok(())
    })?;
    let sup = login(&hl, "sup", "sup-pw")?;
    let agent = login(&hl, "1001", "agent-pw")?;

    // A dashboard listening for alerts.
    let mut live = hotline_tests::ws::Ws::connect(hl.http, "/api/insight/events", &sup)?;
    // The rules as of the end of every day of January.
    let mut alerts: Vec<Value> = Vec::new();
    for d in 1..=31 {
        let end = midnight(NaiveDate::from_ymd_opt(2026, 1, d).unwrap())
            + chrono::Duration::hours(24)
            - chrono::Duration::seconds(1);
        let at = end.to_rfc3339().replace('+', "%2B");
        let (code, v) = req(
            &hl,
            "POST",
            &format!("/api/insight/evaluate?at={at}"),
            Some(&sup),
            "",
        )?;
        assert_eq!(code, 200, "{v}");
        alerts.extend(v["alerts"].as_array().cloned().unwrap_or_default());
    }
    // The first alert found was pushed to the listener as it was found.
    let first = live.next_json()?;
    assert_eq!(first["type"], "alert", "{first}");
    assert_eq!(first["alert"]["cause"], alerts[0]["cause"], "{first}");
    live.close();
    let of_kind = |k: &str| alerts.iter().filter(|a| a["kind"] == k).collect::<Vec<_>>();
    let spikes = of_kind("spike");
    assert_eq!(spikes.len(), 1, "{spikes:#?}");
    assert!(
        spikes[0]["cause"]
            .as_str()
            .unwrap_or("")
            .contains("2026-01-20"),
        "{:?}",
        spikes[0]
    );
    // A sensitive or spike cause is pushed once, however many days it is seen again (a
    // repeat is pushed again when more orders join it).
    let mut causes: Vec<&str> = alerts
        .iter()
        .filter(|a| a["kind"] != "repeat")
        .filter_map(|a| a["cause"].as_str())
        .collect();
    let all = causes.len();
    causes.sort();
    causes.dedup();
    assert_eq!(causes.len(), all, "a cause pushed twice");
    // The gas leak is a public-safety alert, the group demanding wages a group incident (and,
    // in January, also a pre-holiday wage-arrears one, like every other wage complaint of the
    // month: that rule holds from December to February).
    let named_by = |rule: &str, no: &str| {
        of_kind("sensitive")
            .iter()
            .any(|a| a["rule"] == rule && a["orders"].to_string().contains(no))
    };
    assert!(
        named_by("公共安全", &planted.sensitive[0]),
        "{:#?}",
        of_kind("sensitive")
    );
    assert!(named_by("群体性事件", &planted.sensitive[1]));
    assert!(named_by("节前欠薪", &planted.sensitive[1]));
    assert!(
        !of_kind("sensitive")
            .iter()
            .any(|a| a["rule"] == "公共安全"
                && !a["orders"].to_string().contains(&planted.sensitive[0])),
        "nothing else is a public-safety alert"
    );
    let repeats = of_kind("repeat");
    for w in repeats.windows(2) {
        if w[0]["cause"] == w[1]["cause"] {
            let n = |a: &Value| a["orders"].as_array().map_or(0, Vec::len);
            assert!(
                n(w[1]) > n(w[0]),
                "pushed again only with more orders: {w:#?}"
            );
        }
    }
    assert!(
        repeats
            .iter()
            .any(|a| a["title"].as_str().unwrap_or("").contains("凤凰小区")),
        "{repeats:#?}"
    );
    // Each pushed alert was queued for the recipient: one SMS per alert.
    let (code, out) = req(&hl, "GET", "/api/outbox?limit=1000", Some(&sup), "")?;
    assert_eq!(code, 200, "{out}");
    let sms = out.to_string().matches("【12345预警】").count();
    assert_eq!(sms, alerts.len(), "{sms} SMS for {} alerts", alerts.len());
    // Running again changes nothing: no alert repeats for the same cause.
    let at = "2026-01-31T15:59:59Z";
    let (_, v) = req(
        &hl,
        "POST",
        &format!("/api/insight/evaluate?at={at}"),
        Some(&sup),
        "",
    )?;
    assert_eq!(v["alerts"].as_array().map(Vec::len), Some(0), "{v}");

    // The dashboard of January.
    let (code, d) = req(
        &hl,
        "GET",
        "/api/insight/dashboard?granularity=month&date=2026-01-15",
        Some(&sup),
        "",
    )?;
    assert_eq!(code, 200, "{d}");
    let in_month = facts
        .iter()
        .filter(|f| f.at >= midnight(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()))
        .count() as u64;
    assert_eq!(d["total"].as_u64(), Some(in_month));
    assert_eq!(d["trend"].as_array().map(Vec::len), Some(31));
    assert_eq!(d["areas"].as_array().map(Vec::len), Some(13));
    let area_sum: u64 = d["areas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(area_sum, in_month);
    assert!(
        d["previous"].as_u64().unwrap_or(0) > 0,
        "December's lead-in days"
    );
    assert!(
        d["clusters"].to_string().contains(&planted.cluster_address),
        "{}",
        d["clusters"]
    );
    assert!(d["hot"].as_array().is_some_and(|h| !h.is_empty()));
    // Drill-down from a number to its orders.
    let (code, o) = req(
        &hl,
        "GET",
        "/api/insight/orders?granularity=month&date=2026-01-15&by=area&key=%E7%9B%90%E6%B9%96%E5%8C%BA&limit=20",
        Some(&sup),
        "",
    )?;
    assert_eq!(code, 200, "{o}");
    assert_eq!(o["orders"].as_array().map(Vec::len), Some(20));
    let (code, bad) = req(
        &hl,
        "GET",
        "/api/insight/orders?by=street&key=x",
        Some(&sup),
        "",
    )?;
    assert_eq!(code, 422, "{bad}");
    // Leaders' screens are for supervisors.
    let (code, _) = req(&hl, "GET", "/api/insight/dashboard", Some(&agent), "")?;
    assert_eq!(code, 403);

    // An alert is acknowledged, then closed only with a note.
    let cause = spikes[0]["cause"].as_str().context("cause")?;
    let path = |action: &str| format!("/api/insight/alerts/{}/{action}", urlencode(cause));
    let (code, v) = req(
        &hl,
        "POST",
        &path("acknowledge"),
        Some(&sup),
        r#"{"note": "已联系供水公司"}"#,
    )?;
    assert_eq!(code, 200, "{v}");
    let (code, v) = req(&hl, "POST", &path("close"), Some(&sup), "{}")?;
    assert_eq!(code, 422, "{v}");
    let (code, v) = req(
        &hl,
        "POST",
        &path("close"),
        Some(&sup),
        r#"{"note": "管网抢修完毕，已恢复供水"}"#,
    )?;
    assert_eq!(code, 200, "{v}");
    let (_, open) = req(&hl, "GET", "/api/insight/alerts", Some(&sup), "")?;
    assert!(
        !open.to_string().contains(cause),
        "closed alerts are not open: {open}"
    );

    // The brief.
    let raw = hotline_tests::http_request_as(
        hl.http,
        "GET",
        "/api/insight/brief?granularity=month&date=2026-01-15",
        Some(&sup),
        "",
    )?;
    assert!(
        raw.contains("12345 政务服务热线简报") && raw.contains("2026-01"),
        "{}",
        &raw[..raw.len().min(400)]
    );

    // A real order's intake and dispatch reach today's dashboard (the facts are kept with
    // each step).
    insert_records(&hl, vec![answered("live-1", "13800001111")])?;
    let no = order_of(&hl, &agent, "live-1")?;
    for body in [
        serde_json::json!({"step": "intake_filled", "request_type": "complaint", "category": "交通/道路", "urgency": "normal",
            "requester": {"name": "李四", "phone": "13800001111", "anonymous": false, "confidential": false},
            "address": "解放路", "area": "永济市", "content": "解放路红绿灯坏了"}),
        serde_json::json!({"step": "dispatched", "lead": "市交通局", "co": [], "card": "请核实处理"}),
    ] {
        let (code, v) = req(
            &hl,
            "POST",
            &format!("/api/orders/{no}/steps"),
            Some(&agent),
            &body.to_string(),
        )?;
        assert_eq!(code, 200, "{v}");
    }
    let (code, today) = req(
        &hl,
        "GET",
        "/api/insight/dashboard?granularity=day",
        Some(&sup),
        "",
    )?;
    assert_eq!(code, 200, "{today}");
    assert_eq!(today["total"].as_u64(), Some(1), "{today}");
    assert!(
        today["units"].to_string().contains("市交通局"),
        "{}",
        today["units"]
    );
    assert!(
        today["areas"].to_string().contains("\"count\":1"),
        "{}",
        today["areas"]
    );

    // The dashboard in Chromium.
    let b = Browser::start(1366, 768)?;
    b.open_as(
        hl.http,
        "/dashboard?granularity=month&date=2026-01-15",
        &sup,
        "sup",
        "supervisor",
    )?;
    b.wait_text("#total", |t| t == in_month.to_string())?;
    b.wait_text("#areas", |t| t.contains("盐湖区"))?;
    b.wait_text("#hot", |t| !t.trim().is_empty())?;
    b.wait_text("#kpis", |t| t.contains("按时签收率"))?;
    std::thread::sleep(Duration::from_millis(300));
    b.shot("dashboard-1-month")?;
    b.click("#areas button.tile")?;
    b.wait_text("#drill", |t| t.contains("YC2026"))?;
    b.shot("dashboard-2-drill")?;
    Ok(())
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}
