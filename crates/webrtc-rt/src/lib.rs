//! The browser softphone's async shell (issue 8): each WebRTC leg runs as one tokio task over
//! two UDP sockets, one towards the browser (ICE, DTLS, SRTP) and one towards the call's RTP,
//! bridging G.711 frames unchanged. Every decision is in the sans-IO `hotline-webrtc` leg and
//! this crate's [`framing`]; the task only moves datagrams and wakes at the leg's deadline.

pub mod bridge;
pub mod framing;

pub use bridge::{Bridge, BridgeConfig, BridgeError, BridgeEvent};
pub use hotline_webrtc::G711;
