//! A leg: the SDP answer, the datagrams in and out, the audio frames.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use str0m::change::SdpOffer;
use str0m::crypto::CryptoProvider;
use str0m::format::Codec;
use str0m::media::{Frequency, MediaKind, MediaTime, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcConfig, RtcError};

/// The two G.711 laws the RTP core carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum G711 {
    /// µ-law, RTP payload type 0.
    Pcmu,
    /// A-law, RTP payload type 8.
    Pcma,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LegError {
    #[error("the offer is not an SDP offer: {0}")]
    BadOffer(String),
    /// The browser offered no audio in PCMU or PCMA (a browser always does, unless told not to).
    #[error("the offer has no audio in PCMU or PCMA")]
    NoCommonCodec,
    #[error("no audio negotiated yet")]
    NoAudio,
    #[error("webrtc: {0}")]
    Rtc(#[from] RtcError),
}

/// What the leg wants done next.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LegOutput {
    /// Send `data` from our `source` to the browser at `destination`.
    Transmit {
        source: SocketAddr,
        destination: SocketAddr,
        data: Vec<u8>,
    },
    /// A frame of the browser's audio: the G.711 payload as it came, with its RTP time (8 kHz).
    Audio {
        codec: G711,
        rtp_time: u64,
        payload: Vec<u8>,
    },
    /// ICE and DTLS are done: audio can flow.
    Connected,
    /// The browser is gone (ICE failed or the leg was closed).
    Disconnected,
    /// Nothing more until this time, or until a datagram arrives.
    Timeout(Instant),
}

pub struct Leg {
    rtc: Rtc,
    /// Our one audio m-line and the payload type and law negotiated on it.
    audio: Option<(Mid, Pt, G711)>,
}

/// The `a=mid` of every `m=audio` section of an SDP text that is not rejected (port 0).
fn audio_mids(sdp: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_audio = false;
    for line in sdp.lines() {
        if let Some(m) = line.strip_prefix("m=") {
            let mut f = m.split_whitespace();
            in_audio = f.next() == Some("audio") && f.next() != Some("0");
        } else if in_audio && let Some(mid) = line.strip_prefix("a=mid:") {
            out.push(mid.trim().to_string());
        }
    }
    out
}

/// The DTLS/SRTP crypto (aws-lc-rs), made once and shared by every leg.
pub(crate) fn crypto() -> Arc<CryptoProvider> {
    static CRYPTO: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    CRYPTO
        .get_or_init(|| Arc::new(str0m::crypto::from_feature_flags()))
        .clone()
}

fn law(codec: Codec) -> Option<G711> {
    match codec {
        Codec::PCMU => Some(G711::Pcmu),
        Codec::PCMA => Some(G711::Pcma),
        _ => None,
    }
}

impl Leg {
    /// Answers a browser's offer for a leg reached at `local` (the server's UDP address that
    /// the browser is given as the only candidate). The answer's first choice is PCMU, then
    /// PCMA, whichever the browser offered.
    pub fn answer(offer: &str, local: SocketAddr, now: Instant) -> Result<(Leg, String), LegError> {
        Self::negotiate(offer, local, &[G711::Pcmu, G711::Pcma], now)
    }

    /// Answers with `law` only: the leg is bridged to an RTP call already in that law, and
    /// without transcoding the browser must send and receive exactly it. A browser offers
    /// both laws, so this fails only for an offer that lacks `law`.
    pub fn answer_in(
        offer: &str,
        local: SocketAddr,
        law: G711,
        now: Instant,
    ) -> Result<(Leg, String), LegError> {
        Self::negotiate(offer, local, &[law], now)
    }

    fn negotiate(
        offer: &str,
        local: SocketAddr,
        laws: &[G711],
        now: Instant,
    ) -> Result<(Leg, String), LegError> {
        let offer =
            SdpOffer::from_sdp_string(offer).map_err(|e| LegError::BadOffer(e.to_string()))?;
        let mut rtc = RtcConfig::new()
            .set_crypto_provider(crypto())
            .set_ice_lite(true)
            .clear_codecs()
            .enable_pcmu(laws.contains(&G711::Pcmu), false)
            .enable_pcma(laws.contains(&G711::Pcma), false)
            .build(now);
        let candidate =
            Candidate::host(local, "udp").map_err(|e| LegError::BadOffer(e.to_string()))?;
        rtc.add_local_candidate(candidate);
        let answer = rtc.sdp_api().accept_offer(offer)?;
        let mut leg = Leg { rtc, audio: None };
        // Our answer names the audio line (a=mid under m=audio); its payload types in our laws
        // are what str0m negotiated.
        let answer_sdp = answer.to_sdp_string();
        for mid in audio_mids(&answer_sdp) {
            if leg.audio.is_none() {
                leg.audio = leg.audio_of(Mid::from(mid.as_str()));
            }
        }
        if leg.audio.is_none() {
            return Err(LegError::NoCommonCodec);
        }
        Ok((leg, answer_sdp))
    }

