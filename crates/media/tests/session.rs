//! One call's media driven on a manual clock: prompt pacing and numbering, DTMF from RFC 4733 and
//! from tones, the relay to a peer with one outbound stream per side, latching, RTP timeouts,
//! recording frames and stalls.

use std::net::SocketAddr;
use std::sync::Arc;

use hotline_media::rtcp::{self, RtcpItem, SenderInfo};
use hotline_media::session::{
    CallMedia, DtmfSource, FRAME_MICROS, LegConfig, LegId, MediaConfig, MediaEvent, Micros,
    SeatMode, Transmit,
};
use hotline_media::{Codec, Digit, EventSender, RtpHeader, RtpPacket, g711};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn caller_leg() -> LegConfig {
    LegConfig {
        remote: Some(addr("127.0.0.1:4000")),
        codec: Codec::Pcmu,
        pt: 0,
        te_pt: Some(101),
        ssrc: 0x1111_1111,
        initial_seq: 1000,
        initial_ts: 50_000,
        latch: true,
    }
}

fn peer_leg() -> LegConfig {
    LegConfig {
        remote: Some(addr("127.0.0.1:6000")),
        codec: Codec::Pcmu,
        pt: 0,
        te_pt: Some(96),
        ssrc: 0x2222_2222,
        initial_seq: 7,
        initial_ts: 900,
        latch: true,
    }
}

/// The simulated world: the session plus everything it sent and raised, and the clock.
struct World {
    m: CallMedia,
    now: Micros,
    sent: Vec<Transmit>,
    events: Vec<MediaEvent>,
}

impl World {
    fn new(cfg: MediaConfig) -> Self {
        Self {
            m: CallMedia::new(caller_leg(), cfg, 0),
            now: 0,
            sent: Vec::new(),
            events: Vec::new(),
        }
    }

    fn drain(&mut self) {
        while let Some(t) = self.m.poll_transmit() {
            self.sent.push(t);
        }
        while let Some(e) = self.m.poll_event() {
            self.events.push(e);
        }
    }

    /// Runs the session's timers up to `until`, as a shell would: sleep to the next timeout,
    /// handle it, drain.
    fn progress(&mut self, until: Micros) {
        loop {
            let next = self.m.poll_timeout();
            if next > until {
                break;
            }
            self.now = next.max(self.now);
            self.m.handle_timeout(self.now);
            self.drain();
        }
        self.now = until;
    }

    fn rtp(&mut self, leg: LegId, from: &str, data: &[u8]) {
        self.m.handle_rtp(leg, addr(from), data, self.now);
        self.drain();
    }

    /// RTP sent to `leg`.
    fn to(&self, leg: LegId) -> Vec<&Transmit> {
        self.sent
            .iter()
            .filter(|t| t.leg == leg && !t.rtcp)
            .collect()
    }

    fn rtcp_to(&self, leg: LegId) -> Vec<&Transmit> {
        self.sent
            .iter()
            .filter(|t| t.leg == leg && t.rtcp)
            .collect()
    }
}

fn packet(pt: u8, seq: u16, ts: u32, ssrc: u32, marker: bool, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    RtpHeader {
        marker,
        pt,
        seq,
        ts,
        ssrc,
    }
    .write_packet(payload, &mut v);
    v
}

fn prompt(len: usize, first: u8) -> Arc<[u8]> {
    (0..len)
        .map(|i| first.wrapping_add(i as u8) | 0x01)
        .collect::<Vec<u8>>()
        .into()
}

#[test]
fn a_prompt_is_paced_every_20_ms_in_one_stream_and_ends_with_playback_done() {
    let mut w = World::new(MediaConfig::default());
    w.m.play(vec![prompt(400, 3)], false, 0);
    w.progress(200_000);
    let out = w.to(LegId::Caller);
    assert_eq!(out.len(), 3, "400 samples are three 20 ms frames");
    let mut payload = Vec::new();
    for (i, t) in out.iter().enumerate() {
        assert_eq!(t.dest, addr("127.0.0.1:4000"));
        assert_eq!(t.due, FRAME_MICROS * (i as u64 + 1), "on the 20 ms grid");
        let p = RtpPacket::parse(&t.data).unwrap();
        assert_eq!(p.header.ssrc, 0x1111_1111);
        assert_eq!(p.header.pt, 0);
        assert_eq!(p.header.seq, 1000 + i as u16);
        assert_eq!(p.header.ts, 50_000 + 160 * i as u32);
        assert_eq!(
            p.header.marker,
            i == 0,
            "marker on the first packet of a source"
        );
        assert_eq!(p.payload.len(), 160);
        payload.extend_from_slice(p.payload);
    }
    assert_eq!(&payload[..400], &prompt(400, 3)[..]);
    assert!(
        payload[400..].iter().all(|&b| b == g711::linear_to_ulaw(0)),
        "the last frame is padded with µ-law silence"
    );
    let done: Vec<_> = w
        .events
        .iter()
        .filter(|e| **e == MediaEvent::PlaybackDone)
        .collect();
    assert_eq!(done.len(), 1);
}

