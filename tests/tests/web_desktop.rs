//! The agent desktop in headless Chromium (1366×768) against the running server: a wrong
//! password says so; the agent logs in, signs in and goes ready with the state shown; typing a
//! caller's problem brings knowledge-base suggestions with the matched words; a search shows
//! highlighted results; the typed text survives a reload. Screenshots of each screen go to
//! `target/screenshots/`.

use anyhow::Result;
use hotline_tests::api::{WEB_USERS, answered, insert_records, login, order_of, req};
use hotline_tests::webdriver::Browser;
use hotline_tests::{Hotline, repo_root};
use serde_json::json;

/// The web users, with the sample knowledge base for the suggestions.
fn setup() -> String {
    format!("[kb]\nload_sample = true\n{WEB_USERS}")
}

#[test]
fn an_agent_logs_in_goes_ready_and_gets_suggestions_while_typing() -> Result<()> {
    let hl = Hotline::start(&setup())?;
    let b = Browser::start(1366, 768)?;
    let url = format!("http://{}/", hl.http);
    b.goto(&url)?;
    assert_eq!(b.eval("return document.title")?, "12345 坐席工作台");
    b.shot("desktop-1-login")?;

    // A wrong password: the error says so and the form stays.
    b.type_into("#user", "1001")?;
    b.type_into("#password", "wrong")?;
    b.click("#login button[type=submit]")?;
    let err = b.wait_text("#error", |t| t.contains("登录失败"))?;
    assert!(err.contains("登录失败"), "{err}");
    b.shot("desktop-2-login-error")?;

    // The users are stored once the database answers; log-in retries until then.
    b.eval("document.getElementById('user').value = ''")?;
    b.eval("document.getElementById('password').value = ''")?;
    log_in(&hl, &b, "1001", "agent-pw")?;
    assert!(b.text("#who")?.contains("王芳"));

    // Sign in to the ACD and go ready: the badge follows.
    b.click("#acd-login")?;
    b.wait_text("#state", |t| t.contains("示忙") || t.contains("空闲"))?;
    b.click("#acd-ready")?;
    let state = b.wait_text("#state", |t| t.contains("空闲"))?;
    assert!(state.contains("空闲"), "{state}");

    // Typing the caller's problem: suggestions with why they matched.
    b.type_into("#content", "来电人反映家里暖气一直不热，已经三天了")?;
    let first = b
        .wait_text("#suggestions li", |t| !t.is_empty())
        .map_err(|e| anyhow::anyhow!("{e}; the page says: {:?}", b.text("#error")))?;
    assert!(first.contains("暖气"), "{first}");
    let marks = b.eval("return document.querySelectorAll('#suggestions mark').length")?;
    assert!(marks.as_u64().unwrap_or(0) > 0, "matched words highlighted");
    let why = b.text("#suggestions li .why")?;
    assert!(why.contains("暖气"), "why it matched: {why}");
    b.shot("desktop-3-suggestions")?;

    // A search of the knowledge base.
    b.type_into("#q", "公积金提取")?;
    b.click("#kb-search button[type=submit]")?;
    let hit = b.wait_text("#results li", |t| t.contains("公积金"))?;
    assert!(hit.contains("公积金"), "{hit}");
    b.shot("desktop-4-search")?;

    // A reload keeps the session and the typed description.
    b.goto(&url)?;
    let kept = b.eval("return document.getElementById('content').value")?;
    assert_eq!(kept, "来电人反映家里暖气一直不热，已经三天了");
    b.wait_text("#suggestions li", |t| t.contains("暖气"))?;
    Ok(())
}

