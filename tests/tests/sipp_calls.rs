//! End to end with SIPp against the built server: registration with digest authentication, calls to
//! 12345 bridged by the B2BUA, agent-to-agent calls through the proxy, CANCEL, BYE from either side,
//! merged lines carrying their origin, twenty callers, and the call records each call leaves.
//! These run the signalling-only B2BUA (`SIGNALLING_ONLY`); the IVR path is in ivr_media.rs.

use anyhow::Result;
use hotline_cdr::{CallKind, EndReason};
use hotline_tests::{
    Hotline, SIGNALLING_ONLY, Sipp, SippArgs, free_udp_port, register_agent, sipp_run, sipp_spawn,
};
use std::path::Path;
use std::time::Duration;

/// An agent's SIPp UAS, registered as `user` so its contact is its own listening port.
fn agent(
    hl: &Hotline,
    dir: &Path,
    user: &str,
    password: &str,
    scen: &str,
    calls: u32,
    extra: &[&str],
) -> Result<Sipp> {
    let port = free_udp_port();
    let uas = sipp_spawn(
        dir,
        &format!("agent-{user}-{scen}"),
        &SippArgs::new(scen).port(port).args(extra).build(calls),
    )?;
    // SIPp binds before it reads the scenario's first recv; give it a moment to own the port.
    std::thread::sleep(Duration::from_millis(300));
    register_agent(dir, hl.sip_udp, user, password, port)?;
    Ok(uas)
}

/// A caller dialing `dial`; returns SIPp's exit code and output.
fn call(
    hl: &Hotline,
    dir: &Path,
    dial: &str,
    scen: &str,
    calls: u32,
    extra: &[&str],
) -> Result<(i32, String)> {
    let args = SippArgs::new(scen)
        .to(hl.sip_udp)
        .arg("-s", dial)
        .args(extra)
        .build(calls);
    sipp_run(
        dir,
        &format!("caller-{dial}-{scen}"),
        &args,
        Duration::from_secs(60),
    )
}

#[test]
fn register_with_digest_and_refuse_a_wrong_password() -> Result<()> {
    let hl = Hotline::start(SIGNALLING_ONLY)?;
    let dir = hl.dir.path().to_path_buf();
    register_agent(&dir, hl.sip_udp, "1002", "demo1002", free_udp_port())?;
    let args = SippArgs::new("register_bad_password.xml")
        .to(hl.sip_udp)
        .arg("-s", "1003")
        .arg("-ap", "not-the-password")
        .build(1);
    let (code, out) = sipp_run(&dir, "bad-password", &args, Duration::from_secs(20))?;
    assert_eq!(code, 0, "a wrong password must get 403:\n{out}");
    Ok(())
}

#[test]
fn hotline_call_is_bridged_to_an_agent_and_recorded() -> Result<()> {
    let hl = Hotline::start(SIGNALLING_ONLY)?;
    let dir = hl.dir.path().to_path_buf();
    let uas = agent(
        &hl,
        &dir,
        "1001",
        "demo1001",
        "agent_uas.xml",
        1,
        &["-d", "300"],
    )?;
    let (code, out) = call(&hl, &dir, "12345", "caller.xml", 1, &["-d", "500"])?;
    assert_eq!(code, 0, "caller:\n{out}");
    let (code, out) = uas.wait(Duration::from_secs(20))?;
    assert_eq!(code, 0, "agent:\n{out}");
    let recs = hl.wait_records(1, Duration::from_secs(10))?;
    assert_eq!(recs.len(), 1, "{recs:?}");
    let r = &recs[0];
    assert_eq!(r.kind, CallKind::Hotline);
    assert_eq!(r.dialed, "12345");
    assert_eq!(r.caller, "caller");
    assert_eq!(r.agent.as_deref(), Some("1001"));
    assert_eq!(r.end_reason, EndReason::CallerHangup);
    assert_eq!(r.sip_code, 200);
    assert_eq!(r.line_number.as_deref(), Some("12345"));
    assert_eq!(r.line_mode.as_deref(), Some("hotline"));
    let (ring, ans) = (
        r.ringing_at.expect("ringing"),
        r.answered_at.expect("answered"),
    );
    assert!(
        r.arrived_at <= ring && ring <= ans && ans <= r.ended_at,
        "{r:?}"
    );
    // The agent rang 300 ms before answering and the caller talked 500 ms.
    assert!((ans - ring).num_milliseconds() >= 250, "{r:?}");
    assert!((r.ended_at - ans).num_milliseconds() >= 400, "{r:?}");
    Ok(())
}

