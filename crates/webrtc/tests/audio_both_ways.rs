//! A browser-like peer connects to the leg (ICE-lite, DTLS-SRTP) over a simulated network and
//! G.711 flows both ways unchanged: every 20 ms frame arrives, in order, byte for byte.

mod common;

use std::time::{Duration, Instant};

use common::{BROWSER, SERVER, World, accept, addr, browser, chromium_like};
use hotline_webrtc::{G711, Leg, LegOutput};
use str0m::Event;

const FRAMES: u64 = 50;

/// Frame `i`: 160 samples (20 ms at 8 kHz), every byte saying which frame it is.
fn frame(i: u64, salt: u8) -> Vec<u8> {
    vec![(i as u8) ^ salt; 160]
}

#[test]
fn pcmu_flows_both_ways_byte_for_byte() {
    let start = Instant::now();
    let (mut b, offer, pending) = browser(start, chromium_like());
    let (leg, answer) = Leg::answer(&offer, addr(SERVER), start).expect("answer");
    assert_eq!(leg.codec(), Some(G711::Pcmu), "PCMU is the first choice");
    assert!(answer.contains("a=ice-lite"), "{answer}");
    assert!(
        !answer.to_lowercase().contains("opus"),
        "only G.711: {answer}"
    );
    accept(&mut b, pending, &answer);
    let mut w = World::new(start, b, leg);
    assert!(
        w.run_until(Duration::from_secs(5), World::connected),
        "ICE and DTLS within 5 s of simulated time"
    );
    let connected_after = w.now - start;

    let pt = w.browser_pcmu();
    let mut next_frame = w.now;
    for i in 0..FRAMES {
        w.run_until(next_frame.saturating_duration_since(w.now), |_| false);
        w.send_frames(pt, 160 * i, &frame(i, 0x55), &frame(i, 0xAA));
        next_frame += Duration::from_millis(20);
    }
    w.run_until(Duration::from_millis(500), |_| false);

    let at_leg: Vec<(u64, Vec<u8>)> = w
        .leg_out
        .iter()
        .filter_map(|o| match o {
            LegOutput::Audio {
                codec: G711::Pcmu,
                rtp_time,
                payload,
            } => Some((*rtp_time, payload.clone())),
            _ => None,
        })
        .collect();
    let at_browser: Vec<Vec<u8>> = w
        .browser
        .events
        .iter()
        .filter_map(|e| match e {
            Event::MediaData(d) => Some(d.data.to_vec()),
            _ => None,
        })
        .collect();
    let sent_b: Vec<Vec<u8>> = (0..FRAMES).map(|i| frame(i, 0xAA)).collect();
    let sent_l: Vec<Vec<u8>> = (0..FRAMES).map(|i| frame(i, 0x55)).collect();
    let got: Vec<Vec<u8>> = at_leg.iter().map(|(_, p)| p.clone()).collect();
    assert_eq!(
        got, sent_b,
        "the browser's frames at the leg (connected after {connected_after:?})"
    );
    assert_eq!(at_browser, sent_l, "the leg's frames at the browser");
    // RTP time runs 160 per frame from wherever the browser started it.
    let t0 = at_leg[0].0;
    for (i, (t, _)) in at_leg.iter().enumerate() {
        assert_eq!(t.wrapping_sub(t0), 160 * i as u64);
    }
}

#[test]
fn a_datagram_from_nowhere_or_garbage_is_dropped_not_an_error() {
    let start = Instant::now();
    let (mut b, offer, pending) = browser(start, chromium_like());
    let (leg, answer) = Leg::answer(&offer, addr(SERVER), start).expect("answer");
    accept(&mut b, pending, &answer);
    let mut w = World::new(start, b, leg);
    let now = w.now;
    for junk in [
        &b""[..],
        b"\x00",
        b"not a stun packet at all",
        &[0xff; 1500][..],
    ] {
        w.leg
            .receive(addr(BROWSER), addr(SERVER), junk, now)
            .expect("garbage is dropped");
        w.leg
            .receive(addr("203.0.113.9:1234"), addr(SERVER), junk, now)
            .expect("a stranger is dropped");
    }
    assert!(
        w.run_until(Duration::from_secs(5), World::connected),
        "still connects"
    );
}
