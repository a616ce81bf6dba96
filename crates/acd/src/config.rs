//! What the engine is told about queues and agents. The server builds these from
//! `config/hotline.toml` (`[acd]`, `[[queues]]`, `[[agents]]`); the checks here are the ones
//! that need the whole picture (an overflow target that is not a queue, a loop of overflows).

use crate::Millis;
use crate::error::AcdError;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// How a queue picks among the ready agents that may take a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Strategy {
    /// The agent idle the longest since their last call (app_queue `leastrecent`,
    /// mod_callcenter `longest-idle-agent`).
    LongestIdle,
    /// The agent who answered the fewest calls since logging in (`fewestcalls`).
    FewestCalls,
    /// The agent with the least talk time since logging in (`top-down` by talk time).
    LeastTalkTime,
    /// Round robin with memory: the next member after the last one offered (`rrmemory`).
    RoundRobin,
    /// The highest skill level first, longest idle among equals.
    SkillLevel,
    /// Every ready agent rings at once; the first to answer wins, the others are cancelled.
    RingAll,
}

impl Strategy {
    pub const ALL: [Strategy; 6] = [
        Strategy::LongestIdle,
        Strategy::FewestCalls,
        Strategy::LeastTalkTime,
        Strategy::RoundRobin,
        Strategy::SkillLevel,
        Strategy::RingAll,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Strategy::LongestIdle => "longest-idle",
            Strategy::FewestCalls => "fewest-calls",
            Strategy::LeastTalkTime => "least-talk-time",
            Strategy::RoundRobin => "round-robin",
            Strategy::SkillLevel => "skill-level",
            Strategy::RingAll => "ring-all",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Strategy::ALL
            .into_iter()
            .find(|x| x.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Strategy::ALL.iter().map(|x| x.name()).collect();
                format!("unknown strategy `{s}` (one of {})", names.join(", "))
            })
    }
}

/// What happens to a caller when a queue limit is reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "action", content = "queue")]
#[non_exhaustive]
pub enum LeaveAction {
    /// Stay in the queue (only meaningful when no agent is logged in: agents may come).
    Wait,
    /// Move to another queue, keeping the caller's place by arrival and priority.
    Overflow(String),
    /// The caller leaves a voice message; it stays in the queue as a callback work item.
    Message,
    /// The caller hangs up with a promise of a callback that keeps their place in the queue.
    Callback,
    /// Goodbye.
    Hangup,
}

impl FromStr for LeaveAction {
    type Err = String;
    /// `wait`, `message`, `callback`, `hangup` or `overflow:<queue>`.
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "wait" => LeaveAction::Wait,
            "message" => LeaveAction::Message,
            "callback" => LeaveAction::Callback,
            "hangup" => LeaveAction::Hangup,
            _ => match s.strip_prefix("overflow:") {
                Some(q) if !q.is_empty() => LeaveAction::Overflow(q.to_string()),
                _ => {
                    return Err(format!(
                        "unknown action `{s}` (wait, message, callback, hangup or overflow:<queue>)"
                    ));
                }
            },
        })
    }
}

impl fmt::Display for LeaveAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LeaveAction::Wait => f.write_str("wait"),
            LeaveAction::Overflow(q) => write!(f, "overflow:{q}"),
            LeaveAction::Message => f.write_str("message"),
            LeaveAction::Callback => f.write_str("callback"),
            LeaveAction::Hangup => f.write_str("hangup"),
        }
    }
}

