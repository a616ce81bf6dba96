//! A browser-like peer for the bridge: str0m with full ICE, offering what Chromium offers for
//! audio (Opus, PCMU, PCMA), on its own UDP socket on 127.0.0.1 and the real clock. Shared by
//! the socket tests and the bridge bench (which includes this file by path).

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use hotline_webrtc::crypto_provider;
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig, RtcError};
use tokio::net::UdpSocket;

pub const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// What Chromium offers for audio: Opus first, then G.711 both laws.
///
/// The STUN timing is shortened from str0m's default (its ICE timeout is about 21 s) so the
/// peer notices a leg that stopped answering within about 2 s, about when Chromium reports
/// `disconnected`, and a test can wait for it.
pub fn chromium_like() -> RtcConfig {
    let mut config = RtcConfig::new()
        .clear_codecs()
        .enable_opus(true, false)
        .enable_pcmu(true, false)
        .enable_pcma(true, false);
    config.set_initial_stun_rto(Duration::from_millis(100));
    config.set_max_stun_rto(Duration::from_millis(500));
    config.set_max_stun_retransmits(5);
    config
}

pub struct Peer {
    pub rtc: Rtc,
    pub mid: Mid,
    pub sock: UdpSocket,
    pub local: SocketAddr,
    pending: Option<SdpPendingOffer>,
}

impl Peer {
    /// A peer with one sendrecv audio line on a fresh socket on 127.0.0.1, and its offer.
    pub async fn offer(config: RtcConfig) -> std::io::Result<(Peer, String)> {
        let sock = UdpSocket::bind(SocketAddr::new(LOCALHOST, 0)).await?;
        let local = sock.local_addr()?;
        let mut rtc = config
            .set_crypto_provider(crypto_provider())
            .build(Instant::now());
        let candidate = Candidate::host(local, "udp").map_err(std::io::Error::other)?;
        rtc.add_local_candidate(candidate);
        let mut change = rtc.sdp_api();
        let mid = change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let (offer, pending) = change
            .apply()
            .ok_or_else(|| std::io::Error::other("no offer"))?;
        let peer = Peer {
            rtc,
            mid,
            sock,
            local,
            pending: Some(pending),
        };
        Ok((peer, offer.to_sdp_string()))
    }

    /// Takes the leg's answer (its candidate is in it: ICE starts on the next flush).
    pub fn accept(&mut self, answer: &str) -> Result<(), String> {
        let pending = self.pending.take().ok_or("already answered")?;
        let answer = SdpAnswer::from_sdp_string(answer).map_err(|e| e.to_string())?;
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| e.to_string())
    }

    /// The payload type the answer gave PCMU, once negotiated.
    pub fn pcmu(&mut self) -> Option<Pt> {
        self.rtc
            .writer(self.mid)?
            .payload_params()
            .find(|p| p.spec().codec == Codec::PCMU)
            .map(|p| p.pt())
    }

    pub fn receive(&mut self, from: SocketAddr, data: &[u8], now: Instant) -> Result<(), RtcError> {
        let Ok(contents) = data.try_into() else {
            // Not something str0m parses (it would not be from the leg): as a browser, ignore.
            return Ok(());
        };
        self.rtc.handle_input(Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source: from,
                destination: self.local,
                contents,
            },
        ))
    }

    pub fn timeout(&mut self, now: Instant) -> Result<(), RtcError> {
        self.rtc.handle_input(Input::Timeout(now))
    }

    /// One 20 ms frame in `pt` (8 kHz RTP time), as the browser's audio track would.
    pub fn write(
        &mut self,
        pt: Pt,
        rtp_time: u64,
        payload: &[u8],
        now: Instant,
    ) -> Result<(), RtcError> {
        let writer = self
            .rtc
            .writer(self.mid)
            .ok_or_else(|| RtcError::Io(std::io::Error::other("no writer for the audio line")))?;
        writer.write(
            pt,
            now,
            MediaTime::new(rtp_time, Frequency::EIGHT_KHZ),
            payload.to_vec(),
        )
    }

    /// Sends everything str0m has and hands it events to `on_event`, until it only waits;
    /// returns when it next wants the time.
    ///
    /// A deadline that is already due is handled here at once: str0m asks for one right
    /// after a write (its packetizer runs on the timeout), and going through tokio's timer
    /// would round it up to the next millisecond, adding that to every frame the peer sends.
    pub async fn flush(&mut self, mut on_event: impl FnMut(Event)) -> Result<Instant, RtcError> {
        // A few rounds at most: str0m's deadline is never before the last time it was given,
        // so a due one repeats only while the clock has not moved.
        let mut due_rounds = 0;
        loop {
            match self.rtc.poll_output()? {
                Output::Transmit(t) => {
                    // Loopback UDP: a failed send is a lost datagram, which str0m copes with.
                    let _ = self.sock.send_to(&t.contents, t.destination).await;
                }
                Output::Event(e) => on_event(e),
                Output::Timeout(at) => {
                    let now = Instant::now();
                    if at <= now && due_rounds < 4 {
                        due_rounds += 1;
                        self.timeout(now)?;
                        continue;
                    }
                    return Ok(at);
                }
            }
        }
    }
}

/// The RTP fixed header the call side writes (RFC 3550 §5.1, no CSRC, no extension).
pub fn rtp_packet(marker: bool, pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(12 + payload.len());
    v.push(0x80);
    v.push(u8::from(marker) << 7 | pt);
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&ts.to_be_bytes());
    v.extend_from_slice(&ssrc.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// An RTP packet as the call side reads it: parsed by hand, not by the code under test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rtp {
    pub marker: bool,
    pub pt: u8,
    pub seq: u16,
    pub ts: u32,
    pub ssrc: u32,
    pub payload: Vec<u8>,
}

/// A bare 12-byte-header RTP packet (version 2, no padding, extension or CSRC: what the
/// bridge writes), or `None`.
pub fn parse_rtp(d: &[u8]) -> Option<Rtp> {
    if d.len() < 12 || d[0] != 0x80 {
        return None;
    }
    Some(Rtp {
        marker: d[1] & 0x80 != 0,
        pt: d[1] & 0x7f,
        seq: u16::from_be_bytes([d[2], d[3]]),
        ts: u32::from_be_bytes([d[4], d[5], d[6], d[7]]),
        ssrc: u32::from_be_bytes([d[8], d[9], d[10], d[11]]),
        payload: d[12..].to_vec(),
    })
}