#[test]
fn playlist_items_join_without_gaps_and_a_new_prompt_continues_the_numbering() {
    let mut w = World::new(MediaConfig::default());
    w.m.play(vec![prompt(100, 1), prompt(60, 9)], false, 0);
    w.progress(100_000);
    assert_eq!(
        w.to(LegId::Caller).len(),
        1,
        "100 + 60 samples fill exactly one frame"
    );
    let first_data = w.to(LegId::Caller)[0].data.clone();
    let first = RtpPacket::parse(&first_data).unwrap();
    assert_eq!(&first.payload[..100], &prompt(100, 1)[..]);
    assert_eq!(&first.payload[100..], &prompt(60, 9)[..]);
    // One second of silence on the wire, then the next prompt.
    w.progress(1_000_000);
    w.m.play(vec![prompt(160, 5)], false, w.now);
    w.progress(1_100_000);
    let out = w.to(LegId::Caller);
    assert_eq!(out.len(), 2);
    let second = RtpPacket::parse(&out[1].data).unwrap();
    assert_eq!(second.header.ssrc, first.header.ssrc, "still one SSRC");
    assert_eq!(second.header.seq, first.header.seq + 1, "no sequence gap");
    let gap = second.header.ts.wrapping_sub(first.header.ts);
    let wall = (out[1].due - out[0].due) / 125;
    assert_eq!(
        u64::from(gap),
        wall,
        "timestamps follow the wall clock across the pause"
    );
    assert!(second.header.marker);
}

#[test]
fn music_on_hold_loops_without_playback_done_until_stopped() {
    let mut w = World::new(MediaConfig::default());
    w.m.play(vec![prompt(320, 2)], true, 0);
    w.progress(1_000_000);
    assert_eq!(
        w.to(LegId::Caller).len(),
        50,
        "one packet per 20 ms for a second"
    );
    assert!(!w.events.contains(&MediaEvent::PlaybackDone));
    w.m.stop_playback();
    w.progress(2_000_000);
    assert_eq!(w.to(LegId::Caller).len(), 50, "nothing after stop");
    assert!(!w.events.contains(&MediaEvent::PlaybackDone));
}

#[test]
fn an_rfc4733_press_is_one_digit_however_many_packets_carry_it() {
    let mut w = World::new(MediaConfig::default());
    let packets = EventSender::default()
        .packets(Digit::D5, 120, 8000)
        .unwrap();
    for (i, p) in packets.iter().enumerate() {
        w.now = u64::from(p.send_at_ms) * 1000;
        let data = packet(101, 20 + i as u16, p.timestamp, 0xabc, p.marker, &p.payload);
        w.rtp(LegId::Caller, "127.0.0.1:4000", &data);
    }
    let digits: Vec<_> = w
        .events
        .iter()
        .filter_map(|e| match e {
            MediaEvent::Digit { digit, source, leg } => Some((*leg, *digit, *source)),
            _ => None,
        })
        .collect();
    assert_eq!(
        digits,
        vec![(LegId::Caller, Digit::D5, DtmfSource::Rfc4733)]
    );
}

fn tone_frame(digit: Digit, frame: usize) -> Vec<u8> {
    let (lo, hi) = digit.frequencies();
    (0..160)
        .map(|i| {
            let t = (frame * 160 + i) as f32 / 8000.0;
            let s = 6000.0 * (std::f32::consts::TAU * lo * t).sin()
                + 6000.0 * (std::f32::consts::TAU * hi * t).sin();
            g711::linear_to_ulaw(s as i16)
        })
        .collect()
}

