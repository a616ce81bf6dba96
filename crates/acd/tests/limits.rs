//! Queue limits: max wait (on_timeout), max length (on_full), no agent logged in
//! (on_no_agents), and the caller's own request for a callback.

mod common;
use common::*;
use hotline_acd::{
    Acd, AcdError, AgentState, Command, Event, LeaveAction, LeaveWhy, OfferFailure, QueueConfig,
};

fn leaves(commands: &[Command]) -> Vec<(u64, String, LeaveWhy)> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Leave { call, action, why } => Some((*call, action.clone(), *why)),
            _ => None,
        })
        .collect()
}

fn with_timeout(name: &str, secs: u64, action: LeaveAction) -> QueueConfig {
    let mut q = queue(name);
    q.max_wait_ms = Some(secs * SEC);
    q.on_timeout = action;
    q
}

/// One agent, on a call: whatever arrives waits.
fn busy(queues: Vec<QueueConfig>, skills: &[(&str, u8)]) -> (Sim, u64) {
    let first = queues[0].name.clone();
    let mut sim = Sim::with_ready(config(queues), vec![agent("a", skills)]);
    let busy = sim.call(&first);
    sim.answer(busy, "a").unwrap();
    sim.take_commands();
    sim.take_events();
    (sim, busy)
}

#[test]
fn max_wait_callback_keeps_the_callers_place() {
    let (mut sim, busy) = busy(
        vec![with_timeout("q", 60, LeaveAction::Callback)],
        &[("q", 5)],
    );
    let c1 = sim.call("q");
    sim.progress(60 * SEC - 1);
    assert!(leaves(&sim.commands).is_empty());
    sim.progress(1);
    assert_eq!(
        leaves(&sim.take_commands()),
        vec![(c1, "callback".to_string(), LeaveWhy::Timeout)]
    );
    let ev = sim.take_events();
    assert!(ev.iter().any(|e| matches!(e,
        Event::CallbackQueued { call, message: false, .. } if *call == c1)));
    assert_eq!(sim.view(c1).unwrap().state, "callback");
    // A caller arriving after the callback item is served after it.
    sim.progress(10 * SEC);
    let c2 = sim.call("q");
    let stats = sim.acd.queue_stats("q", sim.now).unwrap();
    assert_eq!((stats.waiting, stats.callbacks_waiting), (1, 1));
    sim.hang_up(busy).unwrap();
    let cmds = sim.take_commands();
    assert!(cmds.contains(&Command::Offer {
        call: c1,
        agent: "a".into(),
        queue: "q".into(),
        callback: true,
    }));
    // A callback item has no caller to hang up; the agent completes it.
    sim.talk(c1, "a", 30 * SEC);
    assert!(sim.take_events().iter().any(|e| matches!(e,
        Event::CallbackDone { call, agent, .. } if *call == c1 && agent == "a")));
    assert_eq!(sim.take_offers(), vec![(c2, "a".to_string())]);
    // The callback answered later does not count as answered (the caller had left).
    let c = sim.acd.queue_stats("q", sim.now).unwrap().counters;
    assert_eq!((c.left, c.callbacks, c.answered), (1, 1, 1));
}

#[test]
fn max_wait_message_keeps_a_message_item() {
    let (mut sim, _) = busy(
        vec![with_timeout("q", 60, LeaveAction::Message)],
        &[("q", 5)],
    );
    let c1 = sim.call("q");
    sim.progress(60 * SEC);
    assert_eq!(
        leaves(&sim.take_commands()),
        vec![(c1, "message".to_string(), LeaveWhy::Timeout)]
    );
    let v = sim.view(c1).unwrap();
    assert_eq!((v.state, v.message), ("callback", true));
    let c = sim.acd.queue_stats("q", sim.now).unwrap().counters;
    assert_eq!((c.left, c.messages), (1, 1));
}

