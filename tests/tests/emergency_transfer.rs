//! One-key emergency transfer (话务转接, T5) with the database down: an agent talking to a
//! citizen presses the key for 110; the hotline rings 110's trunk with the citizen's number,
//! bridges the citizen to the dispatcher when it answers, releases the agent, and the call
//! record (spooled, the database being away) says so.

use anyhow::{Context, Result, bail};
use hotline_tests::acd::{api, start_with_lines, wait_agent_state, waiting_citizen};
use hotline_tests::{
    Hotline, SippArgs, free_even_port, free_udp_port, phone, repo_root, sipp_spawn,
};
use serde_json::Value;

fn post(hl: &Hotline, path: &str, body: &str) -> Result<(u16, Value)> {
    let (code, body) = api(hl.http, "POST", path, body)?;
    Ok((code, serde_json::from_str(&body)?))
}

use std::time::{Duration, Instant};

fn wait_state(hl: &Hotline, id: &str, state: &str) -> Result<()> {
    wait_agent_state(hl, id, state, Duration::from_secs(15)).map(|_| ())
}

/// An emergency line's trunk on a loopback SIPp, agent 1001 talking to a waiting citizen.
struct Scene {
    hl: Hotline,
    agent: hotline_tests::Sipp,
    trunk: hotline_tests::Sipp,
    caller: hotline_tests::Sipp,
}

/// `number`'s trunk answers and hangs up after `trunk_ms` (`trunk_extra` SIPp arguments);
/// the agent runs `agent_scenario` with `-d agent_ms`; the records go to `db_url`.
fn scene(
    number: &str,
    db_url: Option<String>,
    agent_scenario: &str,
    agent_ms: u32,
    trunk_ms: u32,
    trunk_extra: &[&str],
) -> Result<Scene> {
    let trunk_port = free_udp_port();
    let hl = start_with_lines(
        &[(
            &format!("sip:{number}@emergency-trunk.invalid"),
            format!("sip:{number}@127.0.0.1:{trunk_port}"),
        )],
        db_url,
        &[],
    )?;
    let dir = hl.dir.path().to_path_buf();
    let agent = phone(
        &hl,
        &dir,
        "a1001",
        Some(("1001", "demo1001")),
        agent_scenario,
        free_udp_port(),
        &["-d", &agent_ms.to_string()],
    )?;
    let trunk = sipp_spawn(
        &dir,
        &format!("trunk{number}"),
        &SippArgs::new("agent_uas_bye.xml")
            .port(trunk_port)
            .arg("-mp", free_even_port())
            .args(&["-d", &trunk_ms.to_string()])
            .args(trunk_extra)
            .build(1),
    )?;
    let caller = waiting_citizen(&hl, None)?;
    wait_state(&hl, "1001", "talking")?;
    Ok(Scene {
        hl,
        agent,
        trunk,
        caller,
    })
}

