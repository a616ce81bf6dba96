//! A three-party call (三方通话) with real audio: the citizen streams 440 Hz, the unit's
//! remote seat (the expert) 1000 Hz; the agent brings the seat in through the API. The tone
//! of each is heard by the others and never echoed back to its sender; when the agent leaves,
//! the citizen and the expert still hear each other; each join and leave is on the record.

use anyhow::{Context, Result, bail};
use hotline_tests::acd::{agent_state, start_with_lines};
use hotline_tests::{
    Capture, Datagram, SippArgs, free_even_port, free_udp_port, http_request, register_agent,
    repo_root, sipp_spawn,
};
use std::time::{Duration, Instant};

/// Power of `freq` in `samples` (8 kHz), Goertzel, normalised by length.
fn power(samples: &[i16], freq: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / 8000.0;
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - c * s1 * s2) / (samples.len().max(1) as f64).powi(2)
}

/// The µ-law audio the hotline sent to `port` (RTP, PT 0), decoded, with each packet's time.
fn audio_to(packets: &[Datagram], port: u16) -> Vec<(u64, Vec<i16>)> {
    packets
        .iter()
        .filter(|d| d.dst_port == port && d.payload.len() > 12 && d.payload[1] & 0x7f == 0)
        .map(|d| {
            let pcm = d.payload[12..]
                .iter()
                .map(|&b| hotline_media::g711::ulaw_to_linear(b))
                .collect();
            (d.at_us, pcm)
        })
        .collect()
}

fn joined(frames: &[(u64, Vec<i16>)], from: u64, to: u64) -> Vec<i16> {
    frames
        .iter()
        .filter(|(t, _)| *t >= from && *t < to)
        .flat_map(|(_, s)| s.iter().copied())
        .collect()
}

fn tone_file(dir: &std::path::Path, name: &str, freq: u32) -> Result<()> {
    let ok = std::process::Command::new("sox")
        .args(["-n", "-r", "8000", "-c", "1", "-e", "u-law"])
        .arg(dir.join(name))
        .args(["synth", "30", "sine", &freq.to_string(), "gain", "-10"])
        .status()?
        .success();
    anyhow::ensure!(ok, "sox {name}");
    Ok(())
}

