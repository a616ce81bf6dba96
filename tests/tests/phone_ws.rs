//! The softphone's signalling over `/api/phone` against the running server, spoken by a test
//! client instead of a page: who may open it, the binding and the ACD log-in it brings, what a
//! bad message or an answer to no call gets, a call ringing the page with its line, an offer
//! that is not a browser's refused while the call keeps ringing, declining it, a second page
//! replacing the first, and the page going away logging the agent out.

use std::time::Duration;

use anyhow::{Context, Result};
use hotline_tests::acd::{agent_state, wait_agent_state};
use hotline_tests::api::{WEB_USERS, login};
use hotline_tests::ws::Ws;
use hotline_tests::{Hotline, SippArgs, free_even_port, repo_root, sipp_spawn};

#[test]
fn the_pages_phone_rings_refuses_what_it_cannot_bridge_and_goes_with_the_page() -> Result<()> {
    let hl = Hotline::start(WEB_USERS)?;
    let dir = hl.dir.path().to_path_buf();
    let sup = login(&hl, "sup", "sup-pw")?;
    let agent = login(&hl, "1001", "agent-pw")?;

    // Only agents have a softphone; no token, no phone.
    let refused = Ws::try_connect(hl.http, "/api/phone", &sup)?
        .err()
        .context("a supervisor's phone")?;
    assert_eq!(refused.status, 403, "{refused:?}");
    assert!(refused.body.contains("only agents"), "{refused:?}");
    let refused = Ws::try_connect(hl.http, "/api/phone", "nope")?
        .err()
        .context("no token")?;
    assert_eq!(refused.status, 401, "{refused:?}");

    // The page attaches: a binding, and the ACD logs the agent in (login_on_register).
    let mut page = Ws::connect(hl.http, "/api/phone", &agent)?;
    let hello = page.next_json()?;
    assert_eq!(
        (hello["type"].as_str(), hello["agent"].as_str()),
        (Some("attached"), Some("1001")),
        "{hello}"
    );
    wait_agent_state(&hl, "1001", "ready", Duration::from_secs(5))?;

    // What the page may get wrong is answered, and the phone goes on.
    page.send_text("not json")?;
    let e = page.next_json()?;
    assert_eq!(e["type"], "error", "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap_or("")
            .contains("not a softphone message"),
        "{e}"
    );
    page.send_text(r#"{"type":"answer","call":"c999","sdp":"v=0"}"#)?;
    let e = page.next_json()?;
    assert!(
        e["message"].as_str().unwrap_or("").contains("no call c999"),
        "{e}"
    );

    // A citizen dials 12345 and presses 0: the page rings with the call and its line.
    let text = std::fs::read_to_string(repo_root().join("sipp-scenarios/ivr_caller_wait_bye.xml"))?
        .replace("dtmf_2833_2.pcap", "dtmf_2833_0.pcap");
    let scen = dir.join("citizen.xml");
    std::fs::write(&scen, text)?;
    let citizen = sipp_spawn(
        &dir,
        "citizen",
        &SippArgs::new(&scen.display().to_string())
            .to(hl.sip_udp)
            .arg("-s", "12345")
            .arg("-mp", free_even_port())
            .args(&["-set", "dtmf_after", "0", "-timeout", "40"])
            .build(1),
    )?;
    let ring = page.until("ring", |_| true)?.pop().context("ring")?;
    assert_eq!(ring["line"], "12345", "{ring}");
    assert_eq!(ring["law"], "PCMU", "{ring}");
    assert!(
        ring["caller"].as_str().unwrap_or("").starts_with("1390000"),
        "{ring}"
    );
    assert!(
        ring["record"].as_str().is_some_and(|r| !r.is_empty()),
        "{ring}"
    );
    let call = ring["call"].as_str().context("call")?.to_string();
    assert_eq!(agent_state(&hl, "1001")?.0, "reserved");

    // An SDP that is no browser's offer (no ICE, no DTLS) cannot be bridged: said, still ringing.
    let plain = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    page.send_text(&serde_json::json!({"type": "answer", "call": call, "sdp": plain}).to_string())?;
    let e = page.next_json()?;
    assert_eq!(e["type"], "error", "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap_or("")
            .contains("cannot be bridged"),
        "{e}"
    );
    assert_eq!(agent_state(&hl, "1001")?.0, "reserved", "still ringing");

    // The agent declines: the page is told the call is gone from it.
    page.send_text(&serde_json::json!({"type": "reject", "call": call}).to_string())?;
    let gone = page.until("cancelled", |v| v["call"] == call.as_str())?;
    assert!(!gone.is_empty());

    // A second page for the same agent takes the phone over; the first is told so.
    let mut second = Ws::connect(hl.http, "/api/phone", &agent)?;
    assert_eq!(second.next_json()?["type"], "attached");
    let replaced = page.until("replaced", |_| true)?;
    assert!(
        replaced
            .last()
            .is_some_and(|v| v["message"].as_str().is_some())
    );

    // The second page goes: the binding is removed and the ACD logs the agent out.
    second.close();
    wait_agent_state(&hl, "1001", "logged_out", Duration::from_secs(10))?;
    drop(citizen);
    Ok(())
}