    /// The audio line's payload type in our law, PCMU before PCMA (the RTP core's own first
    /// choice), when `mid` is audio and has one.
    fn audio_of(&mut self, mid: Mid) -> Option<(Mid, Pt, G711)> {
        let media = self.rtc.media(mid)?;
        if media.kind() != MediaKind::Audio {
            return None;
        }
        let writer = self.rtc.writer(mid)?;
        let mut found: Vec<(Pt, G711)> = writer
            .payload_params()
            .filter_map(|p| law(p.spec().codec).map(|l| (p.pt(), l)))
            .collect();
        found.sort_by_key(|(_, l)| *l != G711::Pcmu);
        found.first().map(|(pt, l)| (mid, *pt, *l))
    }

    /// The law audio goes out in.
    pub fn codec(&self) -> Option<G711> {
        self.audio.map(|(_, _, l)| l)
    }

    /// A datagram from the browser (STUN, DTLS, SRTP, RTCP all arrive on the one port).
    /// One that is not for this leg or does not parse is dropped, not an error of the leg.
    pub fn receive(
        &mut self,
        source: SocketAddr,
        destination: SocketAddr,
        data: &[u8],
        now: Instant,
    ) -> Result<(), LegError> {
        let Ok(contents) = data.try_into() else {
            return Ok(());
        };
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination,
                contents,
            },
        );
        if !self.rtc.accepts(&input) {
            return Ok(());
        }
        self.rtc.handle_input(input)?;
        Ok(())
    }

    /// The time has come (the last [`LegOutput::Timeout`], or later).
    pub fn timeout(&mut self, now: Instant) -> Result<(), LegError> {
        self.rtc.handle_input(Input::Timeout(now))?;
        Ok(())
    }

    /// One 20 ms frame of G.711 for the browser, in the negotiated law, with its RTP time
    /// (8 kHz units; the bridge keeps it running across talk spurts).
    pub fn send_audio(
        &mut self,
        payload: &[u8],
        rtp_time: u64,
        now: Instant,
    ) -> Result<(), LegError> {
        let (mid, pt, _) = self.audio.ok_or(LegError::NoAudio)?;
        let writer = self.rtc.writer(mid).ok_or(LegError::NoAudio)?;
        writer.write(
            pt,
            now,
            MediaTime::new(rtp_time, Frequency::EIGHT_KHZ),
            payload.to_vec(),
        )?;
        Ok(())
    }

    /// The next thing to do; call until it is a [`LegOutput::Timeout`].
    pub fn poll(&mut self) -> Result<LegOutput, LegError> {
        loop {
            if let Some(o) = self.next()? {
                return Ok(o);
            }
        }
    }

    /// One output of str0m as ours, or None for one the audio bridge has no use for.
    fn next(&mut self) -> Result<Option<LegOutput>, LegError> {
        Ok(match self.rtc.poll_output()? {
            Output::Timeout(at) => Some(LegOutput::Timeout(at)),
            Output::Transmit(t) => Some(LegOutput::Transmit {
                source: t.source,
                destination: t.destination,
                data: t.contents.to_vec(),
            }),
            Output::Event(Event::Connected) => Some(LegOutput::Connected),
            Output::Event(Event::IceConnectionStateChange(IceConnectionState::Disconnected)) => {
                Some(LegOutput::Disconnected)
            }
            // Only our laws were negotiated; anything else is not audio for the core.
            Output::Event(Event::MediaData(d)) => {
                law(d.params.spec().codec).map(|codec| LegOutput::Audio {
                    codec,
                    rtp_time: d.time.rebase(Frequency::EIGHT_KHZ).numer(),
                    payload: d.data.to_vec(),
                })
            }
            // Stats, keyframe requests and the like: nothing the audio bridge needs.
            Output::Event(_) => None,
        })
    }

    /// Hangs up: str0m sends an RTCP BYE and the DTLS close_notify (polled out like any
    /// other output until [`Leg::is_alive`] is false), so the browser learns at once instead
    /// of when its ICE checks time out. A leg that cannot close cleanly just goes inert.
    pub fn close(&mut self) {
        if self.rtc.close().is_err() {
            self.rtc.disconnect();
        }
    }

    pub fn is_alive(&self) -> bool {
        self.rtc.is_alive()
    }
}