/// One tier step: once a caller has waited `after_ms` in the queue, agents with at least
/// `min_level` in the queue's skill may take it. Steps relax (lower the level) with the wait,
/// like app_queue's penalty rules: the experts first, then everyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RelaxStep {
    pub after_ms: Millis,
    pub min_level: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    pub name: String,
    pub strategy: Strategy,
    /// The skill an agent needs (by default the queue's name).
    pub skill: String,
    /// Tier steps, in order of `after_ms`. Empty: any level, from the start.
    pub relax: Vec<RelaxStep>,
    pub ring_timeout_ms: Millis,
    /// After an agent failed to answer a call, that call is not offered to them again for this
    /// long (unless they are the only one left and the time passed).
    pub retry_ms: Millis,
    pub wrap_up_ms: Millis,
    /// This many ring-no-answers in a row set the agent not ready (0: never).
    pub max_no_answer: u32,
    pub max_wait_ms: Option<Millis>,
    pub on_timeout: LeaveAction,
    /// Live callers waiting at most (callback items do not count).
    pub max_len: Option<usize>,
    pub on_full: LeaveAction,
    /// When no agent with the skill is logged in (at arrival, or when the last one logs out).
    pub on_no_agents: LeaveAction,
    /// First announcement of position / estimated wait after this long (None: never).
    pub announce_first_ms: Option<Millis>,
    /// The minimum gap between two announcements to the same caller.
    pub announce_every_ms: Millis,
    pub announce_position: bool,
    pub announce_ewt: bool,
    /// The service level threshold (15 s by default).
    pub service_level_ms: Millis,
}

