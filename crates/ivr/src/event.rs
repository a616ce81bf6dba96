//! What the driver tells a call ([`Event`]) and what the call asks of the driver ([`Action`]).

/// Something that happened on the call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A DTMF key (RFC 4733 or SIP INFO). Characters that are not keys are ignored.
    Digit(char),
    /// The prompts of the latest [`Action::Play`] finished playing. The driver reports only the
    /// end of the latest Play, not of one stopped or replaced, so a completion is never taken
    /// for a newer playback.
    PlaybackDone,
    /// The caller hung up.
    CallerHangup,
}

/// What the driver should do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Play these prompts one after the other, replacing whatever is playing. When
    /// `interruptible`, the call stops it on a key (with [`Action::StopPlayback`]).
    Play {
        prompts: Vec<String>,
        interruptible: bool,
    },
    StopPlayback,
    /// Hand the call to the ACD's `group`; ring `also_ring` in parallel when given (remote seats
    /// answering alongside 12345).
    Queue {
        group: String,
        also_ring: Option<String>,
    },
    /// Transfer to a number or SIP URI.
    Transfer {
        to: String,
    },
    Hangup,
}
