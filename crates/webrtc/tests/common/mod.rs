//! A browser-like peer (str0m with full ICE, as Chromium offers: Opus, PCMU, PCMA) and a
//! simulated network between it and the leg, on a manual clock: `progress` moves time to the
//! next thing due and delivers what has arrived. No sockets, no sleeps.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hotline_webrtc::{Leg, LegOutput, crypto_provider};
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};

pub const BROWSER: &str = "192.0.2.10:50000";
pub const SERVER: &str = "198.51.100.1:40000";
/// One way, each direction.
pub const LATENCY: Duration = Duration::from_millis(5);

pub fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

pub struct Browser {
    pub rtc: Rtc,
    pub mid: Mid,
    pub events: Vec<Event>,
    next: Instant,
}

/// What Chromium offers for audio: Opus first, then G.711 both laws (str0m's own default has
/// no G.711).
pub fn chromium_like() -> RtcConfig {
    RtcConfig::new()
        .clear_codecs()
        .enable_opus(true, false)
        .enable_pcmu(true, false)
        .enable_pcma(true, false)
}

/// A browser peer with one sendrecv audio line, and its offer.
pub fn browser(now: Instant, config: RtcConfig) -> (Browser, String, SdpPendingOffer) {
    let mut rtc = config.set_crypto_provider(crypto_provider()).build(now);
    rtc.add_local_candidate(Candidate::host(addr(BROWSER), "udp").expect("candidate"));
    let mut change = rtc.sdp_api();
    let mid = change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
    let (offer, pending) = change.apply().expect("an offer");
    let b = Browser {
        rtc,
        mid,
        events: Vec::new(),
        next: now,
    };
    (b, offer.to_sdp_string(), pending)
}

pub fn accept(b: &mut Browser, pending: SdpPendingOffer, answer: &str) {
    let answer = SdpAnswer::from_sdp_string(answer).expect("the leg's answer parses");
    b.rtc
        .sdp_api()
        .accept_answer(pending, answer)
        .expect("the browser accepts it");
}

struct InFlight {
    at: Instant,
    to_leg: bool,
    source: SocketAddr,
    destination: SocketAddr,
    data: Vec<u8>,
}

/// Both ends, the network and the clock.
pub struct World {
    pub now: Instant,
    pub browser: Browser,
    pub leg: Leg,
    /// What the leg put out, but its transmits and timeouts, with the simulated time it did.
    pub leg_out: Vec<LegOutput>,
    pub leg_out_at: Vec<Instant>,
    /// Real time spent inside the leg's calls, when `measure` is on (the bench's figure; the
    /// tests leave it off and read no clock).
    pub measure: bool,
    pub leg_busy: Duration,
    leg_next: Instant,
    net: VecDeque<InFlight>,
    /// Datagrams the network lost on purpose (none unless `drop_to_leg` is set).
    pub drop_to_leg: usize,
}

impl World {
    pub fn new(now: Instant, browser: Browser, leg: Leg) -> World {
        World {
            now,
            browser,
            leg,
            leg_out: Vec::new(),
            leg_out_at: Vec::new(),
            measure: false,
            leg_busy: Duration::ZERO,
            leg_next: now,
            net: VecDeque::new(),
            drop_to_leg: 0,
        }
    }

    fn drain_browser(&mut self) {
        loop {
            match self.browser.rtc.poll_output().expect("browser output") {
                Output::Timeout(t) => {
                    self.browser.next = t;
                    return;
                }
                Output::Transmit(t) => self.net.push_back(InFlight {
                    at: self.now + LATENCY,
                    to_leg: true,
                    source: t.source,
                    destination: t.destination,
                    data: t.contents.to_vec(),
                }),
                Output::Event(e) => self.browser.events.push(e),
            }
        }
    }

    fn drain_leg(&mut self) {
        let t = self.measure.then(Instant::now);
        self.drain_leg_unmeasured();
        if let Some(t) = t {
            self.leg_busy += t.elapsed();
        }
    }

    fn drain_leg_unmeasured(&mut self) {
        loop {
            match self.leg.poll().expect("leg output") {
                LegOutput::Timeout(t) => {
                    self.leg_next = t;
                    return;
                }
                LegOutput::Transmit {
                    source,
                    destination,
                    data,
                } => self.net.push_back(InFlight {
                    at: self.now + LATENCY,
                    to_leg: false,
                    source,
                    destination,
                    data,
                }),
                other => {
                    self.leg_out.push(other);
                    self.leg_out_at.push(self.now);
                }
            }
        }
    }

    /// Moves the clock to the next thing due (at least 1 ms, so nothing spins) and does it.
    pub fn progress(&mut self) {
        self.drain_browser();
        self.drain_leg();
        let mut next = self.browser.next.min(self.leg_next);
        if let Some(p) = self.net.iter().map(|p| p.at).min() {
            next = next.min(p);
        }
        self.now = next.max(self.now + Duration::from_millis(1));
        let now = self.now;
        let (due, later): (Vec<_>, Vec<_>) = self.net.drain(..).partition(|p| p.at <= now);
        self.net = later.into();
        for p in due {
            if p.to_leg {
                if self.drop_to_leg > 0 {
                    self.drop_to_leg -= 1;
                    continue;
                }
                let t = self.measure.then(Instant::now);
                self.leg
                    .receive(p.source, p.destination, &p.data, now)
                    .expect("leg takes a datagram");
                if let Some(t) = t {
                    self.leg_busy += t.elapsed();
                }
            } else {
                let input = Input::Receive(
                    now,
                    Receive {
                        proto: Protocol::Udp,
                        source: p.source,
                        destination: p.destination,
                        contents: p.data.as_slice().try_into().expect("a datagram"),
                    },
                );
                self.browser.rtc.handle_input(input).expect("browser input");
            }
        }
        self.browser
            .rtc
            .handle_input(Input::Timeout(now))
            .expect("browser timeout");
        let t = self.measure.then(Instant::now);
        self.leg.timeout(now).expect("leg timeout");
        if let Some(t) = t {
            self.leg_busy += t.elapsed();
        }
    }

    /// Both ends send one 20 ms frame now (the leg through its own call, measured).
    pub fn send_frames(&mut self, pt: str0m::media::Pt, rtp_time: u64, leg: &[u8], browser: &[u8]) {
        let now = self.now;
        let t = self.measure.then(Instant::now);
        self.leg.send_audio(leg, rtp_time, now).expect("leg sends");
        if let Some(t) = t {
            self.leg_busy += t.elapsed();
        }
        self.browser
            .rtc
            .writer(self.browser.mid)
            .expect("browser writer")
            .write(
                pt,
                now,
                str0m::media::MediaTime::new(rtp_time, str0m::media::Frequency::EIGHT_KHZ),
                browser.to_vec(),
            )
            .expect("browser sends");
    }

    /// The browser's payload type for PCMU, once negotiated.
    pub fn browser_pcmu(&mut self) -> str0m::media::Pt {
        self.browser
            .rtc
            .writer(self.browser.mid)
            .expect("browser writer")
            .payload_params()
            .find(|p| p.spec().codec == str0m::format::Codec::PCMU)
            .map(|p| p.pt())
            .expect("PCMU negotiated")
    }

    /// Runs until `done` or `limit` of simulated time has passed.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&World) -> bool) -> bool {
        let end = self.now + limit;
        while self.now < end {
            if done(self) {
                return true;
            }
            self.progress();
        }
        done(self)
    }

    pub fn connected(&self) -> bool {
        self.leg_out.contains(&LegOutput::Connected)
            && self
                .browser
                .events
                .iter()
                .any(|e| matches!(e, Event::Connected))
    }
}