#[test]
fn max_wait_overflow_moves_the_call_and_it_is_answered_in_the_other_queue() {
    let mut q1 = with_timeout("first", 30, LeaveAction::Overflow("second".into()));
    q1.service_level_ms = 20 * SEC;
    let mut sim = Sim::with_ready(
        config(vec![q1, queue("second")]),
        vec![agent("a", &[("first", 5)]), agent("b", &[("second", 5)])],
    );
    let busy = sim.call("first");
    sim.answer(busy, "a").unwrap();
    sim.not_ready("b", "会议");
    // A caller already waiting in `second` since before the overflowing one arrived, and one
    // after: the moved caller keeps their place by arrival.
    let older = sim.call("second");
    sim.progress(SEC);
    let c = sim.call("first");
    sim.progress(SEC);
    let younger = sim.call("second");
    sim.take_commands();
    sim.take_events();
    sim.progress(29 * SEC);
    assert!(sim.take_events().iter().any(|e| matches!(e,
        Event::CallMoved { call, from, to } if *call == c && from == "first" && to == "second")));
    assert!(leaves(&sim.commands).is_empty(), "an overflow is no Leave");
    let v = sim.view(c).unwrap();
    assert_eq!(
        (v.queue.as_str(), v.position, v.waited_ms),
        ("second", Some(2), 0)
    );
    assert_eq!(sim.view(younger).unwrap().position, Some(3));
    sim.ready("b");
    assert_eq!(sim.take_offers(), vec![(older, "b".to_string())]);
    sim.talk(older, "b", SEC);
    assert_eq!(sim.take_offers(), vec![(c, "b".to_string())]);
    sim.answer(c, "b").unwrap();
    let first = sim.acd.queue_stats("first", sim.now).unwrap().counters;
    let second = sim.acd.queue_stats("second", sim.now).unwrap().counters;
    assert_eq!((first.offered, first.overflowed_out, first.left), (2, 1, 0));
    assert_eq!(first.answered, 1); // the busy call only
    assert_eq!((second.offered, second.answered), (3, 2));
}

#[test]
fn max_wait_hangup_says_goodbye() {
    let (mut sim, _) = busy(
        vec![with_timeout("q", 60, LeaveAction::Hangup)],
        &[("q", 5)],
    );
    let c1 = sim.call("q");
    sim.progress(60 * SEC);
    assert_eq!(
        leaves(&sim.take_commands()),
        vec![(c1, "hangup".to_string(), LeaveWhy::Timeout)]
    );
    assert!(sim.view(c1).is_none());
    assert_eq!(sim.acd.call_count(), 1);
    // The caller's BYE after the goodbye is for a call the engine no longer has.
    assert_eq!(sim.hang_up(c1), Err(AcdError::NoCall(c1)));
}

#[test]
fn max_wait_passing_while_an_agent_rings_applies_when_the_offer_fails() {
    let mut q = with_timeout("q", 30, LeaveAction::Hangup);
    q.ring_timeout_ms = 60 * SEC;
    let mut sim = Sim::with_ready(config(vec![q]), vec![agent("a", &[("q", 5)])]);
    sim.not_ready("a", "小休");
    let c = sim.call("q");
    sim.progress(25 * SEC);
    sim.ready("a");
    assert_eq!(sim.take_offers(), vec![(c, "a".to_string())]);
    sim.progress(10 * SEC);
    assert!(leaves(&sim.commands).is_empty(), "not while ringing");
    sim.fail(c, "a", OfferFailure::Busy).unwrap();
    assert_eq!(
        leaves(&sim.take_commands()),
        vec![(c, "hangup".to_string(), LeaveWhy::Timeout)]
    );

    // Answered while ringing past the max wait: no leave at all.
    let c = sim.call("q");
    sim.take_offers();
    sim.progress(31 * SEC);
    sim.answer(c, "a").unwrap();
    assert!(leaves(&sim.take_commands()).is_empty());
}

