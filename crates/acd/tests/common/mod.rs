//! The manual-clock driver the behaviour tests share: it owns an [`Acd`], a clock that only
//! moves when a test says so, and everything the engine asked for or reported, in order.
//! No sleeps, no threads: `progress(ms)` walks the clock from timer to timer.
#![allow(dead_code)]

use hotline_acd::{
    Acd, AcdConfig, AcdError, AgentConfig, AgentState, CallId, CallView, Caller, Command, Event,
    Millis, OfferFailure, QueueConfig,
};

pub const SEC: Millis = 1000;
pub const MIN: Millis = 60 * SEC;
pub const HOUR: Millis = 60 * MIN;

/// A queue with the shipped defaults, minus what would get in the way of a focused test:
/// no wrap-up, no max wait, no announcements.
pub fn queue(name: &str) -> QueueConfig {
    let mut q = QueueConfig::new(name);
    q.wrap_up_ms = 0;
    q.max_wait_ms = None;
    q.announce_first_ms = None;
    q
}

pub fn agent(id: &str, skills: &[(&str, u8)]) -> AgentConfig {
    AgentConfig {
        id: id.to_string(),
        name: format!("Agent {id}"),
        skills: skills.iter().map(|(s, l)| (s.to_string(), *l)).collect(),
    }
}

pub fn config(queues: Vec<QueueConfig>) -> AcdConfig {
    AcdConfig {
        queues,
        ..AcdConfig::default()
    }
}

pub struct Sim {
    pub acd: Acd,
    pub now: Millis,
    /// Every command the engine queued, in order (tests `take_commands()` what they checked).
    pub commands: Vec<Command>,
    pub events: Vec<Event>,
    next_number: u64,
}

impl Sim {
    pub fn new(cfg: AcdConfig, agents: Vec<AgentConfig>) -> Sim {
        Sim {
            acd: Acd::new(cfg, agents).expect("a valid configuration"),
            now: 0,
            commands: Vec::new(),
            events: Vec::new(),
            next_number: 0,
        }
    }

    /// Like `new`, with these agents logged in (ready) at time 0, in this order, each with a
    /// desktop that shows callback work items.
    pub fn with_ready(cfg: AcdConfig, agents: Vec<AgentConfig>) -> Sim {
        let ids: Vec<String> = agents.iter().map(|a| a.id.clone()).collect();
        let mut s = Sim::new(cfg, agents);
        for id in ids {
            s.acd.set_takes_callbacks(&id, true, 0).unwrap();
            s.login(&id);
        }
        s.take_commands();
        s.take_events();
        s
    }

    /// Collects what the engine queued since the last call.
    pub fn drain(&mut self) {
        while let Some(c) = self.acd.poll_command() {
            self.commands.push(c);
        }
        while let Some(e) = self.acd.poll_event() {
            self.events.push(e);
        }
    }

    /// Moves the clock `ms` forward, stopping at every timer on the way (as a driver's
    /// sleep-until-`poll_timeout` loop would) and running it at its due time.
    pub fn progress(&mut self, ms: Millis) {
        let end = self.now + ms;
        while let Some(t) = self.acd.poll_timeout() {
            if t > end {
                break;
            }
            self.now = self.now.max(t);
            self.acd.handle_timeout(self.now);
            self.drain();
        }
        self.now = end;
    }

    /// Moves the clock to `at` (absolute).
    pub fn progress_to(&mut self, at: Millis) {
        assert!(at >= self.now, "the clock does not go back");
        self.progress(at - self.now);
    }

    pub fn take_commands(&mut self) -> Vec<Command> {
        std::mem::take(&mut self.commands)
    }

    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// The (call, agent) of every Offer collected so far, consuming all commands.
    pub fn take_offers(&mut self) -> Vec<(CallId, String)> {
        offers(&self.take_commands())
    }

    // ----- the engine's calls, at the current time, drained -----

    /// A caller with a number of their own (never a repeat caller).
    pub fn call(&mut self, queue: &str) -> CallId {
        self.call_prio(queue, 0)
    }

    pub fn call_prio(&mut self, queue: &str, priority: u8) -> CallId {
        self.next_number += 1;
        let number = format!("1380000{:04}", self.next_number);
        self.enqueue(queue, &number, priority)
    }

    pub fn enqueue(&mut self, queue: &str, number: &str, priority: u8) -> CallId {
        let now = self.now;
        let id = self
            .acd
            .enqueue(
                queue,
                format!("tag-{number}-{now}"),
                Caller {
                    number: number.to_string(),
                    priority,
                },
                now,
            )
            .expect("the queue exists");
        self.drain();
        id
    }

    pub fn login(&mut self, agent: &str) {
        let now = self.now;
        self.acd.login(agent, now).expect("login");
        self.drain();
    }

    pub fn logout(&mut self, agent: &str) {
        let now = self.now;
        self.acd.logout(agent, now).expect("logout");
        self.drain();
    }

    pub fn ready(&mut self, agent: &str) {
        let now = self.now;
        self.acd.ready(agent, now).expect("ready");
        self.drain();
    }

    pub fn not_ready(&mut self, agent: &str, reason: &str) {
        let now = self.now;
        self.acd.not_ready(agent, reason, now).expect("not ready");
        self.drain();
    }

    pub fn answer(&mut self, call: CallId, agent: &str) -> Result<(), AcdError> {
        let now = self.now;
        let r = self.acd.answered(call, agent, now);
        self.drain();
        r
    }

    pub fn fail(&mut self, call: CallId, agent: &str, why: OfferFailure) -> Result<(), AcdError> {
        let now = self.now;
        let r = self.acd.offer_failed(call, agent, why, now);
        self.drain();
        r
    }

    pub fn hang_up(&mut self, call: CallId) -> Result<(), AcdError> {
        let now = self.now;
        let r = self.acd.hung_up(call, now);
        self.drain();
        r
    }

    /// Answers `call` at `agent` now, talks `talk_ms`, and hangs up.
    pub fn talk(&mut self, call: CallId, agent: &str, talk_ms: Millis) {
        self.answer(call, agent).expect("answered");
        self.progress(talk_ms);
        self.hang_up(call).expect("hung up");
    }

    // ----- what the engine shows -----

    pub fn state(&self, agent: &str) -> AgentState {
        self.acd.agent(agent, self.now).expect("an agent").state
    }

    pub fn view(&self, call: CallId) -> Option<CallView> {
        self.acd.call(call, self.now)
    }

    /// The agents `call` is ringing (empty when it is not offered).
    pub fn ringing(&self, call: CallId) -> Vec<String> {
        match self.view(call) {
            Some(v) if v.state == "offered" => v.agents,
            _ => Vec::new(),
        }
    }
}

pub fn offers(commands: &[Command]) -> Vec<(CallId, String)> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Offer { call, agent, .. } => Some((*call, agent.clone())),
            _ => None,
        })
        .collect()
}

pub fn cancels(commands: &[Command]) -> Vec<(CallId, String)> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Cancel { call, agent } => Some((*call, agent.clone())),
            _ => None,
        })
        .collect()
}

pub fn not_ready(reason: &str) -> AgentState {
    AgentState::NotReady {
        reason: reason.to_string(),
    }
}
