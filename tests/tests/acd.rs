//! The ACD against the running server with SIPp phones: 20 callers served by 5 agents with
//! different talk times, ring-all with exactly one agent bridged, an agent who never answers
//! skipped and set not ready, no stuck agents (unregistered, OPTIONS unanswered, both phones
//! silent without BYE), the HTTP API's errors, and agent states and callbacks surviving a
//! restart.

use anyhow::{Context, Result};
use hotline_cdr::EndReason;
use hotline_tests::acd::{agent_state, api as http, snapshot, wait_agent_state as wait_state};
use hotline_tests::ws::Ws;
use hotline_tests::{
    Hotline, SippArgs, free_even_port, free_udp_port, http_get, phone, register_agent, repo_root,
    sipp_run, sipp_spawn,
};
use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, Instant};

fn queue_counters(hl: &Hotline, queue: &str) -> Result<Value> {
    let snap = snapshot(hl)?;
    Ok(snap["queues"]
        .as_array()
        .context("queues")?
        .iter()
        .find(|q| q["queue"] == queue)
        .context("queue")?["counters"]
        .clone())
}

fn agents_toml(ids: &[&str]) -> String {
    ids.iter()
        .map(|id| {
            format!("[[agents]]\nid = \"{id}\"\ngroups = [\"default\"]\npassword = \"pw{id}\"\n\n")
        })
        .collect()
}

/// A caller who presses 0 at once (to an agent) and hangs up after `hold_ms`.
fn caller_0(dir: &std::path::Path) -> Result<String> {
    let text = std::fs::read_to_string(repo_root().join("sipp-scenarios/ivr_caller.xml"))?
        .replace("dtmf_2833_2.pcap", "dtmf_2833_0.pcap");
    let scen = dir.join("caller_0.xml");
    std::fs::write(&scen, text)?;
    Ok(scen.display().to_string())
}

/// ivr_caller_wait_bye.xml with key 0 first and `steps` (SIPp XML) before it waits for the BYE.
fn waiting_caller_then(steps: &str) -> Result<String> {
    let text = std::fs::read_to_string(repo_root().join("sipp-scenarios/ivr_caller_wait_bye.xml"))?
        .replace("dtmf_2833_2.pcap", "dtmf_2833_0.pcap");
    Ok(text.replace(
        "  <recv request=\"BYE\"",
        &format!("{steps}  <recv request=\"BYE\""),
    ))
}

/// SIPp XML sending `key` as an in-dialog SIP INFO (application/dtmf-relay) and taking its 200.
fn info_key(key: &str) -> String {
    format!(
        "  <send retrans=\"500\">\n    <![CDATA[\n\n      \
         INFO [next_url] SIP/2.0\n      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]\n      \
         [routes]\n      From: \"sipp citizen\" <sip:1390000[call_number]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]\n      \
         To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]\n      Call-ID: [call_id]\n      CSeq: 2 INFO\n      \
         Max-Forwards: 70\n      Content-Type: application/dtmf-relay\n      Content-Length: [len]\n\n      \
         Signal={key}\n      Duration=160\n\n    ]]>\n  </send>\n  <recv response=\"200\"/>\n"
    )
}

