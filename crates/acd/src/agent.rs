//! Agent states and what observers see of an agent.

use crate::{CallId, Millis};
use serde::Serialize;
use std::fmt;

/// Where an agent is. Every transition is driven by a call into the engine (a dialog event,
/// the agent's or a supervisor's request, a timer), and each emits [`crate::Event::AgentState`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AgentState {
    LoggedOut,
    Ready,
    /// Not taking calls, with a reason code (小休, 就餐, 会议, 培训, 未应答…).
    NotReady {
        reason: String,
    },
    /// A call (or a callback work item) is offered and ringing.
    Reserved {
        call: CallId,
    },
    Talking {
        call: CallId,
    },
    /// After a call, for the queue's wrap-up time or until the agent ends it.
    WrapUp {
        until: Millis,
    },
}

impl AgentState {
    pub fn name(&self) -> &'static str {
        match self {
            AgentState::LoggedOut => "logged_out",
            AgentState::Ready => "ready",
            AgentState::NotReady { .. } => "not_ready",
            AgentState::Reserved { .. } => "reserved",
            AgentState::Talking { .. } => "talking",
            AgentState::WrapUp { .. } => "wrap_up",
        }
    }

    pub fn logged_in(&self) -> bool {
        !matches!(self, AgentState::LoggedOut)
    }
}

impl fmt::Display for AgentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentState::NotReady { reason } => write!(f, "not ready ({reason})"),
            AgentState::Reserved { call } => write!(f, "ringing for call {call}"),
            AgentState::Talking { call } => write!(f, "talking on call {call}"),
            s => f.write_str(&s.name().replace('_', " ")),
        }
    }
}

/// A snapshot of one agent for the API and wallboards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentView {
    pub id: String,
    pub name: String,
    #[serde(flatten)]
    pub state: AgentState,
    /// Milliseconds in the current state.
    pub in_state_ms: Millis,
    pub skills: Vec<(String, u8)>,
    /// Calls answered since login (fewest-calls' key).
    pub calls_answered: u64,
    /// Talk time since login (least-talk-time's key).
    pub talk_ms: Millis,
    pub no_answer_streak: u32,
    /// A state asked for while busy, taken when the call (and wrap-up) ends.
    pub pending: Option<String>,
    /// In wrap-up: the milliseconds left before the agent is ready again (the desktop's
    /// countdown; `until` itself is on the engine's clock, which a page cannot read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrap_up_left_ms: Option<Millis>,
}

/// The engine's record of an agent.
#[derive(Debug, Clone)]
pub(crate) struct Agent {
    pub id: String,
    pub name: String,
    pub skills: Vec<(String, u8)>,
    /// (queue index, level) for every queue whose skill the agent has.
    pub queues: Vec<(usize, u8)>,
    pub state: AgentState,
    pub since: Millis,
    /// When the agent last became free after a call (or logged in): longest-idle's key.
    pub idle_since: Millis,
    pub calls_answered: u64,
    pub talk_ms: Millis,
    pub no_answer_streak: u32,
    /// Not ready (Some(reason)) or log out (None inside) once the current call is over.
    pub pending: Option<Pending>,
    /// Bumped on every state change; timers carry it so a stale one is ignored.
    pub epoch: u64,
    /// When the current call was answered (talk time) or the wrap-up began.
    pub mark: Millis,
    /// The queue whose call the agent is on (its wrap-up time applies).
    pub last_queue: Option<usize>,
    /// Offered callback work items (an agent desktop is open).
    pub takes_callbacks: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pending {
    NotReady(String),
    LogOut,
}

impl Agent {
    pub fn view(&self, now: Millis) -> AgentView {
        AgentView {
            id: self.id.clone(),
            name: self.name.clone(),
            state: self.state.clone(),
            in_state_ms: now.saturating_sub(self.since),
            skills: self.skills.clone(),
            calls_answered: self.calls_answered,
            talk_ms: self.talk_ms,
            no_answer_streak: self.no_answer_streak,
            pending: self.pending.as_ref().map(|p| match p {
                Pending::NotReady(r) => format!("not_ready:{r}"),
                Pending::LogOut => "logged_out".into(),
            }),
            wrap_up_left_ms: match self.state {
                AgentState::WrapUp { until } => Some(until.saturating_sub(now)),
                _ => None,
            },
        }
    }
}
