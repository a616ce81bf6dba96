//! The IVR and media engine against the running server (A1, T1-T6): SIPp citizens with RTP and
//! RFC 4733 keys (Debian sip-tester's dtmf_2833_*.pcap), the prompt audio they receive captured
//! on loopback and compared with the shipped prompt, the route each call took on its record,
//! the recording, and one test per annex mode.

use anyhow::{Context, Result, bail};
use hotline_cdr::{CallRecord, EndReason};
use hotline_tests::{
    Capture, Datagram, Hotline, SippArgs, free_even_port, free_udp_port, phone, prompt_ulaw,
    repo_root, scenario, sipp_run,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// ivr_caller.xml with the key of `pcap` (a dtmf_2833_*.pcap of sip-tester).
fn ivr_caller_with_key(dir: &Path, key: &str) -> Result<PathBuf> {
    let text = std::fs::read_to_string(scenario("ivr_caller.xml"))?;
    let pcap = format!("/usr/share/sip-tester/dtmf_2833_{key}.pcap");
    if !Path::new(&pcap).exists() {
        bail!("{pcap} is missing: install sip-tester (scripts/test.sh does)");
    }
    let path = dir.join(format!("ivr_caller_{key}.xml"));
    std::fs::write(
        &path,
        text.replace("/usr/share/sip-tester/dtmf_2833_2.pcap", &pcap),
    )?;
    Ok(path)
}

/// A citizen dialing `number` with `scen`, media on `mp`.
fn citizen(
    hl: &Hotline,
    dir: &Path,
    name: &str,
    scen: &Path,
    number: &str,
    mp: u16,
    extra: &[&str],
) -> Result<(i32, String)> {
    let args = SippArgs::new(&scen.display().to_string())
        .to(hl.sip_udp)
        .arg("-s", number)
        .arg("-mp", mp)
        .args(extra)
        .build(1);
    sipp_run(dir, name, &args, Duration::from_secs(90))
}

/// RTP packets (PT, SSRC, payload) sent to `port`.
fn rtp_to(packets: &[Datagram], port: u16) -> Vec<(u8, u32, u16, Vec<u8>)> {
    packets
        .iter()
        .filter(|d| d.dst_port == port && d.payload.len() >= 12 && d.payload[0] >> 6 == 2)
        .map(|d| {
            let p = &d.payload;
            (
                p[1] & 0x7f,
                u32::from_be_bytes([p[8], p[9], p[10], p[11]]),
                u16::from_be_bytes([p[2], p[3]]),
                p[12..].to_vec(),
            )
        })
        .collect()
}

/// Equal G.711 streams, or a short report of where they part (not megabytes of bytes).
fn assert_same_audio(heard: &[u8], expected: &[u8], what: &str) {
    assert_eq!(heard.len(), expected.len(), "{what}: lengths");
    if let Some(i) = heard.iter().zip(expected).position(|(a, b)| a != b) {
        let end = (i + 16).min(heard.len());
        let probe = &heard[i..(i + 160).min(heard.len())];
        let found = expected.windows(probe.len()).position(|w| w == probe);
        panic!(
            "{what}: first difference at sample {i} (packet {}): heard {:?}, expected {:?}; \
             the heard packet is at sample {found:?} of the expected audio",
            i / 160,
            &heard[i..end],
            &expected[i..end]
        );
    }
}

fn one_record(hl: &Hotline) -> Result<CallRecord> {
    let recs = hl.wait_records(1, Duration::from_secs(20))?;
    recs.into_iter().next().context("no call record")
}

#[test]
fn a_key_pressed_during_the_greeting_picks_the_menu_route_and_the_greeting_audio_arrives()
-> Result<()> {
    let hl = Hotline::start("")?;
    let dir = hl.dir.path().to_path_buf();
    let agent = phone(
        &hl,
        &dir,
        "agent",
        Some(("1001", "demo1001")),
        "agent_uas.xml",
        free_udp_port(),
        &["-d", "200"],
    )?;
    let mp = free_even_port();
    let capture = Capture::start(&dir, "citizen-rtp", mp)?;
    let scen = ivr_caller_with_key(&dir, "2")?;
    let (code, out) = citizen(
        &hl,
        &dir,
        "citizen",
        &scen,
        "12345",
        mp,
        &["-set", "dtmf_after", "2500", "-d", "6500"],
    )?;
    assert_eq!(code, 0, "citizen:\n{out}");
    let (code, out) = agent.wait(Duration::from_secs(30))?;
    assert_eq!(code, 0, "agent:\n{out}");
    let packets = capture.stop()?;
    let r = one_record(&hl)?;

    // The route: the key stopped the greeting and chose 2 (complaint) in the menu.
    let route = r.route.clone().unwrap_or_default();
    assert!(
        route.contains("greeting:interrupted")
            && route.contains("menu:2")
            && route.contains("complaint"),
        "{route}"
    );
    assert_eq!(r.agent.as_deref(), Some("1001"), "{r:?}");
    assert_eq!(r.end_reason, EndReason::CallerHangup);
    assert_eq!(r.caller, "13800000001");

    // The audio: the greeting, packet for packet, in one stream.
    let rtp = rtp_to(&packets, mp);
    assert!(
        rtp.len() >= 100,
        "2.5 s of greeting is ~125 packets: {}",
        rtp.len()
    );
    let ssrc = rtp[0].1;
    assert!(
        rtp.iter().all(|p| p.1 == ssrc),
        "one SSRC for the caller's stream"
    );
    assert!(rtp.iter().all(|p| p.0 == 0), "PCMU as negotiated");
    let greeting = prompt_ulaw("greeting")?;
    let heard: Vec<u8> = rtp.iter().take(100).flat_map(|p| p.3.clone()).collect();
    assert_eq!(heard.len(), 16_000);
    assert_same_audio(
        &heard,
        &greeting[..16_000],
        "the greeting prompt, sample for sample",
    );
    for w in rtp.windows(2).take(200) {
        assert_eq!(w[1].2, w[0].2.wrapping_add(1), "no sequence gaps");
    }

    // The bridged part is recorded: stereo, 8 kHz, at least the agent's part of the call.
    let rec = r
        .recording
        .clone()
        .context("recording path on the record")?;
    let wav = hound::WavReader::open(&rec).with_context(|| rec.clone())?;
    assert_eq!(wav.spec().channels, 2);
    assert_eq!(wav.spec().sample_rate, 8000);
    assert!(wav.duration() > 0);
    Ok(())
}

#[test]
fn a_caller_who_presses_nothing_reaches_an_agent() -> Result<()> {
    let hl = Hotline::start("")?;
    let dir = hl.dir.path().to_path_buf();
    let agent = phone(
        &hl,
        &dir,
        "agent",
        Some(("1002", "demo1002")),
        "agent_uas.xml",
        free_udp_port(),
        &["-d", "200"],
    )?;
    // Greeting (6 s), menu (9 s), 4 s of silence, the queue prompt (4 s), then the agent.
    let (code, out) = citizen(
        &hl,
        &dir,
        "citizen",
        &scenario("caller.xml"),
        "12345",
        free_even_port(),
        &["-d", "30000"],
    )?;
    assert_eq!(code, 0, "citizen:\n{out}");
    let (code, out) = agent.wait(Duration::from_secs(30))?;
    assert_eq!(code, 0, "agent:\n{out}");
    let r = one_record(&hl)?;
    let route = r.route.clone().unwrap_or_default();
    assert!(
        route.contains("greeting > menu:timeout > queue:default")
            && route.ends_with("answered:1002"),
        "{route}"
    );
    assert_eq!(r.agent.as_deref(), Some("1002"));
    let answered = r.answered_at.context("answered")?;
    assert!(
        (answered - r.arrived_at).num_seconds() >= 19,
        "the IVR ran before the agent was rung: {r:?}"
    );
    Ok(())
}

/// The annex with its placeholder targets pointed at local SIPp UASes, and direct-merge lines
/// still in their transition period when `in_transition`.
fn annex_with(dir: &Path, targets: &[(&str, String)], in_transition: bool) -> Result<PathBuf> {
    let mut text = std::fs::read_to_string(repo_root().join("config/hotlines.toml"))?;
    for (placeholder, uri) in targets {
        text = text.replace(placeholder, uri);
    }
    if in_transition {
        text = text.replace("transition_months = 6", "transition_months = 120");
    }
    let path = dir.join("hotlines.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

#[test]
fn a_merged_number_in_transition_enters_12345_with_its_unit() -> Result<()> {
    let dir0 = tempfile::tempdir()?;
    let annex = annex_with(dir0.path(), &[], true)?;
    let hl = Hotline::start_with(
        "",
        &[(
            "HOTLINE_HOTLINE__NUMBERS_FILE",
            annex.to_str().unwrap_or_default(),
        )],
    )?;
    let dir = hl.dir.path().to_path_buf();
    let agent = phone(
        &hl,
        &dir,
        "agent",
        Some(("1001", "demo1001")),
        "agent_uas.xml",
        free_udp_port(),
        &["-d", "200"],
    )?;
    let scen = ivr_caller_with_key(&dir, "0")?;
    let (code, out) = citizen(
        &hl,
        &dir,
        "citizen",
        &scen,
        "12312",
        free_even_port(),
        &["-set", "dtmf_after", "1000", "-d", "7000"],
    )?;
    assert_eq!(code, 0, "citizen:\n{out}");
    agent.wait(Duration::from_secs(30))?;
    let r = one_record(&hl)?;
    assert_eq!(r.line_mode.as_deref(), Some("direct-merge"));
    assert_eq!(
        r.line_unit.as_deref(),
        Some("市商务局"),
        "the origin goes with the call (T2)"
    );
    let route = r.route.clone().unwrap_or_default();
    assert!(route.starts_with("start:false > greeting"), "{route}");
    assert!(
        route.contains("menu:0") && route.contains("answered:1001"),
        "{route}"
    );
    Ok(())
}

#[test]
fn a_retired_merged_number_says_so_and_offers_12345() -> Result<()> {
    // The shipped annex: cut-over 2020-01-01 + 6 months, long past.
    let hl = Hotline::start("")?;
    let dir = hl.dir.path().to_path_buf();
    let agent = phone(
        &hl,
        &dir,
        "agent",
        Some(("1001", "demo1001")),
        "agent_uas.xml",
        free_udp_port(),
        &["-d", "200"],
    )?;
    let mp = free_even_port();
    let capture = Capture::start(&dir, "citizen-rtp", mp)?;
    // "1" during the retirement notice: on into 12345, then 0 would be pressed in the menu;
    // this caller presses 1 after 2 s and then waits.
    let scen = ivr_caller_with_key(&dir, "1")?;
    let (code, out) = citizen(
        &hl,
        &dir,
        "citizen",
        &scen,
        "12338",
        mp,
        &["-set", "dtmf_after", "2000", "-d", "30000"],
    )?;
    assert_eq!(code, 0, "citizen:\n{out}");
    agent.wait(Duration::from_secs(30))?;
    let packets = capture.stop()?;
    let r = one_record(&hl)?;
    let route = r.route.clone().unwrap_or_default();
    assert!(
        route.starts_with("start:true > retired:1 > greeting"),
        "{route}"
    );
    assert!(route.contains("answered:1001"), "{route}");
    assert_eq!(r.line_unit.as_deref(), Some("市妇联"));
    let retired = prompt_ulaw("retired")?;
    let heard: Vec<u8> = rtp_to(&packets, mp)
        .iter()
        .take(50)
        .flat_map(|p| p.3.clone())
        .collect();
    assert_eq!(
        heard[..],
        retired[..8000],
        "the caller first hears the retirement notice"
    );
    Ok(())
}

/// Remote seats (T3) and utility lines (T4): the bureau's seat and the 12345 pool ring in
/// parallel; the first to answer takes the call and the other is CANCELled.
fn parallel_line(number: &str, placeholder: &str, line_mode: &str) -> Result<()> {
    let dir0 = tempfile::tempdir()?;
    let seat_port = free_udp_port();
    let annex = annex_with(
        dir0.path(),
        &[(placeholder, format!("sip:{number}@127.0.0.1:{seat_port}"))],
        false,
    )?;
    let hl = Hotline::start_with(
        "",
        &[(
            "HOTLINE_HOTLINE__NUMBERS_FILE",
            annex.to_str().unwrap_or_default(),
        )],
    )?;
    let dir = hl.dir.path().to_path_buf();
    // The 12345 agent rings and never answers; the bureau's seat answers after 1 s.
    let agent = phone(
        &hl,
        &dir,
        "agent",
        Some(("1001", "demo1001")),
        "agent_uas_noanswer.xml",
        free_udp_port(),
        &[],
    )?;
    let seat = phone(
        &hl,
        &dir,
        "seat",
        None,
        "agent_uas.xml",
        seat_port,
        &["-d", "1000"],
    )?;
    let (code, out) = citizen(
        &hl,
        &dir,
        "citizen",
        &scenario("caller.xml"),
        number,
        free_even_port(),
        &["-d", "12000"],
    )?;
    assert_eq!(code, 0, "citizen:\n{out}");
    let (code, out) = seat.wait(Duration::from_secs(30))?;
    assert_eq!(code, 0, "seat:\n{out}");
    let (code, out) = agent.wait(Duration::from_secs(30))?;
    assert_eq!(
        code, 0,
        "the agent's leg is CANCELled once the seat answers:\n{out}"
    );
    let r = one_record(&hl)?;
    assert_eq!(r.line_mode.as_deref(), Some(line_mode));
    let seat_uri = format!("sip:{number}@127.0.0.1:{seat_port}");
    assert_eq!(r.agent.as_deref(), Some(seat_uri.as_str()), "{r:?}");
    let route = r.route.clone().unwrap_or_default();
    assert!(route.contains(&format!("parallel:{seat_uri}")), "{route}");
    Ok(())
}

#[test]
fn a_remote_seat_line_rings_the_bureau_and_12345_in_parallel() -> Result<()> {
    parallel_line("12369", "sip:12369@remote-seats.invalid", "remote-seat")
}

#[test]
fn an_interconnected_utility_line_rings_the_utility_and_12345_in_parallel() -> Result<()> {
    let text = std::fs::read_to_string(repo_root().join("config/hotlines.toml"))?;
    // The first interconnect line's target, whatever its number.
    let target = text
        .lines()
        .find(|l| l.contains("@interconnect.invalid"))
        .and_then(|l| l.split('"').nth(1))
        .context("an interconnect target in the annex")?
        .to_string();
    let number = target
        .trim_start_matches("sip:")
        .split('@')
        .next()
        .unwrap_or_default()
        .to_string();
    parallel_line(&number, &target, "interconnect")
}

#[test]
fn a_guidance_only_number_tells_the_caller_where_to_go_and_hangs_up() -> Result<()> {
    let hl = Hotline::start("")?;
    let dir = hl.dir.path().to_path_buf();
    let mp = free_even_port();
    let capture = Capture::start(&dir, "citizen-rtp", mp)?;
    let (code, out) = citizen(
        &hl,
        &dir,
        "citizen",
        &scenario("caller_wait_bye.xml"),
        "12309",
        mp,
        &[],
    )?;
    assert_eq!(code, 0, "the hotline ends the call itself:\n{out}");
    let packets = capture.stop()?;
    let r = one_record(&hl)?;
    assert_eq!(r.end_reason, EndReason::IvrCompleted);
    assert_eq!(r.line_mode.as_deref(), Some("guidance-only"));
    assert_eq!(r.route.as_deref(), Some("guidance > bye"));
    assert!(r.agent.is_none());
    // RTCP beside the RTP: sender reports about the stream the caller heard (port + 1).
    let ssrc = rtp_to(&packets, mp).first().context("RTP")?.1;
    let reports: Vec<_> = packets
        .iter()
        .filter(|d| d.dst_port == mp + 1)
        .filter_map(|d| hotline_media::rtcp::parse(&d.payload).ok())
        .collect();
    let to_rtcp = packets.iter().filter(|d| d.dst_port == mp + 1).count();
    assert!(
        !reports.is_empty(),
        "no RTCP in a ten-second call ({to_rtcp} datagrams to port {})",
        mp + 1
    );
    assert!(
        reports.iter().all(|r| matches!(
            r.first(),
            Some(hotline_media::rtcp::RtcpItem::SenderReport { ssrc: s, info, .. })
                if *s == ssrc && info.packet_count > 0
        )),
        "{reports:?}"
    );
    let guidance = prompt_ulaw("guidance-12309")?;
    let goodbye = prompt_ulaw("goodbye")?;
    let rtp = rtp_to(&packets, mp);
    let heard: Vec<u8> = rtp.iter().flat_map(|p| p.3.clone()).collect();
    assert!(
        heard.len() >= guidance.len() + goodbye.len(),
        "{} samples",
        heard.len()
    );
    assert_eq!(
        heard[..guidance.len()],
        guidance[..],
        "the guidance sentence, then goodbye"
    );
    Ok(())
}

#[test]
fn an_emergency_number_dialed_into_the_engine_goes_straight_to_its_trunk() -> Result<()> {
    let dir0 = tempfile::tempdir()?;
    let trunk_port = free_udp_port();
    let annex = annex_with(
        dir0.path(),
        &[(
            "sip:119@emergency-trunk.invalid",
            format!("sip:119@127.0.0.1:{trunk_port}"),
        )],
        false,
    )?;
    let hl = Hotline::start_with(
        "",
        &[(
            "HOTLINE_HOTLINE__NUMBERS_FILE",
            annex.to_str().unwrap_or_default(),
        )],
    )?;
    let dir = hl.dir.path().to_path_buf();
    let trunk = phone(
        &hl,
        &dir,
        "trunk",
        None,
        "agent_uas.xml",
        trunk_port,
        &["-d", "100"],
    )?;
    let (code, out) = citizen(
        &hl,
        &dir,
        "citizen",
        &scenario("caller.xml"),
        "119",
        free_even_port(),
        &["-d", "1000"],
    )?;
    assert_eq!(code, 0, "citizen:\n{out}");
    let (code, out) = trunk.wait(Duration::from_secs(20))?;
    assert_eq!(code, 0, "trunk:\n{out}");
    let r = one_record(&hl)?;
    assert_eq!(r.line_mode.as_deref(), Some("emergency"));
    let trunk_uri = format!("sip:119@127.0.0.1:{trunk_port}");
    assert_eq!(r.agent.as_deref(), Some(trunk_uri.as_str()));
    assert!(r.route.is_none(), "no IVR on an emergency call: {r:?}");
    let answered = r.answered_at.context("answered")?;
    assert!(
        (answered - r.arrived_at).num_milliseconds() < 2000,
        "no greeting, no queue: {r:?}"
    );
    Ok(())
}
