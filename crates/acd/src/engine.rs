//! The distribution engine: queues of waiting calls, agents and their states, offers, timers.

use crate::Millis;
use crate::agent::{Agent, AgentState, AgentView, Pending};
use crate::config::{AcdConfig, AgentConfig, LeaveAction, QueueConfig, Strategy};
use crate::error::AcdError;
use crate::event::{Command, Event, LeaveWhy};
use crate::stats::{AgentCounts, Counters, QueueStats};
use crate::timers::{Timer, Timers};
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, VecDeque};

/// The engine's id for a call (or the callback work item that keeps a caller's place).
pub type CallId = u64;

/// Who is calling, as the IVR hands the call over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The caller's number (the repeat-caller key; empty or "anonymous" is never a repeat).
    pub number: String,
    /// 0 (normal) ..= 9; the IVR may raise it (an elderly-care line, a VIP flag).
    pub priority: u8,
}

/// Why an offer did not become a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OfferFailure {
    /// Rang out, or the phone did not answer in time (counts toward the no-answer rule).
    NoAnswer,
    /// 486/600: the phone is busy with something else (does not count).
    Busy,
    /// The agent declined (603, or a desktop's reject button): counts.
    Rejected,
    /// No registration, a transport error, 408/480: counts.
    Unreachable,
}

/// A state an agent or a supervisor asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateRequest {
    LoggedOut,
    Ready,
    NotReady(String),
}

/// A call as observers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallView {
    pub id: CallId,
    pub tag: String,
    pub queue: String,
    pub caller: String,
    pub priority: u8,
    /// waiting, offered, connected, or callback (a work item keeping its place).
    pub state: &'static str,
    pub agents: Vec<String>,
    /// In the current queue.
    pub waited_ms: Millis,
    pub position: Option<usize>,
    pub message: bool,
}

/// Waiting order: higher priority first, then arrival.
type Place = (Reverse<u8>, u64, CallId);

struct Queue {
    cfg: QueueConfig,
    /// (agent index, level) of every agent with the queue's skill, in configuration order.
    members: Vec<(usize, u8)>,
    /// Calls waiting for an agent and callback items, in serving order (offered and
    /// connected calls are not here).
    waiting: BTreeSet<Place>,
    /// Live callers here (waiting or ringing an agent): the max-length figure.
    live: usize,
    /// Round robin's memory: the member index to try first next time.
    rr_next: usize,
    counters: Counters,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum CallState {
    Waiting,
    Offered(Vec<usize>),
    Connected(usize),
}

struct Call {
    tag: String,
    number: String,
    priority: u8,
    queue: usize,
    /// Arrival order, kept across overflows and the switch to a callback.
    seq: u64,
    /// When the call entered its current queue.
    entered: Millis,
    state: CallState,
    /// Some(message?) once the caller left and the place is kept as a callback item.
    callback: Option<bool>,
    /// Bumped when the call changes queue or becomes a callback: its queue timers go stale.
    epoch: u64,
    /// Agents that failed to answer this call, not offered it again until the time given.
    tried: Vec<(usize, Millis)>,
    sticky: Option<usize>,
    /// The max wait passed while an agent was ringing: leave when that offer ends.
    timed_out: bool,
    answered_at: Millis,
    /// When the caller was last told their place: the gap holds across queues.
    announced_at: Option<Millis>,
}

impl Call {
    fn place(&self, id: CallId) -> Place {
        (Reverse(self.priority), self.seq, id)
    }

    fn live(&self) -> bool {
        self.callback.is_none()
    }

    /// Whether agent `a` is still barred from this call at `now`, and until when.
    fn barred(&self, a: usize, now: Millis) -> Option<Millis> {
        self.tried
            .iter()
            .find(|(x, until)| *x == a && *until > now)
            .map(|(_, until)| *until)
    }
}

/// The ACD. See the crate documentation for how a driver runs it.
pub struct Acd {
    cfg: AcdConfig,
    queues: Vec<Queue>,
    queue_index: HashMap<String, usize>,
    agents: Vec<Agent>,
    agent_index: HashMap<String, usize>,
    calls: HashMap<CallId, Call>,
    next_id: CallId,
    next_seq: u64,
    /// Caller number → (agent index, when answered): repeat callers and the sticky agent.
    recent: HashMap<String, (usize, Millis)>,
    recent_inserts: usize,
    timers: Timers,
    commands: VecDeque<Command>,
    events: VecDeque<Event>,
}

impl Acd {
    /// An engine with these queues and agents, every agent logged out.
    pub fn new(cfg: AcdConfig, agents: Vec<AgentConfig>) -> Result<Self, AcdError> {
        cfg.validate()?;
        let mut queue_index = HashMap::new();
        let mut queues = Vec::with_capacity(cfg.queues.len());
        for (i, q) in cfg.queues.iter().enumerate() {
            queue_index.insert(q.name.clone(), i);
            queues.push(Queue {
                cfg: q.clone(),
                members: Vec::new(),
                waiting: BTreeSet::new(),
                live: 0,
                rr_next: 0,
                counters: Counters::default(),
            });
        }
        let mut agent_index = HashMap::new();
        let mut list = Vec::with_capacity(agents.len());
        for (i, a) in agents.into_iter().enumerate() {
            if agent_index.insert(a.id.clone(), i).is_some() {
                return Err(AcdError::Config(format!("agent `{}` defined twice", a.id)));
            }
            if let Some((s, l)) = a.skills.iter().find(|(_, l)| !(1..=10).contains(l)) {
                return Err(AcdError::Config(format!(
                    "agent `{}`: skill `{s}` level {l} is outside 1..=10",
                    a.id
                )));
            }
            let mut member_of = Vec::new();
            for (qi, q) in queues.iter_mut().enumerate() {
                if let Some((_, level)) = a.skills.iter().find(|(s, _)| *s == q.cfg.skill) {
                    q.members.push((i, *level));
                    member_of.push((qi, *level));
                }
            }
            list.push(Agent {
                id: a.id,
                name: a.name,
                skills: a.skills,
                queues: member_of,
                state: AgentState::LoggedOut,
                since: 0,
                idle_since: 0,
                calls_answered: 0,
                talk_ms: 0,
                no_answer_streak: 0,
                pending: None,
                epoch: 0,
                mark: 0,
                last_queue: None,
                takes_callbacks: false,
            });
        }
        Ok(Acd {
            cfg,
            queues,
            queue_index,
            agents: list,
            agent_index,
            calls: HashMap::new(),
            next_id: 1,
            next_seq: 1,
            recent: HashMap::new(),
            recent_inserts: 0,
            timers: Timers::default(),
            commands: VecDeque::new(),
            events: VecDeque::new(),
        })
    }

    // ----- the driver's loop -----

