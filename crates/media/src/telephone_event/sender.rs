//! Sending side of RFC 4733: the packet sequence for one key press at 8 kHz.
//!
//! The sequence is computed up front; the caller paces it by each packet's `send_at_ms` and
//! supplies the RTP sequence numbers. That keeps the schedule testable without a clock.

use super::{MAX_VOLUME, TelephoneEvent, TelephoneEventError};
use crate::digit::Digit;

/// One telephone-event RTP packet to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPacket {
    /// When to send it, in ms after the key went down.
    pub send_at_ms: u32,
    /// RTP timestamp: the event's onset, the same on every packet of the event.
    pub timestamp: u32,
    /// RTP marker bit: set on the first packet of the event only.
    pub marker: bool,
    pub payload: [u8; 4],
}

/// Produces RFC 4733 packet sequences for `telephone-event/8000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSender {
    volume: u8,
}

impl Default for EventSender {
    fn default() -> Self {
        Self {
            volume: Self::DEFAULT_VOLUME,
        }
    }
}

impl EventSender {
    /// RTP clock of `telephone-event/8000`.
    pub const CLOCK_RATE_HZ: u32 = 8000;
    /// The update interval RFC 4733 uses in its examples: fine enough for a receiver to follow
    /// the press, coarse enough not to matter on the wire.
    pub const UPDATE_INTERVAL_MS: u32 = 50;
    /// RFC 4733 §2.5.1.4: the final packet SHOULD be sent a total of three times.
    pub const END_REPEATS: u32 = 3;
    /// -10 dBm0, a typical keypad level.
    pub const DEFAULT_VOLUME: u8 = 10;

    /// A sender reporting tones at `volume` (-dBm0, 0..=63).
    pub fn new(volume: u8) -> Result<Self, TelephoneEventError> {
        if volume > MAX_VOLUME {
            return Err(TelephoneEventError::BadVolume(volume));
        }
        Ok(Self { volume })
    }

    /// The packets for `digit` held for `duration_ms`, with onset RTP timestamp `timestamp`:
    /// a marker packet at the onset (duration 0, the duration so far), an update every
    /// [`Self::UPDATE_INTERVAL_MS`] with the growing duration, then [`Self::END_REPEATS`]
    /// identical E-bit packets carrying the full duration, one update interval apart.
    ///
    /// Presses longer than the 16-bit duration field (8.19 s at 8 kHz) would need RFC 4733
    /// §2.5.1.3 segments; no keypad press lasts that long, so they are refused.
    pub fn packets(
        &self,
        digit: Digit,
        duration_ms: u32,
        timestamp: u32,
    ) -> Result<Vec<EventPacket>, TelephoneEventError> {
        let samples_per_ms = Self::CLOCK_RATE_HZ / 1000;
        let total = duration_ms
            .checked_mul(samples_per_ms)
            .and_then(|d| u16::try_from(d).ok())
            .ok_or(TelephoneEventError::TooLong { duration_ms })?;
        let packet = |send_at_ms: u32, marker: bool, end: bool, duration: u16| EventPacket {
            send_at_ms,
            timestamp,
            marker,
            payload: TelephoneEvent {
                digit,
                end,
                volume: self.volume,
                duration,
            }
            .encode(),
        };
        let mut packets = vec![packet(0, true, false, 0)];
        let mut at_ms = Self::UPDATE_INTERVAL_MS;
        while at_ms < duration_ms {
            // at_ms < duration_ms, whose sample count fits u16: so does this one.
            let so_far = u16::try_from(at_ms * samples_per_ms).unwrap_or(total);
            packets.push(packet(at_ms, false, false, so_far));
            at_ms += Self::UPDATE_INTERVAL_MS;
        }
        for repeat in 0..Self::END_REPEATS {
            packets.push(packet(
                duration_ms + repeat * Self::UPDATE_INTERVAL_MS,
                false,
                true,
                total,
            ));
        }
        Ok(packets)
    }
}