#[test]
fn agent_to_agent_call_is_proxied_and_recorded() -> Result<()> {
    let hl = Hotline::start(SIGNALLING_ONLY)?;
    let dir = hl.dir.path().to_path_buf();
    let uas = agent(
        &hl,
        &dir,
        "1002",
        "demo1002",
        "agent_uas.xml",
        1,
        &["-d", "100"],
    )?;
    let (code, out) = call(&hl, &dir, "1002", "caller.xml", 1, &["-d", "300"])?;
    assert_eq!(code, 0, "caller:\n{out}");
    let (code, out) = uas.wait(Duration::from_secs(20))?;
    assert_eq!(code, 0, "agent:\n{out}");
    let recs = hl.wait_records(1, Duration::from_secs(10))?;
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0].kind, CallKind::AgentToAgent);
    assert_eq!(recs[0].agent.as_deref(), Some("1002"));
    assert_eq!(recs[0].end_reason, EndReason::CallerHangup);
    // The proxy Record-Routes: the BYE went through it, or the record would not have ended.
    assert!(hl.log().contains("hotline running"));
    Ok(())
}

#[test]
fn agent_hangs_up_first() -> Result<()> {
    let hl = Hotline::start(SIGNALLING_ONLY)?;
    let dir = hl.dir.path().to_path_buf();
    for dial in ["12345", "1003"] {
        let uas = agent(
            &hl,
            &dir,
            "1003",
            "demo1003",
            "agent_uas_bye.xml",
            1,
            &["-d", "300"],
        )?;
        let (code, out) = call(&hl, &dir, dial, "caller_wait_bye.xml", 1, &[])?;
        assert_eq!(code, 0, "caller of {dial}:\n{out}");
        let (code, out) = uas.wait(Duration::from_secs(20))?;
        assert_eq!(code, 0, "agent for {dial}:\n{out}");
    }
    let recs = hl.wait_records(2, Duration::from_secs(10))?;
    assert_eq!(recs.len(), 2, "{recs:?}");
    assert!(
        recs.iter()
            .all(|r| r.end_reason == EndReason::CalleeHangup && r.agent.as_deref() == Some("1003")),
        "{recs:?}"
    );
    Ok(())
}

#[test]
fn caller_cancels_before_the_answer() -> Result<()> {
    let hl = Hotline::start(SIGNALLING_ONLY)?;
    let dir = hl.dir.path().to_path_buf();
    for dial in ["12345", "1001"] {
        let uas = agent(
            &hl,
            &dir,
            "1001",
            "demo1001",
            "agent_uas_noanswer.xml",
            1,
            &[],
        )?;
        let (code, out) = call(&hl, &dir, dial, "caller_cancel.xml", 1, &["-d", "300"])?;
        assert_eq!(code, 0, "caller of {dial}:\n{out}");
        let (code, out) = uas.wait(Duration::from_secs(20))?;
        assert_eq!(code, 0, "agent for {dial} must see the CANCEL:\n{out}");
    }
    let recs = hl.wait_records(2, Duration::from_secs(10))?;
    assert_eq!(recs.len(), 2, "{recs:?}");
    for r in &recs {
        assert_eq!(r.end_reason, EndReason::Cancelled, "{r:?}");
        assert_eq!(r.sip_code, 487);
        assert!(r.answered_at.is_none() && r.ringing_at.is_some(), "{r:?}");
    }
    Ok(())
}

#[test]
fn merged_and_remote_seat_lines_enter_the_hotline_with_their_origin() -> Result<()> {
    let hl = Hotline::start(SIGNALLING_ONLY)?;
    let dir = hl.dir.path().to_path_buf();
    // 12312 is a direct-merge line (T2), 12369 the environment bureau's remote-seat line (T3).
    let uas = agent(
        &hl,
        &dir,
        "1001",
        "demo1001",
        "agent_uas.xml",
        2,
        &["-d", "0"],
    )?;
    for dial in ["12312", "12369"] {
        let (code, out) = call(&hl, &dir, dial, "caller.xml", 1, &["-d", "100"])?;
        assert_eq!(code, 0, "caller of {dial}:\n{out}");
    }
    uas.wait(Duration::from_secs(20))?;
    let recs = hl.wait_records(2, Duration::from_secs(10))?;
    let by_dial = |d: &str| recs.iter().find(|r| r.dialed == d).cloned();
    let merged = by_dial("12312").expect("12312 record");
    assert_eq!(merged.line_mode.as_deref(), Some("direct-merge"));
    assert_eq!(merged.line_number.as_deref(), Some("12312"));
    assert!(merged.line_unit.is_some());
    let remote = by_dial("12369").expect("12369 record");
    assert_eq!(remote.line_mode.as_deref(), Some("remote-seat"));
    assert_eq!(remote.kind, CallKind::Hotline);
    Ok(())
}

#[test]
fn twenty_callers_five_at_a_time() -> Result<()> {
    let hl = Hotline::start(SIGNALLING_ONLY)?;
    let dir = hl.dir.path().to_path_buf();
    let uas = agent(
        &hl,
        &dir,
        "1001",
        "demo1001",
        "agent_uas.xml",
        20,
        &["-d", "100"],
    )?;
    let (code, out) = call(
        &hl,
        &dir,
        "12345",
        "caller.xml",
        20,
        &["-d", "500", "-r", "10", "-l", "5"],
    )?;
    assert_eq!(code, 0, "callers:\n{out}");
    assert_eq!(
        Sipp::stat(&dir, "caller-12345-caller.xml", "SuccessfulCall(C)"),
        Some(20)
    );
    let (code, out) = uas.wait(Duration::from_secs(30))?;
    assert_eq!(code, 0, "agent:\n{out}");
    let recs = hl.wait_records(20, Duration::from_secs(10))?;
    assert_eq!(recs.len(), 20);
    assert!(
        recs.iter()
            .all(|r| r.end_reason == EndReason::CallerHangup && r.agent.as_deref() == Some("1001"))
    );
    Ok(())
}

