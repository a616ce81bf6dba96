//! What the engine asks of its driver ([`Command`]) and tells its observers ([`Event`]).

use crate::agent::AgentState;
use crate::{CallId, Millis};
use serde::Serialize;

/// For the driver: each is about one call the driver owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "command", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Command {
    /// Ring `agent` for `call` (for a callback work item: show it to the agent). Report the
    /// outcome with [`crate::Acd::answered`] or [`crate::Acd::offer_failed`].
    Offer {
        call: CallId,
        agent: String,
        queue: String,
        callback: bool,
    },
    /// Stop ringing `agent` for `call` (another agent won, the caller left, the ring timed out).
    Cancel { call: CallId, agent: String },
    /// Tell the caller their place (1 = next) and the estimated wait, when known.
    Announce {
        call: CallId,
        position: usize,
        ewt_secs: Option<u64>,
    },
    /// The caller leaves the queue: play the message for `why` and hang up. With
    /// `LeaveWhy::…` and `message`/`callback`, the engine keeps the call as a callback item.
    Leave {
        call: CallId,
        action: String,
        why: LeaveWhy,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveWhy {
    Timeout,
    Full,
    NoAgents,
    /// The caller asked for a callback (a key while waiting).
    Requested,
    /// A supervisor moved the caller out.
    Supervisor,
    /// Answered outside the ACD (a line rung in parallel).
    Elsewhere,
}

/// For observers: the live event stream (agent desktop, wallboard, store, metrics).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    CallQueued {
        call: CallId,
        tag: String,
        queue: String,
        caller: String,
        priority: u8,
        repeat: bool,
    },
    CallOffered {
        call: CallId,
        queue: String,
        agent: String,
    },
    CallAnswered {
        call: CallId,
        queue: String,
        agent: String,
        wait_ms: Millis,
    },
    CallAbandoned {
        call: CallId,
        queue: String,
        wait_ms: Millis,
    },
    CallMoved {
        call: CallId,
        from: String,
        to: String,
    },
    CallLeft {
        call: CallId,
        queue: String,
        action: String,
        why: LeaveWhy,
    },
    /// A talk (or a callback work item) ended.
    CallEnded {
        call: CallId,
        queue: String,
        agent: String,
        talk_ms: Millis,
    },
    /// A caller's place kept as a callback work item (persist it).
    CallbackQueued {
        call: CallId,
        tag: String,
        queue: String,
        caller: String,
        priority: u8,
        message: bool,
    },
    /// The callback work item is done (remove it from storage).
    CallbackDone {
        call: CallId,
        tag: String,
        agent: String,
    },
    AgentState {
        agent: String,
        #[serde(flatten)]
        state: AgentState,
    },
}
