//! Ring timeouts, the retry pause, and the no-answer rule (N ring-no-answers in a row → not
//! ready with the configured reason).

mod common;
use common::*;
use hotline_acd::{AgentState, OfferFailure};

/// Ring timeout 20 s, retry 5 s, max_no_answer 3 (the defaults).
fn sim(agents: &[&str]) -> Sim {
    Sim::with_ready(
        config(vec![queue("q")]),
        agents.iter().map(|a| agent(a, &[("q", 5)])).collect(),
    )
}

fn streak(sim: &Sim, a: &str) -> u32 {
    sim.acd.agent(a, sim.now).unwrap().no_answer_streak
}

#[test]
fn a_ring_timeout_cancels_and_offers_the_next_agent() {
    let mut sim = sim(&["a", "b"]);
    let c = sim.call("q");
    assert_eq!(sim.take_offers(), vec![(c, "a".to_string())]);
    sim.progress(20 * SEC - 1);
    assert!(sim.take_commands().is_empty());
    sim.progress(1);
    let cmds = sim.take_commands();
    assert_eq!(cancels(&cmds), vec![(c, "a".to_string())]);
    assert_eq!(offers(&cmds), vec![(c, "b".to_string())]);
    assert_eq!(sim.state("a"), AgentState::Ready);
    assert_eq!(streak(&sim, "a"), 1);
    let q = sim.acd.queue_stats("q", sim.now).unwrap();
    assert_eq!(q.counters.no_answers, 1);
}

#[test]
fn the_same_agent_is_not_offered_the_call_again_within_retry_ms() {
    let mut sim = sim(&["a"]);
    let c = sim.call("q");
    sim.take_offers();
    sim.progress(20 * SEC);
    assert_eq!(cancels(&sim.take_commands()), vec![(c, "a".to_string())]);
    assert_eq!(sim.state("a"), AgentState::Ready);
    // a is the only one: after the 5 s pause the call comes back to a.
    sim.progress(5 * SEC - 1);
    assert!(sim.take_offers().is_empty());
    sim.progress(1);
    assert_eq!(sim.take_offers(), vec![(c, "a".to_string())]);
}

#[test]
fn the_pause_is_per_call_another_caller_reaches_the_agent_at_once() {
    let mut sim = sim(&["a"]);
    let c = sim.call("q");
    sim.take_offers();
    sim.fail(c, "a", OfferFailure::Rejected).unwrap();
    let d = sim.call("q");
    assert_eq!(sim.take_offers(), vec![(d, "a".to_string())]);
}

#[test]
fn the_pause_when_the_agent_rejects_while_another_is_busy_then_frees() {
    // b frees during a's pause: b gets the call at once; a would have had to wait.
    let mut sim = sim(&["a", "b"]);
    let busy = sim.call("q");
    sim.answer(busy, "a").unwrap();
    let c = sim.call("q");
    assert_eq!(sim.take_offers()[1], (c, "b".to_string()));
    sim.fail(c, "b", OfferFailure::NoAnswer).unwrap();
    assert!(sim.take_offers().is_empty());
    sim.progress(2 * SEC);
    sim.hang_up(busy).unwrap();
    assert_eq!(sim.take_offers(), vec![(c, "a".to_string())]);
}

#[test]
fn three_ring_no_answers_in_a_row_set_the_agent_not_ready() {
    let mut sim = sim(&["a"]);
    let c = sim.call("q");
    sim.take_offers();
    // 0–20 s rings out (1), again 25–45 s (2), 50–70 s (3).
    sim.progress(20 * SEC);
    assert_eq!(streak(&sim, "a"), 1);
    sim.progress(25 * SEC);
    assert_eq!(streak(&sim, "a"), 2);
    assert_eq!(sim.state("a"), AgentState::Ready, "paused for this call");
    sim.progress(25 * SEC);
    assert_eq!(streak(&sim, "a"), 3);
    assert_eq!(sim.state("a"), not_ready("未应答"));
    assert_eq!(sim.view(c).unwrap().state, "waiting");
    // Offered again at 25 s and 50 s (the first offer was taken above).
    assert_eq!(sim.take_offers(), vec![(c, "a".to_string()); 2]);
    // Ready again: the streak starts over; the call comes back once its pause is over.
    sim.ready("a");
    assert_eq!(streak(&sim, "a"), 0);
    assert!(sim.take_offers().is_empty());
    sim.progress(5 * SEC);
    assert_eq!(sim.take_offers(), vec![(c, "a".to_string())]);
}

#[test]
fn rejected_and_unreachable_count_busy_does_not() {
    let mut sim = sim(&["a"]);
    for why in [
        OfferFailure::Rejected,
        OfferFailure::Busy,
        OfferFailure::Busy,
        OfferFailure::Unreachable,
        OfferFailure::Busy,
    ] {
        let c = sim.call("q");
        assert_eq!(sim.take_offers(), vec![(c, "a".to_string())]);
        sim.fail(c, "a", why).unwrap();
        sim.hang_up(c).unwrap(); // the caller gives up: the next call is a fresh one
        assert_eq!(sim.state("a"), AgentState::Ready, "{why:?}");
    }
    assert_eq!(streak(&sim, "a"), 2);
    let c = sim.call("q");
    sim.take_offers();
    sim.fail(c, "a", OfferFailure::NoAnswer).unwrap();
    assert_eq!(sim.state("a"), not_ready("未应答"));
}

#[test]
fn an_answer_resets_the_streak() {
    let mut sim = sim(&["a"]);
    for _ in 0..2 {
        let c = sim.call("q");
        sim.take_offers();
        sim.fail(c, "a", OfferFailure::NoAnswer).unwrap();
        sim.hang_up(c).unwrap();
    }
    assert_eq!(streak(&sim, "a"), 2);
    let c = sim.call("q");
    sim.take_offers();
    sim.talk(c, "a", 10 * SEC);
    assert_eq!(streak(&sim, "a"), 0);
    for _ in 0..2 {
        let c = sim.call("q");
        sim.take_offers();
        sim.fail(c, "a", OfferFailure::NoAnswer).unwrap();
        sim.hang_up(c).unwrap();
    }
    assert_eq!(sim.state("a"), AgentState::Ready);
}

#[test]
fn the_reason_is_the_configured_one_and_zero_means_never() {
    let mut cfg = config(vec![queue("q")]);
    cfg.no_answer_reason = "NoAnswer".into();
    let mut sim = Sim::with_ready(cfg, vec![agent("a", &[("q", 5)])]);
    let c = sim.call("q");
    sim.take_offers();
    sim.progress(70 * SEC);
    assert_eq!(sim.state("a"), not_ready("NoAnswer"));
    let _ = c;

    let mut q = queue("q");
    q.max_no_answer = 0;
    let mut sim = Sim::with_ready(config(vec![q]), vec![agent("a", &[("q", 5)])]);
    sim.call("q");
    sim.progress(10 * 25 * SEC);
    assert!(streak(&sim, "a") >= 10);
    assert_ne!(sim.state("a"), not_ready("未应答"));
}