#[test]
fn in_band_tones_are_detected_only_while_detection_is_on() {
    let mut w = World::new(MediaConfig::default());
    // Off: a 100 ms tone passes unnoticed.
    for f in 0..5 {
        w.now = f as u64 * FRAME_MICROS;
        w.rtp(
            LegId::Caller,
            "127.0.0.1:4000",
            &packet(
                0,
                f as u16,
                f as u32 * 160,
                9,
                false,
                &tone_frame(Digit::D7, f),
            ),
        );
        w.progress(w.now + FRAME_MICROS / 2);
    }
    assert!(
        !w.events
            .iter()
            .any(|e| matches!(e, MediaEvent::Digit { .. }))
    );
    w.m.set_inband_dtmf(true, w.now);
    let base = 10usize;
    for f in base..base + 8 {
        w.now = f as u64 * FRAME_MICROS;
        w.rtp(
            LegId::Caller,
            "127.0.0.1:4000",
            &packet(
                0,
                f as u16,
                f as u32 * 160,
                9,
                false,
                &tone_frame(Digit::Hash, f),
            ),
        );
        w.progress(w.now + FRAME_MICROS / 2);
    }
    // Silence after the tone lets the detector close it.
    for f in base + 8..base + 20 {
        w.now = f as u64 * FRAME_MICROS;
        w.rtp(
            LegId::Caller,
            "127.0.0.1:4000",
            &packet(0, f as u16, f as u32 * 160, 9, false, &[0xff; 160]),
        );
        w.progress(w.now + FRAME_MICROS / 2);
    }
    let digits: Vec<_> = w
        .events
        .iter()
        .filter_map(|e| match e {
            MediaEvent::Digit { digit, source, .. } => Some((*digit, *source)),
            _ => None,
        })
        .collect();
    assert_eq!(digits, vec![(Digit::Hash, DtmfSource::InBand)]);
}

#[test]
fn bridged_legs_relay_both_ways_each_in_its_own_stream() {
    let mut w = World::new(MediaConfig::default());
    w.m.play(vec![prompt(320, 1)], false, 0);
    w.progress(60_000);
    let prompt_last = RtpPacket::parse(&w.to(LegId::Caller)[1].data)
        .unwrap()
        .header;
    w.m.attach_peer(peer_leg(), w.now);
    // Caller speaks: the peer gets it with our peer-side SSRC and its numbering.
    w.rtp(
        LegId::Caller,
        "127.0.0.1:4000",
        &packet(0, 500, 10_000, 0xc0ffee, true, &[0x55; 160]),
    );
    w.rtp(
        LegId::Caller,
        "127.0.0.1:4000",
        &packet(0, 501, 10_160, 0xc0ffee, false, &[0x56; 160]),
    );
    let to_peer = w.to(LegId::Peer);
    assert_eq!(to_peer.len(), 2);
    assert_eq!(to_peer[0].dest, addr("127.0.0.1:6000"));
    let a = RtpPacket::parse(&to_peer[0].data).unwrap();
    let b = RtpPacket::parse(&to_peer[1].data).unwrap();
    assert_eq!(
        (a.header.ssrc, a.header.seq, a.header.ts),
        (0x2222_2222, 7, 900)
    );
    assert_eq!((b.header.seq, b.header.ts), (8, 1060));
    assert_eq!(b.payload, &[0x56; 160]);
    // The agent answers back: the caller hears it as the continuation of the prompt stream.
    w.now += 20_000;
    w.rtp(
        LegId::Peer,
        "127.0.0.1:6000",
        &packet(0, 9000, 777, 0xa6e47, true, &[0x33; 160]),
    );
    let to_caller = w.to(LegId::Caller);
    assert_eq!(to_caller.len(), 3);
    let c = RtpPacket::parse(&to_caller[2].data).unwrap();
    assert_eq!(c.header.ssrc, 0x1111_1111, "the caller still sees one SSRC");
    assert_eq!(c.header.seq, prompt_last.seq + 1);
    assert!(c.header.ts.wrapping_sub(prompt_last.ts) >= 160);
    assert_eq!(c.payload, &[0x33; 160]);
    // RFC 4733 from the caller reaches the peer with the peer's event payload type.
    let ev = EventSender::default()
        .packets(Digit::D1, 60, 20_000)
        .unwrap();
    w.rtp(
        LegId::Caller,
        "127.0.0.1:4000",
        &packet(101, 502, ev[0].timestamp, 0xc0ffee, true, &ev[0].payload),
    );
    let last = RtpPacket::parse(&w.to(LegId::Peer).last().unwrap().data).unwrap();
    assert_eq!(last.header.pt, 96);
    // Detached: nothing more is relayed.
    w.m.detach_peer();
    w.rtp(
        LegId::Caller,
        "127.0.0.1:4000",
        &packet(0, 503, 10_480, 0xc0ffee, false, &[0x57; 160]),
    );
    assert_eq!(w.to(LegId::Peer).len(), 3);
}

