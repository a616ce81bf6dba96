//! The browser softphone end to end (issue 8): an agent logs in to the desktop in headless
//! Chromium (a fake microphone playing a 600 Hz tone); a SIPp citizen dials 12345, presses 0
//! and plays a 1 kHz tone; the desktop rings with the caller, the line and the caller's
//! history; the wallboard shows the call; the agent answers in the page and RTP flows both
//! ways through the WebRTC bridge (the browser receives the citizen's audio, and the call
//! recording holds the citizen's tone on the left and the browser's on the right); the agent
//! fills the work order using a knowledge-base suggestion, hangs up, sees the wrap-up
//! countdown and dispatches the order; the unit signs for it and replies in its portal.
//! Screenshots of each screen go to `target/screenshots/`.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use hotline_tests::api::{WEB_USERS, answered, insert_records, login, order_of, req};
use hotline_tests::webdriver::Browser;
use hotline_tests::{Hotline, SippArgs, free_even_port, repo_root, sipp_spawn, write_rtp_pcap};
use serde_json::Value;

/// The web users, with the sample knowledge base for the suggestions.
fn setup() -> String {
    format!("[kb]\nload_sample = true\n{WEB_USERS}")
}

/// Like `wait_text`, for up to `secs`.
fn wait_for(b: &Browser, css: &str, secs: u64, ok: impl Fn(&str) -> bool) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let t = b.text(css).unwrap_or_default();
        if ok(&t) {
            return Ok(t);
        }
        if Instant::now() > deadline {
            bail!("`{css}` never showed the expected text in {secs} s; last: {t:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A sine of `hz` as 16-bit mono WAV samples at `rate`.
fn tone(hz: f64, rate: u32, secs: u32, amplitude: f64) -> Vec<i16> {
    (0..rate * secs)
        .map(|i| {
            (amplitude * (std::f64::consts::TAU * hz * f64::from(i) / f64::from(rate)).sin()) as i16
        })
        .collect()
}

/// The power of `hz` in `x` (8 kHz), relative to the signal's total power: near 1 for a pure
/// tone of that frequency, near 0 for anything else (Goertzel).
fn share_at(x: &[i16], hz: f64) -> f64 {
    let w = std::f64::consts::TAU * hz / 8000.0;
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    let mut total = 0.0f64;
    for &v in x {
        let v = f64::from(v);
        total += v * v;
        let s0 = v + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2;
    if total == 0.0 {
        return 0.0;
    }
    // A pure tone's Goertzel power is N²/4·A², its energy N/2·A²: the ratio is N/2.
    power / total / (x.len() as f64 / 2.0)
}

/// The citizen: the IVR caller who presses 0 and stays until the hotline hangs up, playing
/// `pcap` (a 1 kHz tone) once the key is sent.
fn citizen_scenario(dir: &std::path::Path, pcap: &std::path::Path) -> Result<String> {
    let text = std::fs::read_to_string(repo_root().join("sipp-scenarios/ivr_caller_wait_bye.xml"))?
        .replace("dtmf_2833_2.pcap", "dtmf_2833_0.pcap");
    let play = format!(
        "  <pause milliseconds=\"300\"/>\n  <nop>\n    <action>\n      <exec play_pcap_audio=\"{}\"/>\n    </action>\n  </nop>\n",
        pcap.display()
    );
    let text = text.replacen(
        "  <recv request=\"BYE\"",
        &format!("{play}  <recv request=\"BYE\""),
        1,
    );
    let path = dir.join("citizen.xml");
    std::fs::write(&path, text)?;
    Ok(path.display().to_string())
}

fn stats(b: &Browser) -> Result<Value> {
    // WebDriver waits for the promise.
    b.eval(
        "return phone.pc.getStats().then((r) => { const o = {}; r.forEach((s) => {
           if (s.type === 'inbound-rtp' && s.kind === 'audio') { o.received = s.packetsReceived; o.energy = s.totalAudioEnergy; }
           if (s.type === 'outbound-rtp' && s.kind === 'audio') { o.sent = s.packetsSent; }
           if (s.type === 'codec') { o.codecs = (o.codecs || '') + s.mimeType + ' '; }
         }); return o; });",
    )
}

