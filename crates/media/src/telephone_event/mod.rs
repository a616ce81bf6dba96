//! RFC 4733 telephone events (named DTMF events carried in RTP, `telephone-event/8000`).
//!
//! [`TelephoneEvent`] is the 4-octet payload; [`EventReceiver`] turns the redundant packet stream
//! of one key press into exactly one [`ReceivedDigit`]; [`EventSender`] produces the packet
//! sequence for one key press. The RTP header itself (sequence numbers, SSRC, payload type) is
//! the caller's: only the timestamp and the marker bit carry event semantics.

mod receiver;
mod sender;

pub use receiver::{EventReceiver, ReceivedDigit};
pub use sender::{EventPacket, EventSender};

use crate::digit::Digit;

/// Length of one telephone-event payload block.
pub const PAYLOAD_LEN: usize = 4;
/// Largest volume: the field is the tone power as -dBm0, six bits wide.
pub const MAX_VOLUME: u8 = 63;

/// Why a telephone-event payload could not be built or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TelephoneEventError {
    #[error("telephone-event payload is {len} octets, needs {PAYLOAD_LEN}")]
    Short { len: usize },
    #[error("volume {0} is outside 0..=63 (-dBm0)")]
    BadVolume(u8),
    /// A valid RFC 4733 event that is not one of the sixteen DTMF keys (e.g. 16, flash).
    #[error("event code {0} is not a DTMF key")]
    NotDtmf(u8),
    #[error("a {duration_ms} ms event does not fit the 16-bit duration field at 8 kHz")]
    TooLong { duration_ms: u32 },
}

/// One telephone-event payload: `event(8) | E(1) R(1) volume(6) | duration(16)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    digit: Digit,
    end: bool,
    volume: u8,
    duration: u16,
}

impl TelephoneEvent {
    /// Builds a payload; `volume` is the tone power as -dBm0 (0..=63), `duration` is in RTP
    /// timestamp units since the event's timestamp.
    pub fn new(
        digit: Digit,
        end: bool,
        volume: u8,
        duration: u16,
    ) -> Result<Self, TelephoneEventError> {
        if volume > MAX_VOLUME {
            return Err(TelephoneEventError::BadVolume(volume));
        }
        Ok(Self {
            digit,
            end,
            volume,
            duration,
        })
    }

    /// Reads the first payload block. Trailing octets (padding, further blocks) are ignored:
    /// the first block is the event at this packet's timestamp. The R bit is ignored, as
    /// RFC 4733 requires of receivers.
    pub fn decode(payload: &[u8]) -> Result<Self, TelephoneEventError> {
        let [code, flags, hi, lo, ..] = *payload else {
            return Err(TelephoneEventError::Short { len: payload.len() });
        };
        let digit = Digit::from_event_code(code).ok_or(TelephoneEventError::NotDtmf(code))?;
        Ok(Self {
            digit,
            end: flags & 0x80 != 0,
            volume: flags & 0x3F,
            duration: u16::from_be_bytes([hi, lo]),
        })
    }

    /// The payload octets (R bit zero).
    #[must_use]
    pub fn encode(&self) -> [u8; PAYLOAD_LEN] {
        let [hi, lo] = self.duration.to_be_bytes();
        let end = if self.end { 0x80 } else { 0x00 };
        [self.digit.event_code(), end | self.volume, hi, lo]
    }

    #[must_use]
    pub fn digit(&self) -> Digit {
        self.digit
    }

    /// The E bit: this packet reports the end of the event.
    #[must_use]
    pub fn is_end(&self) -> bool {
        self.end
    }

    /// Tone power as -dBm0.
    #[must_use]
    pub fn volume(&self) -> u8 {
        self.volume
    }

    /// Duration so far, in RTP timestamp units.
    #[must_use]
    pub fn duration(&self) -> u16 {
        self.duration
    }
}
