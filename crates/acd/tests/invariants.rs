//! Random sequences of everything a driver, the agents and supervisors can do, over three
//! queues with random strategies (ring-all included), tiers, limits and overflows, and five
//! agents with random skills; after every step (every call into the engine, every timer):
//!
//! 1. a call offered outside ring-all rings exactly one agent;
//! 2. agents and calls agree: an agent reserved or talking names one call, and that call is
//!    offered to / connected with that agent, and the other way round;
//! 3. every Offer goes to an agent that was ready and is now reserved for that call, with the
//!    queue's skill;
//! 4. no call is lost: each call the engine took ends exactly once (answered then ended,
//!    abandoned, sent away, answered elsewhere) or is still there (waiting, ringing,
//!    talking, or a callback item) — and never both;
//! 5. the engine's own invariant: no waiting call (or callback item) has a ready agent that
//!    may take it — with the skill at the level the call's tier needs now, not in a retry
//!    pause for that call (tracked here from the failures), and, for a callback item, with a
//!    desktop.

use hotline_acd::{
    Acd, AcdConfig, AgentConfig, AgentState, CallId, CallView, Caller, Command, Event, LeaveAction,
    Millis, OfferFailure, QueueConfig, RelaxStep, StateRequest, Strategy as Routing,
};
use proptest::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};

const QUEUES: usize = 3;
const AGENTS: usize = 5;

#[derive(Debug, Clone)]
struct Setup {
    queues: Vec<QueueConfig>,
    agents: Vec<AgentConfig>,
    desktops: Vec<bool>,
}

fn action(kind: u8, next: Option<usize>) -> LeaveAction {
    match (kind, next) {
        (0, _) => LeaveAction::Callback,
        (1, _) => LeaveAction::Message,
        (2, _) => LeaveAction::Hangup,
        (_, Some(n)) => LeaveAction::Overflow(format!("q{n}")),
        (_, None) => LeaveAction::Callback,
    }
}

prop_compose! {
    fn queue_cfg(i: usize)(
        strategy in 0..Routing::ALL.len(),
        tiers in prop::option::of(prop_oneof![Just(5_000u64), Just(20_000u64)]),
        ring in prop_oneof![Just(5_000u64), Just(20_000u64)],
        retry in prop_oneof![Just(0u64), Just(3_000u64), Just(10_000u64)],
        wrap in prop_oneof![Just(0u64), Just(5_000u64)],
        max_no_answer in 0u32..4,
        max_wait in prop::option::of(prop_oneof![Just(15_000u64), Just(40_000u64)]),
        on_timeout in 0u8..4,
        max_len in prop::option::of(1usize..4),
        on_full in 0u8..4,
        on_no_agents in prop::option::of(0u8..4),
        announce in any::<bool>(),
    ) -> QueueConfig {
        // Overflows only go forward (q0 → q1 → q2): no loops, by construction.
        let next = (i + 1 < QUEUES).then_some(i + 1);
        let mut q = QueueConfig::new(format!("q{i}"));
        q.strategy = Routing::ALL[strategy];
        q.relax = match tiers {
            Some(after) => vec![
                RelaxStep { after_ms: 0, min_level: 6 },
                RelaxStep { after_ms: after, min_level: 1 },
            ],
            None => Vec::new(),
        };
        q.ring_timeout_ms = ring;
        q.retry_ms = retry;
        q.wrap_up_ms = wrap;
        q.max_no_answer = max_no_answer;
        q.max_wait_ms = max_wait;
        q.on_timeout = action(on_timeout, next);
        q.max_len = max_len;
        q.on_full = action(on_full, next);
        q.on_no_agents = match on_no_agents {
            Some(k) => action(k, next),
            None => LeaveAction::Wait,
        };
        q.announce_first_ms = announce.then_some(10_000);
        q.announce_every_ms = 20_000;
        q
    }
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        (queue_cfg(0), queue_cfg(1), queue_cfg(2)),
        // Per agent: which queues (a non-empty subset), the levels, a desktop or not.
        prop::collection::vec(
            (1u8..8, prop::array::uniform3(1u8..=10), any::<bool>()),
            AGENTS,
        ),
    )
        .prop_map(|((a, b, c), agents)| Setup {
            queues: vec![a, b, c],
            desktops: agents.iter().map(|x| x.2).collect(),
            agents: agents
                .iter()
                .enumerate()
                .map(|(i, (mask, levels, _))| AgentConfig {
                    id: format!("a{i}"),
                    name: format!("a{i}"),
                    skills: (0..QUEUES)
                        .filter(|q| mask & (1 << q) != 0)
                        .map(|q| (format!("q{q}"), levels[q]))
                        .collect(),
                })
                .collect(),
        })
}

