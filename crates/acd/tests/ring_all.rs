//! Ring-all: every ready agent rings, the first answer wins, the others are cancelled at once.

mod common;
use common::*;
use hotline_acd::{AcdError, AgentState, Command, OfferFailure, Strategy};

fn sim() -> Sim {
    let mut q = queue("all");
    q.strategy = Strategy::RingAll;
    Sim::with_ready(
        config(vec![q]),
        vec![
            agent("a", &[("all", 5)]),
            agent("b", &[("all", 5)]),
            agent("c", &[("all", 5)]),
            agent("off", &[("all", 5)]),
        ],
    )
}

#[test]
fn every_ready_agent_rings_and_the_first_answer_wins() {
    let mut sim = sim();
    sim.not_ready("off", "会议");
    let id = sim.call("all");
    let mut offered: Vec<String> = sim.take_offers().into_iter().map(|(_, a)| a).collect();
    offered.sort();
    assert_eq!(offered, ["a", "b", "c"]);
    for a in ["a", "b", "c"] {
        assert_eq!(sim.state(a), AgentState::Reserved { call: id });
    }
    assert_eq!(sim.state("off"), not_ready("会议"));

    sim.progress(3 * SEC);
    sim.answer(id, "b").unwrap();
    // The others are cancelled in the same step, and are ready again.
    let mut cancelled = cancels(&sim.take_commands());
    cancelled.sort();
    assert_eq!(
        cancelled,
        vec![(id, "a".to_string()), (id, "c".to_string())]
    );
    assert_eq!(sim.state("a"), AgentState::Ready);
    assert_eq!(sim.state("c"), AgentState::Ready);
    assert_eq!(sim.state("b"), AgentState::Talking { call: id });
    let v = sim.view(id).unwrap();
    assert_eq!((v.state, v.agents), ("connected", vec!["b".to_string()]));

    // A late 200 from a: another agent won.
    assert_eq!(sim.answer(id, "a"), Err(AcdError::AlreadyAnswered(id)));
    assert_eq!(sim.state("a"), AgentState::Ready);
    assert_eq!(sim.state("b"), AgentState::Talking { call: id });
    // Nor can a's ring-out report undo anything.
    assert!(sim.fail(id, "a", OfferFailure::NoAnswer).is_err());
    assert_eq!(sim.state("a"), AgentState::Ready);
}

#[test]
fn the_cancelled_agents_take_the_next_call_at_once() {
    let mut sim = sim();
    sim.not_ready("off", "会议");
    let first = sim.call("all");
    let second = sim.call("all");
    // Everyone rings for the first; the second waits.
    assert!(sim.take_offers().iter().all(|(c, _)| *c == first));
    assert_eq!(sim.view(second).unwrap().state, "waiting");
    sim.answer(first, "a").unwrap();
    let cmds = sim.take_commands();
    let mut cancelled: Vec<_> = cancels(&cmds).into_iter().map(|(_, a)| a).collect();
    cancelled.sort();
    assert_eq!(cancelled, ["b", "c"]);
    // b and c, free again, both ring for the second call.
    let mut offered: Vec<_> = offers(&cmds)
        .into_iter()
        .inspect(|(c, _)| assert_eq!(*c, second))
        .map(|(_, a)| a)
        .collect();
    offered.sort();
    assert_eq!(offered, ["b", "c"]);
    // The Cancel for the first call comes before the Offer of the second to the same agent.
    let pos = |want: &Command| cmds.iter().position(|c| c == want).unwrap();
    let cancel_b = Command::Cancel {
        call: first,
        agent: "b".into(),
    };
    let offer_b = cmds
        .iter()
        .find(
            |c| matches!(c, Command::Offer { call, agent, .. } if *call == second && agent == "b"),
        )
        .unwrap();
    assert!(pos(&cancel_b) < pos(offer_b));
}

#[test]
fn an_agent_ready_while_ringing_does_not_join_but_the_next_call_rings_it() {
    let mut sim = sim();
    sim.not_ready("off", "会议");
    let id = sim.call("all");
    sim.take_offers();
    sim.ready("off");
    assert_eq!(sim.state("off"), AgentState::Ready);
    assert_eq!(sim.ringing(id).len(), 3);
    let next = sim.call("all");
    assert_eq!(sim.take_offers(), vec![(next, "off".to_string())]);
}

#[test]
fn when_everyone_rings_out_all_are_cancelled_and_the_call_rings_again_after_the_retry_pause() {
    let mut sim = sim();
    sim.logout("off");
    let id = sim.call("all");
    sim.take_offers();
    // Ring timeout is 20 s, retry 5 s.
    sim.progress(20 * SEC);
    let cmds = sim.take_commands();
    assert_eq!(cancels(&cmds).len(), 3);
    assert!(offers(&cmds).is_empty());
    assert_eq!(sim.view(id).unwrap().state, "waiting");
    for a in ["a", "b", "c"] {
        assert_eq!(sim.state(a), AgentState::Ready);
    }
    sim.progress(5 * SEC - 1);
    assert!(sim.take_offers().is_empty());
    sim.progress(1);
    let mut again: Vec<_> = sim.take_offers().into_iter().map(|(_, a)| a).collect();
    again.sort();
    assert_eq!(again, ["a", "b", "c"]);
}

#[test]
fn one_agent_declining_leaves_the_others_ringing() {
    let mut sim = sim();
    sim.logout("off");
    let id = sim.call("all");
    sim.take_offers();
    sim.fail(id, "a", OfferFailure::Rejected).unwrap();
    assert_eq!(sim.state("a"), AgentState::Ready);
    let mut ringing = sim.ringing(id);
    ringing.sort();
    assert_eq!(ringing, ["b", "c"]);
    sim.answer(id, "c").unwrap();
    assert_eq!(cancels(&sim.take_commands()), vec![(id, "b".to_string())]);
}

#[test]
fn the_caller_hanging_up_cancels_every_ringing_agent() {
    let mut sim = sim();
    sim.logout("off");
    let id = sim.call("all");
    sim.take_offers();
    sim.hang_up(id).unwrap();
    assert_eq!(cancels(&sim.take_commands()).len(), 3);
    assert!(sim.view(id).is_none());
    for a in ["a", "b", "c"] {
        assert_eq!(sim.state(a), AgentState::Ready);
    }
    let stats = sim.acd.queue_stats("all", sim.now).unwrap();
    assert_eq!(stats.counters.abandoned, 1);
}

#[test]
fn the_caller_hanging_up_while_ringing_frees_everyone_for_the_next_call_together() {
    let mut sim = sim();
    sim.logout("off");
    let first = sim.call("all");
    let second = sim.call("all");
    sim.take_commands();
    sim.hang_up(first).unwrap();
    let mut ringing = sim.ringing(second);
    ringing.sort();
    assert_eq!(ringing, ["a", "b", "c"]);
}

#[test]
fn after_everyone_rang_out_the_next_caller_rings_everyone() {
    // Nobody answers the first caller: all three ring out at the same instant, and the caller
    // behind (the first one is paused for them now) must ring all three, not only the agent
    // whose ring-out happened to be handled first.
    let mut sim = sim();
    sim.logout("off");
    let first = sim.call("all");
    sim.progress(SEC);
    let second = sim.call("all");
    sim.take_commands();
    sim.progress(19 * SEC);
    let mut ringing = sim.ringing(second);
    ringing.sort();
    assert_eq!(ringing, ["a", "b", "c"]);
    assert_eq!(sim.view(first).unwrap().state, "waiting");
}