#[test]
fn symmetric_rtp_latches_once_and_relatches_only_after_silence() {
    let mut w = World::new(MediaConfig::default());
    w.rtp(
        LegId::Caller,
        "192.0.2.7:30000",
        &packet(0, 1, 160, 5, false, &[0xff; 160]),
    );
    assert!(w.events.contains(&MediaEvent::Latched {
        leg: LegId::Caller,
        addr: addr("192.0.2.7:30000")
    }));
    assert_eq!(w.m.remote(LegId::Caller), Some(addr("192.0.2.7:30000")));
    // Another address while the latched one is alive: ignored.
    w.now += 20_000;
    w.rtp(
        LegId::Caller,
        "198.51.100.1:9",
        &packet(0, 2, 320, 5, false, &[0xff; 160]),
    );
    assert_eq!(w.m.remote(LegId::Caller), Some(addr("192.0.2.7:30000")));
    assert_eq!(w.m.stats(LegId::Caller).unwrap().rx_foreign, 1);
    // After two seconds of silence from it, the new source takes over (NAT rebinding).
    w.now += 2_000_000;
    w.rtp(
        LegId::Caller,
        "192.0.2.7:30002",
        &packet(0, 3, 480, 5, false, &[0xff; 160]),
    );
    assert_eq!(w.m.remote(LegId::Caller), Some(addr("192.0.2.7:30002")));
    w.m.play(vec![prompt(160, 0)], false, w.now);
    w.progress(w.now + 40_000);
    assert_eq!(w.to(LegId::Caller)[0].dest, addr("192.0.2.7:30002"));
}

#[test]
fn a_silent_leg_times_out_once_unless_on_hold() {
    let cfg = MediaConfig {
        rtp_timeout: 5_000_000,
        ..MediaConfig::default()
    };
    let mut w = World::new(cfg);
    w.progress(4_900_000);
    assert!(w.events.is_empty());
    w.progress(5_000_000);
    assert_eq!(
        w.events,
        vec![MediaEvent::RtpTimeout { leg: LegId::Caller }]
    );
    w.progress(20_000_000);
    assert_eq!(w.events.len(), 1, "raised once");
    // Traffic re-arms it; hold disarms it.
    w.rtp(
        LegId::Caller,
        "127.0.0.1:4000",
        &packet(0, 1, 160, 5, false, &[0xff; 160]),
    );
    w.m.update_leg(LegId::Caller, None, true, w.now);
    w.progress(60_000_000);
    assert_eq!(w.events.len(), 1, "no timeout while on hold");
    w.m.update_leg(LegId::Caller, Some(addr("127.0.0.1:4000")), false, w.now);
    w.progress(w.now + 5_000_000);
    assert_eq!(
        w.events.last(),
        Some(&MediaEvent::RtpTimeout { leg: LegId::Caller })
    );
}

#[test]
fn the_recorder_gets_both_directions_every_20_ms_once_bridged() {
    let cfg = MediaConfig {
        record: true,
        ..MediaConfig::default()
    };
    let mut w = World::new(cfg);
    w.m.attach_peer(peer_leg(), 0);
    let speech = g711::linear_to_ulaw(4000);
    let reply = g711::linear_to_ulaw(-2000);
    for f in 0..50u32 {
        w.now = u64::from(f) * FRAME_MICROS;
        w.rtp(
            LegId::Caller,
            "127.0.0.1:4000",
            &packet(0, f as u16, f * 160, 1, false, &[speech; 160]),
        );
        w.rtp(
            LegId::Peer,
            "127.0.0.1:6000",
            &packet(0, f as u16, 99 + f * 160, 2, false, &[reply; 160]),
        );
        w.progress(w.now + FRAME_MICROS / 2);
    }
    let frames: Vec<_> = w
        .events
        .iter()
        .filter_map(|e| match e {
            MediaEvent::Record { caller, heard } => Some((caller.clone(), heard.clone())),
            _ => None,
        })
        .collect();
    assert!(frames.len() >= 48, "a frame per tick: {}", frames.len());
    let (c, h) = frames.last().unwrap();
    assert_eq!(c.len(), 160);
    assert!(c.iter().all(|&s| s == g711::ulaw_to_linear(speech)));
    assert!(h.iter().all(|&s| s == g711::ulaw_to_linear(reply)));
}