#[derive(Debug, Clone)]
enum Op {
    Enqueue { q: usize, prio: u8, number: u8 },
    Answer { k: usize },
    Fail { k: usize, why: u8 },
    HangUp { k: usize },
    RequestCallback { k: usize },
    MoveCall { k: usize, q: usize },
    AnsweredElsewhere { k: usize },
    SetPriority { k: usize, prio: u8 },
    RestoreCallback { q: usize, prio: u8 },
    Login { a: usize },
    Logout { a: usize },
    Ready { a: usize },
    NotReady { a: usize },
    EndWrapUp { a: usize },
    Unreachable { a: usize },
    Desktop { a: usize, on: bool },
    Supervisor { a: usize, to: u8 },
    Advance { ms: Millis },
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0usize..16;
    let a = 0..AGENTS;
    let q = 0..QUEUES;
    prop_oneof![
        6 => (q.clone(), 0u8..3, 0u8..6).prop_map(|(q, prio, number)| Op::Enqueue { q, prio, number }),
        5 => k.clone().prop_map(|k| Op::Answer { k }),
        2 => (k.clone(), 0u8..4).prop_map(|(k, why)| Op::Fail { k, why }),
        3 => k.clone().prop_map(|k| Op::HangUp { k }),
        1 => k.clone().prop_map(|k| Op::RequestCallback { k }),
        1 => (k.clone(), q.clone()).prop_map(|(k, q)| Op::MoveCall { k, q }),
        1 => k.clone().prop_map(|k| Op::AnsweredElsewhere { k }),
        1 => (k.clone(), 0u8..10).prop_map(|(k, prio)| Op::SetPriority { k, prio }),
        1 => (q.clone(), 0u8..3).prop_map(|(q, prio)| Op::RestoreCallback { q, prio }),
        2 => a.clone().prop_map(|a| Op::Login { a }),
        1 => a.clone().prop_map(|a| Op::Logout { a }),
        2 => a.clone().prop_map(|a| Op::Ready { a }),
        1 => a.clone().prop_map(|a| Op::NotReady { a }),
        1 => a.clone().prop_map(|a| Op::EndWrapUp { a }),
        1 => a.clone().prop_map(|a| Op::Unreachable { a }),
        1 => (a.clone(), any::<bool>()).prop_map(|(a, on)| Op::Desktop { a, on }),
        1 => (a.clone(), 0u8..3).prop_map(|(a, to)| Op::Supervisor { a, to }),
        5 => prop_oneof![0u64..2_000, 0u64..45_000].prop_map(|ms| Op::Advance { ms }),
    ]
}

/// What the test knows besides the engine's views.
struct Model {
    acd: Acd,
    setup: Setup,
    now: Millis,
    desktops: Vec<bool>,
    /// Every call the engine took, with how it ended (None: still there).
    calls: BTreeMap<CallId, Option<&'static str>>,
    answered: HashMap<CallId, u32>,
    /// Calls whose caller left them as a callback item (or restored as one).
    items: HashSet<CallId>,
    /// (call, agent index) → the end of the agent's retry pause for that call.
    paused: HashMap<(CallId, usize), Millis>,
    /// The agents' states as the event stream told them.
    seen: Vec<AgentState>,
    /// The views as of the last check (the queue a call was in before the step).
    before: HashMap<CallId, CallView>,
    trace: Vec<String>,
}