#[test]
fn sigterm_hangs_up_calls_in_progress_and_flushes_their_records() -> Result<()> {
    let mut hl = Hotline::start(SIGNALLING_ONLY)?;
    let dir = hl.dir.path().to_path_buf();
    let uas = agent(
        &hl,
        &dir,
        "1001",
        "demo1001",
        "agent_uas.xml",
        1,
        &["-d", "0"],
    )?;
    let args = SippArgs::new("caller_wait_bye.xml")
        .to(hl.sip_udp)
        .arg("-s", "12345")
        .build(1);
    let caller = sipp_spawn(&dir, "caller-shutdown", &args)?;
    // Let the call be answered, then stop the server in the middle of it.
    std::thread::sleep(Duration::from_secs(2));
    let code = hl.stop()?;
    assert_eq!(code, Some(0), "clean exit on SIGTERM:\n{}", hl.log());
    let (code, out) = caller.wait(Duration::from_secs(20))?;
    assert_eq!(code, 0, "the caller must get a BYE:\n{out}");
    let (code, out) = uas.wait(Duration::from_secs(20))?;
    assert_eq!(code, 0, "the agent must get a BYE:\n{out}");
    let recs = hl.records()?;
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0].end_reason, EndReason::Shutdown);
    assert!(recs[0].answered_at.is_some());
    Ok(())
}

#[test]
fn caller_over_tcp_reaches_an_agent_over_udp() -> Result<()> {
    let hl = Hotline::start(SIGNALLING_ONLY)?;
    let dir = hl.dir.path().to_path_buf();
    let uas = agent(
        &hl,
        &dir,
        "1001",
        "demo1001",
        "agent_uas.xml",
        1,
        &["-d", "100"],
    )?;
    let args = SippArgs::new("caller.xml")
        .to(hl.sip_tcp)
        .args(&["-t", "t1"])
        .arg("-s", "12345")
        .arg("-d", 300)
        .build(1);
    let (code, out) = sipp_run(&dir, "caller-tcp", &args, Duration::from_secs(40))?;
    assert_eq!(code, 0, "caller over TCP:\n{out}");
    let (code, out) = uas.wait(Duration::from_secs(20))?;
    assert_eq!(code, 0, "agent:\n{out}");
    let recs = hl.wait_records(1, Duration::from_secs(10))?;
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].end_reason, EndReason::CallerHangup);
    Ok(())
}

#[test]
fn hold_and_resume_re_invites_reach_the_other_side() -> Result<()> {
    let hl = Hotline::start(SIGNALLING_ONLY)?;
    let dir = hl.dir.path().to_path_buf();
    // Through the B2BUA (12345: relayed between the two dialogs) and through the proxy (1001).
    for dial in ["12345", "1001"] {
        let uas = agent(
            &hl,
            &dir,
            "1001",
            "demo1001",
            "agent_uas_reinvite.xml",
            1,
            &["-d", "0"],
        )?;
        let (code, out) = call(&hl, &dir, dial, "caller_hold.xml", 1, &["-d", "200"])?;
        assert_eq!(
            code, 0,
            "caller of {dial}: hold and resume must be answered by the agent:\n{out}"
        );
        let (code, out) = uas.wait(Duration::from_secs(20))?;
        assert_eq!(code, 0, "agent for {dial}:\n{out}");
    }
    Ok(())
}

#[test]
fn in_flight_limit_counts_call_setups_not_finished_calls() -> Result<()> {
    // With room for 2 INVITEs in flight, 10 calls one after another must all go through: a call
    // stops counting at its final response, not 32 s later when its transaction is gone.
    let hl = Hotline::start_with(
        SIGNALLING_ONLY,
        &[("HOTLINE_SIP__MAX_INFLIGHT_TRANSACTIONS", "2")],
    )?;
    let dir = hl.dir.path().to_path_buf();
    let uas = agent(
        &hl,
        &dir,
        "1002",
        "demo1002",
        "agent_uas.xml",
        10,
        &["-d", "0"],
    )?;
    let (code, out) = call(
        &hl,
        &dir,
        "1002",
        "caller.xml",
        10,
        &["-d", "50", "-r", "20", "-l", "1"],
    )?;
    assert_eq!(code, 0, "callers:\n{out}");
    assert_eq!(
        Sipp::stat(&dir, "caller-1002-caller.xml", "SuccessfulCall(C)"),
        Some(10)
    );
    let (code, out) = uas.wait(Duration::from_secs(30))?;
    assert_eq!(code, 0, "agent:\n{out}");
    Ok(())
}
