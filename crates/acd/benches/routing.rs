//! How long one routing decision takes with 2,000 agents and 5,000 waiting callers, and how
//! much memory a waiting caller costs. Plain `Instant`, no framework:
//!
//!     cargo bench -p hotline-acd --bench routing
//!
//! Four queues (longest-idle, fewest-calls, skill-level with tiers, round-robin; wrap-up 0 in
//! two, 10 s in the others; announcements every 60 s), agents with 1–3 skills at random
//! levels, callers with a few priorities. After the warm-up every agent is on a call and
//! 5,000 callers wait; then, for many rounds: the clock moves on (announcements, wrap-ups
//! ending), a random call ends (its agent takes the first waiting call), the offer is
//! answered, a new caller arrives, now and then an agent goes not ready and comes back.
//! Every call into the engine is timed on its own.

use hotline_acd::{
    Acd, AcdConfig, AgentConfig, CallId, Caller, Command, Event, Millis, QueueConfig, RelaxStep,
    Strategy,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

/// Counts the bytes live on the heap.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const AGENTS: usize = 2_000;
const WAITING: usize = 5_000;
const ROUNDS: usize = 40_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Latencies of one kind of call, in nanoseconds.
#[derive(Default)]
struct Samples(Vec<u64>);

impl Samples {
    fn time<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let r = f();
        self.0.push(t.elapsed().as_nanos() as u64);
        r
    }
}

struct Bench {
    acd: Acd,
    now: Millis,
    rng: Rng,
    /// Agent index → state name, from the event stream.
    state: Vec<&'static str>,
    talking: Vec<CallId>,
    numbers: u64,
    samples: HashMap<&'static str, Samples>,
}

fn agent_index(id: &str) -> usize {
    id[1..].parse().unwrap()
}

impl Bench {
    fn new() -> Bench {
        let mut rng = Rng(0x5EED);
        let mut queues = Vec::new();
        for (i, strategy) in [
            Strategy::LongestIdle,
            Strategy::FewestCalls,
            Strategy::SkillLevel,
            Strategy::RoundRobin,
        ]
        .into_iter()
        .enumerate()
        {
            let mut q = QueueConfig::new(format!("q{i}"));
            q.strategy = strategy;
            q.max_wait_ms = None; // keep the 5,000 waiting
            q.wrap_up_ms = if i < 2 { 0 } else { 10_000 };
            q.ring_timeout_ms = 20_000;
            q.announce_first_ms = Some(30_000);
            q.announce_every_ms = 60_000;
            if strategy == Strategy::SkillLevel {
                q.relax = vec![
                    RelaxStep {
                        after_ms: 0,
                        min_level: 7,
                    },
                    RelaxStep {
                        after_ms: 30_000,
                        min_level: 1,
                    },
                ];
            }
            queues.push(q);
        }
        let agents = (0..AGENTS)
            .map(|i| {
                let n = 1 + rng.below(3);
                let mut skills: Vec<(String, u8)> = Vec::new();
                while skills.len() < n {
                    let s = format!("q{}", rng.below(4));
                    if !skills.iter().any(|(x, _)| *x == s) {
                        skills.push((s, 1 + rng.below(10) as u8));
                    }
                }
                AgentConfig {
                    id: format!("a{i}"),
                    name: format!("Agent {i}"),
                    skills,
                }
            })
            .collect();
        let cfg = AcdConfig {
            queues,
            ..AcdConfig::default()
        };
        Bench {
            acd: Acd::new(cfg, agents).unwrap(),
            now: 0,
            rng,
            state: vec!["logged_out"; AGENTS],
            talking: Vec::new(),
            numbers: 0,
            samples: HashMap::new(),
        }
    }

    fn sample(&mut self, kind: &'static str) -> &mut Samples {
        self.samples.entry(kind).or_default()
    }