#[test]
fn twenty_callers_are_served_by_five_agents_one_call_at_a_time() -> Result<()> {
    let ids = ["2001", "2002", "2003", "2004", "2005"];
    let hl = Hotline::start_with(
        &agents_toml(&ids),
        &[("HOTLINE_ACD__DEFAULTS__WRAP_UP_SECS", "1")],
    )?;
    let dir = hl.dir.path().to_path_buf();
    // Five agents with different talk ("think") times, each hanging up first.
    let mut agents = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let port = free_udp_port();
        let talk = (1500 + 500 * i).to_string();
        agents.push(sipp_spawn(
            &dir,
            &format!("agent{id}"),
            &SippArgs::new("agent_uas_bye.xml")
                .port(port)
                .arg("-mp", free_even_port())
                .args(&["-d", &talk, "-timeout", "120"])
                .arg("-m", 20)
                .into_args(),
        )?);
        std::thread::sleep(Duration::from_millis(300));
        register_agent(&dir, hl.sip_udp, id, &format!("pw{id}"), port)?;
    }
    for id in ids {
        wait_state(&hl, id, "ready", Duration::from_secs(5))?;
    }
    // Twenty citizens, four a second, each waiting on the line until the agent hangs up.
    let args = SippArgs::new("ivr_caller_wait_bye.xml")
        .to(hl.sip_udp)
        .arg("-s", "12345")
        .arg("-mp", free_even_port())
        .args(&["-set", "dtmf_after", "0", "-r", "4", "-timeout", "150"])
        .arg("-m", 20)
        .into_args();
    let (code, out) = sipp_run(&dir, "citizens", &args, Duration::from_secs(160))?;
    assert_eq!(code, 0, "citizens:\n{out}");
    let records = hl.wait_records(20, Duration::from_secs(20))?;
    let mut per_agent: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
    for r in &records {
        let agent = r
            .agent
            .clone()
            .with_context(|| format!("unanswered: {r:?}"))?;
        assert!(ids.contains(&agent.as_str()), "{r:?}");
        assert_eq!(r.end_reason, EndReason::CalleeHangup, "{r:?}");
        let answered = r.answered_at.context("answered_at")?.timestamp_millis();
        per_agent
            .entry(agent)
            .or_default()
            .push((answered, r.ended_at.timestamp_millis()));
    }
    // Nobody had two calls at once; every agent took some.
    for (agent, mut calls) in per_agent.clone() {
        calls.sort();
        for w in calls.windows(2) {
            assert!(
                w[1].0 >= w[0].1,
                "agent {agent} answered a call before the last ended: {calls:?}"
            );
        }
    }
    assert_eq!(per_agent.len(), 5, "every agent served: {per_agent:?}");
    let c = queue_counters(&hl, "default")?;
    assert_eq!(c["answered"], 20, "{c}");
    assert_eq!(c["abandoned"], 0, "{c}");
    assert_eq!(c["handled"], 20, "{c}");
    // The per-queue gauges follow within their 2 s refresh.
    let want = "hotline_acd_calls_today{queue=\"default\",outcome=\"answered\"} 20";
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = http_get(hl.http, "/metrics")?;
        if text.contains(want) {
            break;
        }
        assert!(Instant::now() < deadline, "{want} not in:\n{text}");
        std::thread::sleep(Duration::from_millis(300));
    }
    drop(agents);
    Ok(())
}

