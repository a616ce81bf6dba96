//! The registrar's life cycle and forking to several contacts, end to end: two phones of one agent
//! both ring, the first to answer wins and the other gets a CANCEL; an un-REGISTER removes a
//! binding; a too-short Expires gets 423 with Min-Expires; untrusted callers are challenged (407).

use anyhow::Result;
use hotline_registrar::{Algorithm, QopAuth, response};
use hotline_tests::{
    Hotline, SippArgs, free_udp_port, register_agent, sipp_run, sipp_spawn, status_of, udp_exchange,
};
use std::time::Duration;

fn uas(
    dir: &std::path::Path,
    name: &str,
    scen: &str,
    port: u16,
    extra: &[&str],
) -> Result<hotline_tests::Sipp> {
    let p = sipp_spawn(
        dir,
        name,
        &SippArgs::new(scen).port(port).args(extra).build(1),
    )?;
    std::thread::sleep(Duration::from_millis(300));
    Ok(p)
}

#[test]
fn fork_to_two_phones_first_answer_wins_the_other_is_cancelled() -> Result<()> {
    let hl = Hotline::start("")?;
    let dir = hl.dir.path().to_path_buf();
    let (desk, soft) = (free_udp_port(), free_udp_port());
    let answering = uas(&dir, "desk", "agent_uas.xml", desk, &["-d", "300"])?;
    let ringing = uas(&dir, "soft", "agent_uas_noanswer.xml", soft, &[])?;
    register_agent(&dir, hl.sip_udp, "1002", "demo1002", desk)?;
    register_agent(&dir, hl.sip_udp, "1002", "demo1002", soft)?;
    let args = SippArgs::new("caller.xml")
        .to(hl.sip_udp)
        .arg("-s", "1002")
        .arg("-d", 300)
        .build(1);
    let (code, out) = sipp_run(&dir, "caller", &args, Duration::from_secs(40))?;
    assert_eq!(code, 0, "caller:\n{out}");
    let (code, out) = answering.wait(Duration::from_secs(20))?;
    assert_eq!(code, 0, "the answering phone:\n{out}");
    let (code, out) = ringing.wait(Duration::from_secs(20))?;
    assert_eq!(code, 0, "the other phone must be CANCELled:\n{out}");
    let recs = hl.wait_records(1, Duration::from_secs(10))?;
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].agent.as_deref(), Some("1002"));
    Ok(())
}

#[test]
fn unregister_removes_the_binding() -> Result<()> {
    let hl = Hotline::start("")?;
    let dir = hl.dir.path().to_path_buf();
    let port = free_udp_port();
    register_agent(&dir, hl.sip_udp, "1003", "demo1003", port)?;
    let srv = hl.sip_udp;
    let invite = |l: std::net::SocketAddr, id: &str| {
        format!(
            "INVITE sip:1003@{srv} SIP/2.0\r\nVia: SIP/2.0/UDP {l};branch=z9hG4bK-{id}\r\nFrom: <sip:c@{l}>;tag={id}\r\nTo: <sip:1003@{srv}>\r\n\
             Call-ID: {id}\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        .into_bytes()
    };
    let args = SippArgs::new("unregister.xml")
        .to(hl.sip_udp)
        .arg("-s", "1003")
        .arg("-ap", "demo1003")
        .args(&["-set", "contact_host", "127.0.0.1", "-set", "contact_port"])
        .args(&[&port.to_string()])
        .build(1);
    let (code, out) = sipp_run(&dir, "unregister", &args, Duration::from_secs(20))?;
    assert_eq!(code, 0, "{out}");
    let replies = udp_exchange(
        hl.sip_udp,
        |l| invite(l, "after-unreg"),
        Duration::from_secs(2),
    )?;
    assert!(
        replies.iter().any(|r| status_of(r) == 480),
        "no binding left, so 480: {replies:?}"
    );
    Ok(())
}

#[test]
fn too_brief_expires_gets_423_and_untrusted_callers_get_407() -> Result<()> {
    // 127.0.0.1 is not trusted here, so INVITEs from the test are challenged.
    let hl = Hotline::start_with(
        "",
        &[("HOTLINE_SIP__TRUSTED_NETWORKS", r#"["10.0.0.0/8"]"#)],
    )?;
    let srv = hl.sip_udp;
    let sock = std::net::UdpSocket::bind("127.0.0.1:0")?;
    let l = sock.local_addr()?;
    sock.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut buf = vec![0u8; 65_536];
    let mut ask = |m: String| -> Result<String> {
        sock.send_to(m.as_bytes(), srv)?;
        loop {
            let (n, _) = sock.recv_from(&mut buf)?;
            let t = String::from_utf8_lossy(&buf[..n]).into_owned();
            if status_of(&t) >= 200 {
                return Ok(t);
            }
        }
    };
    let register = |cseq: u32, auth: &str| {
        format!(
            "REGISTER sip:{srv} SIP/2.0\r\nVia: SIP/2.0/UDP {l};branch=z9hG4bK-r{cseq}\r\nFrom: <sip:1001@{srv}>;tag=r\r\nTo: <sip:1001@{srv}>\r\n\
             Call-ID: reg-423\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:1001@{l}>\r\nExpires: 30\r\n{auth}Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
    };
    let challenge = ask(register(1, ""))?;
    assert_eq!(status_of(&challenge), 401, "{challenge}");
    let line = challenge
        .lines()
        .find(|x| x.starts_with("WWW-Authenticate:") && x.contains("MD5"))
        .expect("MD5 challenge")
        .to_string();
    let field = |k: &str| {
        line.split(&format!("{k}=\""))
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("")
            .to_string()
    };
    let uri = format!("sip:{srv}");
    let ha1 = hotline_registrar::ha1(Algorithm::Md5, "1001", &field("realm"), "demo1001");
    let digest = response(
        Algorithm::Md5,
        &ha1,
        &field("nonce"),
        "REGISTER",
        &uri,
        Some(QopAuth {
            nc: "00000001",
            cnonce: "ab",
        }),
    );
    let auth = format!(
        "Authorization: Digest username=\"1001\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", response=\"{digest}\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"ab\", opaque=\"{}\"\r\n",
        field("realm"),
        field("nonce"),
        field("opaque")
    );
    let brief = ask(register(2, &auth))?;
    assert_eq!(status_of(&brief), 423, "{brief}");
    assert!(brief.contains("Min-Expires: 60"), "{brief}");
    let invite = format!(
        "INVITE sip:12345@{srv} SIP/2.0\r\nVia: SIP/2.0/UDP {l};branch=z9hG4bK-i1\r\nFrom: <sip:c@{l}>;tag=i1\r\nTo: <sip:12345@{srv}>\r\n\
         Call-ID: untrusted-1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    );
    let challenged = ask(invite)?;
    assert_eq!(status_of(&challenged), 407, "{challenged}");
    assert!(
        challenged.contains("Proxy-Authenticate: Digest"),
        "{challenged}"
    );
    Ok(())
}