#[test]
fn the_citizen_agent_and_expert_hear_each_other_and_the_agent_can_leave() -> Result<()> {
    let seat_port = free_udp_port();
    let hl = start_with_lines(
        &[(
            "sip:12369@remote-seats.invalid",
            format!("sip:12369@127.0.0.1:{seat_port}"),
        )],
        None,
        &[],
    )?;
    let dir = hl.dir.path().to_path_buf();
    tone_file(&dir, "tone-citizen.wav", 440)?;
    tone_file(&dir, "tone-seat.wav", 1000)?;
    let (mp_c, mp_a, mp_s) = (free_even_port(), free_even_port(), free_even_port());
    let caps = [
        Capture::start(&dir, "citizen", mp_c)?,
        Capture::start(&dir, "agent", mp_a)?,
        Capture::start(&dir, "seat", mp_s)?,
    ];
    // The agent talks 5 s and hangs up; the expert talks 9 s after joining and hangs up.
    let agent_port = free_udp_port();
    let agent = sipp_spawn(
        &dir,
        "agent",
        &SippArgs::new("agent_uas_bye.xml")
            .port(agent_port)
            .arg("-mp", mp_a)
            .args(&["-d", "5000"])
            .build(1),
    )?;
    std::thread::sleep(Duration::from_millis(300));
    register_agent(&dir, hl.sip_udp, "1001", "demo1001", agent_port)?;
    let seat = sipp_spawn(
        &dir,
        "seat",
        &SippArgs::new("seat_uas_tone.xml")
            .port(seat_port)
            .arg("-mp", mp_s)
            .args(&["-d", "9000"])
            .build(1),
    )?;
    // The citizen: 0 to an agent, then 440 Hz until the hotline hangs up.
    let text = std::fs::read_to_string(repo_root().join("sipp-scenarios/ivr_caller_wait_bye.xml"))?
        .replace("dtmf_2833_2.pcap", "dtmf_2833_0.pcap")
        .replace(
            "  <recv request=\"BYE\"",
            "  <pause milliseconds=\"400\"/>\n  <nop>\n    <action>\n      \
             <exec rtp_stream=\"tone-citizen.wav,-1,0\"/>\n    </action>\n  </nop>\n  <recv request=\"BYE\"",
        );
    let scen = dir.join("citizen_tone.xml");
    std::fs::write(&scen, text)?;
    let citizen = sipp_spawn(
        &dir,
        "citizen",
        &SippArgs::new(&scen.display().to_string())
            .to(hl.sip_udp)
            .arg("-s", "12345")
            .arg("-mp", mp_c)
            .args(&["-set", "dtmf_after", "0", "-timeout", "60"])
            .arg("-m", 1)
            .into_args(),
    )?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while agent_state(&hl, "1001")?.0 != "talking" {
        if Instant::now() > deadline {
            bail!("the agent never answered");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Not a unit with a remote seat: refused, the call goes on.
    let out = http_request(
        hl.http,
        "POST",
        "/api/acd/agents/1001/seat",
        "{\"unit\": \"110\"}",
    )?;
    assert!(out.starts_with("HTTP/1.1 502"), "{out}");
    // The agent brings in 12369's seat (市生态环境局).
    let out = http_request(
        hl.http,
        "POST",
        "/api/acd/agents/1001/seat",
        "{\"unit\": \"12369\"}",
    )?;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("\"joined\":\"12369\""), "{out}");
    for (name, s) in [("agent", agent), ("seat", seat), ("citizen", citizen)] {
        let (code, out) = s.wait(Duration::from_secs(40))?;
        assert_eq!(code, 0, "{name}:\n{out}");
    }
    let [c, a, s] = caps;
    let (to_c, to_a, to_s) = (
        audio_to(&c.stop()?, mp_c),
        audio_to(&a.stop()?, mp_a),
        audio_to(&s.stop()?, mp_s),
    );
    let first_to_seat = to_s.first().context("audio to the seat")?.0;
    let agent_gone = to_a.last().context("audio to the agent")?.0;
    let end = to_s.last().context("audio to the seat")?.0;
    assert!(
        agent_gone > first_to_seat + 1_000_000,
        "a conference of three came first"
    );
    let margin = 300_000;
    // While all three were in: the agent hears the citizen and the expert.
    let agent_heard = joined(&to_a, first_to_seat + margin, agent_gone);
    assert!(
        power(&agent_heard, 440.0) > 1e5,
        "the agent hears the citizen"
    );
    assert!(
        power(&agent_heard, 1000.0) > 1e5,
        "the agent hears the expert"
    );
    // The expert hears the citizen, before and after the agent left.
    for (from, to) in [
        (first_to_seat + margin, agent_gone),
        (agent_gone + margin, end),
    ] {
        let heard = joined(&to_s, from, to);
        assert!(
            power(&heard, 440.0) > 1e5,
            "the expert hears the citizen ({from}..{to})"
        );
    }
    // The citizen hears the expert, and never their own tone back.
    for (from, to) in [
        (first_to_seat + margin, agent_gone),
        (agent_gone + margin, end),
    ] {
        let heard = joined(&to_c, from, to);
        let (own, expert) = (power(&heard, 440.0), power(&heard, 1000.0));
        assert!(expert > 1e5, "the citizen hears the expert ({from}..{to})");
        assert!(
            own < expert / 1000.0,
            "no echo of the citizen's tone: {own} vs {expert}"
        );
    }
    let r = hl.wait_records(1, Duration::from_secs(10))?;
    let route = r[0].route.clone().unwrap_or_default();
    assert!(
        route.contains("answered:1001 > seat:12369 > joined:12369 > left:agent > left:12369"),
        "{route}"
    );
    assert_eq!(
        r[0].agent.as_deref(),
        Some("1001"),
        "first contact: {:?}",
        r[0]
    );
    // The recording is the mix: the citizen on the left, what they heard (the agent, then
    // the expert) on the right.
    let path = r[0].recording.clone().context("recording path")?;
    let mut wav = hound::WavReader::open(&path)?;
    let samples: Vec<i16> = wav.samples::<i16>().collect::<Result<_, _>>()?;
    let left: Vec<i16> = samples.chunks(2).map(|f| f[0]).collect();
    let right: Vec<i16> = samples.chunks(2).map(|f| f[1]).collect();
    assert!(
        power(&left, 440.0) > 1e5,
        "the citizen's side of the recording"
    );
    assert!(
        power(&right, 1000.0) > 1e5,
        "the expert in what the citizen heard"
    );
    assert!(
        power(&right, 440.0) < power(&right, 1000.0) / 1000.0,
        "no echo in the recording"
    );
    // The agent was freed when they left.
    assert_eq!(agent_state(&hl, "1001")?.0, "ready");
    Ok(())
}

#[test]
fn with_hold_music_configured_the_citizen_hears_it_while_the_seat_rings_then_the_agent()
-> Result<()> {
    let seat_port = free_udp_port();
    let hl = start_with_lines(
        &[(
            "sip:12369@remote-seats.invalid",
            format!("sip:12369@127.0.0.1:{seat_port}"),
        )],
        None,
        &[("HOTLINE_HOTLINE__HOLD_MUSIC_WHILE_SEAT_RINGS", "true")],
    )?;
    let dir = hl.dir.path().to_path_buf();
    let mp_c = free_even_port();
    let cap = Capture::start(&dir, "citizen", mp_c)?;
    // The agent sends no audio at all: whatever the citizen receives is the hotline's own.
    let agent_port = free_udp_port();
    let agent = sipp_spawn(
        &dir,
        "agent",
        &SippArgs::new("agent_uas_bye.xml")
            .port(agent_port)
            .arg("-mp", free_even_port())
            .args(&["-d", "14000"])
            .build(1),
    )?;
    std::thread::sleep(Duration::from_millis(300));
    register_agent(&dir, hl.sip_udp, "1001", "demo1001", agent_port)?;
    // The seat rings and never answers (it expects the CANCEL).
    let seat = sipp_spawn(
        &dir,
        "seat",
        &SippArgs::new("agent_uas_noanswer.xml")
            .port(seat_port)
            .arg("-mp", free_even_port())
            .build(1),
    )?;
    let citizen = sipp_spawn(
        &dir,
        "citizen",
        &SippArgs::new("ivr_caller_wait_bye.xml")
            .to(hl.sip_udp)
            .arg("-s", "12345")
            .arg("-mp", mp_c)
            .args(&["-set", "dtmf_after", "0", "-timeout", "60"])
            .arg("-m", 1)
            .into_args(),
    )?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while agent_state(&hl, "1001")?.0 != "talking" {
        if Instant::now() > deadline {
            bail!("the agent never answered");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let unix_us = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0)
    };
    // Logged in before the clock starts: the cached token makes the request alone.
    hotline_tests::supervisor_token(hl.http)?;
    let asked = unix_us();
    let out = http_request(
        hl.http,
        "POST",
        "/api/acd/agents/1001/seat",
        "{\"unit\": \"12369\"}",
    )?;
    assert!(
        out.starts_with("HTTP/1.1 502"),
        "the seat did not answer: {out}"
    );
    let failed = unix_us();
    for (name, p) in [("seat", seat), ("agent", agent), ("citizen", citizen)] {
        let (code, out) = p.wait(Duration::from_secs(40))?;
        assert_eq!(code, 0, "{name}:\n{out}");
    }
    let to_c = audio_to(&cap.stop()?, mp_c);
    let ringing = to_c
        .iter()
        .filter(|(t, _)| *t > asked + 500_000 && *t < failed)
        .count();
    let after = to_c.iter().filter(|(t, _)| *t > failed + 500_000).count();
    // 50 packets a second of music while it rang (8 s), then the silent agent's nothing.
    assert!(
        ringing > 250,
        "music while the seat rang: {ringing} packets"
    );
    assert!(
        after < 10,
        "back to the (silent) agent after: {after} packets"
    );
    let r = hl.wait_records(1, Duration::from_secs(10))?;
    let route = r[0].route.clone().unwrap_or_default();
    assert!(route.contains("seat:12369 > seat-failed:12369"), "{route}");
    Ok(())
}
