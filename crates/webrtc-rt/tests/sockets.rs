//! The bridge over real loopback sockets on the real clock: a Chromium-like str0m peer plays
//! the browser on its own UDP socket, a plain UDP socket plays the call's RTP, and G.711
//! frames cross the bridge both ways byte for byte. Every wait is bounded.

mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use common::{LOCALHOST, Peer, Rtp, chromium_like, parse_rtp, rtp_packet};
use hotline_webrtc::LegError;
use hotline_webrtc_rt::{Bridge, BridgeConfig, BridgeError, BridgeEvent, G711};
use str0m::format::Codec;
use str0m::media::Pt;
use str0m::{Event, IceConnectionState, RtcConfig};
use tokio::net::UdpSocket;
use tokio::time::sleep_until;

const FRAMES: u32 = 50;
/// Frames that must arrive of the 50 each way: loopback loses nothing, but the machine is
/// shared and a test that needs every datagram would fail for the wrong reason.
const ENOUGH: usize = 40;
const CALL_SALT: u8 = 0x5a;
const PEER_SALT: u8 = 0xa5;

/// Frame `i` of a side: 160 bytes (20 ms at 8 kHz), its counter in the first four and every
/// other byte a function of both, so a frame cannot pass for another or for the other side's.
fn frame(i: u32, salt: u8) -> Vec<u8> {
    let mut f: Vec<u8> = (0..160u32)
        .map(|j| (j.wrapping_mul(31) as u8) ^ (i as u8).wrapping_mul(7) ^ salt)
        .collect();
    f[..4].copy_from_slice(&i.to_be_bytes());
    f
}

fn counter(payload: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(payload.get(..4)?.try_into().ok()?))
}

fn config() -> BridgeConfig {
    BridgeConfig {
        ice_ip: LOCALHOST,
        rtp_ip: LOCALHOST,
    }
}

/// Everything seen by the browser's peer and the call's socket, as it happened.
#[derive(Default)]
struct Seen {
    peer_connected: bool,
    peer_disconnected: bool,
    /// Payloads of the audio the peer received, and their codec.
    at_peer: Vec<(Codec, Vec<u8>)>,
    /// What reached the call socket: the packet (None if not RTP), its source, when.
    at_call: Vec<(Option<Rtp>, SocketAddr, Instant)>,
    bridge_events: Vec<BridgeEvent>,
    /// The bridge's event stream returned `None`.
    bridge_ended: Option<Instant>,
}

impl Seen {
    fn on_peer_event(&mut self, e: Event) {
        match e {
            Event::Connected => self.peer_connected = true,
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                self.peer_disconnected = true
            }
            Event::MediaData(d) => self.at_peer.push((d.params.spec().codec, d.data.to_vec())),
            _ => {}
        }
    }
}

/// The browser's peer, the call's socket and the bridge, driven together.
struct Rig {
    peer: Peer,
    call: UdpSocket,
    bridge: Bridge,
    seen: Seen,
    peer_buf: Vec<u8>,
    call_buf: Vec<u8>,
}

impl Rig {
    /// Sends what the peer has and takes in its events; when it next wants the time.
    async fn flush(&mut self) -> Instant {
        let seen = &mut self.seen;
        self.peer
            .flush(|e| seen.on_peer_event(e))
            .await
            .expect("the peer runs")
    }

    /// Waits for one thing: a datagram at either socket, a bridge event, the peer's timer
    /// (its `deadline`), or nothing by `until`.
    async fn wait(&mut self, deadline: Instant, until: Instant) {
        let wake = deadline.min(until);
        let bridge_open = self.seen.bridge_ended.is_none();
        tokio::select! {
            r = self.peer.sock.recv_from(&mut self.peer_buf) => {
                let (n, from) = r.expect("peer socket");
                self.peer
                    .receive(from, &self.peer_buf[..n], Instant::now())
                    .expect("the peer takes the leg's datagram");
            }
            r = self.call.recv_from(&mut self.call_buf) => {
                let (n, from) = r.expect("call socket");
                self.seen.at_call.push((parse_rtp(&self.call_buf[..n]), from, Instant::now()));
            }
            e = self.bridge.next_event(), if bridge_open => match e {
                Some(e) => self.seen.bridge_events.push(e),
                None => self.seen.bridge_ended = Some(Instant::now()),
            },
            _ = sleep_until(wake.into()) => {
                self.peer.timeout(Instant::now()).expect("the peer's timer");
            }
        }
    }

