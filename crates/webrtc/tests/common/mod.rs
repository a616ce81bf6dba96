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
    /// What the leg put out, but its transmits and timeouts.
    pub leg_out: Vec<LegOutput>,
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
                other => self.leg_out.push(other),
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
                self.leg
                    .receive(p.source, p.destination, &p.data, now)
                    .expect("leg takes a datagram");
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
        self.leg.timeout(now).expect("leg timeout");
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