#[test]
fn a_voice_message_is_recorded_without_a_peer_and_only_while_asked() {
    // Call recording off: a message is recorded anyway, and only between on and off.
    let mut w = World::new(MediaConfig::default());
    let speech = g711::linear_to_ulaw(3000);
    let record = |w: &mut World, from: u32, to: u32| {
        for f in from..to {
            w.now = u64::from(f) * FRAME_MICROS;
            w.rtp(
                LegId::Caller,
                "127.0.0.1:4000",
                &packet(0, f as u16, f * 160, 1, false, &[speech; 160]),
            );
            w.progress(w.now + FRAME_MICROS / 2);
        }
    };
    let frames = |w: &World| {
        w.events
            .iter()
            .filter(|e| matches!(e, MediaEvent::Record { .. }))
            .count()
    };
    record(&mut w, 0, 20);
    assert_eq!(frames(&w), 0, "nothing before the message starts");
    w.m.record_message(true, w.now);
    record(&mut w, 20, 70);
    let n = frames(&w);
    assert!(
        (45..=51).contains(&n),
        "a frame per tick of the message: {n}"
    );
    let last = w.events.iter().rev().find_map(|e| match e {
        MediaEvent::Record { caller, heard } => Some((caller.clone(), heard.clone())),
        _ => None,
    });
    let (c, h) = last.expect("a frame");
    assert!(c.iter().all(|&s| s == g711::ulaw_to_linear(speech)));
    assert!(h.iter().all(|&s| s == 0), "nobody talks back");
    w.m.record_message(false, w.now);
    record(&mut w, 70, 90);
    assert_eq!(frames(&w), n, "nothing after it ends");
}

#[test]
fn a_stalled_shell_skips_ahead_instead_of_bursting() {
    let mut w = World::new(MediaConfig::default());
    w.m.play(vec![prompt(16_000, 0)], false, 0);
    w.progress(100_000);
    let before = w.to(LegId::Caller).len();
    // The shell sleeps a whole second, then runs once.
    w.now = 1_100_000;
    w.m.handle_timeout(w.now);
    w.drain();
    let burst = w.to(LegId::Caller).len() - before;
    assert!(
        burst <= 6,
        "at most the catch-up window is sent at once: {burst}"
    );
}

#[test]
fn packets_of_other_payload_types_and_garbage_are_dropped() {
    let mut w = World::new(MediaConfig::default());
    w.m.attach_peer(peer_leg(), 0);
    w.rtp(LegId::Caller, "127.0.0.1:4000", &[1, 2, 3]);
    w.rtp(
        LegId::Caller,
        "127.0.0.1:4000",
        &packet(18, 1, 160, 5, false, &[0; 20]),
    );
    assert!(w.to(LegId::Peer).is_empty());
    assert_eq!(w.m.stats(LegId::Caller).unwrap().rx_dropped, 2);
}

#[test]
fn rtcp_reports_go_to_the_rtp_port_plus_one_every_few_seconds() {
    let cfg = MediaConfig {
        cname: "hotline@test".into(),
        unix_micros_at_start: 1_700_000_000_000_000,
        ..MediaConfig::default()
    };
    let mut w = World::new(cfg);
    // Before we send anything: receiver reports only, about nobody yet.
    w.progress(4_000_000);
    let first = w.rtcp_to(LegId::Caller);
    assert_eq!(
        first.len(),
        1,
        "one report in the first 4 s (the initial interval is 1.25-3.75 s)"
    );
    assert_eq!(first[0].dest, addr("127.0.0.1:4001"));
    let items = rtcp::parse(&first[0].data).unwrap();
    assert!(
        matches!(items[0], RtcpItem::ReceiverReport { ssrc: 0x1111_1111, ref blocks } if blocks.is_empty())
    );
    assert!(items.contains(&RtcpItem::Cname {
        ssrc: 0x1111_1111,
        cname: "hotline@test".into()
    }));
    // The caller talks 100 packets with 5 lost; we play a prompt meanwhile.
    w.m.play(vec![prompt(8000, 1)], false, w.now);
    for i in 0..105u16 {
        w.now = 4_000_000 + u64::from(i) * 20_000;
        if i % 21 != 20 {
            w.rtp(
                LegId::Caller,
                "127.0.0.1:4000",
                &packet(0, 500 + i, u32::from(i) * 160, 0xcafe, false, &[0xff; 160]),
            );
        }
        w.progress(w.now + 10_000);
    }
    // The caller's SR tells us its clock; our next block carries LSR.
    let sr = rtcp::build_sender_report(
        0xcafe,
        &SenderInfo {
            ntp_time: rtcp::ntp_from_unix_micros(1_700_000_006_000_000),
            rtp_ts: 9,
            packet_count: 100,
            octet_count: 16_000,
        },
        &[],
        "phone",
    )
    .unwrap();
    w.m.handle_rtcp(LegId::Caller, addr("127.0.0.1:4001"), &sr, w.now);
    w.progress(w.now + 8_000_000);
    let reports = w.rtcp_to(LegId::Caller);
    assert!(reports.len() >= 2, "{} reports", reports.len());
    let last = rtcp::parse(&reports.last().unwrap().data).unwrap();
    let RtcpItem::SenderReport { ssrc, info, blocks } = &last[0] else {
        panic!("we sent RTP, so a sender report: {last:?}");
    };
    assert_eq!(*ssrc, 0x1111_1111);
    assert_eq!(info.packet_count as usize, w.to(LegId::Caller).len());
    assert_eq!(info.octet_count as usize, 160 * w.to(LegId::Caller).len());
    let b = &blocks[0];
    assert_eq!(b.ssrc, 0xcafe);
    // Packets 20, 41, 62 and 83 are gaps; 104, the last one, never came, so nothing after it
    // shows it missing yet.
    assert_eq!(b.cumulative_lost, 4);
    assert_eq!(b.extended_highest_seq, 500 + 103);
    assert_eq!(
        b.last_sr,
        rtcp::ntp_middle32(rtcp::ntp_from_unix_micros(1_700_000_006_000_000))
    );
    assert!(b.delay_since_last_sr > 0);
    // Intervals stay within 2.5-7.5 s.
    for pair in reports.windows(2) {
        let gap = pair[1].due - pair[0].due;
        assert!((2_500_000..=7_500_000).contains(&gap), "{gap}");
    }
}