    /// Runs until `done` or `limit` has passed; whether it is done.
    async fn run_until(&mut self, limit: Duration, done: impl Fn(&Seen) -> bool) -> bool {
        let end = Instant::now() + limit;
        loop {
            // What the flush brought in is judged before waiting again, or a peer event
            // would be noticed only at the peer's next timer.
            let deadline = self.flush().await;
            if done(&self.seen) || Instant::now() >= end {
                return done(&self.seen);
            }
            self.wait(deadline, end).await;
        }
    }

    /// Runs until `at` (the next frame's time).
    async fn run_to(&mut self, at: Instant) {
        self.run_until(at.saturating_duration_since(Instant::now()), |_| false)
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pcmu_crosses_the_bridge_both_ways_over_loopback_sockets() {
    let (mut peer, offer) = Peer::offer(chromium_like()).await.expect("a peer");
    for codec in ["opus/48000", "PCMU/8000", "PCMA/8000"] {
        assert!(offer.contains(codec), "the browser offers {codec}: {offer}");
    }
    let call = UdpSocket::bind(SocketAddr::new(LOCALHOST, 0))
        .await
        .expect("call socket");
    let call_addr = call.local_addr().expect("call address");
    let bridge = Bridge::start(&offer, G711::Pcmu, config(), Some(call_addr))
        .await
        .expect("the bridge answers");
    assert_eq!(bridge.law(), G711::Pcmu);
    assert_eq!(bridge.ice_local().ip(), LOCALHOST);
    assert_eq!(bridge.rtp_local().ip(), LOCALHOST);
    let answer = bridge.answer_sdp().to_owned();
    assert!(
        answer.contains(&format!("127.0.0.1 {} typ host", bridge.ice_local().port())),
        "the answer names the bridge's WebRTC socket as its candidate: {answer}"
    );
    let lower = answer.to_lowercase();
    assert!(
        lower.contains("pcmu/8000") && !lower.contains("pcma") && !lower.contains("opus"),
        "the call's law only: {answer}"
    );
    peer.accept(&answer).expect("the peer accepts the answer");
    let mut rig = Rig {
        peer,
        call,
        bridge,
        seen: Seen::default(),
        peer_buf: vec![0; 2048],
        call_buf: vec![0; 2048],
    };

    let started = Instant::now();
    let connected = rig
        .run_until(Duration::from_secs(5), |s| {
            s.peer_connected && s.bridge_events.contains(&BridgeEvent::Connected)
        })
        .await;
    assert!(
        connected,
        "ICE and DTLS within 5 s: peer connected {}, bridge events {:?}",
        rig.seen.peer_connected, rig.seen.bridge_events
    );
    assert_eq!(rig.seen.bridge_events, [BridgeEvent::Connected]);
    let connect_time = started.elapsed();

    // 50 frames each way, every 20 ms: the call's RTP in PT 0, the browser's in its PCMU pt.
    let pt: Pt = rig.peer.pcmu().expect("PCMU negotiated at the peer");
    let rtp_to = rig.bridge.rtp_local();
    let call_ssrc = 0x1234_5678;
    // A stranger sends RTP to the bridge too: only the call's own socket may be heard (the
    // check below wants every frame at the peer to be the call's).
    let stranger = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("a stranger's socket");
    let first_frame = Instant::now();
    for i in 0..FRAMES {
        let noise = rtp_packet(false, 0, i as u16, 160 * i, 0x0bad_0bad, &frame(i, 0x33));
        stranger
            .send_to(&noise, rtp_to)
            .await
            .expect("stranger sends");
        rig.run_to(first_frame + Duration::from_millis(20 * u64::from(i)))
            .await;
        let packet = rtp_packet(
            i == 0,
            0,
            1000u16.wrapping_add(i as u16),
            160 * i,
            call_ssrc,
            &frame(i, CALL_SALT),
        );
        rig.call.send_to(&packet, rtp_to).await.expect("call sends");
        rig.peer
            .write(pt, 160 * u64::from(i), &frame(i, PEER_SALT), Instant::now())
            .expect("the peer writes a frame");
    }
    let want = |s: &Seen| s.at_peer.len() >= FRAMES as usize && s.at_call.len() >= FRAMES as usize;
    rig.run_until(Duration::from_millis(500), want).await;

    // Call → browser: the payloads as the call sent them, in PCMU.
    let mut at_peer = BTreeMap::new();
    for (codec, payload) in &rig.seen.at_peer {
        assert_eq!(*codec, Codec::PCMU, "the peer gets PCMU only");
        let i = counter(payload).expect("a counter");
        assert!(i < FRAMES, "frame {i} was never sent");
        assert_eq!(
            payload,
            &frame(i, CALL_SALT),
            "frame {i} reaches the peer byte for byte"
        );
        at_peer.insert(i, ());
    }
    assert!(
        at_peer.len() >= ENOUGH,
        "{} distinct frames of {FRAMES} reached the peer (connected after {connect_time:?})",
        at_peer.len()
    );

    // Browser → call: one RTP stream in PT 0 from the bridge's RTP socket, numbered up by one
    // per frame, timestamps 160 apart per frame (the browser's spacing), payload unchanged.
    let mut at_call = BTreeMap::new();
    let mut ssrc = None;
    let mut last: Option<(u16, u32, u32)> = None;
    for (packet, from, _) in &rig.seen.at_call {
        let p = packet.as_ref().expect("the call gets RTP");
        assert_eq!(*from, rtp_to, "RTP comes from the bridge's RTP socket");
        assert_eq!(p.pt, 0, "PCMU is PT 0 towards the call");
        assert_eq!(*ssrc.get_or_insert(p.ssrc), p.ssrc, "one SSRC");
        let i = counter(&p.payload).expect("a counter");
        assert!(i < FRAMES, "frame {i} was never sent");
        assert_eq!(
            p.payload,
            frame(i, PEER_SALT),
            "frame {i} reaches the call byte for byte"
        );
        if let Some((seq, ts, j)) = last {
            let step = p.seq.wrapping_sub(seq);
            assert!(
                (1..0x8000).contains(&step),
                "sequence numbers increase: {seq} then {}",
                p.seq
            );
            assert!(i > j, "frames in order: {j} then {i}");
            assert_eq!(
                p.ts.wrapping_sub(ts),
                160 * (i - j),
                "RTP time keeps the spacing"
            );
        } else {
            assert!(p.marker, "the stream starts with the marker bit");
        }
        last = Some((p.seq, p.ts, i));
        at_call.insert(i, ());
    }
    assert!(
        at_call.len() >= ENOUGH,
        "{} distinct frames of {FRAMES} reached the call",
        at_call.len()
    );

    // Hang up: the bridge's event stream ends, nothing more reaches the call though the
    // browser keeps sending, and the browser's peer sees the leg go at once: the close sends
    // the DTLS close_notify (waiting for ICE checks to time out would take seconds).
    let calls_before = rig.seen.at_call.len();
    rig.bridge.close();
    let closed_at = Instant::now();
    let ended =
        |s: &Seen| s.bridge_ended.is_some() || s.bridge_events.contains(&BridgeEvent::Disconnected);
    assert!(
        rig.run_until(Duration::from_secs(2), ended).await,
        "the bridge's events end within 2 s of close: {:?}",
        rig.seen.bridge_events
    );
    let ended_at = rig.seen.bridge_ended.unwrap_or_else(Instant::now);
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut i = FRAMES;
    let mut next = Instant::now();
    // The peer learns it from the close_notify: its media line goes (no writer any more),
    // or it reports ICE disconnected, or it stops being alive.
    let mut peer_closed = false;
    while !rig.seen.peer_disconnected && rig.peer.rtc.is_alive() && Instant::now() < deadline {
        rig.run_to(next).await;
        if rig
            .peer
            .write(pt, 160 * u64::from(i), &frame(i, PEER_SALT), Instant::now())
            .is_err()
        {
            peer_closed = true;
            break;
        }
        i += 1;
        next += Duration::from_millis(20);
    }
    eprintln!(
        "connected after {connect_time:?}; frames at the peer {} ({} distinct), at the call {} \
         ({} distinct); events ended {:?} after close; peer disconnected {} (alive {}) {:?} \
         after close",
        rig.seen.at_peer.len(),
        at_peer.len(),
        calls_before,
        at_call.len(),
        ended_at - closed_at,
        rig.seen.peer_disconnected,
        rig.peer.rtc.is_alive(),
        closed_at.elapsed(),
    );
    assert!(
        peer_closed || rig.seen.peer_disconnected || !rig.peer.rtc.is_alive(),
        "the peer sees the leg go within 1 s of the bridge ending ({:?} after close)",
        ended_at - closed_at
    );
    let late: Vec<_> = rig.seen.at_call[calls_before..]
        .iter()
        .filter(|(_, _, at)| *at > ended_at + Duration::from_millis(100))
        .collect();
    assert!(
        late.is_empty(),
        "{} packets reached the call after the bridge ended",
        late.len()
    );
}

/// How many UDP sockets (of any process in this network namespace) are bound to `ip`.
/// The test binds on addresses of 127/8 that nothing else uses, so any is the bridge's.
fn udp_bound_on(ip: Ipv4Addr) -> usize {
    let hex = format!("{:08X}:", u32::from_ne_bytes(ip.octets()));
    std::fs::read_to_string("/proc/net/udp")
        .expect("/proc/net/udp")
        .lines()
        .skip(1)
        .filter(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|a| a.starts_with(&hex))
        })
        .count()
}