    pub fn poll_command(&mut self) -> Option<Command> {
        self.commands.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Acd::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Millis> {
        self.timers.next()
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Millis) {
        while let Some(t) = self.timers.pop_due(now) {
            match t {
                Timer::Offer { call, agent, epoch } => {
                    // The offers of one call that ring out now (a ring-all's, all armed at the
                    // same instant) fail together and their agents are freed together: one by
                    // one, the first freed would be given the next ring-all caller alone.
                    let mut batch = vec![(agent, epoch)];
                    while let Some(Timer::Offer {
                        call: next,
                        agent,
                        epoch,
                    }) = self.timers.peek_due(now)
                        && next == call
                    {
                        self.timers.pop_due(now);
                        batch.push((agent, epoch));
                    }
                    let mut free = Vec::new();
                    for (agent, epoch) in batch {
                        let a = &self.agents[agent];
                        if a.epoch == epoch && a.state == (AgentState::Reserved { call }) {
                            self.commands.push_back(Command::Cancel {
                                call,
                                agent: a.id.clone(),
                            });
                            if let Ok(true) =
                                self.fail_offer(call, agent, OfferFailure::NoAnswer, now)
                            {
                                free.push(agent);
                            }
                        }
                    }
                    self.agents_free(&free, now);
                }
                Timer::MaxWait { call, epoch } => {
                    let Some(c) = self.calls.get_mut(&call) else {
                        continue;
                    };
                    if c.epoch != epoch || !c.live() {
                        continue;
                    }
                    match c.state {
                        CallState::Waiting => {
                            let action = self.queues[c.queue].cfg.on_timeout.clone();
                            self.leave(call, action, LeaveWhy::Timeout, now);
                        }
                        CallState::Offered(_) => c.timed_out = true,
                        CallState::Connected(_) => {}
                    }
                }
                Timer::Reroute { call } => self.route_call(call, now),
                Timer::Announce { call, epoch } => self.announce(call, epoch, now),
                Timer::WrapUp { agent, epoch } => {
                    let a = &self.agents[agent];
                    if a.epoch == epoch && matches!(a.state, AgentState::WrapUp { .. }) {
                        self.finish_wrap_up(agent, now);
                    }
                }
            }
        }
    }

    // ----- calls -----

    /// A caller enters `queue` (from the IVR). Limits apply at once: the returned call may
    /// already have a [`Command::Leave`] (or have moved, on overflow).
    pub fn enqueue(
        &mut self,
        queue: &str,
        tag: impl Into<String>,
        caller: Caller,
        now: Millis,
    ) -> Result<CallId, AcdError> {
        let qi = self.queue_idx(queue)?;
        let id = self.next_id;
        self.next_id += 1;
        let seq = self.next_seq;
        self.next_seq += 1;
        let mut priority = caller.priority.min(9);
        let mut sticky = None;
        let mut repeat = false;
        if let Some(agent) = self.recent_caller(&caller.number, now) {
            repeat = true;
            priority = priority.saturating_add(self.cfg.repeat_priority).min(9);
            if self.cfg.sticky {
                sticky = Some(agent);
            }
        }
        let tag = tag.into();
        self.events.push_back(Event::CallQueued {
            call: id,
            tag: tag.clone(),
            queue: queue.to_string(),
            caller: caller.number.clone(),
            priority,
            repeat,
        });
        self.calls.insert(
            id,
            Call {
                tag,
                number: caller.number,
                priority,
                queue: qi,
                seq,
                entered: now,
                state: CallState::Waiting,
                callback: None,
                epoch: 0,
                tried: Vec::new(),
                sticky,
                timed_out: false,
                answered_at: 0,
                announced_at: None,
            },
        );
        self.enter_queue(id, qi, now);
        Ok(id)
    }

    /// The agent answered the offer of `call`: they own it now (first contact, A3). Any
    /// other agent ringing for it is cancelled. `Err(AlreadyAnswered)`: another agent won,
    /// hang this answer up.
    pub fn answered(&mut self, call: CallId, agent: &str, now: Millis) -> Result<(), AcdError> {
        let a = self.agent_idx(agent)?;
        let c = self.calls.get_mut(&call).ok_or(AcdError::NoCall(call))?;
        let others = match &c.state {
            CallState::Offered(list) if list.contains(&a) => {
                list.iter().copied().filter(|x| *x != a).collect::<Vec<_>>()
            }
            CallState::Connected(w) if *w != a => return Err(AcdError::AlreadyAnswered(call)),
            _ => {
                return Err(AcdError::NotOffered {
                    call,
                    agent: agent.to_string(),
                });
            }
        };
        c.state = CallState::Connected(a);
        c.answered_at = now;
        let waited = now.saturating_sub(c.entered);
        let q = c.queue;
        let live = c.live();
        if !c.number.is_empty() && c.number != "anonymous" {
            self.recent.insert(c.number.clone(), (a, now));
            self.recent_inserts += 1;
            if self.recent_inserts >= 4096 {
                self.prune_recent(now);
            }
        }
        if live {
            let qu = &mut self.queues[q];
            qu.live -= 1;
            qu.counters.answered += 1;
            qu.counters.wait_answered_ms += waited;
            if waited <= qu.cfg.service_level_ms {
                qu.counters.answered_in_sl += 1;
            }
        }
        {
            let ag = &mut self.agents[a];
            ag.no_answer_streak = 0;
            ag.calls_answered += 1;
            ag.last_queue = Some(q);
            ag.mark = now;
        }
        self.set_state(a, AgentState::Talking { call }, now);
        self.events.push_back(Event::CallAnswered {
            call,
            queue: self.queues[q].cfg.name.clone(),
            agent: agent.to_string(),
            wait_ms: waited,
        });
        for &o in &others {
            self.commands.push_back(Command::Cancel {
                call,
                agent: self.agents[o].id.clone(),
            });
        }
        self.agents_free(&others, now);
        Ok(())
    }

    /// The offer of `call` to `agent` failed. The call goes back to its place (or on to the
    /// next agent); the agent may be set not ready by the no-answer rule.
    pub fn offer_failed(
        &mut self,
        call: CallId,
        agent: &str,
        why: OfferFailure,
        now: Millis,
    ) -> Result<(), AcdError> {
        let a = self.agent_idx(agent)?;
        if self.fail_offer(call, a, why, now)? {
            self.agent_free(a, now);
        }
        Ok(())
    }

    /// A failed offer, all but freeing the agent: true when the agent is to be freed (by the
    /// caller), false when the no-answer rule set them not ready.
    fn fail_offer(
        &mut self,
        call: CallId,
        a: usize,
        why: OfferFailure,
        now: Millis,
    ) -> Result<bool, AcdError> {
        let not_offered = || AcdError::NotOffered {
            call,
            agent: self.agents[a].id.clone(),
        };
        let c = self.calls.get_mut(&call).ok_or(AcdError::NoCall(call))?;
        let CallState::Offered(list) = &mut c.state else {
            return Err(not_offered());
        };
        let Some(pos) = list.iter().position(|x| *x == a) else {
            return Err(not_offered());
        };
        list.remove(pos);
        let none_left = list.is_empty();
        let q = c.queue;
        let retry = self.queues[q].cfg.retry_ms;
        c.tried.retain(|(x, _)| *x != a);
        c.tried.push((a, now + retry));
        self.queues[q].counters.no_answers += 1;
        if none_left {
            self.back_to_waiting(call, now);
        }
        let counts = !matches!(why, OfferFailure::Busy);
        let max = self.queues[q].cfg.max_no_answer;
        let ag = &mut self.agents[a];
        if counts {
            ag.no_answer_streak += 1;
        }
        if counts && max > 0 && ag.no_answer_streak >= max {
            ag.pending = match ag.pending.take() {
                Some(Pending::LogOut) => Some(Pending::LogOut),
                _ => None,
            };
            if ag.pending.is_some() {
                return Ok(true);
            }
            let reason = self.cfg.no_answer_reason.clone();
            self.set_state(a, AgentState::NotReady { reason }, now);
            return Ok(false);
        }
        Ok(true)
    }

    /// The caller hung up (while queued: abandoned), or the talk ended (the agent goes to
    /// wrap-up), or a callback work item was completed by its agent.
    pub fn hung_up(&mut self, call: CallId, now: Millis) -> Result<(), AcdError> {
        let c = self.calls.get(&call).ok_or(AcdError::NoCall(call))?;
        match c.state.clone() {
            CallState::Connected(a) => {
                let c = self.calls.remove(&call).expect("checked above");
                let talk = now.saturating_sub(c.answered_at);
                let qu = &mut self.queues[c.queue];
                qu.counters.handled += 1;
                qu.counters.talk_ms += talk;
                let wrap = qu.cfg.wrap_up_ms;
                let queue = qu.cfg.name.clone();
                self.agents[a].talk_ms += talk;
                let agent = self.agents[a].id.clone();
                self.events.push_back(Event::CallEnded {
                    call,
                    queue,
                    agent: agent.clone(),
                    talk_ms: talk,
                });
                if c.callback.is_some() {
                    self.events.push_back(Event::CallbackDone {
                        call,
                        tag: c.tag,
                        agent,
                    });
                }
                self.agents[a].mark = now;
                if wrap > 0 {
                    self.set_state(a, AgentState::WrapUp { until: now + wrap }, now);
                    let epoch = self.agents[a].epoch;
                    self.timers
                        .at(now + wrap, Timer::WrapUp { agent: a, epoch });
                } else {
                    self.finish_wrap_up(a, now);
                }
                Ok(())
            }
            _ if !c.live() => Err(AcdError::BadCallState {
                call,
                state: "a callback item with no caller on the line".into(),
            }),
            state => {
                let c = self.calls.remove(&call).expect("checked above");
                if state == CallState::Waiting {
                    self.queues[c.queue].waiting.remove(&c.place(call));
                }
                let waited = now.saturating_sub(c.entered);
                let qu = &mut self.queues[c.queue];
                qu.live -= 1;
                qu.counters.abandoned += 1;
                qu.counters.wait_abandoned_ms += waited;
                if waited <= qu.cfg.service_level_ms {
                    qu.counters.abandoned_in_sl += 1;
                }
                self.events.push_back(Event::CallAbandoned {
                    call,
                    queue: qu.cfg.name.clone(),
                    wait_ms: waited,
                });
                if let CallState::Offered(list) = state {
                    for &a in &list {
                        self.commands.push_back(Command::Cancel {
                            call,
                            agent: self.agents[a].id.clone(),
                        });
                    }
                    self.agents_free(&list, now);
                }
                Ok(())
            }
        }
    }

    /// A live caller still waiting (or ringing an agent): the calls that can leave the queue.
    fn check_caller_waiting(&self, call: CallId) -> Result<(), AcdError> {
        let c = self.calls.get(&call).ok_or(AcdError::NoCall(call))?;
        if !c.live() || matches!(c.state, CallState::Connected(_)) {
            return Err(AcdError::BadCallState {
                call,
                state: self.call_state_name(c).into(),
            });
        }
        Ok(())
    }

    /// The caller was answered outside the ACD (a remote seat or utility line rung in
    /// parallel, 双线并行): out of the queue without counting as answered or abandoned here
    /// (counted as overflowed out); ringing agents are cancelled.
    pub fn answered_elsewhere(&mut self, call: CallId, now: Millis) -> Result<(), AcdError> {
        self.check_caller_waiting(call)?;
        let freed = self.take_back_offers(call);
        let c = self.calls.remove(&call).expect("checked above");
        let qu = &mut self.queues[c.queue];
        qu.waiting.remove(&c.place(call));
        qu.live -= 1;
        qu.counters.overflowed_out += 1;
        self.events.push_back(Event::CallLeft {
            call,
            queue: qu.cfg.name.clone(),
            action: "answered-elsewhere".into(),
            why: LeaveWhy::Elsewhere,
        });
        self.free_reserved(call, freed, now);
        Ok(())
    }

    /// The caller asked for a callback (a key while waiting): they hang up and their place
    /// is kept as a callback work item.
    pub fn request_callback(&mut self, call: CallId, now: Millis) -> Result<(), AcdError> {
        self.check_caller_waiting(call)?;
        let freed = self.take_back_offers(call);
        self.leave(call, LeaveAction::Callback, LeaveWhy::Requested, now);
        self.free_reserved(call, freed, now);
        Ok(())
    }

    /// A supervisor moves a waiting caller (or callback item) to another queue; it keeps its
    /// place by arrival and priority there.
    pub fn move_call(&mut self, call: CallId, queue: &str, now: Millis) -> Result<(), AcdError> {
        let to = self.queue_idx(queue)?;
        let c = self.calls.get(&call).ok_or(AcdError::NoCall(call))?;
        if matches!(c.state, CallState::Connected(_)) {
            return Err(AcdError::BadCallState {
                call,
                state: "connected to an agent".into(),
            });
        }
        if c.queue == to {
            return Ok(());
        }
        let freed = self.take_back_offers(call);
        self.move_to(call, to, now);
        self.free_reserved(call, freed, now);
        Ok(())
    }

    /// A supervisor sets a waiting caller's priority (0..=9).
    pub fn set_priority(
        &mut self,
        call: CallId,
        priority: u8,
        now: Millis,
    ) -> Result<(), AcdError> {
        let c = self.calls.get_mut(&call).ok_or(AcdError::NoCall(call))?;
        let waiting = c.state == CallState::Waiting;
        let q = c.queue;
        let old = c.place(call);
        c.priority = priority.min(9);
        let new = c.place(call);
        if waiting {
            let w = &mut self.queues[q].waiting;
            w.remove(&old);
            w.insert(new);
            self.route_call(call, now);
        }
        Ok(())
    }

    // ----- agents -----

    /// Whether the agent is offered callback work items (an agent desktop shows them; a bare
    /// SIP phone cannot, so its agent is never offered one).
    pub fn set_takes_callbacks(
        &mut self,
        agent: &str,
        on: bool,
        now: Millis,
    ) -> Result<(), AcdError> {
        let a = self.agent_idx(agent)?;
        let was = std::mem::replace(&mut self.agents[a].takes_callbacks, on);
        if on && !was {
            self.route_agent(a, now);
        }
        Ok(())
    }

    pub fn login(&mut self, agent: &str, now: Millis) -> Result<(), AcdError> {
        let a = self.agent_idx(agent)?;
        if self.agents[a].state == AgentState::LoggedOut {
            self.log_in(a, AgentState::Ready, now);
            self.route_agent(a, now);
        } else if self.agents[a].pending == Some(Pending::LogOut) {
            self.agents[a].pending = None;
        }
        Ok(())
    }

    /// Logs out now, or when the current call (and wrap-up) ends. A ringing offer is
    /// withdrawn without counting as a no-answer.
    pub fn logout(&mut self, agent: &str, now: Millis) -> Result<(), AcdError> {
        let a = self.agent_idx(agent)?;
        match self.agents[a].state.clone() {
            AgentState::LoggedOut => {}
            AgentState::Talking { .. } => self.agents[a].pending = Some(Pending::LogOut),
            AgentState::Reserved { call } => {
                self.withdraw_offer(call, a, now);
                self.do_logout(a, now);
            }
            AgentState::WrapUp { .. } => {
                self.count_wrap_up(a, now);
                self.do_logout(a, now);
            }
            AgentState::Ready | AgentState::NotReady { .. } => self.do_logout(a, now),
        }
        Ok(())
    }

    pub fn ready(&mut self, agent: &str, now: Millis) -> Result<(), AcdError> {
        let a = self.agent_idx(agent)?;
        match self.agents[a].state.clone() {
            AgentState::LoggedOut => return self.login(agent, now),
            AgentState::Ready => {}
            AgentState::NotReady { .. } => {
                self.agents[a].no_answer_streak = 0;
                self.set_state(a, AgentState::Ready, now);
                self.route_agent(a, now);
            }
            AgentState::WrapUp { .. } => {
                self.agents[a].pending = None;
                self.finish_wrap_up(a, now);
            }
            AgentState::Reserved { .. } | AgentState::Talking { .. } => {
                self.agents[a].pending = None;
            }
        }
        Ok(())
    }

    /// Not ready with `reason` now, or after the current call when talking. A ringing offer
    /// is withdrawn (the call goes on to another agent).
    pub fn not_ready(&mut self, agent: &str, reason: &str, now: Millis) -> Result<(), AcdError> {
        let a = self.agent_idx(agent)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(AcdError::NoReason);
        }
        let to = AgentState::NotReady {
            reason: reason.to_string(),
        };
        let state = self.agents[a].state.clone();
        if !matches!(state, AgentState::LoggedOut | AgentState::Talking { .. }) {
            // This request is the latest word: a logout or not-ready asked for during the call
            // and still pending in its wrap-up must not fire after the agent's next call.
            self.agents[a].pending = None;
        }
        match state {
            AgentState::LoggedOut => {
                return Err(AcdError::BadState {
                    agent: agent.to_string(),
                    state: "logged out".into(),
                });
            }
            AgentState::Talking { .. } => {
                self.agents[a].pending = Some(Pending::NotReady(reason.to_string()))
            }
            AgentState::Reserved { call } => {
                self.withdraw_offer(call, a, now);
                self.set_state(a, to, now);
            }
            AgentState::WrapUp { .. } => {
                self.count_wrap_up(a, now);
                self.set_state(a, to, now);
            }
            AgentState::Ready | AgentState::NotReady { .. } => self.set_state(a, to, now),
        }
        Ok(())
    }