impl Model {
    fn new(setup: Setup) -> Model {
        let cfg = AcdConfig {
            queues: setup.queues.clone(),
            ..AcdConfig::default()
        };
        let acd = Acd::new(cfg, setup.agents.clone()).expect("a valid configuration");
        Model {
            acd,
            desktops: vec![false; AGENTS],
            setup,
            now: 0,
            calls: BTreeMap::new(),
            answered: HashMap::new(),
            items: HashSet::new(),
            paused: HashMap::new(),
            seen: vec![AgentState::LoggedOut; AGENTS],
            before: HashMap::new(),
            trace: Vec::new(),
        }
    }

    fn agent_index(id: &str) -> usize {
        id[1..].parse().unwrap()
    }

    fn queue(&self, name: &str) -> &QueueConfig {
        self.setup.queues.iter().find(|q| q.name == name).unwrap()
    }

    fn level(&self, a: usize, queue: &str) -> Option<u8> {
        let skill = &self.queue(queue).skill;
        self.setup.agents[a]
            .skills
            .iter()
            .find(|(s, _)| s == skill)
            .map(|(_, l)| *l)
    }

    /// The outstanding offers (call, agent), in a stable order.
    fn offers(&self) -> Vec<(CallId, String)> {
        let mut v: Vec<_> = self
            .acd
            .calls(self.now)
            .into_iter()
            .filter(|c| c.state == "offered")
            .flat_map(|c| c.agents.into_iter().map(move |a| (c.id, a)))
            .collect();
        v.sort();
        v
    }

    fn pick_call(&self, k: usize) -> Option<CallId> {
        let ids: Vec<_> = self.acd.calls(self.now).into_iter().map(|c| c.id).collect();
        (!ids.is_empty()).then(|| ids[k % ids.len()])
    }

    fn fail_pause(&mut self, call: CallId, a: usize) {
        let q = &self.before[&call].queue;
        let until = self.now + self.queue(q).retry_ms;
        self.paused.insert((call, a), until);
    }

