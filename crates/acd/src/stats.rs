//! Queue statistics: counters kept as calls end their wait, and the live figures derived from
//! them. The formulas (also in docs/acd.md):
//!
//! - **service level** = answered within T / (answered + abandoned after T + left after T),
//!   T = the queue's `service_level_ms` (15 s). Callers who hang up within T are left out
//!   (they did not give the queue T to answer); callers overflowed to another queue count in
//!   that queue, not here. "Left" are those sent to a message, callback or goodbye by a limit.
//! - **abandon rate** = abandoned / (answered + abandoned + left), short abandons included.
//! - **ASA** (average speed of answer) = total wait of the answered / answered.
//! - **AHT** (average handle time) = (talk time + wrap-up time) / handled calls.

use crate::Millis;
use serde::{Deserialize, Serialize};

/// Per-queue counters since the last reset (the driver resets them daily and persists them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Counters {
    /// Calls that entered the queue (overflows in included).
    pub offered: u64,
    pub answered: u64,
    pub answered_in_sl: u64,
    pub abandoned: u64,
    /// Abandoned within the service-level threshold.
    pub abandoned_in_sl: u64,
    /// Sent away by a limit (timeout, full, no agents) or on request, to a message, a
    /// callback or goodbye.
    pub left: u64,
    pub left_in_sl: u64,
    pub overflowed_out: u64,
    pub callbacks: u64,
    pub messages: u64,
    pub wait_answered_ms: u64,
    pub wait_abandoned_ms: u64,
    /// Calls whose talk ended (their wrap-up counted when it ends).
    pub handled: u64,
    pub talk_ms: u64,
    pub wrap_ms: u64,
    /// Offers that rang out, were refused or failed.
    pub no_answers: u64,
}

impl Counters {
    pub fn add(&mut self, o: &Counters) {
        self.offered += o.offered;
        self.answered += o.answered;
        self.answered_in_sl += o.answered_in_sl;
        self.abandoned += o.abandoned;
        self.abandoned_in_sl += o.abandoned_in_sl;
        self.left += o.left;
        self.left_in_sl += o.left_in_sl;
        self.overflowed_out += o.overflowed_out;
        self.callbacks += o.callbacks;
        self.messages += o.messages;
        self.wait_answered_ms += o.wait_answered_ms;
        self.wait_abandoned_ms += o.wait_abandoned_ms;
        self.handled += o.handled;
        self.talk_ms += o.talk_ms;
        self.wrap_ms += o.wrap_ms;
        self.no_answers += o.no_answers;
    }

    /// Service level as a fraction (None before any call counts).
    pub fn service_level(&self) -> Option<f64> {
        // Saturating: counters come back from storage (restore_counters), and a stored set
        // that does not add up must not take the engine down with an overflow.
        let den = self.answered
            + self.abandoned.saturating_sub(self.abandoned_in_sl)
            + self.left.saturating_sub(self.left_in_sl);
        (den > 0).then(|| self.answered_in_sl as f64 / den as f64)
    }

    pub fn abandon_rate(&self) -> Option<f64> {
        let den = self.answered + self.abandoned + self.left;
        (den > 0).then(|| self.abandoned as f64 / den as f64)
    }

    pub fn asa_ms(&self) -> Option<f64> {
        (self.answered > 0).then(|| self.wait_answered_ms as f64 / self.answered as f64)
    }

    pub fn aht_ms(&self) -> Option<f64> {
        (self.handled > 0).then(|| (self.talk_ms + self.wrap_ms) as f64 / self.handled as f64)
    }
}

/// Agents of a queue (those with its skill) by state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AgentCounts {
    pub logged_out: u32,
    pub ready: u32,
    pub not_ready: u32,
    pub reserved: u32,
    pub talking: u32,
    pub wrap_up: u32,
}

impl AgentCounts {
    pub fn logged_in(&self) -> u32 {
        self.ready + self.not_ready + self.reserved + self.talking + self.wrap_up
    }
}

/// Live figures of one queue (or of all, with `queue = "*"`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueStats {
    pub queue: String,
    pub strategy: String,
    /// Live callers waiting or ringing an agent.
    pub waiting: usize,
    /// Callback work items keeping a place.
    pub callbacks_waiting: usize,
    pub longest_wait_ms: Millis,
    pub agents: AgentCounts,
    pub counters: Counters,
    pub service_level_secs: u64,
    pub service_level: Option<f64>,
    pub abandon_rate: Option<f64>,
    pub asa_ms: Option<f64>,
    pub aht_ms: Option<f64>,
}

impl QueueStats {
    pub(crate) fn derive(mut self) -> Self {
        self.service_level = self.counters.service_level();
        self.abandon_rate = self.counters.abandon_rate();
        self.asa_ms = self.counters.asa_ms();
        self.aht_ms = self.counters.aht_ms();
        self
    }
}
