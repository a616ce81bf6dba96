//! Media primitives for the hotline's IVR and media engine (requirement A1): G.711 companding,
//! RFC 4733 telephone events, in-band DTMF detection, the SDP audio offer/answer
//! the RTP header with a single-SSRC outbound stream, and a jitter buffer for decoded audio.
//!
//! The crate is pure: no sockets, no tasks, no clock. Audio and packets come in as slices with
//! their RTP timestamps, and results go out as values; timing is expressed in samples or in
//! offsets the caller schedules. That makes every rule here (G.711's rounding at the interval
//! edges, RFC 4733's redundancy, Q.24's duration limits) testable bit for bit, and leaves the
//! async media shell with nothing to decide but when to read and write.

pub mod digit;
pub mod dtmf_detect;
pub mod g711;
pub mod jitter;
pub mod mixer;
pub mod rtcp;
pub mod rtp_stats;
pub mod rtp_stream;
pub mod sdp;
pub mod sdp_offer;
pub mod session;
pub mod telephone_event;

pub use digit::Digit;
pub use dtmf_detect::DtmfDetector;
pub use jitter::{Frame, JitterBuffer, JitterConfig, JitterStats, Push};
pub use rtcp::{ReportBlock, RtcpError, RtcpItem, SenderInfo};
pub use rtp_stats::{PacketVerdict, ReceiverStats};
pub use rtp_stream::{OutboundStream, RtpError, RtpHeader, RtpPacket};
pub use sdp::{
    Answer, AudioSession, Codec, Direction, LocalMedia, Offer, SdpError, SessionVersion, answer,
};
pub use telephone_event::{
    EventPacket, EventReceiver, EventSender, ReceivedDigit, TelephoneEvent, TelephoneEventError,
};