impl QueueConfig {
    /// A queue with the defaults of `config/hotline.toml`'s `[acd]`.
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        QueueConfig {
            skill: name.clone(),
            name,
            strategy: Strategy::LongestIdle,
            relax: Vec::new(),
            ring_timeout_ms: 20_000,
            retry_ms: 5_000,
            wrap_up_ms: 10_000,
            max_no_answer: 3,
            max_wait_ms: Some(300_000),
            on_timeout: LeaveAction::Callback,
            max_len: None,
            on_full: LeaveAction::Callback,
            on_no_agents: LeaveAction::Wait,
            announce_first_ms: Some(30_000),
            announce_every_ms: 60_000,
            announce_position: true,
            announce_ewt: true,
            service_level_ms: 15_000,
        }
    }

    /// The skill level needed of an agent for a call that has waited `waited` here.
    pub fn required_level(&self, waited: Millis) -> u8 {
        self.relax
            .iter()
            .take_while(|s| s.after_ms <= waited)
            .last()
            .map(|s| s.min_level)
            .unwrap_or(0)
    }

    /// When the next relax step after `waited` applies (relative to entering the queue).
    pub fn next_relax(&self, waited: Millis) -> Option<Millis> {
        self.relax
            .iter()
            .find(|s| s.after_ms > waited)
            .map(|s| s.after_ms)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentConfig {
    pub id: String,
    pub name: String,
    /// Skill name → level 1..=10 (higher is better).
    pub skills: Vec<(String, u8)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcdConfig {
    pub queues: Vec<QueueConfig>,
    /// A caller who called within this long is a repeat caller (48 h).
    pub repeat_window_ms: Millis,
    /// Added to a repeat caller's priority.
    pub repeat_priority: u8,
    /// Offer a repeat caller to the agent who answered them last, when that agent is ready.
    pub sticky: bool,
    /// The not-ready reason given to an agent set not ready for ring-no-answers.
    pub no_answer_reason: String,
}

impl Default for AcdConfig {
    fn default() -> Self {
        AcdConfig {
            queues: Vec::new(),
            repeat_window_ms: 48 * 3600 * 1000,
            repeat_priority: 1,
            sticky: true,
            no_answer_reason: "未应答".into(),
        }
    }
}

impl AcdConfig {
    /// The checks across queues: unique names, overflow targets that exist and do not loop,
    /// tier steps in order, levels in range.
    pub fn validate(&self) -> Result<(), AcdError> {
        let mut by_name = HashMap::new();
        for (i, q) in self.queues.iter().enumerate() {
            if q.name.is_empty() {
                return Err(AcdError::Config(format!("queues[{i}]: empty name")));
            }
            if by_name.insert(q.name.as_str(), i).is_some() {
                return Err(AcdError::Config(format!(
                    "queue `{}` defined twice",
                    q.name
                )));
            }
            if q.ring_timeout_ms == 0 {
                return Err(AcdError::Config(format!(
                    "queue `{}`: ring timeout must be above 0",
                    q.name
                )));
            }
            if q.announce_first_ms.is_some() && q.announce_every_ms == 0 {
                return Err(AcdError::Config(format!(
                    "queue `{}`: announcements need a gap above 0",
                    q.name
                )));
            }
            for w in q.relax.windows(2) {
                if w[1].after_ms <= w[0].after_ms {
                    return Err(AcdError::Config(format!(
                        "queue `{}`: relax steps must be in increasing order of time",
                        q.name
                    )));
                }
            }
            if q.relax.iter().any(|s| s.min_level > 10) {
                return Err(AcdError::Config(format!(
                    "queue `{}`: skill levels are 1..=10",
                    q.name
                )));
            }
        }
        for q in &self.queues {
            for a in [&q.on_timeout, &q.on_full, &q.on_no_agents] {
                if let LeaveAction::Overflow(t) = a {
                    if !by_name.contains_key(t.as_str()) {
                        return Err(AcdError::Config(format!(
                            "queue `{}`: overflow to `{t}`, which is not a queue",
                            q.name
                        )));
                    }
                    if t == &q.name {
                        return Err(AcdError::Config(format!(
                            "queue `{}`: overflow to itself",
                            q.name
                        )));
                    }
                }
            }
            if matches!(q.on_timeout, LeaveAction::Wait) && q.max_wait_ms.is_some() {
                return Err(AcdError::Config(format!(
                    "queue `{}`: on_timeout = wait would never end the wait",
                    q.name
                )));
            }
            if matches!(q.on_full, LeaveAction::Wait) && q.max_len.is_some() {
                return Err(AcdError::Config(format!(
                    "queue `{}`: on_full = wait would not limit the length",
                    q.name
                )));
            }
        }
        // Timeout overflows must not loop forever (a → b → a): each queue's wait ends.
        for q in &self.queues {
            let mut seen = vec![q.name.as_str()];
            let mut cur = q;
            while let LeaveAction::Overflow(t) = &cur.on_timeout {
                if seen.contains(&t.as_str()) {
                    return Err(AcdError::Config(format!(
                        "queues overflow in a loop on timeout: {} → {t}",
                        seen.join(" → ")
                    )));
                }
                seen.push(t);
                cur = &self.queues[by_name[t.as_str()]];
            }
        }
        // Overflows taken the moment a caller enters a queue (it is full, no agent is logged
        // in, or its max wait is 0) move the caller on without any time passing: a loop of
        // them (x full → y, y without agents → x) would bounce the caller for ever (a stack
        // overflow in the engine). Refuse any cycle among those edges.
        let at_entry = |q: &QueueConfig| -> Vec<usize> {
            let mut to = Vec::new();
            let mut edge = |a: &LeaveAction| {
                if let LeaveAction::Overflow(t) = a {
                    to.push(by_name[t.as_str()]);
                }
            };
            if q.max_len.is_some() {
                edge(&q.on_full);
            }
            edge(&q.on_no_agents);
            if q.max_wait_ms == Some(0) {
                edge(&q.on_timeout);
            }
            to
        };
        let edges: Vec<Vec<usize>> = self.queues.iter().map(at_entry).collect();
        // Depth-first, each queue finished once (0 new, 1 on the path, 2 done); the path
        // names the loop.
        fn find_loop(edges: &[Vec<usize>], mark: &mut [u8], path: &mut Vec<usize>) -> bool {
            let cur = *path.last().expect("a start");
            mark[cur] = 1;
            for &next in &edges[cur] {
                path.push(next);
                if mark[next] == 1 || (mark[next] == 0 && find_loop(edges, mark, path)) {
                    return true;
                }
                path.pop();
            }
            mark[cur] = 2;
            false
        }
        let mut mark = vec![0u8; self.queues.len()];
        for start in 0..self.queues.len() {
            let mut path = vec![start];
            if mark[start] == 0 && find_loop(&edges, &mut mark, &mut path) {
                let last = *path.last().expect("the loop's end");
                let from = path.iter().position(|&i| i == last).expect("on the path");
                let names: Vec<&str> = path[from..]
                    .iter()
                    .map(|&i| self.queues[i].name.as_str())
                    .collect();
                return Err(AcdError::Config(format!(
                    "queues overflow in a loop with no wait in between (full, no agents): {}",
                    names.join(" → ")
                )));
            }
        }
        Ok(())
    }
}