    /// Carries out the engine's commands: every offer is answered at once (timed).
    fn drive(&mut self) {
        loop {
            let mut offers = Vec::new();
            while let Some(c) = self.acd.poll_command() {
                if let Command::Offer { call, agent, .. } = c {
                    offers.push((call, agent));
                }
            }
            while let Some(e) = self.acd.poll_event() {
                if let Event::AgentState { agent, state } = e {
                    self.state[agent_index(&agent)] = state.name();
                }
            }
            if offers.is_empty() {
                return;
            }
            for (call, agent) in offers {
                let now = self.now;
                let acd = &mut self.acd;
                let s = self.samples.entry("answered").or_default();
                s.time(|| acd.answered(call, &agent, now)).unwrap();
                self.talking.push(call);
            }
        }
    }

    fn caller(&mut self) -> Caller {
        self.numbers += 1;
        Caller {
            number: format!("139{:08}", self.numbers),
            priority: [0, 0, 0, 0, 0, 0, 0, 0, 1, 2][self.rng.below(10)],
        }
    }

    fn enqueue(&mut self, timed: bool) -> CallId {
        let q = format!("q{}", self.rng.below(4));
        let caller = self.caller();
        let now = self.now;
        let acd = &mut self.acd;
        let t = Instant::now();
        let id = acd.enqueue(&q, "bench", caller, now).unwrap();
        let ns = t.elapsed().as_nanos() as u64;
        // Whether this arrival found a free agent (a routing decision over the members) or
        // just took its place in line.
        let offered = acd.call(id, now).is_some_and(|c| c.state == "offered");
        if timed {
            let kind = if offered {
                "enqueue, agent free"
            } else {
                "enqueue, all busy"
            };
            self.sample(kind).0.push(ns);
        }
        self.drive();
        id
    }

    /// Runs every timer due by `to`, one instant at a time as a driver would (timed).
    fn advance(&mut self, to: Millis) {
        while let Some(t) = self.acd.poll_timeout() {
            if t > to {
                break;
            }
            self.now = self.now.max(t);
            let now = self.now;
            let acd = &mut self.acd;
            let s = self.samples.entry("handle_timeout").or_default();
            s.time(|| acd.handle_timeout(now));
            self.drive();
        }
        self.now = to;
    }
}

fn fmt_ns(ns: u64) -> String {
    if ns >= 1_000_000 {
        format!("{:.2} ms", ns as f64 / 1e6)
    } else {
        format!("{:.1} µs", ns as f64 / 1e3)
    }
}