#[tokio::test]
async fn an_offer_that_is_not_sdp_is_refused_and_leaves_no_socket() {
    let ice_ip = Ipv4Addr::new(127, 0, 0, 77);
    let rtp_ip = Ipv4Addr::new(127, 0, 0, 78);
    let cfg = BridgeConfig {
        ice_ip: IpAddr::V4(ice_ip),
        rtp_ip: IpAddr::V4(rtp_ip),
    };
    let bound = || udp_bound_on(ice_ip) + udp_bound_on(rtp_ip);
    assert_eq!(bound(), 0, "nothing on the test's addresses to start with");

    let refused = Bridge::start("this is not SDP", G711::Pcmu, cfg, None).await;
    match refused {
        Err(BridgeError::Leg(LegError::BadOffer(_))) => {}
        Err(e) => panic!("not SDP is a bad offer, got {e:?}"),
        Ok(_) => panic!("not SDP was answered"),
    }
    assert_eq!(bound(), 0, "a refused offer leaves no socket bound");

    // An offer with audio but no G.711 (Opus only) has nothing to bridge.
    let (_opus, offer) = Peer::offer(RtcConfig::new().clear_codecs().enable_opus(true, false))
        .await
        .expect("a peer");
    match Bridge::start(&offer, G711::Pcmu, cfg, None).await {
        Err(BridgeError::Leg(LegError::NoCommonCodec)) => {}
        Err(e) => panic!("an Opus-only offer has no common codec, got {e:?}"),
        Ok(_) => panic!("an Opus-only offer was answered"),
    }
    assert_eq!(bound(), 0, "nor does an offer without G.711");

    // The check can see the bridge's sockets: a good offer holds one on each address while
    // its bridge lives, none shortly after it is dropped (its task ends on the close).
    let (_peer, offer) = Peer::offer(chromium_like()).await.expect("a peer");
    let bridge = Bridge::start(&offer, G711::Pcmu, cfg, None)
        .await
        .expect("a good offer is answered");
    assert_eq!((udp_bound_on(ice_ip), udp_bound_on(rtp_ip)), (1, 1));
    drop(bridge);
    let deadline = Instant::now() + Duration::from_secs(2);
    while bound() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(bound(), 0, "a dropped bridge lets its sockets go");
}
