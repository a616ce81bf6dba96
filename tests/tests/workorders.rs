//! The work-order API against the running server: calls become orders (a SIPp call answered by
//! an agent and one abandoned; records that reached the database without a draft are found by
//! the scan), log-in and roles on every route, a unit sees only its own orders, masked numbers
//! with an audited reveal, a report's requester never shown to a unit, 409 for invalid steps,
//! bad input on every route, KPIs as JSON and CSV, the OpenAPI document and its UI.

use anyhow::{Context, Result, bail};
use chrono::{Duration as Days, Utc};
use hotline_cdr::{CallKind, CallRecordBuilder, EndReason};
use hotline_tests::api::{answered, insert_records, login, order_of, req};
use hotline_tests::{
    Hotline, SippArgs, free_even_port, http_request_as, phone, repo_root, sipp_run,
};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const USERS: &str = r#"
[[users]]
id = "admin"
role = "admin"
password = "admin-pw"

[[users]]
id = "sup"
role = "supervisor"
password = "sup-pw"

[[users]]
id = "1001"
role = "agent"
password = "agent-pw"

[[users]]
id = "jtj"
role = "unit_staff"
unit = "市交通局"
password = "jtj-pw"

[[users]]
id = "jtj-head"
role = "unit_head"
unit = "市交通局"
password = "head-pw"

[[users]]
id = "sthj"
role = "unit_staff"
unit = "市生态环境局"
password = "sthj-pw"
"#;

fn start() -> Result<Hotline> {
    Hotline::start_with(
        USERS,
        &[
            ("HOTLINE_WORKORDERS__DRAFT_SCAN_SECS", "1"),
            ("HOTLINE_WORKORDERS__SMS", "off"),
        ],
    )
}

struct Tokens {
    admin: String,
    sup: String,
    agent: String,
    jtj: String,
    head: String,
    sthj: String,
}

fn tokens(hl: &Hotline) -> Result<Tokens> {
    Ok(Tokens {
        admin: login(hl, "admin", "admin-pw")?,
        sup: login(hl, "sup", "sup-pw")?,
        agent: login(hl, "1001", "agent-pw")?,
        jtj: login(hl, "jtj", "jtj-pw")?,
        head: login(hl, "jtj-head", "head-pw")?,
        sthj: login(hl, "sthj", "sthj-pw")?,
    })
}

fn step(hl: &Hotline, token: &str, no: &str, body: Value) -> Result<(u16, Value)> {
    req(
        hl,
        "POST",
        &format!("/api/orders/{no}/steps"),
        Some(token),
        &body.to_string(),
    )
}

fn ok_step(hl: &Hotline, token: &str, no: &str, body: Value) -> Result<Value> {
    let (code, v) = step(hl, token, no, body.clone())?;
    if code != 200 {
        bail!("step {body} on {no}: {code} {v}");
    }
    Ok(v)
}

fn intake(kind: &str, phone: &str) -> Value {
    json!({"step": "intake_filled", "request_type": kind, "category": "交通/公交", "urgency": "normal",
        "requester": {"name": "张三", "phone": phone, "id_card": "140802199001011234", "anonymous": false, "confidential": false},
        "address": "和平路 1 号", "area": "盐湖区", "content": format!("站牌损坏，回电 {phone}")})
}

/// An order for a fresh record, filled in by the agent and dispatched to `lead` (+ `co`).
fn dispatched(
    hl: &Hotline,
    t: &Tokens,
    id: &str,
    kind: &str,
    lead: &str,
    co: &[&str],
) -> Result<String> {
    insert_records(hl, vec![answered(id, "13812341234")])?;
    let no = order_of(hl, &t.agent, id)?;
    ok_step(hl, &t.agent, &no, intake(kind, "13812341234"))?;
    ok_step(
        hl,
        &t.agent,
        &no,
        json!({"step": "dispatched", "lead": lead, "co": co, "card": "请处理"}),
    )?;
    Ok(no)
}