    /// Ends wrap-up early: the agent is ready (or takes a state asked for meanwhile).
    pub fn end_wrap_up(&mut self, agent: &str, now: Millis) -> Result<(), AcdError> {
        let a = self.agent_idx(agent)?;
        if !matches!(self.agents[a].state, AgentState::WrapUp { .. }) {
            return Err(AcdError::BadState {
                agent: agent.to_string(),
                state: self.agents[a].state.to_string(),
            });
        }
        self.finish_wrap_up(a, now);
        Ok(())
    }

    /// A supervisor (or the agent) asks for a state.
    pub fn request_state(
        &mut self,
        agent: &str,
        req: StateRequest,
        now: Millis,
    ) -> Result<(), AcdError> {
        match req {
            StateRequest::LoggedOut => self.logout(agent, now),
            StateRequest::Ready => self.ready(agent, now),
            StateRequest::NotReady(r) => {
                let a = self.agent_idx(agent)?;
                if self.agents[a].state != AgentState::LoggedOut {
                    return self.not_ready(agent, &r, now);
                }
                let reason = r.trim();
                if reason.is_empty() {
                    return Err(AcdError::NoReason);
                }
                // Logged in straight to not ready: through ready (login) the agent would be
                // rung for a waiting call and cancelled at once, on every restore after a
                // restart.
                let to = AgentState::NotReady {
                    reason: reason.to_string(),
                };
                self.log_in(a, to, now);
                Ok(())
            }
        }
    }

