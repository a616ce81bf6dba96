//! Transfers of a caller talking to an agent: blind by the API (to another agent), a failed
//! one (the target never answers: the caller is still with the agent), and blind by the
//! agent's softphone with REFER and NOTIFY sipfrag (RFC 3515).

use anyhow::Result;
use hotline_cdr::EndReason;
use hotline_tests::acd::{agent_state, wait_agent_state, waiting_citizen};
use hotline_tests::{Hotline, free_udp_port, http_request, phone};

use std::time::Duration;

fn wait_state(hl: &Hotline, id: &str, state: &str) -> Result<()> {
    wait_agent_state(hl, id, state, Duration::from_secs(15)).map(|_| ())
}

/// Agent 1001's phone (who gets the citizen) and 1002's (the transfer's target, not ready
/// so that only a transfer reaches it), each a SIPp scenario with its arguments.
fn two_agents(
    hl: &Hotline,
    first: (&str, &[&str]),
    second: (&str, &[&str]),
) -> Result<(hotline_tests::Sipp, hotline_tests::Sipp)> {
    let dir = hl.dir.path();
    let a = phone(
        hl,
        dir,
        "a1001",
        Some(("1001", "demo1001")),
        first.0,
        free_udp_port(),
        first.1,
    )?;
    let b = phone(
        hl,
        dir,
        "a1002",
        Some(("1002", "demo1002")),
        second.0,
        free_udp_port(),
        second.1,
    )?;
    let out = http_request(
        hl.http,
        "POST",
        "/api/acd/agents/1002/not-ready",
        "{\"reason\": \"培训\"}",
    )?;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    Ok((a, b))
}

#[test]
fn a_blind_transfer_by_the_api_moves_the_caller_to_another_agent() -> Result<()> {
    let hl = Hotline::start("")?;
    // 1001 answers first (it registers first: longest idle); 1002 is then made busy-proof by
    // being not ready, so only a transfer reaches it.
    let (first, second) = two_agents(
        &hl,
        ("agent_uas.xml", &["-d", "200"]),
        ("agent_uas_bye.xml", &["-d", "2000"]),
    )?;
    let caller = waiting_citizen(&hl, None)?;
    wait_state(&hl, "1001", "talking")?;
    let out = http_request(
        hl.http,
        "POST",
        "/api/acd/agents/1001/transfer",
        "{\"to\": \"1002\"}",
    )?;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    // 1001 got its BYE at once and is free; the caller talks to 1002, who hangs up.
    let (code, out) = first.wait(Duration::from_secs(20))?;
    assert_eq!(code, 0, "1001:\n{out}");
    wait_state(&hl, "1001", "ready")?;
    for (name, s) in [("1002", second), ("citizen", caller)] {
        let (code, out) = s.wait(Duration::from_secs(30))?;
        assert_eq!(code, 0, "{name}:\n{out}");
    }
    let r = hl.wait_records(1, Duration::from_secs(10))?;
    let route = r[0].route.clone().unwrap_or_default();
    assert!(
        route.contains("answered:1001 > transfer:1002 > answered:1002"),
        "{route}"
    );
    assert_eq!(
        r[0].agent.as_deref(),
        Some("1001"),
        "first contact: {:?}",
        r[0]
    );
    assert_eq!(r[0].end_reason, EndReason::CalleeHangup);
    Ok(())
}

#[test]
fn a_transfer_nobody_answers_leaves_the_caller_with_the_agent() -> Result<()> {
    let hl = Hotline::start("")?;
    // 1001 talks 14 s then hangs up; 1002 rings and never answers (it expects the CANCEL).
    let (first, deaf) = two_agents(
        &hl,
        ("agent_uas_bye.xml", &["-d", "14000"]),
        ("agent_uas_noanswer.xml", &[]),
    )?;
    let caller = waiting_citizen(&hl, None)?;
    wait_state(&hl, "1001", "talking")?;
    // Refused at once: nobody of that name.
    let out = http_request(
        hl.http,
        "POST",
        "/api/acd/agents/1001/transfer",
        "{\"to\": \"nobody\"}",
    )?;
    assert!(out.starts_with("HTTP/1.1 502"), "{out}");
    // Rings out (8 s, the test's ring timeout): 502, the caller is still with 1001.
    let out = http_request(
        hl.http,
        "POST",
        "/api/acd/agents/1001/transfer",
        "{\"to\": \"1002\"}",
    )?;
    assert!(out.starts_with("HTTP/1.1 502"), "{out}");
    assert!(out.contains("no answer"), "{out}");
    assert_eq!(agent_state(&hl, "1001")?.0, "talking");
    let (code, out) = deaf.wait(Duration::from_secs(10))?;
    assert_eq!(code, 0, "1002 rang and was cancelled:\n{out}");
    for (name, s) in [("1001", first), ("citizen", caller)] {
        let (code, out) = s.wait(Duration::from_secs(30))?;
        assert_eq!(code, 0, "{name}:\n{out}");
    }
    let r = hl.wait_records(1, Duration::from_secs(10))?;
    let route = r[0].route.clone().unwrap_or_default();
    assert!(
        route.contains("transfer:1002 > transfer-failed:1002"),
        "{route}"
    );
    assert_eq!(r[0].agent.as_deref(), Some("1001"));
    assert_eq!(
        r[0].end_reason,
        EndReason::CalleeHangup,
        "1001 hung up at the end"
    );
    Ok(())
}