#[test]
fn ring_all_rings_three_agents_and_bridges_exactly_one() -> Result<()> {
    let hl = Hotline::start_with("", &[("HOTLINE_ACD__DEFAULTS__STRATEGY", "ring-all")])?;
    let dir = hl.dir.path().to_path_buf();
    // 1001 answers after 300 ms; 1002 and 1003 ring and must get a CANCEL.
    let winner = phone(
        &hl,
        &dir,
        "a1001",
        Some(("1001", "demo1001")),
        "agent_uas.xml",
        free_udp_port(),
        &["-d", "300"],
    )?;
    let others = [("1002", "demo1002"), ("1003", "demo1003")]
        .iter()
        .map(|(id, pw)| {
            phone(
                &hl,
                &dir,
                &format!("a{id}"),
                Some((id, pw)),
                "agent_uas_noanswer.xml",
                free_udp_port(),
                &[],
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let args = SippArgs::new(&caller_0(&dir)?)
        .to(hl.sip_udp)
        .arg("-s", "12345")
        .arg("-mp", free_even_port())
        .args(&["-set", "dtmf_after", "0", "-d", "6000"])
        .build(1);
    let (code, out) = sipp_run(&dir, "citizen", &args, Duration::from_secs(60))?;
    assert_eq!(code, 0, "citizen:\n{out}");
    let (code, out) = winner.wait(Duration::from_secs(20))?;
    assert_eq!(code, 0, "the winner talks and gets the BYE:\n{out}");
    for o in others {
        let (code, out) = o.wait(Duration::from_secs(20))?;
        assert_eq!(code, 0, "each other agent rang and was cancelled:\n{out}");
    }
    let r = hl.wait_records(1, Duration::from_secs(10))?;
    assert_eq!(r[0].agent.as_deref(), Some("1001"), "{:?}", r[0]);
    let route = r[0].route.clone().unwrap_or_default();
    assert_eq!(route.matches("answered:").count(), 1, "{route}");
    let c = queue_counters(&hl, "default")?;
    assert_eq!(c["answered"], 1, "{c}");
    Ok(())
}

#[test]
fn an_agent_who_never_answers_is_skipped_and_set_not_ready() -> Result<()> {
    let hl = Hotline::start_with(
        "",
        &[
            ("HOTLINE_ACD__DEFAULTS__RING_TIMEOUT_SECS", "2"),
            ("HOTLINE_ACD__DEFAULTS__MAX_NO_ANSWER", "1"),
        ],
    )?;
    let dir = hl.dir.path().to_path_buf();
    // 1001 registers first, so longest-idle offers it the call first; it never answers.
    let sleepy = phone(
        &hl,
        &dir,
        "a1001",
        Some(("1001", "demo1001")),
        "agent_uas_noanswer.xml",
        free_udp_port(),
        &[],
    )?;
    std::thread::sleep(Duration::from_millis(100));
    let good = phone(
        &hl,
        &dir,
        "a1002",
        Some(("1002", "demo1002")),
        "agent_uas.xml",
        free_udp_port(),
        &["-d", "200"],
    )?;
    let args = SippArgs::new(&caller_0(&dir)?)
        .to(hl.sip_udp)
        .arg("-s", "12345")
        .arg("-mp", free_even_port())
        .args(&["-set", "dtmf_after", "0", "-d", "9000"])
        .build(1);
    let (code, out) = sipp_run(&dir, "citizen", &args, Duration::from_secs(60))?;
    assert_eq!(code, 0, "citizen:\n{out}");
    let (code, out) = sleepy.wait(Duration::from_secs(20))?;
    assert_eq!(code, 0, "the sleepy agent rang and was cancelled:\n{out}");
    good.wait(Duration::from_secs(20))?;
    let r = hl.wait_records(1, Duration::from_secs(10))?;
    assert_eq!(r[0].agent.as_deref(), Some("1002"), "{:?}", r[0]);
    let reason = wait_state(&hl, "1001", "not_ready", Duration::from_secs(2))?;
    assert_eq!(reason.as_deref(), Some("未应答"));
    let c = queue_counters(&hl, "default")?;
    assert_eq!(c["no_answers"], 1, "{c}");
    Ok(())
}

#[test]
fn an_agent_whose_registration_ends_is_logged_out() -> Result<()> {
    let hl = Hotline::start("")?;
    let dir = hl.dir.path().to_path_buf();
    let port = free_udp_port();
    register_agent(&dir, hl.sip_udp, "1001", "demo1001", port)?;
    wait_state(&hl, "1001", "ready", Duration::from_secs(5))?;
    let args = SippArgs::new("unregister.xml")
        .to(hl.sip_udp)
        .arg("-s", "1001")
        .arg("-ap", "demo1001")
        .args(&["-set", "contact_host", "127.0.0.1", "-set", "contact_port"])
        .args(&[&port.to_string()])
        .build(1);
    let (code, out) = sipp_run(&dir, "unregister", &args, Duration::from_secs(15))?;
    assert_eq!(code, 0, "{out}");
    wait_state(&hl, "1001", "logged_out", Duration::from_secs(3))?;
    Ok(())
}

#[test]
fn an_agent_whose_phone_stops_answering_options_is_logged_out() -> Result<()> {
    let hl = Hotline::start_with(
        "",
        &[
            ("HOTLINE_ACD__OPTIONS_INTERVAL_SECS", "1"),
            ("HOTLINE_ACD__OPTIONS_MAX_FAILURES", "2"),
        ],
    )?;
    let dir = hl.dir.path().to_path_buf();
    // Registered at a port where nothing listens: the phone is gone.
    register_agent(&dir, hl.sip_udp, "1001", "demo1001", free_udp_port())?;
    wait_state(&hl, "1001", "ready", Duration::from_secs(5))?;
    // Two keepalives of at most 5 s each go unanswered.
    wait_state(&hl, "1001", "logged_out", Duration::from_secs(20))?;
    Ok(())
}

#[test]
fn phones_gone_silent_without_bye_do_not_leave_the_agent_in_a_call() -> Result<()> {
    // Longer than the IVR's way to the queue (the key, then the 4 s queue prompt).
    let hl = Hotline::start_with("", &[("HOTLINE_MEDIA__RTP_TIMEOUT_SECS", "7")])?;
    let dir = hl.dir.path().to_path_buf();
    // The agent answers and then sends nothing (SIPp sends no RTP) and never hangs up.
    let agent = phone(
        &hl,
        &dir,
        "a1001",
        Some(("1001", "demo1001")),
        "agent_uas.xml",
        free_udp_port(),
        &["-d", "100"],
    )?;
    let args = SippArgs::new("ivr_caller_wait_bye.xml")
        .to(hl.sip_udp)
        .arg("-s", "12345")
        .arg("-mp", free_even_port())
        .args(&["-set", "dtmf_after", "0"])
        .build(1);
    let (code, out) = sipp_run(&dir, "citizen", &args, Duration::from_secs(60))?;
    assert_eq!(code, 0, "the hotline hung up the caller:\n{out}");
    let (code, out) = agent.wait(Duration::from_secs(20))?;
    assert_eq!(code, 0, "and the agent:\n{out}");
    let r = hl.wait_records(1, Duration::from_secs(10))?;
    assert_eq!(r[0].end_reason, EndReason::RtpTimeout, "{:?}", r[0]);
    assert_eq!(r[0].agent.as_deref(), Some("1001"));
    wait_state(&hl, "1001", "ready", Duration::from_secs(3))?;
    Ok(())
}

#[test]
fn the_api_changes_states_and_says_what_was_wrong() -> Result<()> {
    let hl = Hotline::start("")?;
    let post = |path: &str, body: &str| http(hl.http, "POST", path, body);
    let (code, body) = post("/api/acd/agents/1001/login", "{\"desk\": true}")?;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"state\":\"ready\""), "{body}");
    let (code, body) = post("/api/acd/agents/1001/not-ready", "{\"reason\": \"就餐\"}")?;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        agent_state(&hl, "1001")?,
        ("not_ready".into(), Some("就餐".into()))
    );
    // Errors: unknown reason, missing reason, unknown agent, wrong state, bad JSON.
    let (code, body) = post("/api/acd/agents/1001/not-ready", "{\"reason\": \"打游戏\"}")?;
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("小休"), "{body}");
    let (code, body) = post("/api/acd/agents/1001/not-ready", "{}")?;
    assert_eq!(code, 422, "{body}");
    let (code, body) = post("/api/acd/agents/9999/ready", "")?;
    assert_eq!(code, 404, "{body}");
    assert!(body.contains("9999"), "{body}");
    let (code, body) = post("/api/acd/agents/1001/end-wrap-up", "")?;
    assert_eq!(code, 409, "{body}");
    let (code, body) = post("/api/acd/agents/1001/login", "{\"desk\": ")?;
    assert_eq!(code, 422, "{body}");
    // A supervisor forces states, with any reason.
    let (code, body) = post(
        "/api/acd/supervisor/agents/1002/state",
        "{\"state\": \"not_ready\", \"reason\": \"质检辅导\"}",
    )?;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        agent_state(&hl, "1002")?,
        ("not_ready".into(), Some("质检辅导".into()))
    );
    let (code, body) = post(
        "/api/acd/supervisor/agents/1002/state",
        "{\"state\": \"gone\"}",
    )?;
    assert_eq!(code, 422, "{body}");
    let (code, body) = post(
        "/api/acd/supervisor/calls/77/move",
        "{\"queue\": \"default\"}",
    )?;
    assert_eq!(code, 404, "{body}");
    let (code, _) = post("/api/acd/agents/1001/logout", "")?;
    assert_eq!(code, 200);
    assert_eq!(agent_state(&hl, "1001")?.0, "logged_out");
    Ok(())
}

