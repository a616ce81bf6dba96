//! The engine's timers: an ordered set of (due, what). Entries are never removed early; each
//! carries the epoch of the call or agent it belongs to and is ignored when that has moved on,
//! so re-arming is a plain insert.

use crate::{CallId, Millis};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// The offer of `call` to agent index `agent` rings out.
    Offer {
        call: CallId,
        agent: usize,
        epoch: u64,
    },
    /// The caller's max wait in the queue it entered at `epoch`.
    MaxWait {
        call: CallId,
        epoch: u64,
    },
    /// A tier step or an agent's retry pause ended: try to route the call again.
    Reroute {
        call: CallId,
    },
    Announce {
        call: CallId,
        epoch: u64,
    },
    /// The wrap-up of agent index `agent` ends.
    WrapUp {
        agent: usize,
        epoch: u64,
    },
}

#[derive(Debug, Default)]
pub(crate) struct Timers {
    set: BTreeSet<(Millis, Timer)>,
}

impl Timers {
    pub fn at(&mut self, due: Millis, t: Timer) {
        self.set.insert((due, t));
    }

    pub fn next(&self) -> Option<Millis> {
        self.set.first().map(|(d, _)| *d)
    }

    /// The earliest timer due at or before `now`, left in place.
    pub fn peek_due(&self, now: Millis) -> Option<Timer> {
        match self.set.first() {
            Some((d, t)) if *d <= now => Some(*t),
            _ => None,
        }
    }

    /// Takes the earliest timer due at or before `now`.
    pub fn pop_due(&mut self, now: Millis) -> Option<Timer> {
        match self.set.first() {
            Some((d, _)) if *d <= now => self.set.pop_first().map(|(_, t)| t),
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.set.len()
    }
}