fn main() {
    let mut b = Bench::new();
    for i in 0..AGENTS {
        b.acd.login(&format!("a{i}"), 0).unwrap();
    }
    b.drive();

    // Warm-up: callers arrive until no agent is free; each finds one over the members.
    // (Tier steps let the level < 7 agents of the skill-level queue take calls after 30 s.)
    let mut guard = 0;
    while b.state.contains(&"ready") {
        let to = b.now + 20;
        b.advance(to);
        b.enqueue(true);
        guard += 1;
        assert!(guard < 10 * AGENTS, "the warm-up ends");
    }
    // The callers who queued for the last busy queues give up: nobody waits.
    let now = b.now;
    for c in b.acd.calls(now) {
        if c.state == "waiting" {
            b.acd.hung_up(c.id, now).unwrap();
        }
    }
    b.drive();
    assert_eq!(b.acd.call_count(), b.talking.len());

    // Memory: 5,000 callers, all waiting, arriving 10 ms apart (the engine's queues drained
    // as a driver does).
    let before = LIVE.load(Ordering::Relaxed);
    let timers_before = b.acd.timer_count();
    for _ in 0..WAITING {
        let to = b.now + 10;
        b.advance(to);
        b.enqueue(false);
    }
    let after = LIVE.load(Ordering::Relaxed);
    let waiting = b.acd.call_count() - b.talking.len();
    assert_eq!(waiting, WAITING, "all of them wait");
    let per_caller = (after - before) as f64 / WAITING as f64;
    let timers_per_caller = (b.acd.timer_count() - timers_before) as f64 / WAITING as f64;

    // Steady state.
    let reasons = ["小休", "就餐", "会议"];
    let mut not_ready: Vec<usize> = Vec::new();
    for round in 0..ROUNDS {
        let to = b.now + 50;
        b.advance(to);
        // A call ends: the agent is free (wrap-up 0) or wraps up; either way a decision.
        if !b.talking.is_empty() {
            let i = b.rng.below(b.talking.len());
            let call = b.talking.swap_remove(i);
            let now = b.now;
            let acd = &mut b.acd;
            b.samples
                .entry("hung_up")
                .or_default()
                .time(|| acd.hung_up(call, now))
                .unwrap();
            b.drive();
        }
        // Keep 5,000 waiting.
        while b.acd.call_count() - b.talking.len() < waiting {
            b.enqueue(true);
        }
        // Some agents end their wrap-up early, some go not ready after their call and come
        // back later.
        if round % 4 == 0
            && let Some(a) = (0..8)
                .map(|_| b.rng.below(AGENTS))
                .find(|&a| b.state[a] == "wrap_up")
        {
            let id = format!("a{a}");
            let now = b.now;
            let acd = &mut b.acd;
            b.samples
                .entry("end_wrap_up")
                .or_default()
                .time(|| acd.end_wrap_up(&id, now))
                .unwrap();
            b.drive();
        }
        if round % 10 == 0 {
            let a = b.rng.below(AGENTS);
            if b.state[a] == "talking" {
                let now = b.now;
                b.acd
                    .not_ready(&format!("a{a}"), reasons[round % 3], now)
                    .unwrap();
                not_ready.push(a);
            }
        }
        if round % 10 == 5
            && let Some(i) = not_ready.iter().position(|&a| b.state[a] == "not_ready")
        {
            let id = format!("a{}", not_ready.swap_remove(i));
            let now = b.now;
            let acd = &mut b.acd;
            b.samples
                .entry("ready")
                .or_default()
                .time(|| acd.ready(&id, now))
                .unwrap();
            b.drive();
        }
    }
    // The views an API snapshot reads (not a routing decision, shown for scale).
    let now = b.now;
    let acd = &b.acd;
    let mut views = Samples::default();
    for _ in 0..5 {
        black_box(views.time(|| acd.calls(now)));
    }
    let mut stats = Samples::default();
    for _ in 0..20 {
        black_box(stats.time(|| acd.all_stats(now)));
    }
    let ready_now = b.state.iter().filter(|s| **s == "ready").count();
    let agents_states: HashMap<&str, usize> = b.state.iter().fold(HashMap::new(), |mut m, s| {
        *m.entry(*s).or_default() += 1;
        m
    });

    println!(
        "hotline-acd routing: {AGENTS} agents, {waiting} waiting callers, {ROUNDS} rounds, \
         {:.0} s simulated",
        b.now as f64 / 1000.0
    );
    println!("agents at the end: {agents_states:?} (ready: {ready_now})");
    println!();
    println!(
        "{:<22} {:>8} {:>10} {:>10} {:>10}",
        "decision", "count", "p50", "p99", "max"
    );
    let mut all: Vec<u64> = Vec::new();
    let order = [
        "hung_up",
        "end_wrap_up",
        "ready",
        "enqueue, agent free",
        "enqueue, all busy",
        "answered",
        "handle_timeout",
    ];
    for kind in order {
        let Some(s) = b.samples.get_mut(kind) else {
            continue;
        };
        s.0.sort_unstable();
        let v = &s.0;
        all.extend_from_slice(v);
        println!(
            "{:<22} {:>8} {:>10} {:>10} {:>10}",
            kind,
            v.len(),
            fmt_ns(v[v.len() / 2]),
            fmt_ns(v[(v.len() * 99) / 100]),
            fmt_ns(*v.last().unwrap())
        );
    }
    all.sort_unstable();
    println!(
        "{:<22} {:>8} {:>10} {:>10} {:>10}",
        "all of the above",
        all.len(),
        fmt_ns(all[all.len() / 2]),
        fmt_ns(all[(all.len() * 99) / 100]),
        fmt_ns(*all.last().unwrap())
    );
    println!();
    for (kind, s) in [("calls() view", &mut views), ("all_stats()", &mut stats)] {
        s.0.sort_unstable();
        println!(
            "{:<22} {:>8} {:>10} {:>10}",
            kind,
            s.0.len(),
            fmt_ns(s.0[s.0.len() / 2]),
            fmt_ns(*s.0.last().unwrap())
        );
    }
    println!();
    println!(
        "memory per waiting caller: {per_caller:.0} bytes ({timers_per_caller:.1} timers each)"
    );
}