    fn apply(&mut self, op: &Op) {
        self.trace.push(format!("{} {op:?}", self.now));
        let now = self.now;
        let id = |a: usize| format!("a{a}");
        match *op {
            Op::Enqueue { q, prio, number } => {
                let number = match number {
                    0 => String::new(),
                    n => format!("13900000{n:03}"),
                };
                let c = self
                    .acd
                    .enqueue(
                        &format!("q{q}"),
                        "t",
                        Caller {
                            number,
                            priority: prio,
                        },
                        now,
                    )
                    .unwrap();
                assert!(self.calls.insert(c, None).is_none(), "a fresh id");
            }
            Op::Answer { k } => {
                let offers = self.offers();
                if let Some((c, a)) = offers.get(k % offers.len().max(1)).cloned() {
                    self.acd.answered(c, &a, now).unwrap();
                }
            }
            Op::Fail { k, why } => {
                let offers = self.offers();
                if let Some((c, a)) = offers.get(k % offers.len().max(1)).cloned() {
                    let why = [
                        OfferFailure::NoAnswer,
                        OfferFailure::Busy,
                        OfferFailure::Rejected,
                        OfferFailure::Unreachable,
                    ][why as usize];
                    self.acd.offer_failed(c, &a, why, now).unwrap();
                    self.fail_pause(c, Self::agent_index(&a));
                }
            }
            Op::HangUp { k } => {
                if let Some(c) = self.pick_call(k) {
                    // Refused for a callback item with no caller; fine.
                    let _ = self.acd.hung_up(c, now);
                }
            }
            Op::RequestCallback { k } => {
                if let Some(c) = self.pick_call(k) {
                    let _ = self.acd.request_callback(c, now);
                }
            }
            Op::MoveCall { k, q } => {
                if let Some(c) = self.pick_call(k) {
                    let _ = self.acd.move_call(c, &format!("q{q}"), now);
                }
            }
            Op::AnsweredElsewhere { k } => {
                if let Some(c) = self.pick_call(k) {
                    let _ = self.acd.answered_elsewhere(c, now);
                }
            }
            Op::SetPriority { k, prio } => {
                if let Some(c) = self.pick_call(k) {
                    self.acd.set_priority(c, prio, now).unwrap();
                }
            }
            Op::RestoreCallback { q, prio } => {
                let c = self
                    .acd
                    .restore_callback(&format!("q{q}"), "cb", "13900000001", prio, false, now)
                    .unwrap();
                assert!(self.calls.insert(c, None).is_none(), "a fresh id");
                self.items.insert(c);
            }
            Op::Login { a } => self.acd.login(&id(a), now).unwrap(),
            Op::Logout { a } => self.acd.logout(&id(a), now).unwrap(),
            Op::Ready { a } => self.acd.ready(&id(a), now).unwrap(),
            Op::NotReady { a } => {
                let _ = self.acd.not_ready(&id(a), "小休", now);
            }
            Op::EndWrapUp { a } => {
                let _ = self.acd.end_wrap_up(&id(a), now);
            }
            Op::Unreachable { a } => {
                self.acd.agent_unreachable(&id(a), now).unwrap();
            }
            Op::Desktop { a, on } => {
                self.desktops[a] = on && self.setup.desktops[a];
                self.acd
                    .set_takes_callbacks(&id(a), self.desktops[a], now)
                    .unwrap();
            }
            Op::Supervisor { a, to } => {
                let req = match to {
                    0 => StateRequest::Ready,
                    1 => StateRequest::LoggedOut,
                    _ => StateRequest::NotReady("会议".into()),
                };
                self.acd.request_state(&id(a), req, now).unwrap();
            }
            Op::Advance { ms } => {
                let end = self.now + ms;
                while let Some(t) = self.acd.poll_timeout() {
                    if t > end {
                        break;
                    }
                    self.now = self.now.max(t);
                    self.acd.handle_timeout(self.now);
                    self.after(true);
                }
                self.now = end;
            }
        }
        self.after(false);
    }

