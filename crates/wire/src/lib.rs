//! Sans-IO screening of raw SIP datagrams (RFC 3261 / RFC 4475 strictness) and stateless responses
//!
//! The SIP stack's parser is liberal and silently drops what it cannot parse. This crate sits
//! in front of it: [`screen_datagram`] looks at one UDP datagram and decides to pass it on
//! ([`Verdict::Accept`]), answer it statelessly ([`Verdict::Reply`]), or drop it
//! ([`Verdict::Drop`]). It does no I/O and keeps no state; the async shell sends the bytes.
//!
//! What is refused, and how:
//! - not SIP (empty, whitespace keepalives, other protocols): dropped;
//! - larger than [`Limits::max_datagram`], or a header section past the other limits: 513;
//! - a response that does not parse: dropped (responses are never answered);
//! - an ACK that does not pass: dropped (ACKs are never answered);
//! - a SIP version other than 2.0: 505;
//! - grammar faults in the Request-Line or in Via, From, To, Contact, Call-ID, CSeq,
//!   Max-Forwards, Expires, Content-Length; repeated single-value headers; a missing Via,
//!   From, To, Call-ID or CSeq; Content-Length beyond the datagram; a CSeq method that differs
//!   from the Request-Line: 400 with the fault named in the reason phrase;
//! - a method outside [`SUPPORTED_METHODS`]: 501 with Allow;
//! - a Request-URI scheme other than sip, sips or tel: 416;
//! - Proxy-Require option tags outside [`Limits::supported_extensions`]: 420 with Unsupported.
//!
//! Everything an application decides (483, 415, 406, registrar rules, Require) is left to the
//! stack. Headers the checks do not name pass through unread.

mod address;
mod compat;
mod lex;
mod limits;
mod message;
mod response;
mod scalar;
mod screen;
mod start_line;
mod uri;
mod verdict;
mod via;

pub use compat::compat_rewrite;
pub use limits::Limits;
pub use response::stateless_response;
pub use screen::{SUPPORTED_METHODS, screen_datagram, status_for};
pub use verdict::{Head, Kind, Refusal, RefusalCode, Verdict};
