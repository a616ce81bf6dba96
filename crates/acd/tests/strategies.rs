//! Each strategy picks its own agent from the same four ready agents, whose history is set up
//! so that every strategy's choice differs from the others'.

mod common;
use common::*;
use hotline_acd::{AcdConfig, AgentState, OfferFailure, Strategy};

/// Queues `li`, `fc`, `ltt`, `sk` (one per strategy) and `warm` (for the history), all on
/// skill `s`.
fn cfg() -> AcdConfig {
    let mut queues = Vec::new();
    for (name, strategy) in [
        ("li", Strategy::LongestIdle),
        ("fc", Strategy::FewestCalls),
        ("ltt", Strategy::LeastTalkTime),
        ("sk", Strategy::SkillLevel),
        ("warm", Strategy::LongestIdle),
    ] {
        let mut q = queue(name);
        q.skill = "s".into();
        q.strategy = strategy;
        queues.push(q);
    }
    config(queues)
}

/// Gives `agent` (the only one ready) `n` calls of `talk` seconds each through `warm`.
fn give(sim: &mut Sim, agent: &str, n: usize, talk: u64) {
    sim.ready(agent);
    for _ in 0..n {
        let id = sim.call("warm");
        assert_eq!(sim.take_offers(), vec![(id, agent.to_string())]);
        sim.talk(id, agent, talk * SEC);
    }
    sim.not_ready(agent, "小休");
}

/// After this, all four are ready and:
///
/// | agent | level | calls | talk  | idle since |
/// |-------|-------|-------|-------|------------|
/// | a     | 5     | 1     | 300 s | 380 s      |
/// | b     | 9     | 3     | 30 s  | 410 s      |
/// | c     | 5     | 2     | 10 s  | 420 s      |
/// | d     | 5     | 4     | 80 s  | 80 s       |
///
/// longest-idle → d, fewest-calls → a, least-talk-time → c, skill-level → b.
fn history() -> Sim {
    let mut sim = Sim::with_ready(
        cfg(),
        vec![
            agent("a", &[("s", 5)]),
            agent("b", &[("s", 9)]),
            agent("c", &[("s", 5)]),
            agent("d", &[("s", 5)]),
        ],
    );
    for a in ["a", "b", "c", "d"] {
        sim.not_ready(a, "小休");
    }
    give(&mut sim, "d", 4, 20);
    give(&mut sim, "a", 1, 300);
    give(&mut sim, "b", 3, 10);
    give(&mut sim, "c", 2, 5);
    assert_eq!(sim.now, 420 * SEC);
    sim.progress(SEC);
    for a in ["a", "b", "c", "d"] {
        sim.ready(a);
    }
    let views = sim.acd.agents(sim.now);
    let calls: Vec<u64> = views.iter().map(|v| v.calls_answered).collect();
    let talk: Vec<u64> = views.iter().map(|v| v.talk_ms / SEC).collect();
    assert_eq!(calls, vec![1, 3, 2, 4]);
    assert_eq!(talk, vec![300, 30, 10, 80]);
    assert!(sim.take_offers().is_empty());
    sim
}

fn first_pick(queue: &str) -> String {
    let mut sim = history();
    let id = sim.call(queue);
    let offers = sim.take_offers();
    assert_eq!(offers.len(), 1, "{offers:?}");
    assert_eq!(offers[0].0, id);
    offers[0].1.clone()
}

#[test]
fn longest_idle_picks_the_agent_whose_last_call_ended_first() {
    assert_eq!(first_pick("li"), "d");
}

#[test]
fn fewest_calls_picks_the_agent_with_fewest_answered() {
    assert_eq!(first_pick("fc"), "a");
}

#[test]
fn least_talk_time_picks_the_agent_with_least_talk() {
    assert_eq!(first_pick("ltt"), "c");
}

#[test]
fn skill_level_picks_the_highest_level() {
    assert_eq!(first_pick("sk"), "b");
}

#[test]
fn the_strategies_disagree_on_the_same_history() {
    let picks: Vec<String> = ["li", "fc", "ltt", "sk"].map(first_pick).to_vec();
    let mut unique = picks.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 4, "{picks:?}");
}

#[test]
fn a_second_call_goes_to_the_next_by_the_same_key() {
    // With d ringing, longest-idle's next is a (380 s), fewest-calls' next is c (2 calls).
    let mut sim = history();
    sim.call("li");
    let second = sim.call("li");
    assert_eq!(sim.take_offers()[1], (second, "a".to_string()));

    let mut sim = history();
    sim.call("fc");
    let second = sim.call("fc");
    assert_eq!(sim.take_offers()[1], (second, "c".to_string()));
}

fn ties_cfg(strategy: Strategy) -> AcdConfig {
    let mut q = queue("q");
    q.strategy = strategy;
    config(vec![q])
}