    /// Collects what the engine said and checks everything.
    fn after(&mut self, in_timeout: bool) {
        let mut commands = Vec::new();
        while let Some(c) = self.acd.poll_command() {
            commands.push(c);
        }
        let mut events = Vec::new();
        while let Some(e) = self.acd.poll_event() {
            events.push(e);
        }
        let ctx = self.trace.join("\n");

        // 3. Offers: to a ready agent, now reserved, with the skill.
        let mut offered: Vec<(String, CallId)> = Vec::new();
        for c in &commands {
            match c {
                Command::Offer {
                    call, agent, queue, ..
                } => {
                    let a = Self::agent_index(agent);
                    assert!(
                        self.level(a, queue).is_some(),
                        "{agent} offered {call} of {queue} without the skill\n{ctx}"
                    );
                    offered.push((agent.clone(), *call));
                }
                Command::Cancel { call, agent } => {
                    // Only what rang: before this step, or offered earlier in it.
                    let rang = self
                        .before
                        .get(call)
                        .is_some_and(|v| v.state == "offered" && v.agents.contains(agent))
                        || offered.contains(&(agent.clone(), *call));
                    assert!(
                        rang,
                        "Cancel of {call} at {agent}, who was not ringing\n{ctx}"
                    );
                    // During a timer, a Cancel is a ring timeout: a failure, with its pause.
                    if in_timeout {
                        self.fail_pause(*call, Self::agent_index(agent));
                    }
                }
                Command::Announce { call, .. } => {
                    // Only to a caller on the line, not yet with an agent (the step may have
                    // just taken a ringing call back to waiting, so "offered" before is fine).
                    let v = self.before.get(call);
                    assert!(
                        v.is_some_and(|v| v.state != "connected") && !self.items.contains(call),
                        "Announce to {call} ({v:?})\n{ctx}"
                    );
                }
                Command::Leave { call, .. } => {
                    // Every Leave is a caller on the line going: never a callback item.
                    assert!(!self.items.contains(call), "Leave of item {call}\n{ctx}");
                }
                _ => {}
            }
        }
        let mut reserved: Vec<(String, CallId)> = Vec::new();
        for e in &events {
            match e {
                Event::AgentState { agent, state } => {
                    let a = Self::agent_index(agent);
                    if let AgentState::Reserved { call } = state {
                        assert_eq!(
                            self.seen[a],
                            AgentState::Ready,
                            "{agent} reserved for {call} from a state other than ready\n{ctx}"
                        );
                        reserved.push((agent.clone(), *call));
                    }
                    self.seen[a] = state.clone();
                }
                Event::CallAnswered { call, .. } => {
                    let n = self.answered.entry(*call).or_default();
                    *n += 1;
                    assert_eq!(*n, 1, "call {call} answered twice\n{ctx}");
                }
                Event::CallEnded { call, .. } => {
                    assert_eq!(self.answered.get(call), Some(&1), "{call} ended unanswered");
                    self.end(*call, "ended", &ctx);
                }
                Event::CallAbandoned { call, .. } => self.end(*call, "abandoned", &ctx),
                Event::CallLeft { call, action, .. } => match action.as_str() {
                    "hangup" => self.end(*call, "left", &ctx),
                    "answered-elsewhere" => self.end(*call, "elsewhere", &ctx),
                    "callback" | "message" => assert!(
                        self.items.insert(*call),
                        "call {call} left twice: its caller is gone already\n{ctx}"
                    ),
                    other => panic!("left with {other}\n{ctx}"),
                },
                _ => {}
            }
        }
        offered.sort();
        reserved.sort();
        assert_eq!(
            offered, reserved,
            "every Offer is a ready → reserved agent\n{ctx}"
        );

        let views = self.acd.calls(self.now);
        let agents = self.acd.agents(self.now);
        for (a, v) in agents.iter().enumerate() {
            assert_eq!(
                v.state, self.seen[a],
                "the event stream tells the state\n{ctx}"
            );
        }
        let by_id: HashMap<CallId, &CallView> = views.iter().map(|v| (v.id, v)).collect();
        for v in &views {
            // The snapshot and the single view agree (places included).
            assert_eq!(self.acd.call(v.id, self.now).as_ref(), Some(v), "{ctx}");
        }

        // 4. No call lost, none twice.
        for (id, end) in &self.calls {
            match end {
                None => assert!(by_id.contains_key(id), "call {id} vanished\n{ctx}"),
                Some(how) => assert!(!by_id.contains_key(id), "call {id} {how} but there\n{ctx}"),
            }
        }
        assert_eq!(views.len(), self.acd.call_count());
        for v in &views {
            assert_eq!(
                self.calls.get(&v.id),
                Some(&None),
                "a call nobody enqueued\n{ctx}"
            );
        }

        // The live callers of each queue (waiting or ringing; not the callback items).
        for q in &self.setup.queues {
            let live = views
                .iter()
                .filter(|v| v.queue == q.name && !self.items.contains(&v.id))
                .filter(|v| matches!(v.state, "waiting" | "offered"))
                .count();
            let stats = self.acd.queue_stats(&q.name, self.now).unwrap();
            assert_eq!(stats.waiting, live, "{}'s live callers\n{ctx}", q.name);
        }

        // 1 and 2. Offers and connections agree with agent states.
        for v in &views {
            let ring_all = self.queue(&v.queue).strategy == Routing::RingAll;
            match v.state {
                "offered" => {
                    assert!(!v.agents.is_empty(), "{v:?}\n{ctx}");
                    if !ring_all {
                        assert_eq!(v.agents.len(), 1, "{v:?} rings two agents\n{ctx}");
                    }
                    for a in &v.agents {
                        let st = &agents[Self::agent_index(a)].state;
                        assert_eq!(*st, AgentState::Reserved { call: v.id }, "{v:?}\n{ctx}");
                    }
                }
                "connected" => {
                    assert_eq!(v.agents.len(), 1, "{v:?}\n{ctx}");
                    let st = &agents[Self::agent_index(&v.agents[0])].state;
                    assert_eq!(*st, AgentState::Talking { call: v.id }, "{v:?}\n{ctx}");
                }
                _ => assert!(v.agents.is_empty(), "{v:?}\n{ctx}"),
            }
        }
        for ag in &agents {
            match ag.state {
                AgentState::Reserved { call } => {
                    let v = by_id.get(&call).unwrap_or_else(|| panic!("{ag:?}\n{ctx}"));
                    assert!(
                        v.state == "offered" && v.agents.contains(&ag.id),
                        "{ag:?}\n{ctx}"
                    );
                }
                AgentState::Talking { call } => {
                    let v = by_id.get(&call).unwrap_or_else(|| panic!("{ag:?}\n{ctx}"));
                    assert!(
                        v.state == "connected" && v.agents == [ag.id.clone()],
                        "{ctx}"
                    );
                }
                _ => {}
            }
        }

        // 5. No waiting call with a ready agent who may take it.
        for v in views
            .iter()
            .filter(|v| matches!(v.state, "waiting" | "callback"))
        {
            let need = self.queue(&v.queue).required_level(v.waited_ms);
            for (a, ag) in agents.iter().enumerate() {
                if ag.state != AgentState::Ready {
                    continue;
                }
                let Some(level) = self.level(a, &v.queue) else {
                    continue;
                };
                let paused = self
                    .paused
                    .get(&(v.id, a))
                    .is_some_and(|&until| until > self.now);
                let may = level >= need && !paused && (v.state == "waiting" || self.desktops[a]);
                assert!(
                    !may,
                    "at {}: {v:?} waits while {} (level {level}, need {need}) is ready\n{ctx}",
                    self.now, ag.id
                );
            }
        }
        self.before = by_id.into_iter().map(|(k, v)| (k, v.clone())).collect();
    }