    /// The agent's phone is gone (registration expired, OPTIONS unanswered): logged out,
    /// after the current call if one is up (that call ends by its own BYE or RTP timeout).
    /// Returns whether the agent was logged in.
    pub fn agent_unreachable(&mut self, agent: &str, now: Millis) -> Result<bool, AcdError> {
        let a = self.agent_idx(agent)?;
        let was = self.agents[a].state.logged_in();
        self.logout(agent, now)?;
        Ok(was)
    }

    // ----- restoring after a restart -----

    /// An agent's state as stored (busy states are not stored: a restart ends calls).
    pub fn restore_agent(
        &mut self,
        agent: &str,
        req: StateRequest,
        now: Millis,
    ) -> Result<(), AcdError> {
        self.request_state(agent, req, now)
    }

    /// A stored callback item, re-queued in the order restored (restore oldest first).
    pub fn restore_callback(
        &mut self,
        queue: &str,
        tag: impl Into<String>,
        number: &str,
        priority: u8,
        message: bool,
        now: Millis,
    ) -> Result<CallId, AcdError> {
        let qi = self.queue_idx(queue)?;
        let id = self.next_id;
        self.next_id += 1;
        let seq = self.next_seq;
        self.next_seq += 1;
        let call = Call {
            tag: tag.into(),
            number: number.to_string(),
            priority: priority.min(9),
            queue: qi,
            seq,
            entered: now,
            state: CallState::Waiting,
            callback: Some(message),
            epoch: 0,
            tried: Vec::new(),
            sticky: None,
            timed_out: false,
            answered_at: 0,
            announced_at: None,
        };
        self.queues[qi].waiting.insert(call.place(id));
        self.calls.insert(id, call);
        self.arm_relax(id, qi, now, now);
        self.route_call(id, now);
        Ok(id)
    }