#[test]
fn agent_states_and_callbacks_survive_a_restart() -> Result<()> {
    let db_dir = tempfile::tempdir()?;
    let db_url = format!("sqlite://{}/hotline.db?mode=rwc", db_dir.path().display());
    // The caller waits with nobody logged in and presses 1: a callback keeping their place.
    {
        let hl = Hotline::start_in(tempfile::tempdir()?, db_url.clone(), "", &[])?;
        let dir = hl.dir.path().to_path_buf();
        let (code, body) = http(
            hl.http,
            "POST",
            "/api/acd/agents/1002/login",
            "{\"desk\": false}",
        )?;
        assert_eq!(code, 200, "{body}");
        let (code, body) = http(
            hl.http,
            "POST",
            "/api/acd/agents/1002/not-ready",
            "{\"reason\": \"会议\"}",
        )?;
        assert_eq!(code, 200, "{body}");
        let scen = dir.join("caller_0_then_1.xml");
        // 0 to an agent, then 1 (the callback key) while queued, as a SIP INFO: a second
        // RFC 4733 pcap would replay the first one's timestamps, the same press to a receiver.
        let text = waiting_caller_then(&format!(
            "  <pause milliseconds=\"5000\"/>\n{}",
            info_key("1")
        ))?;
        std::fs::write(&scen, text)?;
        let args = SippArgs::new(&scen.display().to_string())
            .to(hl.sip_udp)
            .arg("-s", "12345")
            .arg("-mp", free_even_port())
            .args(&["-set", "dtmf_after", "0", "-trace_msg", "-message_file"])
            .args(&[&dir.join("msgs.log").display().to_string()])
            .build(1);
        let (code, out) = sipp_run(&dir, "citizen", &args, Duration::from_secs(60))?;
        let msgs = std::fs::read_to_string(dir.join("msgs.log")).unwrap_or_default();
        let out = format!("{out}\n--- messages ---\n{msgs}");
        let log = std::fs::read_to_string(dir.join("hotline.log")).unwrap_or_default();
        assert_eq!(
            code, 0,
            "the caller heard the promise and was hung up:\n{out}\n--- hotline ---\n{log}"
        );
        let snap = snapshot(&hl)?;
        let calls = snap["calls"].as_array().context("calls")?.clone();
        assert_eq!(calls.len(), 1, "{snap}");
        assert_eq!(calls[0]["state"], "callback", "{snap}");
        // Let the writes land (they are asynchronous).
        std::thread::sleep(Duration::from_secs(1));
    }
    let hl = Hotline::start_in(tempfile::tempdir()?, db_url, "", &[])?;
    assert_eq!(
        agent_state(&hl, "1002")?,
        ("not_ready".into(), Some("会议".into()))
    );
    let snap = snapshot(&hl)?;
    let calls = snap["calls"].as_array().context("calls")?;
    assert_eq!(calls.len(), 1, "the callback is back in its place: {snap}");
    assert_eq!(calls[0]["state"], "callback");
    assert!(
        calls[0]["caller"]
            .as_str()
            .unwrap_or("")
            .starts_with("1390000"),
        "{snap}"
    );
    // The day's counters were stored at the stop and read back.
    let c = queue_counters(&hl, "default")?;
    assert_eq!(c["offered"], 1, "{c}");
    assert_eq!(c["callbacks"], 1, "{c}");
    assert_eq!(c["left"], 1, "{c}");
    Ok(())
}

