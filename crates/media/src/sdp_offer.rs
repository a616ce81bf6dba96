//! The other half of RFC 3264: our own offer (to an agent, a remote seat or a trunk, when the
//! hotline anchors the media) and reading the answer it gets back.
//!
//! We offer exactly the codec the caller's leg uses, so that relaying needs no transcoding, plus
//! telephone-event when the caller has it. An answer that picks anything else is refused and
//! the SIP layer ends that leg.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::sdp::{
    AudioSession, Codec, Direction, LocalMedia, Offer, PTIME_MS, SdpError, SessionVersion, answer,
};

/// Dynamic payload type we give telephone-event in our offers (what most phones use).
pub const TELEPHONE_EVENT_PT: u8 = 101;

/// What we offer on one leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalOffer {
    pub ip: IpAddr,
    pub port: u16,
    /// In our order of preference; static payload types (0 PCMU, 8 PCMA).
    pub codecs: Vec<Codec>,
    pub telephone_event: bool,
    pub direction: Direction,
}

impl LocalOffer {
    /// The offer body, CRLF line ends, taking the next `o=` version from `version`.
    pub fn to_sdp(&self, version: &mut SessionVersion) -> String {
        let ip = self.ip;
        let at = match ip {
            IpAddr::V4(_) => "IP4",
            IpAddr::V6(_) => "IP6",
        };
        let mut s = String::with_capacity(256);
        let _ = write!(
            s,
            "v=0\r\no=hotline {} {} IN {at} {ip}\r\ns=hotline\r\nc=IN {at} {ip}\r\nt=0 0\r\n",
            version.id(),
            version.take_for_offer()
        );
        let _ = write!(s, "m=audio {} RTP/AVP", self.port);
        for c in &self.codecs {
            let _ = write!(s, " {}", c.static_pt());
        }
        if self.telephone_event {
            let _ = write!(s, " {TELEPHONE_EVENT_PT}");
        }
        s.push_str("\r\n");
        for c in &self.codecs {
            let _ = write!(
                s,
                "a=rtpmap:{} {}/8000\r\n",
                c.static_pt(),
                c.encoding_name()
            );
        }
        if self.telephone_event {
            let _ = write!(
                s,
                "a=rtpmap:{TELEPHONE_EVENT_PT} telephone-event/8000\r\na=fmtp:{TELEPHONE_EVENT_PT} 0-15\r\n"
            );
        }
        let _ = write!(
            s,
            "a=ptime:{PTIME_MS}\r\na={}\r\n",
            self.direction.as_attr()
        );
        s
    }

    /// Reads the answer to this offer: the stream it accepted, with the address to send to.
    /// An answer whose codec we did not offer is an error ([`SdpError::NoCommonCodec`]).
    pub fn accept(&self, answer_sdp: &str) -> Result<AudioSession, SdpError> {
        let parsed = Offer::parse(answer_sdp)?;
        // The answer has the offer's structure: reuse the matcher, restricted to what we sent.
        let mut session = answer(
            &parsed,
            LocalMedia {
                ip: self.ip,
                port: self.port,
                prefer: self.codecs.clone(),
            },
        )?
        .audio;
        if !self.telephone_event {
            session.telephone_event_pt = None;
        }
        // `answer` mirrors the direction for an answer of ours; here the remote's own direction
        // is what it said, so mirror it back.
        session.direction = session.direction.mirror();
        Ok(session)
    }
}
