//! The IVR path's edges against the running server: keys by SIP INFO, a caller whose RTP stops
//! (hung up by the RTP timeout), SIGTERM while callers are in the IVR, a dialplan with mistakes
//! refused by `hotline check` with file, line and key, and the media counters on /metrics.

use anyhow::{Context, Result};
use hotline_cdr::EndReason;
use hotline_tests::{
    Hotline, SippArgs, free_even_port, free_udp_port, http_get, phone, repo_root, sipp_run,
    sipp_spawn,
};
use std::time::Duration;

fn metric(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

#[test]
fn a_key_sent_as_sip_info_is_a_menu_choice() -> Result<()> {
    let hl = Hotline::start("")?;
    let dir = hl.dir.path().to_path_buf();
    let agent = phone(
        &hl,
        &dir,
        "agent",
        Some(("1001", "demo1001")),
        "agent_uas.xml",
        free_udp_port(),
        &["-d", "100"],
    )?;
    let args = SippArgs::new("ivr_caller_info.xml")
        .to(hl.sip_udp)
        .arg("-s", "12345")
        .arg("-mp", free_even_port())
        .args(&[
            "-set",
            "dtmf_after",
            "7000",
            "-set",
            "key",
            "3",
            "-d",
            "6000",
        ])
        .build(1);
    let (code, out) = sipp_run(&dir, "citizen", &args, Duration::from_secs(60))?;
    assert_eq!(code, 0, "citizen:\n{out}");
    agent.wait(Duration::from_secs(20))?;
    let r = hl.wait_records(1, Duration::from_secs(10))?;
    let route = r[0].route.clone().unwrap_or_default();
    // Seven seconds in: the greeting (6 s) is over and the menu prompt plays.
    assert!(
        route.contains("greeting > menu:3 > help:default"),
        "{route}"
    );
    assert_eq!(r[0].agent.as_deref(), Some("1001"));
    Ok(())
}

#[test]
fn a_caller_whose_rtp_stops_is_hung_up_by_the_rtp_timeout() -> Result<()> {
    let hl = Hotline::start("[media]\nrtp_timeout_secs = 2\n")?;
    let dir = hl.dir.path().to_path_buf();
    // SIPp's plain caller sends no RTP at all, as a phone that died after the 200 would.
    let args = SippArgs::new("caller_wait_bye.xml")
        .to(hl.sip_udp)
        .arg("-s", "12345")
        .arg("-mp", free_even_port())
        .build(1);
    let started = std::time::Instant::now();
    let (code, out) = sipp_run(&dir, "citizen", &args, Duration::from_secs(30))?;
    assert_eq!(code, 0, "the hotline sends BYE:\n{out}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    let r = hl.wait_records(1, Duration::from_secs(10))?;
    assert_eq!(r[0].end_reason, EndReason::RtpTimeout, "{:?}", r[0]);
    assert!(
        r[0].route
            .as_deref()
            .unwrap_or_default()
            .contains("rtp-timeout:caller"),
        "{:?}",
        r[0].route
    );
    let m = http_get(hl.http, "/metrics")?;
    assert!(
        metric(&m, "hotline_media_rtp_timeouts").unwrap_or(0) >= 1,
        "{m}"
    );
    assert!(
        metric(&m, "hotline_media_packets_sent").unwrap_or(0) >= 50,
        "{m}"
    );
    assert_eq!(metric(&m, "hotline_media_calls_active"), Some(0), "{m}");
    Ok(())
}

#[test]
fn sigterm_hangs_up_callers_in_the_ivr_and_records_them() -> Result<()> {
    let mut hl = Hotline::start("")?;
    let dir = hl.dir.path().to_path_buf();
    let args = SippArgs::new("caller_wait_bye.xml")
        .to(hl.sip_udp)
        .arg("-s", "12345")
        .arg("-mp", free_even_port())
        .arg("-l", 3)
        .build(3);
    let callers = sipp_spawn(&dir, "citizens", &args)?;
    std::thread::sleep(Duration::from_secs(3));
    hl.stop()?;
    let (code, out) = callers.wait(Duration::from_secs(20))?;
    assert_eq!(code, 0, "every citizen got a BYE:\n{out}");
    let recs = hl.records()?;
    assert_eq!(recs.len(), 3, "{recs:?}");
    for r in &recs {
        assert_eq!(r.end_reason, EndReason::Shutdown, "{r:?}");
        assert!(
            r.route
                .as_deref()
                .unwrap_or_default()
                .starts_with("start:false > greeting")
        );
    }
    Ok(())
}

#[test]
fn check_names_the_file_line_and_key_of_dialplan_mistakes() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let plans = dir.path().join("dialplans");
    std::fs::create_dir_all(&plans)?;
    for f in ["12345.toml", "remote.toml", "guidance.toml"] {
        std::fs::copy(repo_root().join("dialplans").join(f), plans.join(f))?;
    }
    // A menu option to a node that does not exist, and a prompt with no file.
    let text = std::fs::read_to_string(plans.join("12345.toml"))?
        .replace("\"3\" = \"help\"", "\"3\" = \"helpp\"")
        .replace("prompt = \"queue_wait\"", "prompt = \"queue_wiat\"");
    std::fs::write(plans.join("12345.toml"), &text)?;
    std::fs::write(
        dir.path().join("hotline.toml"),
        format!(
            "[hotline]\nnumbers_file = \"{}\"\n\n[ivr]\ndialplans_dir = \"dialplans\"\n\n\
             [[agents]]\nid = \"1001\"\ngroups = [\"default\"]\npassword = \"x\"\n",
            repo_root().join("config/hotlines.toml").display()
        ),
    )?;
    let bin = hotline_tests::hotline_bin()?;
    let out = std::process::Command::new(&bin)
        .args(["check", "--config"])
        .arg(dir.path().join("hotline.toml"))
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let file = plans.join("12345.toml").display().to_string();
    let line_of = |needle: &str| -> Result<usize> {
        text.lines()
            .position(|l| l.contains(needle))
            .map(|i| i + 1)
            .context(needle.to_string())
    };
    let menu_line = line_of("\"3\" = \"helpp\"")?;
    assert!(
        err.lines()
            .any(|l| l.starts_with(&format!("{file}:{menu_line}:")) && l.contains("helpp")),
        "the unknown target with its line:\n{err}"
    );
    let prompt_line = line_of("queue_wiat")?;
    assert!(
        err.lines()
            .any(|l| l.starts_with(&format!("{file}:{prompt_line}:")) && l.contains("queue_wiat")),
        "the missing prompt with its line:\n{err}"
    );
    // The shipped ones pass.
    let ok = std::process::Command::new(&bin).arg("check").output()?;
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("dialplans"));
    Ok(())
}