/// Logs in through the form, once the server has stored the users (the API's own log-in
/// waits for that), then waits for the desk to open.
fn log_in(hl: &Hotline, b: &Browser, user: &str, password: &str) -> Result<()> {
    login(hl, user, password)?;
    b.type_into("#user", user)?;
    b.type_into("#password", password)?;
    b.click("#login button[type=submit]")?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while b.eval("return document.getElementById('desk').hidden")? == true {
        if std::time::Instant::now() > deadline {
            anyhow::bail!("{user} could not log in: {}", b.text("#error")?);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Ok(())
}

#[test]
fn the_wallboard_follows_agents_live_and_a_supervisor_forces_a_state() -> Result<()> {
    let hl = Hotline::start(&setup())?;
    let b = Browser::start(1366, 768)?;
    b.goto(&format!("http://{}/", hl.http))?;
    log_in(&hl, &b, "sup", "sup-pw")?;
    b.click("#to-wall")?;
    b.wait_text("#live", |t| t == "实时")?;
    let queues = b.eval("return document.querySelectorAll('#queues tbody tr').length")?;
    assert!(queues.as_u64().unwrap_or(0) >= 1, "the queues are listed");

    // The agent signs in and goes ready from elsewhere: the wallboard shows it without a reload.
    let agent = login(&hl, "1001", "agent-pw")?;
    for action in ["login", "ready"] {
        let (code, v) = req(
            &hl,
            "POST",
            &format!("/api/acd/agents/1001/{action}"),
            Some(&agent),
            "",
        )?;
        assert!(code < 300, "{action}: {code} {v}");
    }
    let state = b.wait_text("#agents tr[data-agent='1001'] td.state", |t| t == "空闲")?;
    assert_eq!(state, "空闲");
    b.screenshot(&repo_root().join("target/screenshots/wallboard-1-live.png"))?;

    // The supervisor forces the agent not ready from the board.
    b.click("#agents tr[data-agent='1001'] button[aria-label='强制示忙 1001']")?;
    let state = b.wait_text("#agents tr[data-agent='1001'] td.state", |t| {
        t.starts_with("示忙")
    })?;
    assert_eq!(state, "示忙（班长调整）");
    let (_, snap) = req(&hl, "GET", "/api/acd", Some(&agent), "")?;
    let a = snap["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "1001")
        .cloned();
    assert_eq!(
        a.map(|a| a["state"].clone()),
        Some(serde_json::json!("not_ready"))
    );
    b.screenshot(&repo_root().join("target/screenshots/wallboard-2-forced.png"))?;
    Ok(())
}

#[test]
fn a_unit_signs_for_its_order_and_replies_in_the_portal() -> Result<()> {
    let hl = Hotline::start_with(&setup(), &[("HOTLINE_WORKORDERS__DRAFT_SCAN_SECS", "1")])?;
    // An order dispatched to 市交通局 by an agent, through the API.
    let agent = login(&hl, "1001", "agent-pw")?;
    insert_records(&hl, vec![answered("web-1", "13812341234")])?;
    let no = order_of(&hl, &agent, "web-1")?;
    for body in [
        json!({"step": "intake_filled", "request_type": "help", "category": "交通/公交", "urgency": "normal",
            "requester": {"name": "张三", "phone": "13812341234", "anonymous": false, "confidential": false},
            "address": "和平路 1 号", "area": "盐湖区", "content": "和平路公交站牌被撞倒了，请尽快修复"}),
        json!({"step": "dispatched", "lead": "市交通局", "co": [], "card": "请核实处理"}),
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

    let b = Browser::start(1366, 768)?;
    b.goto(&format!("http://{}/", hl.http))?;
    login(&hl, "jtj", "jtj-pw")?;
    b.type_into("#user", "jtj")?;
    b.type_into("#password", "jtj-pw")?;
    b.click("#login button[type=submit]")?;
    let row = format!("#orders tr[data-no='{no}']");
    let text = b.wait_text(&row, |t| t.contains("待签收"))?;
    assert!(text.contains(&no), "{text}");
    let light = b.eval(&format!(
        "return document.querySelector(\"{row} .light\").className"
    ))?;
    assert_eq!(light, "light green", "3 working days left");
    b.click(&row)?;
    let facts = b.wait_text("#facts", |t| t.contains("站牌"))?;
    assert!(
        facts.contains("138****1234"),
        "the caller's number masked: {facts}"
    );
    assert!(!facts.contains("13812341234"), "{facts}");
    b.screenshot(&repo_root().join("target/screenshots/units-1-order.png"))?;

    b.click("#sign")?;
    b.wait_text("#facts", |t| t.contains("办理中"))?;
    b.type_into("#public", "已安排维修人员，站牌今日修复。")?;
    b.type_into("#internal", "养护科现场处理")?;
    b.click("#contacted")?;
    b.click("#solved")?;
    b.click("#reply button[type=submit]")?;
    b.wait_text("#facts", |t| t.contains("已回复"))?;
    b.screenshot(&repo_root().join("target/screenshots/units-2-replied.png"))?;
    let (_, v) = req(&hl, "GET", &format!("/api/orders/{no}"), Some(&agent), "")?;
    assert_eq!(v["order"]["status"], "replied", "{v}");
    Ok(())
}