#[test]
fn skill_level_ties_go_to_the_longest_idle() {
    // x and y are both level 9; y logged in first (idle longer). z is level 10 and logged in
    // last: the highest level wins over idle time; among the 9s, y.
    let mut sim = Sim::new(
        ties_cfg(Strategy::SkillLevel),
        vec![
            agent("w", &[("q", 3)]),
            agent("x", &[("q", 9)]),
            agent("y", &[("q", 9)]),
            agent("z", &[("q", 10)]),
        ],
    );
    sim.login("w");
    sim.progress(SEC);
    sim.login("y");
    sim.progress(SEC);
    sim.login("x");
    sim.progress(SEC);
    sim.login("z");
    let c1 = sim.call("q");
    let c2 = sim.call("q");
    let c3 = sim.call("q");
    let c4 = sim.call("q");
    assert_eq!(
        sim.take_offers(),
        vec![
            (c1, "z".to_string()),
            (c2, "y".to_string()),
            (c3, "x".to_string()),
            (c4, "w".to_string()),
        ]
    );
}

#[test]
fn fewest_calls_and_least_talk_ties_go_to_the_longest_idle() {
    for strategy in [Strategy::FewestCalls, Strategy::LeastTalkTime] {
        let mut sim = Sim::new(
            ties_cfg(strategy),
            vec![agent("p", &[("q", 5)]), agent("r", &[("q", 5)])],
        );
        sim.login("p");
        sim.progress(SEC);
        sim.login("r");
        sim.progress(SEC);
        // Neither has a call: r was idle less, p gets the call.
        let id = sim.call("q");
        assert_eq!(sim.take_offers(), vec![(id, "p".to_string())], "{strategy}");
    }
}

#[test]
fn round_robin_continues_after_the_last_one_offered() {
    let mut q = queue("rr");
    q.strategy = Strategy::RoundRobin;
    let mut sim = Sim::new(
        config(vec![q]),
        vec![
            agent("r1", &[("rr", 5)]),
            agent("r2", &[("rr", 5)]),
            agent("r3", &[("rr", 5)]),
            agent("r4", &[("rr", 5)]),
        ],
    );
    // Logged in in reverse: longest-idle would start with r4.
    for a in ["r4", "r3", "r2", "r1"] {
        sim.login(a);
        sim.progress(SEC);
    }
    let c1 = sim.call("rr");
    assert_eq!(sim.take_offers(), vec![(c1, "r1".to_string())]);
    sim.talk(c1, "r1", 10 * SEC);
    // r1 is ready again and first in the list: the memory moves on to r2.
    assert_eq!(sim.state("r1"), AgentState::Ready);
    let c2 = sim.call("rr");
    assert_eq!(sim.take_offers(), vec![(c2, "r2".to_string())]);
    sim.talk(c2, "r2", 10 * SEC);
    // r3 rejects: the call goes on to r4, the next one after r3.
    let c3 = sim.call("rr");
    assert_eq!(sim.take_offers(), vec![(c3, "r3".to_string())]);
    sim.fail(c3, "r3", OfferFailure::Rejected).unwrap();
    assert_eq!(sim.take_offers(), vec![(c3, "r4".to_string())]);
    sim.talk(c3, "r4", 10 * SEC);
    // After r4: round to r1.
    let c4 = sim.call("rr");
    assert_eq!(sim.take_offers(), vec![(c4, "r1".to_string())]);
    // r1 is busy; the next call is r2's.
    let c5 = sim.call("rr");
    assert_eq!(sim.take_offers(), vec![(c5, "r2".to_string())]);
}

#[test]
fn round_robin_remembers_an_agent_that_took_a_waiting_call() {
    let mut q = queue("rr");
    q.strategy = Strategy::RoundRobin;
    let mut sim = Sim::with_ready(
        config(vec![q]),
        vec![
            agent("r1", &[("rr", 5)]),
            agent("r2", &[("rr", 5)]),
            agent("r3", &[("rr", 5)]),
        ],
    );
    let calls: Vec<_> = (0..3).map(|_| sim.call("rr")).collect();
    for (c, a) in calls.iter().zip(["r1", "r2", "r3"]) {
        sim.answer(*c, a).unwrap();
    }
    let waiting = sim.call("rr");
    sim.take_offers();
    // r2 frees first and takes the waiting call: the memory is now after r2.
    sim.hang_up(calls[1]).unwrap();
    assert_eq!(sim.take_offers(), vec![(waiting, "r2".to_string())]);
    sim.hang_up(calls[0]).unwrap();
    sim.hang_up(calls[2]).unwrap();
    let next = sim.call("rr");
    assert_eq!(sim.take_offers(), vec![(next, "r3".to_string())]);
}

#[test]
fn fewest_calls_and_least_talk_time_count_since_login() {
    // d has the most calls (4) and b the most talk after a; after a logout and login, d and b
    // start from nothing: d (logged in again first) is fewest-calls' pick, and b least-talk's.
    for (queue, first_back, want) in [("fc", "d", "d"), ("ltt", "b", "b")] {
        let mut sim = history();
        sim.logout("d");
        sim.logout("b");
        sim.progress(SEC);
        sim.login(first_back);
        sim.progress(SEC);
        sim.login(if first_back == "d" { "b" } else { "d" });
        let v = sim.acd.agent("d", sim.now).unwrap();
        assert_eq!((v.calls_answered, v.talk_ms), (0, 0));
        let id = sim.call(queue);
        assert_eq!(sim.take_offers(), vec![(id, want.to_string())], "{queue}");
    }
}