/// 20 ms PCMU frames of the DTMF tone for `digit` (both frequencies at -10 dBm0 each).
fn dtmf_frames(digit: hotline_media::Digit, frames: usize) -> Vec<Vec<u8>> {
    let (lo, hi) = digit.frequencies();
    (0..frames)
        .map(|f| {
            (0..160)
                .map(|i| {
                    let t = (f * 160 + i) as f32 / 8000.0;
                    let s = 5000.0 * (std::f32::consts::TAU * lo * t).sin()
                        + 5000.0 * (std::f32::consts::TAU * hi * t).sin();
                    hotline_media::g711::linear_to_ulaw(s as i16)
                })
                .collect()
        })
        .collect()
}

#[test]
fn a_phone_without_rfc_4733_is_heard_by_the_in_band_detector() -> Result<()> {
    let hl = Hotline::start("")?;
    let dir = hl.dir.path().to_path_buf();
    let agent = phone(
        &hl,
        &dir,
        "agent",
        Some(("1002", "demo1002")),
        "agent_uas.xml",
        free_udp_port(),
        &["-d", "100"],
    )?;
    // 120 ms of the "1" tone, then silence: audio the phone sends, no telephone-event offered.
    let mut frames = dtmf_frames(hotline_media::Digit::D1, 6);
    frames.extend((0..10).map(|_| vec![0xffu8; 160]));
    let pcap = dir.join("tone-1.pcap");
    hotline_tests::write_rtp_pcap(&pcap, 0, &frames)?;
    let text = std::fs::read_to_string(repo_root().join("sipp-scenarios/ivr_caller.xml"))?
        .replace(
            "/usr/share/sip-tester/dtmf_2833_2.pcap",
            &pcap.display().to_string(),
        )
        .replace(
            "m=audio [media_port] RTP/AVP 0 101",
            "m=audio [media_port] RTP/AVP 0",
        )
        .replace(
            "      a=rtpmap:101 telephone-event/8000\n      a=fmtp:101 0-15\n",
            "",
        );
    assert!(!text.contains("rtpmap:101"), "the offer has no RFC 4733");
    let scen = dir.join("inband_caller.xml");
    std::fs::write(&scen, text)?;
    let args = SippArgs::new(&scen.display().to_string())
        .to(hl.sip_udp)
        .arg("-s", "12345")
        .arg("-mp", free_even_port())
        .args(&["-set", "dtmf_after", "2000", "-d", "8000"])
        .build(1);
    let (code, out) = sipp_run(&dir, "citizen", &args, Duration::from_secs(60))?;
    assert_eq!(code, 0, "citizen:\n{out}");
    agent.wait(Duration::from_secs(20))?;
    let r = hl.wait_records(1, Duration::from_secs(10))?;
    let route = r[0].route.clone().unwrap_or_default();
    assert!(
        route.contains("greeting:interrupted > menu:1 > consult:default"),
        "{route}"
    );
    Ok(())
}