#[test]
fn a_callback_requested_after_the_max_wait_passed_while_ringing_is_kept_once() {
    // The max wait passes while a rings; the caller then presses the callback key. The item
    // kept must not carry the pending timeout: when its own offer later fails it goes back to
    // its place, with no second Leave for a caller who is gone (and the live count intact).
    let mut q = with_timeout("q", 30, LeaveAction::Hangup);
    q.ring_timeout_ms = 60 * SEC;
    let mut sim = Sim::with_ready(config(vec![q]), vec![agent("a", &[("q", 5)])]);
    let c = sim.call("q");
    sim.take_offers();
    sim.progress(31 * SEC);
    let now = sim.now;
    sim.acd.request_callback(c, now).unwrap();
    sim.drain();
    let cmds = sim.take_commands();
    assert_eq!(
        leaves(&cmds),
        vec![(c, "callback".to_string(), LeaveWhy::Requested)]
    );
    // a was freed and is offered the callback item at once.
    assert_eq!(offers(&cmds), vec![(c, "a".to_string())]);
    sim.fail(c, "a", OfferFailure::Rejected).unwrap();
    assert!(leaves(&sim.take_commands()).is_empty());
    assert_eq!(sim.view(c).unwrap().state, "callback");
    let s = sim.acd.queue_stats("q", sim.now).unwrap();
    assert_eq!((s.waiting, s.callbacks_waiting, s.counters.left), (0, 1, 1));
    // And the item is still served.
    sim.progress(5 * SEC);
    assert_eq!(sim.take_offers(), vec![(c, "a".to_string())]);
}

#[test]
fn max_length_sends_the_next_caller_to_on_full() {
    let mut q = queue("q");
    q.max_len = Some(2);
    q.on_full = LeaveAction::Message;
    let (mut sim, _) = busy(vec![q], &[("q", 5)]);
    let c1 = sim.call("q");
    let c2 = sim.call("q");
    assert!(leaves(&sim.commands).is_empty());
    let c3 = sim.call("q");
    assert_eq!(
        leaves(&sim.take_commands()),
        vec![(c3, "message".to_string(), LeaveWhy::Full)]
    );
    assert_eq!(sim.view(c3).unwrap().state, "callback");
    // Callback items do not count toward the length: when c1 leaves, there is room again.
    sim.hang_up(c1).unwrap();
    let c4 = sim.call("q");
    assert!(leaves(&sim.take_commands()).is_empty());
    assert_eq!(sim.view(c4).unwrap().state, "waiting");
    let _ = c2;
    let s = sim.acd.queue_stats("q", sim.now).unwrap();
    assert_eq!((s.waiting, s.callbacks_waiting), (2, 1));
}

#[test]
fn max_length_overflow_moves_the_caller() {
    let mut q = queue("q");
    q.max_len = Some(1);
    q.on_full = LeaveAction::Overflow("spill".into());
    let mut sim = Sim::with_ready(
        config(vec![q, queue("spill")]),
        vec![agent("a", &[("q", 5)]), agent("b", &[("spill", 5)])],
    );
    let busy = sim.call("q");
    sim.answer(busy, "a").unwrap();
    let waits = sim.call("q");
    let spilled = sim.call("q");
    let cmds = sim.take_commands();
    assert_eq!(
        offers(&cmds),
        vec![(busy, "a".into()), (spilled, "b".into())]
    );
    assert_eq!(sim.view(waits).unwrap().queue, "q");
}

#[test]
fn no_agent_logged_in_at_arrival() {
    let mut q = queue("q");
    q.on_no_agents = LeaveAction::Hangup;
    let mut sim = Sim::new(config(vec![q]), vec![agent("a", &[("q", 5)])]);
    let c = sim.call("q");
    assert_eq!(
        leaves(&sim.take_commands()),
        vec![(c, "hangup".to_string(), LeaveWhy::NoAgents)]
    );
    assert!(sim.view(c).is_none());
    // Logged in but not ready still counts as someone who may come back.
    sim.login("a");
    sim.not_ready("a", "小休");
    let c = sim.call("q");
    assert!(leaves(&sim.take_commands()).is_empty());
    assert_eq!(sim.view(c).unwrap().state, "waiting");
}