    /// A caller answered by `agent` `age_ms` ago (from the call records), for the
    /// repeat-caller rule and the sticky agent.
    pub fn restore_recent(&mut self, number: &str, agent: &str, age_ms: Millis, now: Millis) {
        if let Some(&a) = self.agent_index.get(agent)
            && age_ms < self.cfg.repeat_window_ms
        {
            self.recent
                .insert(number.to_string(), (a, now.saturating_sub(age_ms)));
        }
    }

    pub fn restore_counters(&mut self, queue: &str, counters: Counters) -> Result<(), AcdError> {
        let qi = self.queue_idx(queue)?;
        self.queues[qi].counters = counters;
        Ok(())
    }

    /// Starts a new statistics period (the driver does it at midnight), returning the old.
    pub fn reset_counters(&mut self) -> Vec<(String, Counters)> {
        self.queues
            .iter_mut()
            .map(|q| (q.cfg.name.clone(), std::mem::take(&mut q.counters)))
            .collect()
    }

    // ----- views -----

    pub fn agent(&self, id: &str, now: Millis) -> Option<AgentView> {
        self.agent_index.get(id).map(|&a| self.agents[a].view(now))
    }

    pub fn agents(&self, now: Millis) -> Vec<AgentView> {
        self.agents.iter().map(|a| a.view(now)).collect()
    }

    pub fn queue_names(&self) -> impl Iterator<Item = &str> {
        self.queues.iter().map(|q| q.cfg.name.as_str())
    }

    pub fn has_queue(&self, name: &str) -> bool {
        self.queue_index.contains_key(name)
    }

    pub fn counters(&self) -> Vec<(String, Counters)> {
        self.queues
            .iter()
            .map(|q| (q.cfg.name.clone(), q.counters.clone()))
            .collect()
    }

    pub fn call(&self, id: CallId, now: Millis) -> Option<CallView> {
        let c = self.calls.get(&id)?;
        let q = &self.queues[c.queue];
        let position =
            (c.state == CallState::Waiting).then(|| q.waiting.range(..c.place(id)).count() + 1);
        Some(self.view_of(id, c, position, now))
    }

    pub fn calls(&self, now: Millis) -> Vec<CallView> {
        // Each queue's places in one walk: counting the ones ahead call by call made a
        // snapshot quadratic (5,000 waiting callers: ~12 million steps).
        let mut positions: HashMap<CallId, usize> = HashMap::with_capacity(self.calls.len());
        for q in &self.queues {
            for (i, place) in q.waiting.iter().enumerate() {
                positions.insert(place.2, i + 1);
            }
        }
        let mut ids: Vec<_> = self.calls.keys().copied().collect();
        ids.sort_unstable();
        ids.into_iter()
            .map(|id| {
                let c = &self.calls[&id];
                let position = (c.state == CallState::Waiting).then(|| positions[&id]);
                self.view_of(id, c, position, now)
            })
            .collect()
    }

    fn view_of(&self, id: CallId, c: &Call, position: Option<usize>, now: Millis) -> CallView {
        let agents = match &c.state {
            CallState::Offered(l) => l.iter().map(|a| self.agents[*a].id.clone()).collect(),
            CallState::Connected(a) => vec![self.agents[*a].id.clone()],
            CallState::Waiting => Vec::new(),
        };
        CallView {
            id,
            tag: c.tag.clone(),
            queue: self.queues[c.queue].cfg.name.clone(),
            caller: c.number.clone(),
            priority: c.priority,
            state: self.call_state_name(c),
            agents,
            waited_ms: now.saturating_sub(c.entered),
            position,
            message: c.callback == Some(true),
        }
    }

    /// Number of calls and callback items the engine holds.
    pub fn call_count(&self) -> usize {
        self.calls.len()
    }

    /// Timers outstanding (stale ones included until they pass).
    pub fn timer_count(&self) -> usize {
        self.timers.len()
    }

    pub fn queue_stats(&self, queue: &str, now: Millis) -> Option<QueueStats> {
        let &qi = self.queue_index.get(queue)?;
        Some(self.stats_of(qi, now))
    }

    /// Every queue's figures, then the overall ones (`queue = "*"`; agents counted once).
    pub fn all_stats(&self, now: Millis) -> (Vec<QueueStats>, QueueStats) {
        let per: Vec<_> = (0..self.queues.len())
            .map(|q| self.stats_of(q, now))
            .collect();
        let mut counters = Counters::default();
        let mut waiting = 0;
        let mut callbacks = 0;
        let mut longest = 0;
        for s in &per {
            counters.add(&s.counters);
            waiting += s.waiting;
            callbacks += s.callbacks_waiting;
            longest = longest.max(s.longest_wait_ms);
        }
        let mut agents = AgentCounts::default();
        for a in &self.agents {
            count_state(&mut agents, &a.state);
        }
        let sl = self
            .queues
            .first()
            .map(|q| q.cfg.service_level_ms / 1000)
            .unwrap_or(15);
        let overall = QueueStats {
            queue: "*".into(),
            strategy: String::new(),
            waiting,
            callbacks_waiting: callbacks,
            longest_wait_ms: longest,
            agents,
            counters,
            service_level_secs: sl,
            service_level: None,
            abandon_rate: None,
            asa_ms: None,
            aht_ms: None,
        }
        .derive();
        (per, overall)
    }

    // ----- internals -----

    fn queue_idx(&self, name: &str) -> Result<usize, AcdError> {
        self.queue_index
            .get(name)
            .copied()
            .ok_or_else(|| AcdError::NoQueue(name.to_string()))
    }

    fn agent_idx(&self, id: &str) -> Result<usize, AcdError> {
        self.agent_index
            .get(id)
            .copied()
            .ok_or_else(|| AcdError::NoAgent(id.to_string()))
    }

    fn call_state_name(&self, c: &Call) -> &'static str {
        match (&c.state, c.callback) {
            (CallState::Connected(_), _) => "connected",
            (CallState::Offered(_), _) => "offered",
            (CallState::Waiting, Some(_)) => "callback",
            (CallState::Waiting, None) => "waiting",
        }
    }

    /// The agent who last answered `number` within the repeat window.
    fn recent_caller(&self, number: &str, now: Millis) -> Option<usize> {
        if number.is_empty() || number == "anonymous" {
            return None;
        }
        let &(a, at) = self.recent.get(number)?;
        (now.saturating_sub(at) < self.cfg.repeat_window_ms).then_some(a)
    }

    fn prune_recent(&mut self, now: Millis) {
        let window = self.cfg.repeat_window_ms;
        self.recent
            .retain(|_, (_, at)| now.saturating_sub(*at) < window);
        self.recent_inserts = 0;
    }

    /// A logged-out agent starts a session in `state` (not routed here).
    fn log_in(&mut self, a: usize, state: AgentState, now: Millis) {
        let ag = &mut self.agents[a];
        ag.idle_since = now;
        ag.no_answer_streak = 0;
        ag.pending = None;
        // fewest-calls and least-talk-time count since login (docs/acd.md, `Strategy`): an
        // agent back from a logout must not carry the morning's figures, nor be passed over
        // for them until everyone else catches up.
        ag.calls_answered = 0;
        ag.talk_ms = 0;
        self.set_state(a, state, now);
    }

