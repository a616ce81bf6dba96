//! One browser softphone leg (issue 8, first part): the agent desktop's WebRTC audio as str0m
//! runs it, an ICE-lite answerer (the server has a known address; the browser does the
//! checks) that offers only G.711 — PCMU and PCMA — so the audio goes to and from the RTP core
//! as it is, without transcoding.
//!
//! Sans-IO like str0m under it: the caller hands in datagrams and the time, and takes out
//! datagrams to send, audio frames received, state changes and when to call again. No socket,
//! no clock read, no task: the server's shell moves the bytes; tests drive it over a simulated
//! network on a manual clock.

mod leg;

pub use leg::{G711, Leg, LegError, LegOutput};

/// The crypto every leg uses, for peers made beside them (the load tool, tests).
pub fn crypto_provider() -> std::sync::Arc<str0m::crypto::CryptoProvider> {
    leg::crypto()
}
