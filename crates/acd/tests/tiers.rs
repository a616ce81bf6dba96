//! Skill tiers that relax with the wait: level ≥ 7 for the first 30 s, then anyone (≥ 1).

mod common;
use common::*;
use hotline_acd::{AgentState, QueueConfig, RelaxStep, Strategy};

fn tiered(name: &str) -> QueueConfig {
    let mut q = queue(name);
    q.relax = vec![
        RelaxStep {
            after_ms: 0,
            min_level: 7,
        },
        RelaxStep {
            after_ms: 30 * SEC,
            min_level: 1,
        },
    ];
    q
}

fn sim() -> Sim {
    Sim::with_ready(
        config(vec![tiered("t"), queue("plain")]),
        vec![
            agent("expert", &[("t", 8), ("plain", 5)]),
            agent("novice", &[("t", 3), ("plain", 5)]),
        ],
    )
}

#[test]
fn a_low_level_agent_gets_the_call_only_once_the_tier_relaxes() {
    let mut sim = sim();
    sim.not_ready("expert", "会议");
    let id = sim.call("t");
    assert!(sim.take_offers().is_empty());
    sim.progress(30 * SEC - 1);
    assert!(sim.take_offers().is_empty(), "not before 30 s");
    assert_eq!(sim.state("novice"), AgentState::Ready);
    sim.progress(1);
    assert_eq!(sim.take_offers(), vec![(id, "novice".to_string())]);
}

#[test]
fn the_expert_gets_the_call_at_once() {
    let mut sim = sim();
    let id = sim.call("t");
    assert_eq!(sim.take_offers(), vec![(id, "expert".to_string())]);
}

#[test]
fn an_expert_ready_during_the_first_tier_takes_the_call() {
    let mut sim = sim();
    sim.not_ready("expert", "会议");
    let id = sim.call("t");
    sim.progress(10 * SEC);
    sim.ready("expert");
    assert_eq!(sim.take_offers(), vec![(id, "expert".to_string())]);
}

#[test]
fn a_novice_ready_after_the_relax_takes_the_call() {
    let mut sim = sim();
    sim.not_ready("expert", "会议");
    sim.not_ready("novice", "小休");
    let id = sim.call("t");
    sim.progress(40 * SEC);
    assert!(sim.take_offers().is_empty());
    sim.ready("novice");
    assert_eq!(sim.take_offers(), vec![(id, "novice".to_string())]);
}

#[test]
fn a_novice_skips_an_early_call_for_an_older_relaxed_one() {
    let mut sim = sim();
    sim.not_ready("expert", "会议");
    sim.not_ready("novice", "小休");
    let old = sim.call("t");
    sim.progress(35 * SEC);
    let young = sim.call_prio("t", 5);
    sim.ready("novice");
    // The young call comes first by priority but still needs level 7.
    assert_eq!(sim.take_offers(), vec![(old, "novice".to_string())]);
    assert_eq!(sim.view(young).unwrap().state, "waiting");
}

#[test]
fn a_restored_callback_item_relaxes_too() {
    // A callback item restored after a restart waits under the same tiers, and must reach
    // the novice once 30 s have passed: the relax step has to be armed for it as well.
    let mut sim = sim();
    sim.not_ready("expert", "会议");
    let now = sim.now;
    let id = sim
        .acd
        .restore_callback("t", "cb-1", "13800000001", 0, false, now)
        .unwrap();
    sim.drain();
    assert!(sim.take_offers().is_empty());
    sim.progress(30 * SEC);
    assert_eq!(sim.take_offers(), vec![(id, "novice".to_string())]);
}

#[test]
fn a_callback_item_moved_into_a_tiered_queue_relaxes_there() {
    let mut cfg = config(vec![tiered("t"), queue("plain")]);
    cfg.queues[1].max_wait_ms = Some(10 * SEC);
    let mut sim = Sim::with_ready(
        cfg,
        vec![
            agent("expert", &[("t", 8)]),
            agent("novice", &[("t", 3)]),
            agent("p", &[("plain", 5)]),
        ],
    );
    sim.not_ready("expert", "会议");
    sim.not_ready("p", "会议");
    let id = sim.call("plain");
    sim.progress(10 * SEC);
    // Timed out in `plain`: a callback item.
    assert_eq!(sim.view(id).unwrap().state, "callback");
    let now = sim.now;
    sim.acd.move_call(id, "t", now).unwrap();
    sim.drain();
    assert!(
        sim.take_offers().is_empty(),
        "the novice is below the first tier"
    );
    sim.progress(30 * SEC);
    assert_eq!(sim.take_offers(), vec![(id, "novice".to_string())]);
}

#[test]
fn tiers_apply_to_ring_all_too() {
    let mut q = tiered("t");
    q.strategy = Strategy::RingAll;
    q.retry_ms = 60 * SEC;
    let mut sim = Sim::with_ready(
        config(vec![q]),
        vec![
            agent("e1", &[("t", 9)]),
            agent("e2", &[("t", 7)]),
            agent("n", &[("t", 2)]),
        ],
    );
    let id = sim.call("t");
    let mut first: Vec<_> = sim.take_offers().into_iter().map(|(_, a)| a).collect();
    first.sort();
    assert_eq!(first, ["e1", "e2"]);
    // Both experts decline (and may not get it again for 60 s): nobody rings until the tier
    // relaxes, then the novice does.
    sim.fail(id, "e1", hotline_acd::OfferFailure::Rejected)
        .unwrap();
    sim.fail(id, "e2", hotline_acd::OfferFailure::Rejected)
        .unwrap();
    sim.progress(30 * SEC - 1);
    assert!(sim.take_offers().is_empty());
    sim.progress(1);
    assert_eq!(sim.take_offers(), vec![(id, "n".to_string())]);
}

#[test]
fn a_callback_item_kept_on_arrival_relaxes_too() {
    // No agent logged in at arrival: the caller leaves a callback item at once, before the
    // queue's own timers; it still relaxes when the novice is there.
    let mut q = tiered("t");
    q.on_no_agents = hotline_acd::LeaveAction::Callback;
    let mut sim = Sim::new(config(vec![q]), vec![agent("novice", &[("t", 3)])]);
    let id = sim.call("t");
    assert_eq!(sim.view(id).unwrap().state, "callback");
    sim.acd.set_takes_callbacks("novice", true, 0).unwrap();
    sim.login("novice");
    assert!(sim.take_offers().is_empty());
    sim.progress(30 * SEC);
    assert_eq!(sim.take_offers(), vec![(id, "novice".to_string())]);
}
