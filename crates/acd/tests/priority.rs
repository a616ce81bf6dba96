//! Caller priority: the IVR's flag, the repeat caller (+repeat_priority within 48 h) and the
//! sticky agent.

mod common;
use common::*;
use hotline_acd::{AgentState, Event};

fn sim() -> Sim {
    Sim::with_ready(
        config(vec![queue("q")]),
        vec![agent("a", &[("q", 5)]), agent("b", &[("q", 5)])],
    )
}

fn queued(events: &[Event], id: u64) -> (u8, bool) {
    events
        .iter()
        .find_map(|e| match e {
            Event::CallQueued {
                call,
                priority,
                repeat,
                ..
            } if *call == id => Some((*priority, *repeat)),
            _ => None,
        })
        .expect("a CallQueued event")
}

#[test]
fn a_priority_call_queued_later_is_served_before_older_normal_calls() {
    let mut sim = sim();
    let ca = sim.call("q");
    let cb = sim.call("q");
    sim.answer(ca, "a").unwrap();
    sim.answer(cb, "b").unwrap();
    let old1 = sim.call("q");
    sim.progress(10 * SEC);
    let old2 = sim.call("q");
    sim.progress(10 * SEC);
    let vip = sim.call_prio("q", 3);
    assert_eq!(sim.view(vip).unwrap().position, Some(1));
    assert_eq!(sim.view(old1).unwrap().position, Some(2));
    assert_eq!(sim.view(old2).unwrap().position, Some(3));
    sim.take_offers();
    sim.hang_up(ca).unwrap();
    assert_eq!(sim.take_offers(), vec![(vip, "a".to_string())]);
    sim.hang_up(cb).unwrap();
    assert_eq!(sim.take_offers(), vec![(old1, "b".to_string())]);
}

#[test]
fn equal_priorities_are_served_in_arrival_order_and_higher_ones_first() {
    let mut sim = sim();
    sim.not_ready("a", "会议");
    sim.not_ready("b", "会议");
    let p1 = sim.call_prio("q", 1);
    let p0 = sim.call_prio("q", 0);
    let p2 = sim.call_prio("q", 2);
    let p1b = sim.call_prio("q", 1);
    sim.ready("a");
    let mut order = Vec::new();
    for _ in 0..4 {
        let (c, _) = sim.take_offers()[0].clone();
        order.push(c);
        sim.talk(c, "a", SEC);
    }
    assert_eq!(order, vec![p2, p1, p1b, p0]);
}

#[test]
fn a_repeat_caller_gets_the_repeat_priority_and_the_sticky_agent() {
    let mut sim = sim();
    // b answers 13812345678 first; a is idle longer afterwards.
    sim.not_ready("a", "会议");
    let first = sim.enqueue("q", "13812345678", 0);
    assert_eq!(queued(&sim.take_events(), first), (0, false));
    assert_eq!(sim.take_offers(), vec![(first, "b".to_string())]);
    sim.talk(first, "b", 60 * SEC);
    sim.ready("a");
    // An hour later a normal caller would go to a (longest idle)...
    sim.progress(HOUR);
    let other = sim.call("q");
    assert_eq!(sim.take_offers(), vec![(other, "a".to_string())]);
    sim.talk(other, "a", SEC);
    // ...but the repeat caller goes to b, who is ready, although a has been idle longer.
    sim.progress(10 * SEC);
    let again = sim.enqueue("q", "13812345678", 0);
    assert_eq!(queued(&sim.take_events(), again), (1, true));
    assert_eq!(sim.view(again).unwrap().priority, 1);
    assert_eq!(sim.take_offers(), vec![(again, "b".to_string())]);
}

#[test]
fn a_repeat_caller_whose_agent_is_busy_is_served_by_another_agent_ahead_of_others() {
    let mut sim = sim();
    let first = sim.enqueue("q", "13812345678", 0);
    let (_, agent) = sim.take_offers()[0].clone();
    sim.talk(first, &agent, 30 * SEC);
    let other = if agent == "a" { "b" } else { "a" };
    // The sticky agent is on another call; the other agent is busy too.
    sim.call("q");
    sim.call("q");
    for (c, a) in sim.take_offers() {
        sim.answer(c, &a).unwrap();
    }
    let normal = sim.call("q");
    let repeat = sim.enqueue("q", "13812345678", 0);
    // The other agent frees first: the repeat caller (priority 1) goes ahead of `normal`.
    let AgentState::Talking { call: other_call } = sim.state(other) else {
        panic!("{other} talks");
    };
    sim.hang_up(other_call).unwrap();
    assert_eq!(sim.take_offers(), vec![(repeat, other.to_string())]);
    assert_eq!(sim.view(normal).unwrap().position, Some(1));
}

#[test]
fn after_48_hours_the_caller_is_no_longer_a_repeat() {
    let mut sim = sim();
    sim.not_ready("a", "会议");
    let first = sim.enqueue("q", "13812345678", 0);
    sim.take_offers();
    sim.talk(first, "b", 60 * SEC);
    sim.ready("a");
    // Just inside the window: still a repeat.
    sim.progress(48 * HOUR - 60 * SEC - 1);
    let inside = sim.enqueue("q", "13812345678", 0);
    assert_eq!(queued(&sim.take_events(), inside), (1, true));
    assert_eq!(sim.take_offers(), vec![(inside, "b".to_string())]);
    sim.hang_up(inside).unwrap(); // The caller hangs up while b rings: b is not the last agent now.
    sim.take_commands();
    // 48 h to the millisecond after b answered them (at 0): a normal caller, routed by the
    // strategy (a idles longest).
    sim.progress(1);
    assert_eq!(sim.now, 48 * HOUR);
    let after = sim.enqueue("q", "13812345678", 0);
    assert_eq!(queued(&sim.take_events(), after), (0, false));
    assert_eq!(sim.take_offers(), vec![(after, "a".to_string())]);
}

#[test]
fn anonymous_callers_are_never_repeats() {
    let mut sim = sim();
    for number in ["", "anonymous"] {
        let c = sim.enqueue("q", number, 0);
        let (_, a) = sim.take_offers()[0].clone();
        sim.talk(c, &a, SEC);
        let again = sim.enqueue("q", number, 0);
        assert_eq!(queued(&sim.take_events(), again), (0, false));
        let (_, a) = sim.take_offers()[0].clone();
        sim.talk(again, &a, SEC);
    }
}

#[test]
fn a_restored_recent_caller_is_a_repeat_with_their_agent() {
    let mut sim = sim();
    let now = sim.now;
    sim.acd.restore_recent("13900000000", "b", 3 * HOUR, now);
    // An older one is outside the window and forgotten.
    sim.acd.restore_recent("13900000001", "b", 49 * HOUR, now);
    let c = sim.enqueue("q", "13900000000", 2);
    assert_eq!(queued(&sim.take_events(), c), (3, true));
    assert_eq!(sim.take_offers(), vec![(c, "b".to_string())]);
    let d = sim.enqueue("q", "13900000001", 0);
    assert_eq!(queued(&sim.take_events(), d), (0, false));
}

#[test]
fn priorities_stop_at_9() {
    let mut sim = sim();
    let now = sim.now;
    sim.acd.restore_recent("13900000000", "b", HOUR, now);
    let c = sim.enqueue("q", "13900000000", 9);
    assert_eq!(queued(&sim.take_events(), c), (9, true));
    let d = sim.enqueue("q", "13900000002", 200);
    assert_eq!(queued(&sim.take_events(), d), (9, false));
}