#[test]
fn one_key_moves_the_caller_to_110_with_the_database_down() -> Result<()> {
    // The database: PostgreSQL stopped, as seen from the server: nothing listens on its port
    // (a free TCP port of this machine), so every connection is refused; records go to the
    // spool. (The machine's own PostgreSQL keeps running for the tests beside this one.)
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let db_url = format!("postgres://postgres@127.0.0.1:{dead_port}/hotline");
    // 110's trunk: a SIPp dispatcher that answers, talks 3 s and hangs up; its messages are
    // kept to read the From.
    let dir = tempfile::tempdir()?;
    let trunk_log = dir.path().join("trunk-msgs.log");
    let log_arg = trunk_log.display().to_string();
    let Scene {
        hl,
        agent,
        trunk,
        caller,
    } = scene(
        "110",
        Some(db_url),
        "agent_uas.xml",
        200,
        3000,
        &["-trace_msg", "-message_file", &log_arg],
    )?;
    let dir = hl.dir.path().to_path_buf();
    // Not an emergency line: refused, the call goes on.
    let (code, body) = post(
        &hl,
        "/api/acd/agents/1001/emergency",
        "{\"number\": \"12366\"}",
    )?;
    assert_eq!(code, 502, "{body}");
    assert!(
        body["error"].as_str().unwrap_or("").contains("emergency"),
        "{body}"
    );
    let (code, body) = post(&hl, "/api/acd/agents/1001/emergency", "{}")?;
    assert_eq!(code, 422, "{body}");
    let (code, body) = post(
        &hl,
        "/api/acd/agents/1002/emergency",
        "{\"number\": \"110\"}",
    )?;
    assert_eq!(code, 409, "1002 is on no call: {body}");
    // The key: answered once 110 answers.
    let (code, body) = post(
        &hl,
        "/api/acd/agents/1001/emergency",
        "{\"number\": \"110\"}",
    )?;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["to"], "110", "{body}");
    let (code, out) = agent.wait(Duration::from_secs(20))?;
    assert_eq!(code, 0, "the agent was released with a BYE:\n{out}");
    wait_state(&hl, "1001", "ready")?;
    let (code, out) = trunk.wait(Duration::from_secs(20))?;
    assert_eq!(code, 0, "110 talked and hung up:\n{out}");
    let (code, out) = caller.wait(Duration::from_secs(30))?;
    assert_eq!(code, 0, "the citizen was with 110 until it hung up:\n{out}");
    // Caller ID kept: the INVITE to 110 comes from the citizen's number.
    let msgs = std::fs::read_to_string(&trunk_log)?;
    let invite = msgs
        .split("-----------------------------------------------")
        .find(|m| m.contains("INVITE sip:110@"))
        .context("the INVITE to 110")?;
    let from = invite
        .lines()
        .find(|l| l.starts_with("From:"))
        .context("From")?;
    assert!(from.contains("sip:13900001@"), "{from}");
    // The record, spooled while the database is away, names the transfer and the agent.
    let spool = dir.join("spool").join(hotline_store::SPOOL_FILE);
    let deadline = Instant::now() + Duration::from_secs(10);
    let line = loop {
        let text = std::fs::read_to_string(&spool).unwrap_or_default();
        if let Some(l) = text.lines().find(|l| l.contains("emergency:110")) {
            break l.to_string();
        }
        if Instant::now() > deadline {
            bail!("no spooled record with the transfer:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let rec: Value = serde_json::from_str(&line)?;
    assert_eq!(
        rec["agent"], "1001",
        "first contact stays the agent's: {rec}"
    );
    let route = rec["route"].as_str().unwrap_or_default();
    assert!(route.contains("emergency:110 > answered:110"), "{route}");
    assert_eq!(rec["end_reason"], "callee_hangup", "{rec}");
    Ok(())
}

#[test]
fn the_agent_can_stay_on_the_line_to_brief_the_dispatcher() -> Result<()> {
    // The agent briefs for 3 s and hangs up; 119 stays 6 s with the citizen, then hangs up.
    let Scene {
        hl,
        agent,
        trunk,
        caller,
    } = scene("119", None, "agent_uas_bye.xml", 3000, 6000, &[])?;
    let (code, body) = post(
        &hl,
        "/api/acd/agents/1001/emergency",
        "{\"number\": \"119\", \"stay\": true}",
    )?;
    assert_eq!(code, 200, "{body}");
    for (name, s) in [("agent", agent), ("119", trunk), ("citizen", caller)] {
        let (code, out) = s.wait(Duration::from_secs(30))?;
        assert_eq!(code, 0, "{name}:\n{out}");
    }
    let r = hl.wait_records(1, Duration::from_secs(10))?;
    let route = r[0].route.clone().unwrap_or_default();
    assert!(
        route.contains("emergency:119 > joined:119 > left:agent > left:119"),
        "{route}"
    );
    assert_eq!(r[0].agent.as_deref(), Some("1001"));
    Ok(())
}

#[test]
fn the_agent_dials_star_110_from_the_phone_and_the_citizen_goes_to_110() -> Result<()> {
    let Scene {
        hl,
        agent,
        trunk,
        caller,
    } = scene("110", None, "agent_uas.xml", 200, 2000, &[])?;
    let dir = hl.dir.path().to_path_buf();
    // The agent's second line: *110, from 1001. It rings while 110 does, then is answered and
    // hung up by the hotline.
    let text = std::fs::read_to_string(repo_root().join("sipp-scenarios/caller_wait_bye.xml"))?
        .replace("sip:caller@", "sip:1001@");
    let key = dir.join("key_110.xml");
    std::fs::write(&key, text)?;
    let key_call = sipp_spawn(
        &dir,
        "key",
        &SippArgs::new(&key.display().to_string())
            .to(hl.sip_udp)
            .arg("-s", "*110")
            .arg("-mp", free_even_port())
            .build(1),
    )?;
    for (name, s) in [
        ("the key call", key_call),
        ("agent", agent),
        ("110", trunk),
        ("citizen", caller),
    ] {
        let (code, out) = s.wait(Duration::from_secs(30))?;
        assert_eq!(code, 0, "{name}:\n{out}");
    }
    wait_state(&hl, "1001", "ready")?;
    let records = hl.wait_records(2, Duration::from_secs(10))?;
    let citizen = records
        .iter()
        .find(|r| r.route.as_deref().unwrap_or("").contains("emergency:110"))
        .context("the citizen's record")?;
    let route = citizen.route.clone().unwrap_or_default();
    assert!(route.contains("emergency:110 > answered:110"), "{route}");
    assert_eq!(citizen.agent.as_deref(), Some("1001"));
    // The key call has its own record, pointing at the citizen's.
    let key = records
        .iter()
        .find(|r| r.dialed == "*110")
        .with_context(|| format!("the key call's record in {records:?}"))?;
    assert_eq!(
        key.route.as_deref(),
        Some(format!("key:110 > transferred:{}", citizen.id).as_str())
    );
    Ok(())
}