#[test]
fn the_last_agent_logging_out_sends_the_waiting_callers_to_on_no_agents() {
    let mut q = queue("q");
    q.on_no_agents = LeaveAction::Callback;
    let mut sim = Sim::with_ready(
        config(vec![q]),
        vec![agent("a", &[("q", 5)]), agent("b", &[("q", 5)])],
    );
    let ca = sim.call("q");
    let cb = sim.call("q");
    sim.answer(ca, "a").unwrap();
    sim.answer(cb, "b").unwrap();
    let w1 = sim.call("q");
    let w2 = sim.call("q");
    sim.take_commands();
    // a leaves after the call; b is still there.
    sim.logout("a");
    sim.hang_up(ca).unwrap();
    assert_eq!(sim.state("a"), AgentState::LoggedOut);
    assert!(leaves(&sim.commands).is_empty());
    // a's hang up offered w1 to nobody (a logged out). b goes: the callers leave.
    sim.take_commands();
    sim.hang_up(cb).unwrap();
    let cmds = sim.take_commands();
    assert_eq!(offers(&cmds), vec![(w1, "b".to_string())]);
    sim.logout("b");
    let cmds = sim.take_commands();
    // w1 was ringing b: withdrawn, back in its place, then both leave for a callback.
    assert_eq!(cancels(&cmds), vec![(w1, "b".to_string())]);
    assert_eq!(
        leaves(&cmds),
        vec![
            (w1, "callback".to_string(), LeaveWhy::NoAgents),
            (w2, "callback".to_string(), LeaveWhy::NoAgents),
        ]
    );
    assert_eq!(sim.view(w1).unwrap().state, "callback");
}

#[test]
fn request_callback_keeps_the_place() {
    let (mut sim, busy) = busy(vec![queue("q")], &[("q", 5)]);
    let c1 = sim.call("q");
    let c2 = sim.call("q");
    sim.progress(10 * SEC);
    let now = sim.now;
    sim.acd.request_callback(c1, now).unwrap();
    sim.drain();
    assert_eq!(
        leaves(&sim.take_commands()),
        vec![(c1, "callback".to_string(), LeaveWhy::Requested)]
    );
    assert_eq!(sim.view(c2).unwrap().position, Some(2));
    sim.hang_up(busy).unwrap();
    let cmds = sim.take_commands();
    assert_eq!(offers(&cmds), vec![(c1, "a".to_string())]);
    // Not twice, and not for a connected call.
    assert!(matches!(
        sim.acd.request_callback(c1, now),
        Err(AcdError::BadCallState { .. })
    ));
    sim.answer(c1, "a").unwrap();
    assert!(matches!(
        sim.acd.request_callback(c1, now),
        Err(AcdError::BadCallState { .. })
    ));
    assert_eq!(
        sim.acd.request_callback(999, now),
        Err(AcdError::NoCall(999))
    );
}

#[test]
fn overflow_loops_that_would_never_end_are_refused() {
    // No agent in either queue: a caller entering `x` would bounce x → y → x → … at once.
    let mut x = queue("x");
    x.on_no_agents = LeaveAction::Overflow("y".into());
    let mut y = queue("y");
    y.on_no_agents = LeaveAction::Overflow("x".into());
    let r = Acd::new(config(vec![x, y]), vec![]);
    assert!(matches!(r, Err(AcdError::Config(_))), "{:?}", r.err());

    // Through on_full and on_no_agents, and not starting at the first queue: w → x (full)
    // → y (no agents) → z (no agents) → x.
    let mut w = queue("w");
    w.on_no_agents = LeaveAction::Overflow("x".into());
    let mut x = queue("x");
    x.max_len = Some(1);
    x.on_full = LeaveAction::Overflow("y".into());
    let mut y = queue("y");
    y.on_no_agents = LeaveAction::Overflow("z".into());
    let mut z = queue("z");
    z.on_no_agents = LeaveAction::Overflow("x".into());
    let r = Acd::new(config(vec![w, x.clone(), y, z]), vec![]);
    match r {
        Err(AcdError::Config(m)) => assert!(m.ends_with("x → y → z → x"), "{m}"),
        _ => panic!("{:?}", r.err()),
    }

    // A chain that ends is fine: x full → y, where the caller waits.
    let mut y = queue("y");
    y.on_no_agents = LeaveAction::Wait;
    let mut sim = Sim::new(config(vec![x, y]), vec![agent("a", &[("y", 1)])]);
    let first = sim.call("x");
    let second = sim.call("x");
    assert_eq!(sim.view(first).unwrap().queue, "x");
    assert_eq!(sim.view(second).unwrap().queue, "y");
}