    fn set_state(&mut self, a: usize, state: AgentState, now: Millis) {
        let ag = &mut self.agents[a];
        ag.state = state.clone();
        ag.since = now;
        ag.epoch += 1;
        self.events.push_back(Event::AgentState {
            agent: ag.id.clone(),
            state,
        });
    }

    /// An agent whose offer or call is over: the pending state, or ready (and routed).
    fn agent_free(&mut self, a: usize, now: Millis) {
        if self.take_free_state(a, now) {
            self.route_agent(a, now);
        }
    }

    /// The agent takes the pending state, or ready; true when ready (not yet routed).
    fn take_free_state(&mut self, a: usize, now: Millis) -> bool {
        match self.agents[a].pending.take() {
            Some(Pending::NotReady(reason)) => {
                self.set_state(a, AgentState::NotReady { reason }, now);
                false
            }
            Some(Pending::LogOut) => {
                self.do_logout(a, now);
                false
            }
            None => {
                self.set_state(a, AgentState::Ready, now);
                true
            }
        }
    }

    /// Agents freed together (the others a won ring-all call rang, every agent a call rang
    /// when it went away). All take their next state first, and only then do the ready ones
    /// look for waiting calls: freed one by one, the first would be given the next waiting
    /// call alone while the rest were still reserved — a ring-all call would ring one agent
    /// instead of all of them, and other strategies could not choose among them.
    fn agents_free(&mut self, list: &[usize], now: Millis) {
        let ready: Vec<usize> = list
            .iter()
            .copied()
            .filter(|&a| self.take_free_state(a, now))
            .collect();
        if let [a] = ready[..] {
            return self.route_agent(a, now);
        }
        for a in ready {
            // The call this agent may take goes to whichever ready agent its queue's strategy
            // picks (this one may take it: it is one of them); then look again.
            while self.agents[a].state == AgentState::Ready {
                let Some(id) = self.call_for(a, now) else {
                    break;
                };
                self.route_call(id, now);
                if self
                    .calls
                    .get(&id)
                    .is_some_and(|c| c.state == CallState::Waiting)
                {
                    break;
                }
            }
        }
    }

    fn count_wrap_up(&mut self, a: usize, now: Millis) {
        let ag = &mut self.agents[a];
        if let Some(q) = ag.last_queue {
            self.queues[q].counters.wrap_ms += now.saturating_sub(ag.mark);
        }
        ag.idle_since = now;
    }

    fn finish_wrap_up(&mut self, a: usize, now: Millis) {
        self.count_wrap_up(a, now);
        self.agent_free(a, now);
    }

    fn do_logout(&mut self, a: usize, now: Millis) {
        self.agents[a].pending = None;
        self.set_state(a, AgentState::LoggedOut, now);
        // The last agent of a queue gone: its callers take the no-agents action.
        let queues: Vec<usize> = self.agents[a].queues.iter().map(|(q, _)| *q).collect();
        for q in queues {
            let qu = &self.queues[q];
            if matches!(qu.cfg.on_no_agents, LeaveAction::Wait) || self.any_logged_in(q) {
                continue;
            }
            let action = qu.cfg.on_no_agents.clone();
            let live: Vec<CallId> = qu
                .waiting
                .iter()
                .map(|p| p.2)
                .filter(|id| self.calls[id].live())
                .collect();
            for id in live {
                self.leave(id, action.clone(), LeaveWhy::NoAgents, now);
            }
        }
    }

    fn any_logged_in(&self, q: usize) -> bool {
        self.queues[q]
            .members
            .iter()
            .any(|(a, _)| self.agents[*a].state.logged_in())
    }

    /// Puts the call into queue `q` (arrival or overflow): limits, timers, then routing.
    fn enter_queue(&mut self, id: CallId, q: usize, now: Millis) {
        let c = self.calls.get_mut(&id).expect("caller checked");
        c.queue = q;
        c.entered = now;
        c.epoch += 1;
        c.state = CallState::Waiting;
        c.timed_out = false;
        let epoch = c.epoch;
        let place = c.place(id);
        let qu = &mut self.queues[q];
        qu.counters.offered += 1;
        if let Some(max) = qu.cfg.max_len
            && qu.live >= max
        {
            // Full: the call was never in the line.
            qu.live += 1;
            qu.waiting.insert(place);
            let action = qu.cfg.on_full.clone();
            self.leave(id, action, LeaveWhy::Full, now);
            return;
        }
        qu.live += 1;
        qu.waiting.insert(place);
        if !matches!(qu.cfg.on_no_agents, LeaveAction::Wait) && !self.any_logged_in(q) {
            let action = self.queues[q].cfg.on_no_agents.clone();
            self.leave(id, action, LeaveWhy::NoAgents, now);
            return;
        }
        let cfg = &self.queues[q].cfg;
        if let Some(max) = cfg.max_wait_ms {
            self.timers
                .at(now + max, Timer::MaxWait { call: id, epoch });
        }
        if let Some(first) = cfg.announce_first_ms {
            self.timers
                .at(now + first, Timer::Announce { call: id, epoch });
        }
        self.arm_relax(id, q, now, now);
        self.route_call(id, now);
    }

    /// Re-routes the call at each of queue `q`'s tier steps still ahead, counted from
    /// `entered` (when it entered `q`). Every way into a queue needs this, callback items
    /// included, or a call waiting for a lower tier is never looked at again while the agents
    /// it may now have sit ready. Arming a step twice is harmless (the same timer).
    fn arm_relax(&mut self, id: CallId, q: usize, entered: Millis, now: Millis) {
        for step in &self.queues[q].cfg.relax {
            if entered + step.after_ms > now {
                self.timers
                    .at(entered + step.after_ms, Timer::Reroute { call: id });
            }
        }
    }