    fn end(&mut self, call: CallId, how: &'static str, ctx: &str) {
        let e = self
            .calls
            .get_mut(&call)
            .unwrap_or_else(|| panic!("{how} for unknown call {call}\n{ctx}"));
        assert_eq!(*e, None, "call {call} {how} after {e:?}\n{ctx}");
        *e = Some(how);
    }
}

proptest! {
    // 256 cases unless PROPTEST_CASES says otherwise.
    #[test]
    fn invariants_hold_after_every_step(setup in setup(), ops in prop::collection::vec(op(), 1..120)) {
        let mut m = Model::new(setup);
        for op in &ops {
            m.apply(op);
        }
        // Then let everything run out: every agent ready with a desktop, every offer
        // answered, every talk ended, the clock on; until nothing changes any more (calls
        // whose queue has no agent at all stay).
        let mut last = usize::MAX;
        for _ in 0..20 {
            let left = m.acd.call_count();
            if left == 0 || left == last {
                break;
            }
            last = left;
            for a in 0..AGENTS {
                m.apply(&Op::Ready { a });
                m.apply(&Op::Desktop { a, on: true });
            }
            while !m.offers().is_empty() {
                m.apply(&Op::Answer { k: 0 });
            }
            for c in m.acd.calls(m.now).into_iter().filter(|c| c.state == "connected") {
                m.acd.hung_up(c.id, m.now).unwrap();
                m.after(false);
            }
            m.apply(&Op::Advance { ms: 60_000 });
        }
    }
}