fn seat_leg() -> LegConfig {
    LegConfig {
        remote: Some(addr("127.0.0.1:8000")),
        codec: Codec::Pcma,
        pt: 8,
        te_pt: None,
        ssrc: 0x3333_3333,
        initial_seq: 500,
        initial_ts: 77,
        latch: true,
    }
}

/// The level a constant G.711 frame says, from its middle sample.
fn level_of(codec: Codec, payload: &[u8]) -> i32 {
    let code = payload[payload.len() / 2];
    i32::from(match codec {
        Codec::Pcmu => g711::ulaw_to_linear(code),
        Codec::Pcma => g711::alaw_to_linear(code),
    })
}

fn near(got: i32, want: i32) -> bool {
    (got - want).abs() <= want.abs() / 16 + 16
}

/// 20 ms of talk from each leg that speaks (a constant level), `frames` times.
fn talk(w: &mut World, from: u32, frames: u32, levels: &[(LegId, i16)]) {
    for f in from..from + frames {
        w.now = u64::from(f) * FRAME_MICROS;
        for &(leg, lvl) in levels {
            let (src, pt, ssrc, payload) = match leg {
                LegId::Caller => ("127.0.0.1:4000", 0, 1, [g711::linear_to_ulaw(lvl); 160]),
                LegId::Peer => ("127.0.0.1:6000", 0, 2, [g711::linear_to_ulaw(lvl); 160]),
                _ => ("127.0.0.1:8000", 8, 3, [g711::linear_to_alaw(lvl); 160]),
            };
            w.rtp(
                leg,
                src,
                &packet(pt, f as u16, f * 160, ssrc, false, &payload),
            );
        }
        w.progress(w.now + FRAME_MICROS / 2);
    }
}

fn last_level(w: &World, leg: LegId, codec: Codec) -> i32 {
    let t = w.to(leg).into_iter().last().expect("packets to the leg");
    let p = RtpPacket::parse(&t.data).unwrap();
    level_of(codec, p.payload)
}

