//! Receiving side of RFC 4733: one report per key press out of a redundant packet stream.
//!
//! A sender repeats itself on purpose: updates every packetization interval with a growing
//! duration, the final (E bit) packet three times (§2.5.1.4), and a very long press as several
//! segments with new timestamps but no marker (§2.5.1.3). All packets of one event carry its onset
//! as their RTP timestamp, so the timestamp is the event's identity: a digit is reported the first
//! time a newer timestamp is seen, whichever of its packets arrives first (the marker packet may be
//! lost), and never again for that timestamp.

use super::{TelephoneEvent, TelephoneEventError};
use crate::digit::Digit;

/// A key press reported by [`EventReceiver`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedDigit {
    pub digit: Digit,
    /// RTP timestamp of the event's onset.
    pub timestamp: u32,
    /// Tone power as -dBm0, from the first packet seen.
    pub volume: u8,
}

#[derive(Debug, Clone, Copy)]
struct CurrentEvent {
    digit: Digit,
    /// Timestamp of the segment being received (the onset, unless the press was segmented).
    timestamp: u32,
    /// Longest duration seen for this segment.
    duration: u16,
    ended: bool,
}

/// Turns a telephone-event packet stream (one SSRC) into key presses, exactly once each.
#[derive(Debug, Clone, Default)]
pub struct EventReceiver {
    current: Option<CurrentEvent>,
}

impl EventReceiver {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one packet: its RTP timestamp, marker bit and payload. Returns the key press it
    /// starts, if it is the first packet seen of a new event. Errors are for this payload only;
    /// the receiver's state is unchanged by a bad packet.
    pub fn receive(
        &mut self,
        timestamp: u32,
        marker: bool,
        payload: &[u8],
    ) -> Result<Option<ReceivedDigit>, TelephoneEventError> {
        let event = TelephoneEvent::decode(payload)?;
        if let Some(current) = &mut self.current {
            if timestamp == current.timestamp {
                // An update, an end packet or a retransmission of one. Another key on the same
                // timestamp would be a non-conformant sender: DTMF keys do not overlap.
                if event.digit() == current.digit {
                    current.duration = current.duration.max(event.duration());
                    current.ended |= event.is_end();
                }
                return Ok(None);
            }
            if is_older(timestamp, current.timestamp) {
                // A late packet (typically a retransmitted end) of an event already reported.
                return Ok(None);
            }
            if is_next_segment(current, timestamp, marker, &event) {
                *current = CurrentEvent {
                    digit: current.digit,
                    timestamp,
                    duration: event.duration(),
                    ended: event.is_end(),
                };
                return Ok(None);
            }
        }
        self.current = Some(CurrentEvent {
            digit: event.digit(),
            timestamp,
            duration: event.duration(),
            ended: event.is_end(),
        });
        Ok(Some(ReceivedDigit {
            digit: event.digit(),
            timestamp,
            volume: event.volume(),
        }))
    }

    /// Whether the last event seen has been ended by an E-bit packet.
    #[must_use]
    pub fn current_ended(&self) -> Option<bool> {
        self.current.map(|c| c.ended)
    }
}

/// RTP timestamps wrap; `a` is older than `b` when it lies in the half-range before it.
fn is_older(a: u32, b: u32) -> bool {
    (b.wrapping_sub(a) as i32) > 0
}

/// A long press continues in a new segment: same key, no marker (the marker is only on the
/// first segment), the previous segment not ended, and the new timestamp exactly where the
/// previous segment's duration ran out.
fn is_next_segment(
    current: &CurrentEvent,
    timestamp: u32,
    marker: bool,
    event: &TelephoneEvent,
) -> bool {
    !marker
        && !current.ended
        && event.digit() == current.digit
        && timestamp.wrapping_sub(current.timestamp) == u32::from(current.duration)
}