fn audit_actions(hl: &Hotline, t: &Tokens, no: &str) -> Result<Vec<(String, String, String)>> {
    let (code, v) = req(
        hl,
        "GET",
        &format!("/api/orders/{no}/audit"),
        Some(&t.sup),
        "",
    )?;
    anyhow::ensure!(code == 200, "audit: {code} {v}");
    Ok(v["entries"]
        .as_array()
        .context("entries")?
        .iter()
        .map(|e| {
            (
                e["user"].as_str().unwrap_or("").to_string(),
                e["action"].as_str().unwrap_or("").to_string(),
                e["detail"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect())
}

/// A SIPp citizen reaches agent 1001 (key 0) and one gives up in the queue: an order owned
/// by the agent and a missed call on the callback list, from the calls' own records.
#[test]
fn calls_become_orders_and_missed_calls_are_listed() -> Result<()> {
    let hl = start()?;
    let t = tokens(&hl)?;
    let dir = tempfile::tempdir()?;
    let port = hotline_tests::free_udp_port();
    let agent = phone(
        &hl,
        dir.path(),
        "agent",
        Some(("1001", "demo1001")),
        "agent_uas.xml",
        port,
        &["-d", "300"],
    )?;
    let text = std::fs::read_to_string(repo_root().join("sipp-scenarios/ivr_caller.xml"))?
        .replace("dtmf_2833_2.pcap", "dtmf_2833_0.pcap");
    let scen = dir.path().join("caller_0.xml");
    std::fs::write(&scen, text)?;
    let (code, out) = sipp_run(
        dir.path(),
        "citizen",
        &SippArgs::new(&scen.display().to_string())
            .to(hl.sip_udp)
            .arg("-s", "12345")
            .arg("-mp", free_even_port())
            .args(&["-set", "dtmf_after", "0", "-d", "6000"])
            .build(1),
        Duration::from_secs(60),
    )?;
    anyhow::ensure!(code == 0, "citizen: {out}");
    let (code, out) = agent.wait(Duration::from_secs(20))?;
    anyhow::ensure!(code == 0, "agent: {out}");
    let records = hl.wait_records(1, Duration::from_secs(20))?;
    let rec = records
        .iter()
        .find(|r| r.agent.as_deref() == Some("1001"))
        .context("answered record")?;
    let no = order_of(&hl, &t.agent, &rec.id)?;
    let (_, v) = req(&hl, "GET", &format!("/api/orders/{no}"), Some(&t.agent), "")?;
    assert_eq!(v["order"]["status"], "draft");
    assert_eq!(v["order"]["owner"], "1001");
    assert_eq!(v["personal_data"], "full");
    let today = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap());
    assert!(
        no.starts_with(&format!("YC{}-", today.format("%Y%m%d"))),
        "{no}"
    );

    // Nobody answers this one: it gives up waiting (no agent is logged in now).
    let missed = CallRecordBuilder::arrived(
        "gave-up",
        "gave-up@t",
        "13700001111",
        "12345",
        CallKind::Hotline,
        Utc::now() - Days::minutes(1),
    )
    .ended(EndReason::Abandoned, 487, Utc::now() - Days::seconds(20));
    insert_records(&hl, vec![missed])?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (code, v) = req(&hl, "GET", "/api/missed-calls", Some(&t.agent), "")?;
        assert_eq!(code, 200, "{v}");
        if v["missed_calls"]
            .as_array()
            .context("list")?
            .iter()
            .any(|m| m["caller"] == "13700001111")
        {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "missed call not listed: {v}");
        std::thread::sleep(Duration::from_millis(300));
    }
    // Units do not call back: the list is the center's.
    assert_eq!(
        req(&hl, "GET", "/api/missed-calls", Some(&t.jtj), "")?.0,
        403
    );
    Ok(())
}

#[test]
fn units_see_only_their_orders_masked_with_audited_reveal() -> Result<()> {
    let hl = start()?;
    let t = tokens(&hl)?;
    let ours = dispatched(&hl, &t, "p-1", "complaint", "市交通局", &["市生态环境局"])?;
    let theirs = dispatched(&hl, &t, "p-2", "help", "市生态环境局", &[])?;
    let report = dispatched(&hl, &t, "p-3", "report", "市交通局", &[])?;

    // Unit A cannot read or change unit B's order: it does not exist for them.
    assert_eq!(
        req(
            &hl,
            "GET",
            &format!("/api/orders/{theirs}"),
            Some(&t.jtj),
            ""
        )?
        .0,
        404
    );
    assert_eq!(
        step(&hl, &t.jtj, &theirs, json!({"step": "signed_for"}))?.0,
        404
    );
    let (code, list) = req(&hl, "GET", "/api/orders", Some(&t.jtj), "")?;
    assert_eq!(code, 200);
    let nos: Vec<&str> = list["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["no"].as_str().unwrap())
        .collect();
    assert!(
        nos.contains(&ours.as_str()) && nos.contains(&report.as_str()),
        "{nos:?}"
    );
    assert!(!nos.contains(&theirs.as_str()), "{nos:?}");
    assert_eq!(
        req(
            &hl,
            "GET",
            "/api/orders?unit=市生态环境局",
            Some(&t.jtj),
            ""
        )?
        .0,
        403
    );
    // A co-unit sees the order but may not sign for it.
    assert_eq!(
        req(
            &hl,
            "GET",
            &format!("/api/orders/{ours}"),
            Some(&t.sthj),
            ""
        )?
        .0,
        200
    );
    let (code, v) = step(&hl, &t.sthj, &ours, json!({"step": "signed_for"}))?;
    assert_eq!(code, 403, "{v}");

    // Masked by default, with the view audited.
    let (code, v) = req(&hl, "GET", &format!("/api/orders/{ours}"), Some(&t.jtj), "")?;
    assert_eq!(code, 200);
    assert_eq!(v["personal_data"], "masked");
    let text = v.to_string();
    assert!(!text.contains("13812341234"), "{text}");
    assert!(text.contains("138****1234"), "{text}");
    assert!(!text.contains("140802199001011234"), "{text}");
    assert!(text.contains("140802********1234"), "{text}");
    // The reveal shows the number and is audited.
    let (code, v) = req(
        &hl,
        "POST",
        &format!("/api/orders/{ours}/reveal"),
        Some(&t.jtj),
        "",
    )?;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["personal_data"], "full");
    assert!(v.to_string().contains("13812341234"));
    assert!(v.to_string().contains("140802199001011234"));
    let audit = audit_actions(&hl, &t, &ours)?;
    assert!(
        audit.contains(&("jtj".into(), "view".into(), "personal data: masked".into())),
        "{audit:?}"
    );
    assert!(
        audit.contains(&("jtj".into(), "reveal".into(), "personal data: full".into())),
        "{audit:?}"
    );

    // A report's requester: never to a unit, not even by reveal.
    let (_, v) = req(
        &hl,
        "GET",
        &format!("/api/orders/{report}"),
        Some(&t.jtj),
        "",
    )?;
    assert_eq!(v["personal_data"], "hidden");
    let text = v.to_string();
    assert!(!text.contains("1234") && !text.contains("张三"), "{text}");
    assert_eq!(
        req(
            &hl,
            "POST",
            &format!("/api/orders/{report}/reveal"),
            Some(&t.jtj),
            ""
        )?
        .0,
        403
    );
    // The center sees it all.
    let (_, v) = req(
        &hl,
        "GET",
        &format!("/api/orders/{report}"),
        Some(&t.sup),
        "",
    )?;
    assert_eq!(v["personal_data"], "full");

    // Steps: a reply before signing is 409 and writes nothing; then the real path.
    let (_, before) = req(&hl, "GET", &format!("/api/orders/{ours}"), Some(&t.sup), "")?;
    let reply = json!({"step": "replied", "internal": "已修复", "public": "站牌已修复", "contacted_caller": true, "solved": true});
    let (code, v) = step(&hl, &t.jtj, &ours, reply.clone())?;
    assert_eq!(code, 409, "{v}");
    assert!(v["error"].as_str().unwrap().contains("not possible"), "{v}");
    let (_, after) = req(&hl, "GET", &format!("/api/orders/{ours}"), Some(&t.sup), "")?;
    assert_eq!(before["version"], after["version"]);
    ok_step(&hl, &t.jtj, &ours, json!({"step": "signed_for"}))?;
    // Only the unit head decides an extension; staff asking to decide is 403.
    let new_due = (Utc::now() + Days::days(20)).to_rfc3339();
    ok_step(
        &hl,
        &t.jtj,
        &ours,
        json!({"step": "extension_requested", "new_due": new_due, "basis": "《条例》", "reason": "需协调"}),
    )?;
    let decide = json!({"step": "extension_decided", "approved": true, "note": "同意", "caller_informed": true});
    assert_eq!(step(&hl, &t.jtj, &ours, decide.clone())?.0, 403);
    ok_step(&hl, &t.head, &ours, decide)?;
    ok_step(&hl, &t.jtj, &ours, reply)?;
    // Units cannot review their own reply.
    let review = json!({"step": "reviewed", "passed": true, "note": ""});
    assert_eq!(step(&hl, &t.jtj, &ours, review.clone())?.0, 403);
    ok_step(&hl, &t.sup, &ours, review)?;
    let v = ok_step(
        &hl,
        &t.agent,
        &ours,
        json!({"step": "callback_attempt", "reached": true, "solved": true, "satisfaction": "satisfied", "unit_at_fault": false}),
    )?;
    assert_eq!(v["order"]["status"], "called_back");
    // Steps on the other routes: unit staff may not see the audit, users or outbox.
    for path in [
        format!("/api/orders/{ours}/audit"),
        "/api/users".into(),
        "/api/outbox".into(),
    ] {
        assert_eq!(req(&hl, "GET", &path, Some(&t.jtj), "")?.0, 403, "{path}");
    }
    Ok(())
}

#[test]
fn bad_input_on_every_route_says_what_was_wrong() -> Result<()> {
    let hl = start()?;
    let t = tokens(&hl)?;
    let no = dispatched(&hl, &t, "b-1", "help", "市交通局", &[])?;
    let routes: Vec<(&str, String)> = vec![
        ("GET", "/api/auth/me".into()),
        ("POST", "/api/auth/logout".into()),
        ("GET", "/api/orders".into()),
        ("GET", format!("/api/orders/{no}")),
        ("POST", format!("/api/orders/{no}/steps")),
        ("POST", format!("/api/orders/{no}/reveal")),
        ("GET", format!("/api/orders/{no}/audit")),
        ("GET", "/api/missed-calls".into()),
        ("GET", "/api/units/overdue".into()),
        ("GET", "/api/units/市交通局/due".into()),
        ("GET", "/api/kpis?from=2026-11-01&to=2026-11-30".into()),
        ("GET", "/api/calendar/overrides".into()),
        ("PUT", "/api/calendar/overrides/2030-01-01".into()),
        ("DELETE", "/api/calendar/overrides/2030-01-01".into()),
        ("GET", "/api/users".into()),
        ("POST", "/api/users".into()),
        ("GET", "/api/outbox".into()),
    ];
    // No token, a made-up token: 401 with a reason, on every route.
    for (m, p) in &routes {
        for token in [None, Some("0".repeat(64).as_str()), Some("garbage")] {
            let (code, v) = req(&hl, m, p, token, "{}")?;
            assert_eq!(code, 401, "{m} {p} {token:?}: {v}");
            assert!(
                v["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{m} {p}: {v}"
            );
        }
    }
    let cases: Vec<(&str, String, &str, &str, u16, &str)> = vec![
        (
            "POST",
            "/api/auth/login".into(),
            "",
            r#"{"user":"admin","password":"nope"}"#,
            401,
            "wrong user name or password",
        ),
        (
            "POST",
            "/api/auth/login".into(),
            "",
            r#"{"user":"admin"}"#,
            422,
            "password",
        ),
        ("POST", "/api/auth/login".into(), "", "not json", 400, ""),
        (
            "GET",
            "/api/orders?status=lost".into(),
            "sup",
            "",
            422,
            "unknown status `lost`",
        ),
        (
            "GET",
            "/api/orders?limit=0".into(),
            "sup",
            "",
            422,
            "give 1 to 500",
        ),
        (
            "GET",
            "/api/orders?from=2026-13-01".into(),
            "sup",
            "",
            422,
            "from",
        ),
        (
            "GET",
            "/api/orders?before=xyz".into(),
            "sup",
            "",
            422,
            "not a cursor",
        ),
        (
            "GET",
            "/api/orders?colour=red".into(),
            "sup",
            "",
            422,
            "colour",
        ),
        (
            "GET",
            "/api/orders/YC20000101-000001".into(),
            "sup",
            "",
            404,
            "no work order",
        ),
        (
            "POST",
            format!("/api/orders/{no}/steps"),
            "agent",
            r#"{"step":"teleported"}"#,
            422,
            "teleported",
        ),
        (
            "POST",
            format!("/api/orders/{no}/steps"),
            "agent",
            r#"{"step":"dispatched","lead":"市交通局"}"#,
            422,
            "co",
        ),
        (
            "POST",
            format!("/api/orders/{no}/steps"),
            "sup",
            r#"{"step":"reassigned","lead":"市火星局","co":[],"card":"x"}"#,
            422,
            "not a known handling unit",
        ),
        (
            "POST",
            format!("/api/orders/{no}/steps"),
            "sup",
            r#"{"step":"drafted","record":"x","agent":null,"caller":"1","line":null}"#,
            422,
            "drafted from call records",
        ),
        (
            "POST",
            format!("/api/orders/{no}/steps"),
            "agent",
            r#"{"step":"classified","category":"x"}"#,
            409,
            "",
        ),
        (
            "POST",
            format!("/api/orders/{no}/steps"),
            "sup",
            r#"{"step":"merged","into":"YC20000101-000009"}"#,
            422,
            "no master order",
        ),
        (
            "GET",
            "/api/units/市交通局/due?within=99".into(),
            "jtj",
            "",
            422,
            "at most 30",
        ),
        (
            "GET",
            "/api/units/市生态环境局/due".into(),
            "jtj",
            "",
            403,
            "not of 市生态环境局",
        ),
        (
            "GET",
            "/api/kpis?from=2026-11-30&to=2026-11-01".into(),
            "sup",
            "",
            422,
            "before",
        ),
        (
            "GET",
            "/api/kpis?from=2026-11-01&to=2026-11-30&format=xml".into(),
            "sup",
            "",
            422,
            "json or csv",
        ),
        (
            "GET",
            "/api/kpis?from=2026-11-01".into(),
            "sup",
            "",
            422,
            "to",
        ),
        (
            "PUT",
            "/api/calendar/overrides/2020-01-01".into(),
            "admin",
            r#"{"working":false,"note":"x"}"#,
            422,
            "in the past",
        ),
        (
            "PUT",
            "/api/calendar/overrides/someday".into(),
            "admin",
            r#"{"working":false,"note":"x"}"#,
            422,
            "not a date",
        ),
        (
            "PUT",
            "/api/calendar/overrides/2099-01-01".into(),
            "admin",
            r#"{"working":false,"note":"x"}"#,
            422,
            "2099",
        ),
        (
            "PUT",
            "/api/calendar/overrides/2026-12-31".into(),
            "admin",
            r#"{"working":false,"note":" "}"#,
            422,
            "note",
        ),
        (
            "PUT",
            "/api/calendar/overrides/2026-12-31".into(),
            "sup",
            r#"{"working":false,"note":"x"}"#,
            403,
            "admins",
        ),
        (
            "DELETE",
            "/api/calendar/overrides/2026-12-30".into(),
            "admin",
            "",
            404,
            "no override",
        ),
        (
            "POST",
            "/api/users".into(),
            "admin",
            r#"{"id":"x y","name":"n","role":"agent","password":"12345678"}"#,
            422,
            "not a user name",
        ),
        (
            "POST",
            "/api/users".into(),
            "admin",
            r#"{"id":"x","name":"n","role":"boss","password":"12345678"}"#,
            422,
            "not a role",
        ),
        (
            "POST",
            "/api/users".into(),
            "admin",
            r#"{"id":"x","name":"n","role":"unit_staff","password":"12345678"}"#,
            422,
            "name their unit",
        ),
        (
            "POST",
            "/api/users".into(),
            "admin",
            r#"{"id":"x","name":"n","role":"agent","password":"short"}"#,
            422,
            "8 characters",
        ),
        (
            "POST",
            "/api/users".into(),
            "sup",
            r#"{"id":"x","name":"n","role":"agent","password":"12345678"}"#,
            403,
            "admins",
        ),
    ];
    let tok = |who: &str| match who {
        "admin" => Some(t.admin.as_str()),
        "sup" => Some(t.sup.as_str()),
        "agent" => Some(t.agent.as_str()),
        "jtj" => Some(t.jtj.as_str()),
        _ => None,
    };
    for (m, p, who, body, want, says) in &cases {
        let (code, v) = req(&hl, m, p, tok(who), body)?;
        assert_eq!(code, *want, "{m} {p} {body}: {v}");
        let msg = v["error"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string());
        assert!(
            msg.contains(says),
            "{m} {p} {body}: `{msg}` should say `{says}`"
        );
    }
    // None of that changed the order.
    let (_, v) = req(&hl, "GET", &format!("/api/orders/{no}"), Some(&t.sup), "")?;
    assert_eq!(v["version"], 3);
    // A user added by the admin logs in; the old token dies at log-out.
    let (code, v) = req(
        &hl,
        "POST",
        "/api/users",
        Some(&t.admin),
        r#"{"id":"new1","name":"新人","role":"agent","password":"12345678"}"#,
    )?;
    assert_eq!(code, 204, "{v}");
    let token = login(&hl, "new1", "12345678")?;
    assert_eq!(
        req(&hl, "GET", "/api/auth/me", Some(&token), "")?.1["role"],
        "agent"
    );
    assert_eq!(
        req(&hl, "POST", "/api/auth/logout", Some(&token), "")?.0,
        204
    );
    assert_eq!(req(&hl, "GET", "/api/auth/me", Some(&token), "")?.0, 401);
    Ok(())
}

#[test]
fn kpis_as_json_and_csv_and_the_openapi_document() -> Result<()> {
    let hl = start()?;
    let t = tokens(&hl)?;
    let a = dispatched(&hl, &t, "k-1", "help", "市交通局", &[])?;
    dispatched(&hl, &t, "k-2", "complaint", "市生态环境局", &[])?;
    ok_step(&hl, &t.jtj, &a, json!({"step": "signed_for"}))?;
    ok_step(
        &hl,
        &t.jtj,
        &a,
        json!({"step": "replied", "internal": "i", "public": "p", "contacted_caller": true, "solved": true}),
    )?;
    let today = Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive();
    let period = format!(
        "from={}&to={}",
        today - Days::days(1),
        today + Days::days(1)
    );
    let (code, v) = req(&hl, "GET", &format!("/api/kpis?{period}"), Some(&t.sup), "")?;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["units"]["市交通局"]["counts"]["dispatched"], 1);
    assert_eq!(v["units"]["市交通局"]["counts"]["replied_on_time"], 1);
    assert_eq!(v["units"]["市交通局"]["on_time_completion"], 1.0);
    assert_eq!(v["center"]["counts"]["dispatched"], 2);
    // A unit's staff get their own unit's figures only.
    let (_, v) = req(&hl, "GET", &format!("/api/kpis?{period}"), Some(&t.jtj), "")?;
    assert_eq!(v["units"].as_object().unwrap().len(), 1);
    assert_eq!(v["center"]["counts"]["dispatched"], 1);
    let out = http_request_as(
        hl.http,
        "GET",
        &format!("/api/kpis?{period}&format=csv"),
        Some(&t.sup),
        "",
    )?;
    assert!(
        out.to_lowercase().contains("content-type: text/csv"),
        "{out}"
    );
    let csv = out.split_once("\r\n\r\n").unwrap().1;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[0].starts_with("unit,"), "{csv}");
    assert!(
        lines.iter().any(|l| l.starts_with("\"市交通局\",1,")),
        "{csv}"
    );

    let (code, doc) = req(&hl, "GET", "/api/openapi.json", None, "")?;
    assert_eq!(code, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    for p in [
        "/api/auth/login",
        "/api/orders/{no}/steps",
        "/api/kpis",
        "/api/calendar/overrides/{date}",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p} not documented");
    }
    let out = http_request_as(hl.http, "GET", "/api/docs", None, "")?;
    assert!(
        out.starts_with("HTTP/1.1 200") && out.contains("<html"),
        "{}",
        &out[..out.len().min(300)]
    );
    Ok(())
}

/// `hotline hash-password` prints a hash that `[[users]] password_hash` takes for log-in.
#[test]
fn hash_password_cli_makes_a_hash_that_logs_in() -> Result<()> {
    use std::io::Write;
    let mut child = std::process::Command::new(hotline_tests::hotline_bin()?)
        .arg("hash-password")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .context("stdin")?
        .write_all(b"s3cret-pass\n")?;
    let out = child.wait_with_output()?;
    assert!(out.status.success());
    let line = String::from_utf8(out.stdout)?;
    assert!(line.starts_with("password_hash = \"$argon2id$"), "{line}");
    let hl = Hotline::start(&format!(
        "[[users]]\nid = \"ops\"\nrole = \"admin\"\n{line}"
    ))?;
    let token = login(&hl, "ops", "s3cret-pass")?;
    assert_eq!(
        req(&hl, "GET", "/api/auth/me", Some(&token), "")?.1["role"],
        "admin"
    );
    let body = json!({"user": "ops", "password": "s3cret-pasS"}).to_string();
    assert_eq!(req(&hl, "POST", "/api/auth/login", None, &body)?.0, 401);
    Ok(())
}

/// The ACD's routes take the same log-in: the center reads the snapshot, an agent acts for
/// themselves and on their own call only, a supervisor for anyone, a unit not at all.
#[test]
fn acd_routes_want_a_login_and_agents_act_for_themselves() -> Result<()> {
    let hl = start()?;
    let t = tokens(&hl)?;
    let cases: Vec<(&str, &str, Option<&str>, u16)> = vec![
        ("GET", "/api/acd", None, 401),
        ("GET", "/api/acd", Some("garbage"), 401),
        ("GET", "/api/acd", Some(&t.jtj), 403),
        ("GET", "/api/acd/reasons", Some(&t.head), 403),
        ("GET", "/api/acd", Some(&t.agent), 200),
        ("POST", "/api/acd/agents/1002/login", Some(&t.agent), 403),
        ("POST", "/api/acd/agents/1001/login", Some(&t.agent), 200),
        ("POST", "/api/acd/agents/1001/ready", Some(&t.agent), 200),
        ("POST", "/api/acd/agents/1002/login", Some(&t.sup), 200),
        (
            "POST",
            "/api/acd/supervisor/agents/1002/state",
            Some(&t.agent),
            403,
        ),
        (
            "POST",
            "/api/calls/not-my-call/emergency",
            Some(&t.agent),
            403,
        ),
        ("POST", "/api/acd/agents/1001/emergency", Some(&t.jtj), 403),
    ];
    for (m, p, token, want) in cases {
        let (code, v) = req(&hl, m, p, token, "")?;
        assert_eq!(code, want, "{m} {p} as {token:?}: {v}");
        if want != 200 {
            assert!(
                v["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{m} {p}: {v}"
            );
        }
    }
    // The event stream takes the token in the query (browsers open WebSockets without headers).
    for (q, want) in [
        ("", "401"),
        ("?access_token=bad", "401"),
        (&*format!("?access_token={}", t.jtj), "403"),
    ] {
        let out = http_request_as(hl.http, "GET", &format!("/api/acd/events{q}"), None, "")?;
        assert!(out.starts_with(&format!("HTTP/1.1 {want}")), "{q}: {out}");
    }
    Ok(())
}
