//! The binary's other faces: `hotline check` names file, line and key for bad config; `passwd`
//! prints the HA1 lines; `/health` and `/metrics` answer over HTTP.

use anyhow::Result;
use hotline_tests::{Hotline, http_get, options_ping};
use std::io::Write;
use std::process::{Command, Stdio};

fn hotline() -> Command {
    Command::new(hotline_tests::hotline_bin().expect("the hotline binary"))
}

#[test]
fn check_reports_file_line_and_key() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[sip]\nudp = [\"127.0.0.1:5060\"]\ninvite_auth = \"sometimes\"\ncolour = \"blue\"\n",
    )?;
    let out = hotline().arg("check").arg("--config").arg(&bad).output()?;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let f = bad.display().to_string();
    assert!(
        err.contains(&format!(
            "{f}:3:1: sip.invite_auth: unknown variant `sometimes`"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("{f}:4:1: sip.colour: unknown field `colour`")),
        "{err}"
    );
    // The embedded defaults are valid.
    let ok = hotline()
        .arg("check")
        .env_remove("HOTLINE_CONFIG")
        .output()?;
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("52 hotline lines"));
    // A bad environment override is named as such.
    let env = hotline()
        .arg("check")
        .env("HOTLINE_SIP__INVITE_AUTH", "maybe")
        .output()?;
    assert_eq!(env.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&env.stderr)
            .contains("env HOTLINE_SIP__INVITE_AUTH:1:1: sip.invite_auth")
    );
    Ok(())
}

#[test]
fn passwd_prints_digest_hashes_not_the_password() -> Result<()> {
    let mut child = hotline()
        .args(["passwd", "1001"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"demo1001\n")?;
    let out = child.wait_with_output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("ha1_md5 = \"fe91a8312069f3ec33658a70e139d0d1\""),
        "{text}"
    );
    assert!(
        text.contains(
            "ha1_sha256 = \"ce777f18d0030e57d31a42f8ec9f0ef8c446871038cfcb8985a3edd064d85b03\""
        ),
        "{text}"
    );
    assert!(!text.contains("demo1001"));
    Ok(())
}

#[test]
fn health_and_metrics() -> Result<()> {
    let hl = Hotline::start("")?;
    assert_eq!(options_ping(hl.sip_udp)?.as_deref(), Some("SIP/2.0 200 OK"));
    let health = http_get(hl.http, "/health")?;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains("\"database\":\"up\""), "{health}");
    // A refused datagram shows in the metrics.
    std::net::UdpSocket::bind("127.0.0.1:0")?
        .send_to(b"OPTIONS sip:x SIP/9.9\r\n\r\n", hl.sip_udp)?;
    std::thread::sleep(std::time::Duration::from_millis(200));
    let metrics = http_get(hl.http, "/metrics")?;
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(
        metrics.contains("hotline_sip_dropped_total")
            || metrics.contains("hotline_sip_refused_total"),
        "{metrics}"
    );
    assert!(
        !hl.log().contains("demo100"),
        "passwords must never reach the log"
    );
    Ok(())
}