#[test]
fn a_recorded_prompt_in_the_override_directory_replaces_the_synthetic_one() -> Result<()> {
    let over = tempfile::tempdir()?;
    // "Recorded voice": a 1 kHz tone standing in for the greeting.
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(over.path().join("greeting.wav"), spec)?;
    let tone: Vec<i16> = (0..8000)
        .map(|i| (6000.0 * (std::f32::consts::TAU * 1000.0 * i as f32 / 8000.0).sin()) as i16)
        .collect();
    for s in &tone {
        w.write_sample(*s)?;
    }
    w.finalize()?;
    let hl = Hotline::start(&format!(
        "[ivr]\nprompts_override_dir = \"{}\"\n",
        over.path().display()
    ))?;
    let dir = hl.dir.path().to_path_buf();
    let mp = free_even_port();
    let capture = hotline_tests::Capture::start(&dir, "citizen-rtp", mp)?;
    let args = SippArgs::new("caller.xml")
        .to(hl.sip_udp)
        .arg("-s", "12345")
        .arg("-mp", mp)
        .arg("-d", 1500)
        .build(1);
    let (code, out) = sipp_run(&dir, "citizen", &args, Duration::from_secs(30))?;
    assert_eq!(code, 0, "citizen:\n{out}");
    let packets = capture.stop()?;
    let heard: Vec<u8> = packets
        .iter()
        .filter(|d| d.dst_port == mp && d.payload.len() == 172)
        .take(25)
        .flat_map(|d| d.payload[12..].to_vec())
        .collect();
    let expected: Vec<u8> = tone
        .iter()
        .take(heard.len())
        .map(|&s| hotline_media::g711::linear_to_ulaw(s))
        .collect();
    assert_eq!(heard.len(), 4000, "half a second of the greeting");
    assert!(
        heard == expected,
        "the caller hears the recording, not the synthetic voice"
    );
    Ok(())
}