#[test]
fn a_supervisor_moves_a_waiting_caller_and_the_event_stream_shows_it() -> Result<()> {
    let hl = Hotline::start("[[queues]]\nname = \"complaint\"\n")?;
    let dir = hl.dir.path().to_path_buf();
    let token = hotline_tests::supervisor_token(hl.http)?;
    let mut ws = Ws::connect(hl.http, "/api/acd/events", &token)?;
    let first = ws.next_json()?;
    assert_eq!(first["type"], "snapshot", "{first}");
    assert_eq!(
        first["snapshot"]["queues"].as_array().map(Vec::len),
        Some(2),
        "{first}"
    );
    // Nobody is logged in: the caller waits in the entry queue.
    let args = SippArgs::new(&caller_0(&dir)?)
        .to(hl.sip_udp)
        .arg("-s", "12345")
        .arg("-mp", free_even_port())
        .args(&["-set", "dtmf_after", "0", "-d", "9000"])
        .build(1);
    let caller = sipp_spawn(&dir, "citizen", &args)?;
    let queued = ws.until("call_queued", |_| true)?;
    let call = queued.last().context("queued")?["call"]
        .as_u64()
        .context("call id")?;
    let (code, body) = http(
        hl.http,
        "POST",
        &format!("/api/acd/supervisor/calls/{call}/move"),
        "{\"queue\": \"complaint\"}",
    )?;
    assert_eq!(code, 200, "{body}");
    let moved = ws.until("call_moved", |v| v["call"] == call)?;
    let m = moved.last().context("moved")?;
    assert_eq!(
        (m["from"].as_str(), m["to"].as_str()),
        (Some("default"), Some("complaint"))
    );
    let snap = snapshot(&hl)?;
    assert_eq!(snap["calls"][0]["queue"], "complaint", "{snap}");
    // An agent of the entry queue logs in: not for this caller (no complaint skill).
    let (code, body) = http(hl.http, "POST", "/api/acd/agents/1001/login", "")?;
    assert_eq!(code, 200, "{body}");
    ws.until("agent_state", |v| {
        v["agent"] == "1001" && v["state"] == "ready"
    })?;
    // The caller gives up: abandoned in the queue it was moved to.
    let (code, out) = caller.wait(Duration::from_secs(30))?;
    assert_eq!(code, 0, "{out}");
    let ab = ws.until("call_abandoned", |v| v["call"] == call)?;
    assert_eq!(ab.last().context("abandoned")?["queue"], "complaint");
    let c = queue_counters(&hl, "complaint")?;
    assert_eq!(c["abandoned"], 1, "{c}");
    let r = hl.wait_records(1, Duration::from_secs(10))?;
    assert_eq!(r[0].end_reason, EndReason::Abandoned, "{:?}", r[0]);
    Ok(())
}

