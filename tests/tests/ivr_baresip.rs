//! A real softphone as the citizen: Debian's baresip dials 12345, hears the greeting (its
//! sndfile module dumps the decoded audio, compared here with the prompt), presses 0 by RFC 4733
//! while the greeting plays, and is queued to the agent who answers; the bridged part of the call
//! is recorded with the citizen's tone on the left channel.

use anyhow::{Context, Result};
use hotline_tests::{Hotline, free_baresip_port, free_udp_port, phone, prompt_ulaw, which};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn wav_samples(path: &std::path::Path) -> Result<(u16, Vec<i16>)> {
    let mut r = hound::WavReader::open(path).with_context(|| path.display().to_string())?;
    let ch = r.spec().channels;
    Ok((ch, r.samples::<i16>().collect::<Result<_, _>>()?))
}

/// Normalised correlation of two equally long signals.
fn correlation(a: &[i16], b: &[i16]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    ab / (aa * bb).sqrt().max(1.0)
}

fn first_loud(s: &[i16]) -> Option<usize> {
    s.iter().position(|v| v.unsigned_abs() > 200)
}

#[test]
fn baresip_dials_hears_the_greeting_presses_0_and_reaches_the_agent() -> Result<()> {
    which("baresip")?;
    let hl = Hotline::start("")?;
    let dir = hl.dir.path().join("citizen");
    std::fs::create_dir_all(&dir)?;
    // The agent: a SIPp phone that answers after 200 ms.
    let agent = phone(
        &hl,
        hl.dir.path(),
        "agent",
        Some(("1003", "demo1003")),
        "agent_uas.xml",
        free_udp_port(),
        &["-d", "200"],
    )?;

    // The citizen's microphone: 30 s of a 440 Hz tone.
    let mic = dir.join("mic.wav");
    {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&mic, spec)?;
        for i in 0..8000 * 30 {
            let t = f64::from(i) / 8000.0;
            w.write_sample((4000.0 * (std::f64::consts::TAU * 440.0 * t).sin()) as i16)?;
        }
        w.finalize()?;
    }
    let port = free_baresip_port();
    std::fs::write(
        dir.join("config"),
        format!(
            "poll_method epoll\nsip_listen 127.0.0.1:{port}\naudio_player aubridge,x\n\
             audio_source aufile,{}\naudio_alert aubridge,x\nmodule_path /usr/lib/baresip/modules\n\
             module stdio.so\nmodule g711.so\nmodule aufile.so\nmodule aubridge.so\nmodule sndfile.so\n\
             module_app account.so\nmodule_app menu.so\nsnd_path {}\n",
            mic.display(),
            dir.display()
        ),
    )?;
    // No registration: a citizen on a trusted network just calls.
    std::fs::write(
        dir.join("accounts"),
        "<sip:13900000002@127.0.0.1;transport=udp>;regint=0\n",
    )?;
    let log = std::fs::File::create(dir.join("baresip.log"))?;
    let mut phone = Command::new("baresip")
        .args(["-f", dir.to_str().unwrap_or("."), "-t", "40", "-e"])
        .arg(format!("/dial sip:12345@{}", hl.sip_udp))
        .stdin(Stdio::piped())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()?;
    let phone_log = || std::fs::read_to_string(dir.join("baresip.log")).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !phone_log().contains("Call established") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(phone_log().contains("Call established"), "{}", phone_log());
    // Three seconds into the greeting, the citizen presses 0 (baresip sends RFC 4733).
    std::thread::sleep(Duration::from_secs(3));
    phone.stdin.as_mut().context("stdin")?.write_all(b"0")?;
    // The queue prompt (4 s), the agent answers, ten seconds of talk, then hang up ("b").
    std::thread::sleep(Duration::from_secs(14));
    phone.stdin.as_mut().context("stdin")?.write_all(b"b")?;
    std::thread::sleep(Duration::from_secs(1));
    phone.stdin.as_mut().context("stdin")?.write_all(b"q")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while phone.try_wait()?.is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    phone.kill().ok();
    phone.wait().ok();
    assert!(
        phone_log().contains("send DTMF digit: '0'"),
        "{}",
        phone_log()
    );
    let (code, out) = agent.wait(Duration::from_secs(20))?;
    assert_eq!(code, 0, "agent:\n{out}");

    let recs = hl.wait_records(1, Duration::from_secs(10))?;
    let r = recs.first().context("record")?;
    let route = r.route.clone().unwrap_or_default();
    assert!(
        route.contains("greeting:interrupted > menu:0 > human:default"),
        "{route}"
    );
    assert_eq!(r.agent.as_deref(), Some("1003"));
    assert_eq!(r.caller, "13900000002");

    // What baresip heard starts with the greeting.
    let dec = std::fs::read_dir(&dir)?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("-dec.wav"))
        .context("baresip's sndfile dump of the received audio")?;
    let (_, heard) = wav_samples(&dec)?;
    let greeting: Vec<i16> = prompt_ulaw("greeting")?
        .iter()
        .map(|&c| hotline_media::g711::ulaw_to_linear(c))
        .collect();
    let (h0, g0) = (
        first_loud(&heard).context("baresip heard nothing")?,
        first_loud(&greeting).context("silent prompt")?,
    );
    let n = 8000; // one second of speech
    assert!(heard.len() >= h0 + n, "{} samples heard", heard.len());
    let c = correlation(&heard[h0..h0 + n], &greeting[g0..g0 + n]);
    assert!(
        c > 0.99,
        "the greeting, as the phone decoded it (correlation {c:.4})"
    );

    // The recording: the citizen's tone on the left, the (silent) agent on the right.
    let rec = r.recording.clone().context("recording")?;
    let (ch, s) = wav_samples(std::path::Path::new(&rec))?;
    assert_eq!(ch, 2);
    let left: Vec<i16> = s.iter().step_by(2).copied().collect();
    let loud = left.iter().filter(|v| v.unsigned_abs() > 2000).count();
    assert!(
        loud > left.len() / 4,
        "the citizen's 440 Hz tone is on the left channel ({loud} of {} samples loud)",
        left.len()
    );
    Ok(())
}
