//! A real softphone: Debian's baresip registers as agent 1001 (digest, MD5), auto-answers the
//! call a SIPp citizen places to 12345 through the B2BUA, and is hung up by the hotline when the
//! citizen hangs up.

use anyhow::Result;
use hotline_cdr::EndReason;
use hotline_tests::{
    Hotline, SIGNALLING_ONLY, free_baresip_port, free_udp_port, scenario, sipp_run, which,
};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn baresip_registers_answers_and_is_hung_up() -> Result<()> {
    which("baresip")?;
    // baresip 1.0 (libre) gives up on a 401 that also offers SHA-256 ("Function not
    // implemented"): phones like it need the MD5-only challenge this setting gives.
    let hl = Hotline::start_with(
        SIGNALLING_ONLY,
        &[("HOTLINE_SIP__DIGEST_ALGORITHMS", r#"["MD5"]"#)],
    )?;
    let dir = hl.dir.path().join("baresip");
    std::fs::create_dir_all(&dir)?;
    let port = free_baresip_port();
    std::fs::write(
        dir.join("config"),
        format!(
            "poll_method epoll\nsip_listen 127.0.0.1:{port}\naudio_player aubridge,x\naudio_source aubridge,x\n\
             audio_alert aubridge,x\nmodule_path /usr/lib/baresip/modules\nmodule g711.so\nmodule aubridge.so\n\
             module_app account.so\nmodule_app menu.so\n"
        ),
    )?;
    std::fs::write(
        dir.join("accounts"),
        format!(
            "<sip:1001@{};transport=udp>;auth_pass=demo1001;answermode=auto;regint=60\n",
            hl.sip_udp
        ),
    )?;
    let log = std::fs::File::create(dir.join("baresip.log"))?;
    let mut phone = Command::new("baresip")
        .args([
            "-f",
            dir.to_str().unwrap_or("."),
            "-n",
            "127.0.0.1",
            "-t",
            "15",
        ])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()?;
    let phone_log = || std::fs::read_to_string(dir.join("baresip.log")).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !phone_log().contains("200 OK") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        phone_log().contains("200 OK"),
        "baresip did not register:\n{}",
        phone_log()
    );

    let args: Vec<String> = [
        "-sf",
        &scenario("caller.xml").display().to_string(),
        &hl.sip_udp.to_string(),
        "-s",
        "12345",
        "-d",
        "1000",
        "-i",
        "127.0.0.1",
        "-p",
        &free_udp_port().to_string(),
        "-m",
        "1",
        "-timeout",
        "20",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (code, out) = sipp_run(hl.dir.path(), "citizen", &args, Duration::from_secs(30))?;
    assert_eq!(code, 0, "caller:\n{out}\nphone:\n{}", phone_log());
    let recs = hl.wait_records(1, Duration::from_secs(10))?;
    phone.kill().ok();
    phone.wait().ok();
    let log = phone_log();
    assert!(log.contains("Call established"), "{log}");
    assert!(
        log.contains("terminated"),
        "the hotline's BYE must end the phone's call:\n{log}"
    );
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0].agent.as_deref(), Some("1001"));
    assert_eq!(recs[0].end_reason, EndReason::CallerHangup);
    Ok(())
}