#[test]
fn hold_and_resume_in_the_ivr_are_answered_by_the_hotline_itself() -> Result<()> {
    let hl = Hotline::start("")?;
    let dir = hl.dir.path().to_path_buf();
    // caller_hold.xml checks the answers: a=recvonly to its sendonly hold, a=sendrecv to the
    // resume. With the media anchored here, no agent takes part: the IVR's leg answers.
    let args = SippArgs::new("caller_hold.xml")
        .to(hl.sip_udp)
        .arg("-s", "12345")
        .arg("-mp", free_even_port())
        .arg("-d", 1000)
        .build(1);
    let (code, out) = sipp_run(&dir, "citizen", &args, Duration::from_secs(30))?;
    assert_eq!(
        code, 0,
        "hold and resume answered with the mirrored directions:\n{out}"
    );
    let r = hl.wait_records(1, Duration::from_secs(10))?;
    assert_eq!(r[0].end_reason, EndReason::Abandoned, "{:?}", r[0]);
    assert!(
        r[0].route
            .as_deref()
            .unwrap_or_default()
            .starts_with("start:false > greeting"),
        "{:?}",
        r[0].route
    );
    Ok(())
}

#[test]
fn a_caller_who_hangs_up_while_the_agent_rings_is_abandoned_and_the_agent_cancelled() -> Result<()>
{
    let hl = Hotline::start("")?;
    let dir = hl.dir.path().to_path_buf();
    // The agent's phone rings and is never picked up; it expects a CANCEL.
    let agent = phone(
        &hl,
        &dir,
        "agent",
        Some(("1001", "demo1001")),
        "agent_uas_noanswer.xml",
        free_udp_port(),
        &[],
    )?;
    // 0 at once (type-ahead), the queue announcement (4 s), then 3 s of ringing: hang up.
    let text = std::fs::read_to_string(repo_root().join("sipp-scenarios/ivr_caller.xml"))?
        .replace("dtmf_2833_2.pcap", "dtmf_2833_0.pcap");
    let scen = dir.join("caller_0.xml");
    std::fs::write(&scen, text)?;
    let args = SippArgs::new(&scen.display().to_string())
        .to(hl.sip_udp)
        .arg("-s", "12345")
        .arg("-mp", free_even_port())
        .args(&["-set", "dtmf_after", "0", "-d", "7500"])
        .build(1);
    let (code, out) = sipp_run(&dir, "citizen", &args, Duration::from_secs(60))?;
    assert_eq!(code, 0, "citizen:\n{out}");
    let (code, out) = agent.wait(Duration::from_secs(20))?;
    assert_eq!(code, 0, "the ringing agent gets a CANCEL:\n{out}");
    let r = hl.wait_records(1, Duration::from_secs(10))?;
    assert_eq!(r[0].end_reason, EndReason::Abandoned, "{:?}", r[0]);
    assert!(r[0].agent.is_none(), "nobody answered: {:?}", r[0]);
    assert!(r[0].ringing_at.is_some(), "the agent rang: {:?}", r[0]);
    let route = r[0].route.clone().unwrap_or_default();
    assert!(route.contains("menu:0 > human:default"), "{route}");
    Ok(())
}

#[test]
fn a_delayed_offer_is_answered_in_the_ack_and_the_greeting_plays() -> Result<()> {
    let hl = Hotline::start("")?;
    let dir = hl.dir.path().to_path_buf();
    let mp = free_even_port();
    let capture = hotline_tests::Capture::start(&dir, "citizen-rtp", mp)?;
    let args = SippArgs::new("caller_late_offer.xml")
        .to(hl.sip_udp)
        .arg("-s", "12345")
        .arg("-mp", mp)
        .arg("-d", 2000)
        .build(1);
    let (code, out) = sipp_run(&dir, "citizen", &args, Duration::from_secs(30))?;
    assert_eq!(code, 0, "citizen:\n{out}");
    let packets = capture.stop()?;
    let rtp = packets
        .iter()
        .filter(|d| d.dst_port == mp && d.payload.len() == 172 && d.payload[1] & 0x7f == 0)
        .count();
    assert!(
        rtp >= 80,
        "the greeting reaches the port the ACK named: {rtp} packets"
    );
    let r = hl.wait_records(1, Duration::from_secs(10))?;
    assert_eq!(r[0].end_reason, EndReason::Abandoned, "{:?}", r[0]);
    assert!(
        r[0].route
            .as_deref()
            .unwrap_or_default()
            .starts_with("start:false > greeting"),
        "{:?}",
        r[0].route
    );
    Ok(())
}