#[test]
fn a_caller_the_dialplan_flags_with_a_priority_is_served_first() -> Result<()> {
    // A dialplan of the test's own: key 1 queues as usual, key 9 sets priority 5 first.
    let plans = tempfile::tempdir()?;
    for f in ["remote.toml", "guidance.toml"] {
        std::fs::copy(repo_root().join("dialplans").join(f), plans.path().join(f))?;
    }
    std::fs::write(
        plans.path().join("priority.toml"),
        "[dialplan]\nname = \"priority\"\nmodes = [\"hotline\", \"direct-merge\"]\nentry = \"start\"\n\n\
         [node.start]\naction = \"menu\"\nprompt = \"menu_main\"\noptions = { \"1\" = \"normal\", \"9\" = \"vip\" }\n\
         timeout_secs = 5\nretries = 0\non_no_input = \"normal\"\non_failure = \"normal\"\n\n\
         [node.vip]\naction = \"set\"\nvar = \"priority\"\nvalue = \"5\"\nnext = \"normal\"\n\n\
         [node.normal]\naction = \"queue\"\ngroup = \"default\"\n",
    )?;
    let hl = Hotline::start(&format!(
        "[ivr]\ndialplans_dir = \"{}\"\n",
        plans.path().display()
    ))?;
    let dir = hl.dir.path().to_path_buf();
    // Keys as SIP INFO: signalling, so a loaded machine cannot lose or delay them the way
    // it can a key's first RTP packets.
    let caller = |key: &str, name: &str| -> Result<hotline_tests::Sipp> {
        sipp_spawn(
            &dir,
            name,
            &SippArgs::new("ivr_caller_info.xml")
                .to(hl.sip_udp)
                .arg("-s", "12345")
                .arg("-mp", free_even_port())
                .args(&[
                    "-set",
                    "dtmf_after",
                    "300",
                    "-set",
                    "key",
                    key,
                    "-d",
                    "12000",
                ])
                .build(1),
        )
    };
    // The normal caller first, the flagged one a second later; nobody is logged in yet.
    let normal = caller("1", "normal")?;
    std::thread::sleep(Duration::from_secs(1));
    let vip = caller("9", "vip")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let snap = snapshot(&hl)?;
        let calls = snap["calls"].as_array().cloned().unwrap_or_default();
        if calls.len() == 2 {
            let prios: Vec<_> = calls.iter().map(|c| c["priority"].as_u64()).collect();
            assert_eq!(prios, [Some(0), Some(5)], "{snap}");
            break;
        }
        assert!(Instant::now() < deadline, "both callers queued: {snap}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // One agent: the flagged caller, though later, is offered first.
    let agent = phone(
        &hl,
        &dir,
        "a1001",
        Some(("1001", "demo1001")),
        "agent_uas.xml",
        free_udp_port(),
        &["-d", "200"],
    )?;
    let (code, out) = vip.wait(Duration::from_secs(30))?;
    assert_eq!(code, 0, "{out}");
    let (code, out) = normal.wait(Duration::from_secs(30))?;
    assert_eq!(code, 0, "{out}");
    agent.wait(Duration::from_secs(10))?;
    let records = hl.wait_records(2, Duration::from_secs(10))?;
    let vip_rec = records
        .iter()
        .find(|r| r.route.as_deref().unwrap_or("").contains("vip"))
        .context("the flagged call's record")?;
    assert_eq!(vip_rec.agent.as_deref(), Some("1001"), "{records:?}");
    let normal_rec = records
        .iter()
        .find(|r| !r.route.as_deref().unwrap_or("").contains("vip"))
        .context("the normal call's record")?;
    assert_eq!(normal_rec.end_reason, EndReason::Abandoned, "{records:?}");
    Ok(())
}

#[test]
fn a_caller_past_the_max_wait_leaves_a_voice_message_that_becomes_a_callback() -> Result<()> {
    let hl = Hotline::start_with(
        "",
        &[
            ("HOTLINE_ACD__DEFAULTS__MAX_WAIT_SECS", "3"),
            ("HOTLINE_ACD__DEFAULTS__ON_TIMEOUT", "message"),
        ],
    )?;
    let dir = hl.dir.path().to_path_buf();
    let status = std::process::Command::new("sox")
        .args(["-n", "-r", "8000", "-c", "1", "-e", "u-law"])
        .arg(dir.join("tone-ulaw.wav"))
        .args(["synth", "10", "sine", "440", "gain", "-10"])
        .status()?;
    assert!(status.success(), "sox");
    // 0 (to an agent; nobody is logged in), the 4 s queue prompt, 3 s in the queue, the 5 s
    // message prompt; then 3 s of a 440 Hz tone as the message, and # to end it.
    let speak = "  <pause milliseconds=\"13500\"/>\n  <nop>\n    <action>\n      <exec rtp_stream=\"tone-ulaw.wav,-1,0\"/>\n    </action>\n  </nop>\n  \
        <pause milliseconds=\"3000\"/>\n  <nop>\n    <action>\n      <exec rtp_stream=\"pause\"/>\n    </action>\n  </nop>\n";
    let text = waiting_caller_then(&format!("{speak}{}", info_key("#")))?;
    let scen = dir.join("caller_message.xml");
    std::fs::write(&scen, text)?;
    let args = SippArgs::new(&scen.display().to_string())
        .to(hl.sip_udp)
        .arg("-s", "12345")
        .arg("-mp", free_even_port())
        .args(&["-set", "dtmf_after", "0", "-timeout", "60"])
        .arg("-m", 1)
        .into_args();
    let (code, out) = sipp_run(&dir, "citizen", &args, Duration::from_secs(70))?;
    assert_eq!(code, 0, "message left, promise heard, hung up:\n{out}");
    let r = hl.wait_records(1, Duration::from_secs(10))?;
    let route = r[0].route.clone().unwrap_or_default();
    assert!(route.contains("acd:message"), "{route}");
    let path = r[0]
        .recording
        .clone()
        .context("the message's path on the record")?;
    assert!(path.contains("/messages/"), "{path}");
    // The message holds the tone: about 3 s of it on the caller's channel.
    let mut wav = hound::WavReader::open(&path)?;
    let spec = wav.spec();
    let samples: Vec<i16> = wav.samples::<i16>().collect::<Result<_, _>>()?;
    let caller: Vec<i16> = samples
        .chunks(usize::from(spec.channels))
        .map(|f| f[0])
        .collect();
    let loud = caller.iter().filter(|s| s.unsigned_abs() > 2000).count();
    assert!(
        loud > 8000,
        "about 3 s of tone in the message: {loud} loud samples of {}",
        caller.len()
    );
    // The caller's place is kept as a work item, marked as a message.
    let snap = snapshot(&hl)?;
    let calls = snap["calls"].as_array().context("calls")?;
    assert_eq!(calls.len(), 1, "{snap}");
    assert_eq!(calls[0]["state"], "callback", "{snap}");
    assert_eq!(calls[0]["message"], true, "{snap}");
    assert_eq!(calls[0]["tag"], r[0].id.as_str(), "{snap}");
    Ok(())
}

#[test]
fn an_agent_whose_registration_expires_is_logged_out() -> Result<()> {
    // The registrar grants at most 2 s: the phone never refreshes, the binding expires.
    let hl = Hotline::start_with(
        "",
        &[
            ("HOTLINE_REGISTRAR__MIN_EXPIRES", "1"),
            ("HOTLINE_REGISTRAR__MAX_EXPIRES", "2"),
            ("HOTLINE_REGISTRAR__DEFAULT_EXPIRES", "2"),
        ],
    )?;
    let dir = hl.dir.path().to_path_buf();
    register_agent(&dir, hl.sip_udp, "1001", "demo1001", free_udp_port())?;
    wait_state(&hl, "1001", "ready", Duration::from_secs(2))?;
    wait_state(&hl, "1001", "logged_out", Duration::from_secs(6))?;
    Ok(())
}