#[test]
fn a_citizen_reaches_the_browser_agent_who_talks_and_dispatches_the_order() -> Result<()> {
    let hl = Hotline::start_with(
        &setup(),
        &[
            ("HOTLINE_WORKORDERS__DRAFT_SCAN_SECS", "1"),
            ("HOTLINE_ACD__DEFAULTS__WRAP_UP_SECS", "30"),
        ],
    )?;
    let dir = hl.dir.path().to_path_buf();
    let agent = login(&hl, "1001", "agent-pw")?;
    // The citizen called yesterday too: the desktop shows it, with its order.
    let citizen = "13900001";
    insert_records(&hl, vec![answered("earlier-1", citizen)])?;
    let earlier = order_of(&hl, &agent, "earlier-1")?;

    // The agent's microphone: a 600 Hz tone (Chromium loops the file).
    let mic = dir.join("mic.wav");
    {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 48_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&mic, spec)?;
        for s in tone(600.0, 48_000, 10, 8000.0) {
            w.write_sample(s)?;
        }
        w.finalize()?;
    }
    let b = Browser::start_with(
        1366,
        768,
        &[
            "--use-fake-device-for-media-stream".into(),
            "--use-fake-ui-for-media-stream".into(),
            format!("--use-file-for-fake-audio-capture={}", mic.display()),
            "--autoplay-policy=no-user-gesture-required".into(),
        ],
    )?;
    b.goto(&format!("http://{}/", hl.http))?;
    b.type_into("#user", "1001")?;
    b.type_into("#password", "agent-pw")?;
    b.click("#login button[type=submit]")?;
    wait_for(&b, "#phone-status", 15, |t| t.contains("软电话已就绪"))?;
    b.click("#acd-ready")?;
    wait_for(&b, "#state", 10, |t| t.contains("空闲"))?;

    // The supervisor's wallboard in a second browser.
    let sup = login(&hl, "sup", "sup-pw")?;
    let wall = Browser::start(1366, 768)?;
    wall.open_as(hl.http, "/wallboard", &sup, "sup", "supervisor")?;
    wait_for(&wall, "#live", 10, |t| t.contains("实时"))?;

    // The citizen dials 12345, presses 0, and speaks (a 1 kHz tone, 40 s).
    let ulaw: Vec<u8> = tone(1000.0, 8000, 40, 6000.0)
        .into_iter()
        .map(hotline_media::g711::linear_to_ulaw)
        .collect();
    let frames: Vec<Vec<u8>> = ulaw.chunks(160).map(<[u8]>::to_vec).collect();
    let pcap = dir.join("citizen-tone.pcap");
    write_rtp_pcap(&pcap, 0, &frames)?;
    let scen = citizen_scenario(&dir, &pcap)?;
    let caller = sipp_spawn(
        &dir,
        "citizen",
        &SippArgs::new(&scen)
            .to(hl.sip_udp)
            .arg("-s", "12345")
            .arg("-mp", free_even_port())
            .args(&["-set", "dtmf_after", "0", "-timeout", "90"])
            .build(1),
    )?;

    // The desktop rings: the caller, the line, the history with the open order.
    wait_for(&b, "#call-state", 20, |t| t.contains("来电振铃"))?;
    assert!(b.text("#call-caller")?.contains(citizen));
    assert!(b.text("#call-line")?.contains("12345"));
    let history = wait_for(&b, "#history", 10, |t| t.contains(&earlier))?;
    assert!(history.contains("重复来电"), "{history}");
    b.shot("call-1-ringing")?;
    let calls = wait_for(&wall, "#calls", 10, |t| t.contains(citizen))?;
    assert!(!calls.is_empty());
    wall.shot("call-2-wallboard")?;

    // Answer in the page: WebRTC to the hotline, bridged to the citizen's RTP.
    b.click("#answer")?;
    wait_for(&b, "#call-state", 15, |t| t.contains("通话中"))?;
    b.shot("call-3-talking")?;
    std::thread::sleep(Duration::from_secs(4));
    let st = stats(&b)?;
    let received = st["received"].as_u64().unwrap_or(0);
    let sent = st["sent"].as_u64().unwrap_or(0);
    assert!(
        received > 100,
        "the browser received the citizen's RTP: {st}"
    );
    assert!(sent > 100, "the browser sent RTP: {st}");
    assert!(
        st["energy"].as_f64().unwrap_or(0.0) > 0.0,
        "and it was not silence: {st}"
    );
    assert!(st["codecs"].as_str().unwrap_or("").contains("PCMU"), "{st}");
    let talking = wall.text("#agents")?;
    assert!(talking.contains("通话中"), "{talking}");

    // Hold: the citizen hears music, the key shows it; resume.
    b.click("#hold")?;
    wait_for(&b, "#call-state", 10, |t| t.contains("保持中"))?;
    assert_eq!(
        b.eval("return document.getElementById('hold').getAttribute('aria-pressed')")?,
        "true"
    );
    b.click("#hold")?;
    wait_for(&b, "#call-state", 10, |t| t.contains("通话中"))?;

    // The work order, using a suggestion.
    b.type_into(
        "#content",
        "和平路公交站牌被车撞倒了，等车的人没地方看线路，请尽快修好",
    )?;
    wait_for(&b, "#suggestions", 10, |t| !t.trim().is_empty())?;
    b.click("#suggestions li button.use")?;
    wait_for(&b, "#answer-entry", 5, |t| t.contains("答复依据"))?;
    b.eval("document.getElementById('request-type').value = 'help'; return 1;")?;
    // The adopted entry filled the category; the agent writes their own.
    b.eval("document.getElementById('category').value = ''; return 1;")?;
    b.type_into("#category", "交通/公交")?;
    b.type_into("#req-name", "张先生")?;
    b.type_into("#address", "和平路公交站")?;
    b.type_into("#area", "盐湖区")?;
    b.eval("const l = document.getElementById('lead'); l.value = ''; return 1;")?;
    b.type_into("#lead", "市交通局")?;
    b.type_into("#card", "请核实并修复站牌")?;
    b.shot("call-4-order")?;

    // The agent hangs up; the citizen gets the BYE; the wrap-up counts down.
    b.click("#hangup")?;
    wait_for(&b, "#wrap-up", 10, |t| t.contains("剩余"))?;
    b.shot("call-5-wrap-up")?;
    let (code, out) = caller.wait(Duration::from_secs(30))?;
    assert_eq!(code, 0, "citizen:\n{out}");

    b.click("#dispatch")?;
    let done = wait_for(&b, "#order-no", 20, |t| t.contains("已转办"))?;
    b.shot("call-6-dispatched")?;
    let no = done
        .split_whitespace()
        .find(|w| w.starts_with("YC"))
        .context("order number")?
        .to_string();
    let (_, v) = req(&hl, "GET", &format!("/api/orders/{no}"), Some(&agent), "")?;
    assert_eq!(v["order"]["status"], "dispatched", "{v}");
    assert_eq!(v["order"]["lead"], "市交通局", "{v}");
    let (_, answers) = req(
        &hl,
        "GET",
        &format!("/api/orders/{no}/answers"),
        Some(&agent),
        "",
    )?;
    assert!(
        answers.to_string().contains("entry"),
        "the adopted suggestion is linked: {answers}"
    );

    // The call record: answered by 1001 through the page, recorded both ways.
    let records = hl.wait_records(2, Duration::from_secs(10))?;
    let r = records
        .iter()
        .find(|r| r.id != "earlier-1")
        .context("the call's record")?;
    assert_eq!(r.agent.as_deref(), Some("1001"), "{r:?}");
    let route = r.route.clone().unwrap_or_default();
    assert!(route.contains("answered:1001 > hold > resume"), "{route}");
    let rec = r.recording.clone().context("recording")?;
    let mut wav = hound::WavReader::open(&rec).with_context(|| rec.clone())?;
    assert_eq!(wav.spec().channels, 2);
    let samples: Vec<i16> = wav.samples::<i16>().collect::<Result<_, _>>()?;
    let left: Vec<i16> = samples.iter().step_by(2).copied().collect();
    let right: Vec<i16> = samples.iter().skip(1).step_by(2).copied().collect();
    // The last three seconds of talk (the greeting and queue are at the start).
    let tail = |x: &[i16]| {
        x[x.len().saturating_sub(24_000 + 8_000)..x.len().saturating_sub(8_000)].to_vec()
    };
    let (l, rr) = (tail(&left), tail(&right));
    let citizen_share = share_at(&l, 1000.0);
    let browser_share = share_at(&rr, 600.0);
    assert!(
        citizen_share > 0.5,
        "the citizen's 1 kHz tone on the left (share {citizen_share:.2})"
    );
    assert!(
        browser_share > 0.5,
        "the browser's 600 Hz tone on the right, through the bridge (share {browser_share:.2})"
    );

    // The unit signs for it and replies in its portal.
    b.click("#logout")?;
    login(&hl, "jtj", "jtj-pw")?;
    b.wait_text("#login-title", |t| t.contains("登录"))?;
    b.eval("document.getElementById('user').value = ''; return 1;")?;
    b.type_into("#user", "jtj")?;
    b.type_into("#password", "jtj-pw")?;
    b.click("#login button[type=submit]")?;
    let row = format!("#orders tr[data-no='{no}']");
    if let Err(e) = wait_for(&b, &row, 15, |t| t.contains("待签收")) {
        b.shot("call-7-unit-failed")?;
        bail!("{e}; the page: {}", b.text("body").unwrap_or_default());
    }
    b.click(&row)?;
    b.wait_text("#facts", |t| t.contains("站牌"))?;
    b.click("#sign")?;
    b.wait_text("#facts", |t| t.contains("办理中"))?;
    b.type_into("#public", "已安排养护人员，站牌今日修复。")?;
    b.type_into("#internal", "养护科现场处理")?;
    b.click("#contacted")?;
    b.click("#solved")?;
    b.click("#reply button[type=submit]")?;
    if let Err(e) = b.wait_text("#facts", |t| t.contains("已回复")) {
        bail!(
            "{e}; the error banner: {}",
            b.text("#error").unwrap_or_default()
        );
    }
    b.shot("call-7-unit-replied")?;
    let (_, v) = req(&hl, "GET", &format!("/api/orders/{no}"), Some(&agent), "")?;
    assert_eq!(v["order"]["status"], "replied", "{v}");
    Ok(())
}
