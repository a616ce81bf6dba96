//! The RFC 4475 torture corpus sent as UDP datagrams to the running server: each gets the answer
//! `index.tsv` asks for (or none where a drop is allowed), and the server keeps answering OPTIONS.
//! Floods of garbage and oversized datagrams neither crash nor stall it, and its log stays bounded.

use anyhow::Result;
use hotline_tests::{Hotline, options_ping, repo_root, status_of, udp_exchange};
use std::net::UdpSocket;
use std::time::Duration;

/// The corpus names hosts under example.com/.net/.org: the test server is made responsible for
/// them (sip.aliases) so requests are judged on their content, not refused as foreign.
const ALIASES: &str =
    r#"["example.com","example.net","example.org","chair-dnrc.example.com","company.com"]"#;

/// What each message must get: the allowed status codes, or none for "no response".
/// The reasons cite RFC 4475 and `index.tsv`.
fn expected(name: &str) -> &'static [u16] {
    match name {
        // 3.1.1 valid: parsed and answered normally. Requests for users we do not serve get 404,
        // REGISTERs the registrar's challenge, OPTIONS to a served domain 200.
        "wsinv.dat" => &[478, 481, 404], // in-dialog (To tag) via Route to an unresolvable host
        "intmeth.dat" | "esc02.dat" => &[501],
        "esc01.dat" | "lwsdisp.dat" | "longreq.dat" | "semiuri.dat" | "transports.dat"
        | "mpart01.dat" => &[200, 404],
        "escnull.dat" | "dblreq.dat" => &[401],
        "unreason.dat" | "noreason.dat" => &[], // responses matching nothing: dropped
        // 3.1.2 invalid
        "badinv01.dat" | "clerr.dat" | "ncl.dat" | "scalar02.dat" | "quotbal.dat"
        | "ltgtruri.dat" | "lwsruri.dat" | "lwsstart.dat" | "trws.dat" | "escruri.dat"
        | "regbadct.dat" | "badaspec.dat" | "baddn.dat" | "mismatch01.dat" => &[400],
        "baddate.dat" => &[404], // Date is unused: answered normally
        "badvers.dat" => &[505],
        "mismatch02.dat" => &[400, 501],
        "scalarlg.dat" | "bigcode.dat" => &[], // invalid responses: dropped
        // 3.2 transaction
        "badbranch.dat" => &[400],
        // 3.3 application layer
        "insuf.dat" | "multi01.dat" | "mcl01.dat" => &[400],
        "unkscm.dat" | "novelsc.dat" => &[416],
        "unksm2.dat" => &[400], // a REGISTER whose To is not a SIP AOR
        "bext01.dat" => &[420],
        "invut.dat" | "sdp01.dat" => &[404], // proxied to a user we do not serve (UAS cases below)
        "regaut01.dat" | "cparam01.dat" | "cparam02.dat" | "regescrt.dat" => &[401],
        "bcast.dat" => &[], // a 200 with a broadcast Via: dropped, never forwarded
        "zeromf.dat" => &[200, 483],
        // 3.4
        "inv2543.dat" => &[404],
        other => panic!("no expectation for {other}"),
    }
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = repo_root().join("tests/data/sip-torture");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("corpus")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "dat"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_torture_message_gets_its_rfc_answer_and_the_server_keeps_serving() -> Result<()> {
    let hl = Hotline::start_with("", &[("HOTLINE_SIP__ALIASES", ALIASES)])?;
    let files = corpus();
    assert_eq!(files.len(), 49, "the corpus has 49 messages");
    let mut failures = Vec::new();
    for (name, bytes) in &files {
        // wsinv waits on a DNS lookup (bounded at 2 s) before its answer.
        let wait = if name == "wsinv.dat" {
            Duration::from_millis(3_000)
        } else {
            Duration::from_millis(400)
        };
        let replies = udp_exchange(hl.sip_udp, |_| bytes.clone(), wait)?;
        let finals: Vec<u16> = replies
            .iter()
            .map(|r| status_of(r))
            .filter(|c| *c >= 200)
            .collect();
        let allowed = expected(name);
        let ok = if allowed.is_empty() {
            replies.is_empty()
        } else {
            finals.len() == 1 && allowed.contains(&finals[0])
        };
        if !ok {
            failures.push(format!(
                "{name}: got {:?}, expected {allowed:?}",
                replies
                    .iter()
                    .map(|r| r.lines().next().unwrap_or(""))
                    .collect::<Vec<_>>()
            ));
        }
        assert_eq!(
            options_ping(hl.sip_udp)?.as_deref(),
            Some("SIP/2.0 200 OK"),
            "server stopped answering after {name}"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

/// The same application-layer messages addressed to the hotline's own UAS (12345) get the UAS's
/// answers: 415 for an unknown body type, 406 for an Accept we cannot satisfy.
#[test]
fn uas_answers_for_body_and_accept_problems() -> Result<()> {
    let hl = Hotline::start_with("", &[("HOTLINE_SIP__ALIASES", ALIASES)])?;
    let retarget = |name: &str| -> Vec<u8> {
        let bytes = std::fs::read(repo_root().join("tests/data/sip-torture").join(name)).unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let (first, rest) = text.split_once("\r\n").unwrap();
        let method = first.split_whitespace().next().unwrap();
        format!("{method} sip:12345@example.com SIP/2.0\r\n{rest}").into_bytes()
    };
    for (name, want) in [("invut.dat", 415u16), ("sdp01.dat", 406)] {
        let body = retarget(name);
        let replies = udp_exchange(hl.sip_udp, |_| body.clone(), Duration::from_millis(500))?;
        let finals: Vec<u16> = replies
            .iter()
            .map(|r| status_of(r))
            .filter(|c| *c >= 200)
            .collect();
        assert_eq!(finals, vec![want], "{name}: {replies:?}");
    }
    Ok(())
}

#[test]
fn garbage_floods_and_oversized_datagrams_neither_crash_nor_stall_nor_fill_the_log() -> Result<()> {
    let mut hl = Hotline::start("")?;
    let started = std::time::Instant::now();
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..3_000u32 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = 1 + (seed % 1_400) as usize;
        let mut d: Vec<u8> = (0..len)
            .map(|j| (seed.rotate_left(j as u32 % 64) & 0xff) as u8)
            .collect();
        if i % 3 == 0 {
            // Half-plausible SIP that must be refused, not just noise.
            d = format!("INVITE sip:{i}@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK{i}\r\nContent-Length: -{i}\r\n\r\n").into_bytes();
        }
        sock.send_to(&d, hl.sip_udp)?;
    }
    // The largest datagram loopback carries, full of header lines.
    let mut big =
        b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKbig\r\n"
            .to_vec();
    while big.len() < 65_000 {
        big.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    big.extend_from_slice(b"\r\n");
    sock.send_to(&big, hl.sip_udp)?;
    std::thread::sleep(Duration::from_millis(500));
    assert!(hl.is_running(), "server died:\n{}", hl.log());
    assert_eq!(options_ping(hl.sip_udp)?.as_deref(), Some("SIP/2.0 200 OK"));
    // Rate-limited refusal log: at most 20 lines a second plus a summary, not 3,000 lines.
    let refused = hl
        .log()
        .lines()
        .filter(|l| l.contains("refused SIP datagram"))
        .count();
    // 20 lines and one summary per second the flood and the checks took, and never 3,000.
    let secs = started.elapsed().as_secs() + 1;
    let bound = (21 * secs).max(60) as usize;
    assert!(
        refused > 0 && refused <= bound,
        "{refused} refusal lines logged in {secs} s (bound {bound})"
    );
    Ok(())
}
