//! Routing answers checked with raw datagrams: OPTIONS, unknown numbers, offline agents, no agent
//! for 12345, Max-Forwards exhausted, a loop, and INVITE authentication (407, then accepted).

use anyhow::Result;
use hotline_registrar::{Algorithm, QopAuth, response};
use hotline_tests::{
    Hotline, SIGNALLING_ONLY, free_udp_port, register_agent, status_of, udp_exchange,
};
use std::net::SocketAddr;
use std::time::Duration;

fn invite(
    server: SocketAddr,
    local: SocketAddr,
    user: &str,
    call_id: &str,
    extra: &str,
) -> Vec<u8> {
    format!(
        "INVITE sip:{user}@{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-{call_id}\r\n\
         From: <sip:13800138000@{local}>;tag=t-{call_id}\r\nTo: <sip:{user}@{server}>\r\nCall-ID: {call_id}\r\n\
         CSeq: 1 INVITE\r\nContact: <sip:13800138000@{local}>\r\n{extra}Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn final_of(replies: &[String]) -> (u16, String) {
    replies
        .iter()
        .find(|r| status_of(r) >= 200)
        .map(|r| (status_of(r), r.clone()))
        .unwrap_or((0, replies.join("\n---\n")))
}

#[test]
fn options_unknown_offline_and_unstaffed() -> Result<()> {
    let hl = Hotline::start(SIGNALLING_ONLY)?;
    let s = hl.sip_udp;
    let w = Duration::from_secs(2);
    let opt = udp_exchange(
        s,
        |l| {
            format!("OPTIONS sip:{s} SIP/2.0\r\nVia: SIP/2.0/UDP {l};branch=z9hG4bK-o1\r\nFrom: <sip:a@{l}>;tag=1\r\nTo: <sip:{s}>\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").into_bytes()
        },
        w,
    )?;
    let (code, text) = final_of(&opt);
    assert_eq!(code, 200, "{text}");
    assert!(text.contains("Allow: INVITE"), "{text}");
    let (code, text) = final_of(&udp_exchange(
        s,
        |l| invite(s, l, "99999", "unknown-1", "Max-Forwards: 70\r\n"),
        w,
    )?);
    assert_eq!(code, 404, "{text}");
    // 1002 is a configured agent that has not registered.
    let (code, text) = final_of(&udp_exchange(
        s,
        |l| invite(s, l, "1002", "offline-1", "Max-Forwards: 70\r\n"),
        w,
    )?);
    assert_eq!(code, 480, "{text}");
    // Nobody of the entry group is registered: 480 with Retry-After, and a record says why.
    let (code, text) = final_of(&udp_exchange(
        s,
        |l| invite(s, l, "12345", "unstaffed-1", "Max-Forwards: 70\r\n"),
        w,
    )?);
    assert_eq!(code, 480, "{text}");
    assert!(text.contains("Retry-After:"), "{text}");
    // Every refused call leaves a record too, with why.
    let recs = hl.wait_records(3, Duration::from_secs(5))?;
    let why = |dialed: &str| {
        recs.iter()
            .find(|r| r.dialed == dialed)
            .map(|r| (r.end_reason, r.sip_code, r.kind))
    };
    use hotline_cdr::{CallKind, EndReason};
    assert_eq!(
        why("99999"),
        Some((EndReason::NotFound, 404, CallKind::Other)),
        "{recs:?}"
    );
    assert_eq!(
        why("1002"),
        Some((EndReason::Unavailable, 480, CallKind::AgentToAgent)),
        "{recs:?}"
    );
    assert_eq!(
        why("12345"),
        Some((EndReason::Unavailable, 480, CallKind::Hotline)),
        "{recs:?}"
    );
    assert!(recs.iter().all(|r| r.caller == "13800138000"));
    Ok(())
}

#[test]
fn max_forwards_and_loops() -> Result<()> {
    let hl = Hotline::start("")?;
    let s = hl.sip_udp;
    let w = Duration::from_secs(2);
    register_agent(hl.dir.path(), s, "1001", "demo1001", free_udp_port())?;
    let (code, text) = final_of(&udp_exchange(
        s,
        |l| invite(s, l, "1001", "mf0", "Max-Forwards: 0\r\n"),
        w,
    )?);
    assert_eq!(code, 483, "{text}");
    // The request comes back carrying one of our own Vias whose loop token matches it: 482.
    let (code, text) = final_of(&udp_exchange(
        s,
        |l| {
            let token = hotline_routing::loop_token(&hotline_routing::LoopInputs {
                request_uri: &format!("sip:1001@{s}"),
                call_id: "loop-1",
                from_tag: "t-loop-1",
                to_tag: "",
                cseq: 1,
                route: "",
                proxy_require: "",
            });
            let mut req =
                String::from_utf8(invite(s, l, "1001", "loop-1", "Max-Forwards: 69\r\n")).unwrap();
            let ours = format!("Via: SIP/2.0/UDP {s};branch=z9hG4bK-hl-{token}-1\r\n");
            let at = req.find("From:").unwrap();
            req.insert_str(at, &ours);
            req.into_bytes()
        },
        w,
    )?);
    assert_eq!(code, 482, "{text}");
    Ok(())
}

#[test]
fn invite_authentication_when_configured() -> Result<()> {
    let hl = Hotline::start_with(SIGNALLING_ONLY, &[("HOTLINE_SIP__INVITE_AUTH", "always")])?;
    let s = hl.sip_udp;
    let w = Duration::from_secs(2);
    let sock = std::net::UdpSocket::bind("127.0.0.1:0")?;
    let local = sock.local_addr()?;
    sock.set_read_timeout(Some(w))?;
    let mut buf = vec![0u8; 65_536];
    let mut exchange = |msg: Vec<u8>| -> Result<String> {
        sock.send_to(&msg, s)?;
        loop {
            let (n, _) = sock.recv_from(&mut buf)?;
            let t = String::from_utf8_lossy(&buf[..n]).into_owned();
            if status_of(&t) >= 200 {
                return Ok(t);
            }
        }
    };
    let first = exchange(invite(s, local, "12345", "auth-1", "Max-Forwards: 70\r\n"))?;
    assert_eq!(status_of(&first), 407, "{first}");
    let challenge = first
        .lines()
        .find(|l| l.starts_with("Proxy-Authenticate:") && l.contains("MD5"))
        .expect("MD5 challenge")
        .to_string();
    let field = |k: &str| {
        challenge
            .split(&format!("{k}=\""))
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("")
            .to_string()
    };
    let (nonce, opaque, realm) = (field("nonce"), field("opaque"), field("realm"));
    // ACK the 407 (a new transaction's INVITE would otherwise be a retransmission).
    let uri = format!("sip:12345@{s}");
    let ha1 = hotline_registrar::ha1(Algorithm::Md5, "1001", &realm, "demo1001");
    let resp = response(
        Algorithm::Md5,
        &ha1,
        &nonce,
        "INVITE",
        &uri,
        Some(QopAuth {
            nc: "00000001",
            cnonce: "c0ffee",
        }),
    );
    let auth = format!(
        "Proxy-Authorization: Digest username=\"1001\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{resp}\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"c0ffee\", opaque=\"{opaque}\"\r\nMax-Forwards: 70\r\n"
    );
    let req = String::from_utf8(invite(s, local, "12345", "auth-2", &auth))?
        .replace("13800138000", "1001");
    let second = exchange(req.into_bytes())?;
    // Authenticated: the call proceeds to the entry group, where nobody is registered (480).
    assert_eq!(status_of(&second), 480, "{second}");
    // A wrong password is refused outright.
    let bad = response(
        Algorithm::Md5,
        &hotline_registrar::ha1(Algorithm::Md5, "1001", &realm, "guess"),
        &nonce,
        "INVITE",
        &uri,
        Some(QopAuth {
            nc: "00000002",
            cnonce: "c0ffee",
        }),
    );
    let req = String::from_utf8(invite(
        s,
        local,
        "12345",
        "auth-3",
        &auth
            .replace(&resp, &bad)
            .replace("nc=00000001", "nc=00000002"),
    ))?
    .replace("13800138000", "1001");
    let third = exchange(req.into_bytes())?;
    assert_eq!(status_of(&third), 403, "{third}");
    Ok(())
}

#[test]
fn tcp_is_served_too() -> Result<()> {
    use std::io::{Read, Write};
    let hl = Hotline::start("")?;
    let mut conn = std::net::TcpStream::connect(hl.sip_tcp)?;
    conn.set_read_timeout(Some(Duration::from_secs(3)))?;
    let local = conn.local_addr()?;
    let s = hl.sip_tcp;
    write!(
        conn,
        "OPTIONS sip:{s};transport=tcp SIP/2.0\r\nVia: SIP/2.0/TCP {local};branch=z9hG4bK-tcp1\r\nFrom: <sip:a@{local}>;tag=1\r\nTo: <sip:{s}>\r\nCall-ID: tcp1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )?;
    let mut buf = vec![0u8; 4096];
    let n = conn.read(&mut buf)?;
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("SIP/2.0 200 OK"), "{text}");
    Ok(())
}