#[test]
fn three_parties_each_hear_the_other_two_and_not_themselves() {
    let mut w = World::new(MediaConfig::default());
    w.m.attach_peer(peer_leg(), 0);
    let all = [
        (LegId::Caller, 1000),
        (LegId::Peer, 2000),
        (LegId::Seat, 4000),
    ];
    talk(&mut w, 0, 20, &all[..2]);
    w.m.attach_seat(seat_leg(), w.now);
    assert!(w.m.has_seat());
    talk(&mut w, 20, 40, &all);
    assert!(
        near(last_level(&w, LegId::Caller, Codec::Pcmu), 6000),
        "citizen: agent + expert"
    );
    assert!(
        near(last_level(&w, LegId::Peer, Codec::Pcmu), 5000),
        "agent: citizen + expert"
    );
    assert!(
        near(last_level(&w, LegId::Seat, Codec::Pcma), 3000),
        "expert, in A-law: the other two"
    );
    // One stream per leg across relay → mix: same SSRC, no gap in the sequence numbers.
    let to_caller: Vec<_> = w
        .to(LegId::Caller)
        .iter()
        .map(|t| RtpPacket::parse(&t.data).unwrap().header)
        .collect();
    assert!(to_caller.iter().all(|h| h.ssrc == 0x1111_1111));
    for pair in to_caller.windows(2) {
        assert_eq!(pair[1].seq, pair[0].seq.wrapping_add(1), "{pair:?}");
    }
    let to_seat: Vec<_> = w
        .to(LegId::Seat)
        .iter()
        .map(|t| RtpPacket::parse(&t.data).unwrap().header)
        .collect();
    assert!(to_seat.iter().all(|h| h.ssrc == 0x3333_3333 && h.pt == 8));
}

#[test]
fn the_agent_leaves_and_the_citizen_and_the_expert_go_on() {
    let mut w = World::new(MediaConfig::default());
    w.m.attach_peer(peer_leg(), 0);
    w.m.attach_seat(seat_leg(), 0);
    let all = [
        (LegId::Caller, 1000),
        (LegId::Peer, 2000),
        (LegId::Seat, 4000),
    ];
    talk(&mut w, 0, 20, &all);
    w.m.detach_peer();
    let before = w.to(LegId::Peer).len();
    talk(&mut w, 20, 30, &[all[0], all[2]]);
    assert_eq!(w.to(LegId::Peer).len(), before, "nothing more to the agent");
    assert!(
        near(last_level(&w, LegId::Caller, Codec::Pcmu), 4000),
        "citizen hears the expert"
    );
    assert!(
        near(last_level(&w, LegId::Seat, Codec::Pcma), 1000),
        "expert hears the citizen"
    );
    // The expert leaves too: the citizen hears nothing more.
    w.m.detach_seat();
    let before = w.to(LegId::Caller).len();
    talk(&mut w, 50, 10, &[all[0]]);
    assert_eq!(w.to(LegId::Caller).len(), before);
}

#[test]
fn the_expert_leaves_and_the_agent_is_relayed_again() {
    let mut w = World::new(MediaConfig::default());
    w.m.attach_peer(peer_leg(), 0);
    w.m.attach_seat(seat_leg(), 0);
    let all = [
        (LegId::Caller, 1000),
        (LegId::Peer, 2000),
        (LegId::Seat, 4000),
    ];
    talk(&mut w, 0, 20, &all);
    w.m.detach_seat();
    assert!(!w.m.has_seat());
    talk(&mut w, 20, 10, &all[..2]);
    // A relay passes the agent's payload through unchanged.
    let t = w.to(LegId::Caller).into_iter().last().unwrap();
    let p = RtpPacket::parse(&t.data).unwrap();
    assert!(p.payload.iter().all(|&b| b == g711::linear_to_ulaw(2000)));
    let headers: Vec<_> = w
        .to(LegId::Caller)
        .iter()
        .map(|t| RtpPacket::parse(&t.data).unwrap().header)
        .collect();
    for pair in headers.windows(2) {
        assert_eq!(pair[1].seq, pair[0].seq.wrapping_add(1), "{pair:?}");
    }
}

#[test]
fn a_silent_expert_stalls_nobody_and_the_recording_is_the_mix() {
    let cfg = MediaConfig {
        record: true,
        ..MediaConfig::default()
    };
    let mut w = World::new(cfg);
    w.m.attach_peer(peer_leg(), 0);
    w.m.attach_seat(seat_leg(), 0);
    // The expert's phone sends nothing at all.
    talk(&mut w, 0, 50, &[(LegId::Caller, 1000), (LegId::Peer, 2000)]);
    let to_caller = w.to(LegId::Caller).len();
    assert!(to_caller >= 48, "a frame every 20 ms: {to_caller}");
    assert!(near(last_level(&w, LegId::Caller, Codec::Pcmu), 2000));
    assert!(
        near(last_level(&w, LegId::Seat, Codec::Pcma), 3000),
        "the expert still hears"
    );
    let (c, h) = w
        .events
        .iter()
        .rev()
        .find_map(|e| match e {
            MediaEvent::Record { caller, heard } => Some((caller.clone(), heard.clone())),
            _ => None,
        })
        .expect("recorder frames in a conference");
    assert!(near(i32::from(c[80]), 1000), "the citizen's side");
    assert!(near(i32::from(h[80]), 2000), "what the citizen heard");
}