#[test]
fn the_agents_softphone_transfers_with_refer_and_hears_how_it_went() -> Result<()> {
    let hl = Hotline::start("")?;
    let dir = hl.dir.path().to_path_buf();
    let (first, second) = two_agents(
        &hl,
        (
            "agent_uas_refer.xml",
            &[
                "-d",
                "1500",
                "-set",
                "refer_to",
                // The hotline's domain in the tests' config: one of ours, so 1002 is the agent.
                "1002@127.0.0.1",
                "-trace_msg",
                "-message_file",
                &dir.join("refer-msgs.log").display().to_string(),
            ],
        ),
        ("agent_uas_bye.xml", &["-d", "2000"]),
    )?;
    let caller = waiting_citizen(&hl, None)?;
    for (name, s) in [
        ("1001 (REFER, NOTIFYs, BYE)", first),
        ("1002", second),
        ("citizen", caller),
    ] {
        let (code, out) = s.wait(Duration::from_secs(40))?;
        let log = hl.log();
        assert_eq!(code, 0, "{name}:\n{out}\n--- hotline ---\n{log}");
    }
    let msgs = std::fs::read_to_string(dir.join("refer-msgs.log"))?;
    assert!(
        msgs.contains("SIP/2.0 202 Accepted"),
        "the REFER was accepted:\n{msgs}"
    );
    assert!(
        msgs.contains("SIP/2.0 100 Trying"),
        "progress in a sipfrag:\n{msgs}"
    );
    assert!(msgs.contains("Subscription-State: terminated"), "{msgs}");
    let r = hl.wait_records(1, Duration::from_secs(10))?;
    let route = r[0].route.clone().unwrap_or_default();
    assert!(
        route.contains("answered:1001 > transfer:1002 > answered:1002"),
        "{route}"
    );
    assert_eq!(r[0].agent.as_deref(), Some("1001"));
    Ok(())
}

#[test]
fn an_attended_transfer_carries_replaces_to_the_consulted_agent() -> Result<()> {
    let hl = Hotline::start("")?;
    let dir = hl.dir.path().to_path_buf();
    // The agent's phone has consulted 1002 (dialog consult-1@test) and sends REFER with
    // Replaces: the citizen's INVITE to 1002 must carry Replaces naming that dialog, for
    // 1002's phone to swap it for the citizen (SIPp does not swap; it answers and hangs up
    // after 2.5 s).
    let target_log = dir.join("target-msgs.log").display().to_string();
    let (first, target) = two_agents(
        &hl,
        (
            "agent_uas_refer.xml",
            &[
                "-d",
                "2500",
                "-set",
                "refer_to",
                "1002@127.0.0.1?Replaces=consult-1%40test%3Bto-tag%3Dt1%3Bfrom-tag%3Df1",
            ],
        ),
        (
            "agent_uas_bye.xml",
            &["-d", "2500", "-trace_msg", "-message_file", &target_log],
        ),
    )?;
    let caller = waiting_citizen(&hl, None)?;
    for (name, s) in [("1001", first), ("1002", target), ("citizen", caller)] {
        let (code, out) = s.wait(Duration::from_secs(40))?;
        assert_eq!(code, 0, "{name}:\n{out}");
    }
    let msgs = std::fs::read_to_string(&target_log)?;
    assert!(
        msgs.contains("Replaces: consult-1@test;to-tag=t1;from-tag=f1"),
        "the citizen's INVITE names the consultation:\n{msgs}"
    );
    let r = hl.wait_records(1, Duration::from_secs(10))?;
    let route = r[0].route.clone().unwrap_or_default();
    assert!(
        route.contains("answered:1001 > transfer:1002 > answered:1002"),
        "{route}"
    );
    Ok(())
}
