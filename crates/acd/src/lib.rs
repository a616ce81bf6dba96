//! Automatic call distribution for the 12345 platform (requirements A2, A3): queues served by
//! agents with skills and levels, agent states with not-ready reasons, the distribution
//! strategies of Asterisk's app_queue and FreeSWITCH's mod_callcenter, skill tiers that relax
//! as a caller waits, caller priority (IVR flag, repeat caller), the sticky agent, per-queue
//! limits with overflow / message / callback, position and estimated-wait announcements,
//! ring timeouts with the no-answer rule, wrap-up, and live statistics.
//!
//! [`Acd`] is sans-IO, in the style of quinn-proto: the driver calls its methods with the time
//! of a monotonic clock in milliseconds, carries out the [`Command`]s it queues (ring an agent,
//! stop ringing one, play an announcement, let a caller leave), forwards the [`Event`]s to
//! observers (the WebSocket stream, the store, metrics) and calls [`Acd::handle_timeout`] at
//! [`Acd::poll_timeout`]. Nothing here reads a clock, opens a socket or spawns a thread.
//!
//! Invariant kept after every call into the engine: no waiting call has a ready agent that
//! could take it. That makes each decision local: a new waiting call looks at the ready agents
//! of its queue, an agent that becomes ready looks at the waiting calls of its queues.

mod agent;
mod announce;
mod config;
mod engine;
pub mod erlang;
mod error;
mod event;
mod stats;
mod timers;

pub use agent::{AgentState, AgentView};
pub use announce::{number_prompts, position_prompts};
pub use config::{AcdConfig, AgentConfig, LeaveAction, QueueConfig, RelaxStep, Strategy};
pub use engine::{Acd, CallId, CallView, Caller, OfferFailure, StateRequest};
pub use error::AcdError;
pub use event::{Command, Event, LeaveWhy};
pub use stats::{AgentCounts, Counters, QueueStats};

/// Milliseconds of the driver's monotonic clock.
pub type Millis = u64;