    /// A limit (or the caller) sends the call away.
    fn leave(&mut self, id: CallId, action: LeaveAction, why: LeaveWhy, now: Millis) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        let q = c.queue;
        let entered = c.entered;
        let waited = now.saturating_sub(entered);
        match action {
            LeaveAction::Wait => {}
            LeaveAction::Overflow(to) => {
                let Some(&to) = self.queue_index.get(&to) else {
                    return;
                };
                self.queues[q].counters.overflowed_out += 1;
                self.move_to(id, to, now);
            }
            LeaveAction::Callback | LeaveAction::Message | LeaveAction::Hangup => {
                let message = matches!(action, LeaveAction::Message);
                let keep = !matches!(action, LeaveAction::Hangup);
                c.epoch += 1;
                let tag = c.tag.clone();
                let number = c.number.clone();
                let priority = c.priority;
                let qu = &mut self.queues[q];
                qu.live -= 1;
                qu.counters.left += 1;
                if waited <= qu.cfg.service_level_ms {
                    qu.counters.left_in_sl += 1;
                }
                let queue = qu.cfg.name.clone();
                self.commands.push_back(Command::Leave {
                    call: id,
                    action: action.to_string(),
                    why,
                });
                self.events.push_back(Event::CallLeft {
                    call: id,
                    queue: queue.clone(),
                    action: action.to_string(),
                    why,
                });
                if keep {
                    if message {
                        qu.counters.messages += 1;
                    } else {
                        qu.counters.callbacks += 1;
                    }
                    c.callback = Some(message);
                    // A max wait that passed while an agent rang was the caller's; the caller
                    // is gone now. Left set, the item's own failed offer would send it "away"
                    // a second time (and take it off the live count twice).
                    c.timed_out = false;
                    self.events.push_back(Event::CallbackQueued {
                        call: id,
                        tag,
                        queue,
                        caller: number,
                        priority,
                        message,
                    });
                    // Sent here at once on arrival (full, no agents), the item has no tier
                    // steps armed yet.
                    self.arm_relax(id, q, entered, now);
                    self.route_call(id, now);
                } else {
                    let c = self.calls.remove(&id).expect("present");
                    self.queues[q].waiting.remove(&c.place(id));
                }
            }
        }
    }

    fn move_to(&mut self, id: CallId, to: usize, now: Millis) {
        let c = &self.calls[&id];
        let from = c.queue;
        let place = c.place(id);
        let live = c.live();
        let qf = &mut self.queues[from];
        qf.waiting.remove(&place);
        if live {
            qf.live -= 1;
        }
        self.events.push_back(Event::CallMoved {
            call: id,
            from: self.queues[from].cfg.name.clone(),
            to: self.queues[to].cfg.name.clone(),
        });
        if live {
            self.enter_queue(id, to, now);
        } else {
            let c = self.calls.get_mut(&id).expect("present");
            c.queue = to;
            c.entered = now;
            self.queues[to].waiting.insert(place);
            self.arm_relax(id, to, now, now);
            self.route_call(id, now);
        }
    }

    /// Takes back every ringing offer of a call without counting it against the agents: the
    /// call is back in its place (not routed), the agents still reserved. The caller moves
    /// the call on, then frees the agents with [`Acd::free_reserved`].
    fn take_back_offers(&mut self, id: CallId) -> Vec<usize> {
        let Some(c) = self.calls.get_mut(&id) else {
            return Vec::new();
        };
        let CallState::Offered(list) = std::mem::replace(&mut c.state, CallState::Waiting) else {
            return Vec::new();
        };
        self.queues[c.queue].waiting.insert(c.place(id));
        for &a in &list {
            self.commands.push_back(Command::Cancel {
                call: id,
                agent: self.agents[a].id.clone(),
            });
        }
        list
    }

    fn free_reserved(&mut self, id: CallId, mut agents: Vec<usize>, now: Millis) {
        agents.retain(|&a| self.agents[a].state == (AgentState::Reserved { call: id }));
        self.agents_free(&agents, now);
    }

    /// Takes back the offer of `id` to agent `a` (the agent's own state is the caller's job).
    fn withdraw_offer(&mut self, id: CallId, a: usize, now: Millis) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        let CallState::Offered(list) = &mut c.state else {
            return;
        };
        list.retain(|x| *x != a);
        let empty = list.is_empty();
        self.commands.push_back(Command::Cancel {
            call: id,
            agent: self.agents[a].id.clone(),
        });
        if empty {
            self.back_to_waiting(id, now);
        }
    }

    /// An offered call whose offers all ended: back to its place, then on (or away, if its
    /// max wait passed meanwhile).
    fn back_to_waiting(&mut self, id: CallId, now: Millis) {
        let c = self.calls.get_mut(&id).expect("present");
        c.state = CallState::Waiting;
        let place = c.place(id);
        let q = c.queue;
        let timed_out = std::mem::take(&mut c.timed_out);
        self.queues[q].waiting.insert(place);
        if timed_out {
            let action = self.queues[q].cfg.on_timeout.clone();
            self.leave(id, action, LeaveWhy::Timeout, now);
        } else {
            // Not at once: the agent that failed is set free first and may take another
            // call; this call then looks for a different agent.
            self.route_call(id, now);
        }
    }

    /// Finds agents for a waiting call among the ready members of its queue.
    fn route_call(&mut self, id: CallId, now: Millis) {
        let Some(c) = self.calls.get(&id) else {
            return;
        };
        if c.state != CallState::Waiting {
            return;
        }
        let q = &self.queues[c.queue];
        let need = q.cfg.required_level(now.saturating_sub(c.entered));
        let mut retry_at: Option<Millis> = None;
        let callback = c.callback.is_some();
        let mut eligible = |a: usize, level: u8| -> bool {
            let ag = &self.agents[a];
            if level < need || ag.state != AgentState::Ready || (callback && !ag.takes_callbacks) {
                return false;
            }
            if let Some(until) = c.barred(a, now) {
                retry_at = Some(retry_at.map_or(until, |r: Millis| r.min(until)));
                return false;
            }
            true
        };
        let mut chosen: Vec<usize> = Vec::new();
        let mut rr_pos = None;
        if let Some(s) = c.sticky
            && let Some(&(_, level)) = q.members.iter().find(|(a, _)| *a == s)
            && q.cfg.strategy != Strategy::RingAll
            && eligible(s, level)
        {
            chosen.push(s);
        } else {
            match q.cfg.strategy {
                Strategy::RingAll => {
                    chosen.extend(
                        q.members
                            .iter()
                            .filter(|(a, l)| eligible(*a, *l))
                            .map(|(a, _)| *a),
                    );
                }
                Strategy::RoundRobin => {
                    let n = q.members.len();
                    for k in 0..n {
                        let i = (q.rr_next + k) % n;
                        let (a, l) = q.members[i];
                        if eligible(a, l) {
                            chosen.push(a);
                            rr_pos = Some(i);
                            break;
                        }
                    }
                }
                s => {
                    let agents = &self.agents;
                    let key = |a: usize, l: u8| -> (u64, u64) {
                        let ag = &agents[a];
                        match s {
                            Strategy::FewestCalls => (ag.calls_answered, ag.idle_since),
                            Strategy::LeastTalkTime => (ag.talk_ms, ag.idle_since),
                            Strategy::SkillLevel => (u64::from(10 - l.min(10)), ag.idle_since),
                            _ => (ag.idle_since, a as u64),
                        }
                    };
                    let mut best: Option<((u64, u64), usize)> = None;
                    for &(a, l) in &q.members {
                        if eligible(a, l) {
                            let k = key(a, l);
                            if best.is_none_or(|(bk, _)| k < bk) {
                                best = Some((k, a));
                            }
                        }
                    }
                    chosen.extend(best.map(|(_, a)| a));
                }
            }
        }
        if chosen.is_empty() {
            if let Some(at) = retry_at {
                self.timers.at(at, Timer::Reroute { call: id });
            }
            return;
        }
        let qi = c.queue;
        if let Some(i) = rr_pos {
            let n = self.queues[qi].members.len();
            self.queues[qi].rr_next = (i + 1) % n;
        }
        self.offer(id, chosen, now);
    }

    /// Finds a waiting call for an agent that just became ready: across the agent's queues,
    /// the first call in serving order (priority, then arrival) the agent may take.
    fn route_agent(&mut self, a: usize, now: Millis) {
        if self.agents[a].state != AgentState::Ready {
            return;
        }
        let Some(id) = self.call_for(a, now) else {
            return;
        };
        let q = self.calls[&id].queue;
        match self.queues[q].cfg.strategy {
            // Ring-all rings everyone ready at once, this agent included.
            Strategy::RingAll => self.route_call(id, now),
            Strategy::RoundRobin => {
                if let Some(i) = self.queues[q].members.iter().position(|(x, _)| *x == a) {
                    let n = self.queues[q].members.len();
                    self.queues[q].rr_next = (i + 1) % n;
                }
                self.offer(id, vec![a], now);
            }
            _ => self.offer(id, vec![a], now),
        }
    }

    /// The first waiting call in serving order (priority, then arrival) across agent `a`'s
    /// queues that `a` may take now.
    fn call_for(&mut self, a: usize, now: Millis) -> Option<CallId> {
        let mut best: Option<Place> = None;
        // Calls this agent may take once their retry pause is over.
        let mut paused: Vec<(Millis, CallId)> = Vec::new();
        for &(q, level) in &self.agents[a].queues {
            let qu = &self.queues[q];
            for &place in &qu.waiting {
                if best.is_some_and(|b| place >= b) {
                    break;
                }
                let c = &self.calls[&place.2];
                if level >= qu.cfg.required_level(now.saturating_sub(c.entered))
                    && (c.live() || self.agents[a].takes_callbacks)
                {
                    if let Some(until) = c.barred(a, now) {
                        paused.push((until, place.2));
                        continue;
                    }
                    best = Some(place);
                    break;
                }
            }
        }
        // Look at those calls again when the pause ends: if this agent is still the one who
        // is free then, nothing else would route them (route_call only arms this for agents
        // that were ready when it looked, and the agent that just failed was still reserved).
        for (until, id) in paused {
            self.timers.at(until, Timer::Reroute { call: id });
        }
        best.map(|(_, _, id)| id)
    }

    fn offer(&mut self, id: CallId, agents: Vec<usize>, now: Millis) {
        let c = self.calls.get_mut(&id).expect("present");
        let q = c.queue;
        let callback = c.callback.is_some();
        self.queues[q].waiting.remove(&c.place(id));
        c.state = CallState::Offered(agents.clone());
        let ring = self.queues[q].cfg.ring_timeout_ms;
        let queue = self.queues[q].cfg.name.clone();
        for a in agents {
            self.set_state(a, AgentState::Reserved { call: id }, now);
            let epoch = self.agents[a].epoch;
            self.timers.at(
                now + ring,
                Timer::Offer {
                    call: id,
                    agent: a,
                    epoch,
                },
            );
            let agent = self.agents[a].id.clone();
            self.commands.push_back(Command::Offer {
                call: id,
                agent: agent.clone(),
                queue: queue.clone(),
                callback,
            });
            self.events.push_back(Event::CallOffered {
                call: id,
                queue: queue.clone(),
                agent,
            });
        }
    }

    fn announce(&mut self, id: CallId, epoch: u64, now: Millis) {
        let Some(c) = self.calls.get(&id) else {
            return;
        };
        if c.epoch != epoch || !c.live() || matches!(c.state, CallState::Connected(_)) {
            return;
        }
        let qu = &self.queues[c.queue];
        let every = qu.cfg.announce_every_ms;
        // A caller moved on (overflow, supervisor) starts the new queue's announcements, but
        // never sooner than `announce_every_ms` after the last one they heard.
        if let Some(last) = c.announced_at
            && last + every > now
        {
            self.timers
                .at(last + every, Timer::Announce { call: id, epoch });
            return;
        }
        self.timers
            .at(now + every, Timer::Announce { call: id, epoch });
        if c.state != CallState::Waiting || !(qu.cfg.announce_position || qu.cfg.announce_ewt) {
            return;
        }
        let position = qu.waiting.range(..c.place(id)).count() + 1;
        let ewt_secs = if qu.cfg.announce_ewt {
            let staffed = qu
                .members
                .iter()
                .filter(|(a, _)| {
                    matches!(
                        self.agents[*a].state,
                        AgentState::Ready
                            | AgentState::Reserved { .. }
                            | AgentState::Talking { .. }
                            | AgentState::WrapUp { .. }
                    )
                })
                .count();
            qu.counters
                .aht_ms()
                .filter(|_| staffed > 0)
                .map(|aht| (position as f64 * aht / staffed as f64 / 1000.0).ceil() as u64)
        } else {
            None
        };
        if let Some(c) = self.calls.get_mut(&id) {
            c.announced_at = Some(now);
        }
        self.commands.push_back(Command::Announce {
            call: id,
            position: if qu.cfg.announce_position {
                position
            } else {
                0
            },
            ewt_secs,
        });
    }

    fn stats_of(&self, qi: usize, now: Millis) -> QueueStats {
        let q = &self.queues[qi];
        let mut agents = AgentCounts::default();
        for (a, _) in &q.members {
            count_state(&mut agents, &self.agents[*a].state);
        }
        let mut callbacks = 0;
        let mut longest = 0;
        for p in &q.waiting {
            let c = &self.calls[&p.2];
            if c.live() {
                longest = longest.max(now.saturating_sub(c.entered));
            } else {
                callbacks += 1;
            }
        }
        // Ringing callers are not in `waiting` but still wait.
        for a in &q.members {
            if let AgentState::Reserved { call } = self.agents[a.0].state
                && let Some(c) = self.calls.get(&call)
                && c.live()
                && c.queue == qi
            {
                longest = longest.max(now.saturating_sub(c.entered));
            }
        }
        QueueStats {
            queue: q.cfg.name.clone(),
            strategy: q.cfg.strategy.to_string(),
            waiting: q.live,
            callbacks_waiting: callbacks,
            longest_wait_ms: longest,
            agents,
            counters: q.counters.clone(),
            service_level_secs: q.cfg.service_level_ms / 1000,
            service_level: None,
            abandon_rate: None,
            asa_ms: None,
            aht_ms: None,
        }
        .derive()
    }
}

fn count_state(c: &mut AgentCounts, s: &AgentState) {
    match s {
        AgentState::LoggedOut => c.logged_out += 1,
        AgentState::Ready => c.ready += 1,
        AgentState::NotReady { .. } => c.not_ready += 1,
        AgentState::Reserved { .. } => c.reserved += 1,
        AgentState::Talking { .. } => c.talking += 1,
        AgentState::WrapUp { .. } => c.wrap_up += 1,
    }
}