#[test]
fn a_muted_agent_is_not_heard_but_still_hears() {
    let mut w = World::new(MediaConfig::default());
    w.m.attach_peer(peer_leg(), 0);
    assert!(!w.m.set_muted(LegId::Peer, true), "no conference yet");
    w.m.attach_seat(seat_leg(), 0);
    assert!(w.m.set_muted(LegId::Peer, true));
    let all = [
        (LegId::Caller, 1000),
        (LegId::Peer, 2000),
        (LegId::Seat, 4000),
    ];
    talk(&mut w, 0, 30, &all);
    assert!(
        near(last_level(&w, LegId::Caller, Codec::Pcmu), 4000),
        "citizen: only the expert"
    );
    assert!(
        near(last_level(&w, LegId::Seat, Codec::Pcma), 1000),
        "expert: only the citizen"
    );
    assert!(
        near(last_level(&w, LegId::Peer, Codec::Pcmu), 5000),
        "the agent hears both"
    );
    w.m.set_muted(LegId::Peer, false);
    talk(&mut w, 30, 10, &all);
    assert!(near(last_level(&w, LegId::Caller, Codec::Pcmu), 6000));
}

#[test]
fn a_supervisor_listens_whispers_to_the_agent_and_barges_in() {
    let mut w = World::new(MediaConfig::default());
    w.m.attach_peer(peer_leg(), 0);
    assert!(!w.m.set_seat_mode(SeatMode::Listen), "no conference yet");
    w.m.attach_seat(seat_leg(), 0);
    let all = [
        (LegId::Caller, 1000),
        (LegId::Peer, 2000),
        (LegId::Seat, 4000),
    ];
    // Listening (监听): nobody hears the supervisor, who hears both.
    assert!(w.m.set_seat_mode(SeatMode::Listen));
    talk(&mut w, 0, 30, &all);
    assert!(near(last_level(&w, LegId::Caller, Codec::Pcmu), 2000));
    assert!(near(last_level(&w, LegId::Peer, Codec::Pcmu), 1000));
    assert!(near(last_level(&w, LegId::Seat, Codec::Pcma), 3000));
    // Whispering (密语): the agent hears the supervisor, the citizen does not.
    assert!(w.m.set_seat_mode(SeatMode::Whisper));
    talk(&mut w, 30, 10, &all);
    assert!(
        near(last_level(&w, LegId::Caller, Codec::Pcmu), 2000),
        "the citizen hears only the agent"
    );
    assert!(
        near(last_level(&w, LegId::Peer, Codec::Pcmu), 5000),
        "the agent hears both"
    );
    // Barging in (强插): everyone hears everyone.
    assert!(w.m.set_seat_mode(SeatMode::Talk));
    talk(&mut w, 40, 10, &all);
    assert!(near(last_level(&w, LegId::Caller, Codec::Pcmu), 6000));
}

#[test]
fn hold_music_then_back_to_the_agent_in_one_stream() {
    let mut w = World::new(MediaConfig::default());
    w.m.attach_peer(peer_leg(), 0);
    talk(&mut w, 0, 10, &[(LegId::Caller, 1000), (LegId::Peer, 2000)]);
    // A remote seat rings: the citizen hears music (the agent's audio is not relayed).
    let music: Arc<[u8]> = vec![g711::linear_to_ulaw(3000); 1600].into();
    w.m.play(vec![music], true, w.now);
    talk(
        &mut w,
        10,
        10,
        &[(LegId::Caller, 1000), (LegId::Peer, 2000)],
    );
    assert!(
        near(last_level(&w, LegId::Caller, Codec::Pcmu), 3000),
        "music"
    );
    // It did not answer: the agent again.
    w.m.resume_peer(w.now);
    talk(
        &mut w,
        20,
        10,
        &[(LegId::Caller, 1000), (LegId::Peer, 2000)],
    );
    let t = w.to(LegId::Caller).into_iter().last().unwrap();
    let p = RtpPacket::parse(&t.data).unwrap();
    assert!(
        p.payload.iter().all(|&b| b == g711::linear_to_ulaw(2000)),
        "the agent, relayed"
    );
    let headers: Vec<_> = w
        .to(LegId::Caller)
        .iter()
        .map(|t| RtpPacket::parse(&t.data).unwrap().header)
        .collect();
    assert!(headers.iter().all(|h| h.ssrc == 0x1111_1111));
}
