//! A supervisor monitors a call from the wallboard in headless Chromium (issue 8): a SIPp
//! citizen talks to a SIPp agent; the supervisor gives their phone (a SIPp phone) and presses
//! 监听: the phone rings and joins the call without the citizen hearing anything ring; 密语 then
//! 强插 change the mix in place (no new ring); when the agent hangs up the supervisor's phone is
//! hung up too. What each party hears in each mode is the mixer's and the media session's
//! tests (`crates/media/tests/mixer.rs`, `session.rs`); this one is the signalling and the page.

use std::time::Duration;

use anyhow::{Context, Result};
use hotline_tests::api::{WEB_USERS, login, req};
use hotline_tests::webdriver::Browser;
use hotline_tests::{
    Hotline, SippArgs, free_even_port, free_udp_port, phone, repo_root, sipp_spawn,
};

#[test]
fn the_supervisor_listens_whispers_and_barges_in_from_the_wallboard() -> Result<()> {
    let hl = Hotline::start(WEB_USERS)?;
    let dir = hl.dir.path().to_path_buf();
    // The agent answers and hangs up after 14 s of talk.
    let agent = phone(
        &hl,
        &dir,
        "agent",
        Some(("1001", "demo1001")),
        "agent_uas_bye.xml",
        free_udp_port(),
        &["-d", "14000"],
    )?;
    // The supervisor's desk phone: not an agent, reached by its address.
    let sup_port = free_udp_port();
    let sup_phone = phone(
        &hl,
        &dir,
        "supervisor",
        None,
        "agent_uas.xml",
        sup_port,
        &[],
    )?;
    let text = std::fs::read_to_string(repo_root().join("sipp-scenarios/ivr_caller_wait_bye.xml"))?
        .replace("dtmf_2833_2.pcap", "dtmf_2833_0.pcap");
    let scen = dir.join("citizen.xml");
    std::fs::write(&scen, text)?;
    let citizen = sipp_spawn(
        &dir,
        "citizen",
        &SippArgs::new(&scen.display().to_string())
            .to(hl.sip_udp)
            .arg("-s", "12345")
            .arg("-mp", free_even_port())
            .args(&["-set", "dtmf_after", "0", "-timeout", "60"])
            .build(1),
    )?;

    let token = login(&hl, "sup", "sup-pw")?;
    // What the API refuses, and says why.
    let agent_token = login(&hl, "1001", "agent-pw")?;
    for (who, path, body, want) in [
        (
            &token,
            "/api/acd/supervisor/monitor/nope",
            r#"{"phone": "1009"}"#,
            404,
        ),
        (
            &token,
            "/api/acd/supervisor/monitor/nope",
            r#"{"phone": "1009", "mode": "spy"}"#,
            422,
        ),
        (
            &token,
            "/api/acd/supervisor/monitor/nope",
            r#"{"mode": "listen"}"#,
            422,
        ),
        (
            &token,
            "/api/acd/supervisor/monitor/nope/mode",
            r#"{"mode": "barge"}"#,
            404,
        ),
        (
            &agent_token,
            "/api/acd/supervisor/monitor/nope",
            r#"{"phone": "1009"}"#,
            403,
        ),
    ] {
        let (code, v) = req(&hl, "POST", path, Some(who), body)?;
        assert_eq!(code, want, "{path} {body}: {v}");
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
    }
    let b = Browser::start(1366, 768)?;
    b.open_as(hl.http, "/wallboard", &token, "sup", "supervisor")?;
    b.type_into("#my-phone", &format!("sip:sup@127.0.0.1:{sup_port}"))?;
    // The call, once the agent talks.
    let listen = "#calls button.monitor[data-mode='listen']";
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while b.find(listen).is_err() {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "no connected call on the wallboard"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    b.click(listen)?;
    b.wait_text("#monitor-state", |t| t.contains("监听中"))?;
    b.click("#calls button.monitor[data-mode='whisper']")?;
    b.wait_text("#monitor-state", |t| t.contains("密语中"))?;
    let pressed = b.eval(
        "return document.querySelector(\"#calls button.monitor[data-mode='whisper']\").getAttribute('aria-pressed')",
    )?;
    assert_eq!(pressed, "true");
    b.screenshot(&repo_root().join("target/screenshots/wallboard-2-whisper.png"))?;
    b.click("#calls button.monitor[data-mode='barge']")?;
    b.wait_text("#monitor-state", |t| t.contains("强插中"))?;

    // The agent hangs up: the citizen gets its BYE, and so does the supervisor's phone.
    let (code, out) = agent.wait(Duration::from_secs(30))?;
    assert_eq!(code, 0, "agent:\n{out}");
    let (code, out) = citizen.wait(Duration::from_secs(20))?;
    assert_eq!(code, 0, "citizen:\n{out}");
    let (code, out) = sup_phone.wait(Duration::from_secs(20))?;
    assert_eq!(code, 0, "supervisor's phone:\n{out}");
    let records = hl.wait_records(1, Duration::from_secs(10))?;
    let route = records
        .first()
        .and_then(|r| r.route.clone())
        .context("route")?;
    let sup = format!("sip:sup@127.0.0.1:{sup_port}");
    for part in [
        format!("listen:{sup}"),
        format!("joined:{sup}"),
        "mode:whisper".to_string(),
        "mode:barge".to_string(),
    ] {
        assert!(route.contains(&part), "{part} in {route}");
    }
    Ok(())
}
