//! Agent states: not ready with reasons, requests while busy (applied after the call and its
//! wrap-up), wrap-up per queue, withdrawals while ringing, unreachable phones, restoring after
//! a restart, and what the engine refuses.

mod common;
use common::*;
use hotline_acd::{AcdError, AgentState, Counters, Event, OfferFailure, StateRequest};

fn sim() -> Sim {
    let mut short = queue("short");
    short.wrap_up_ms = 10 * SEC;
    let mut long = queue("long");
    long.wrap_up_ms = 30 * SEC;
    Sim::with_ready(
        config(vec![short, long]),
        vec![
            agent("a", &[("short", 5), ("long", 5)]),
            agent("b", &[("short", 5), ("long", 5)]),
        ],
    )
}

fn pending(sim: &Sim, a: &str) -> Option<String> {
    sim.acd.agent(a, sim.now).unwrap().pending
}

fn states_of(events: &[Event], who: &str) -> Vec<AgentState> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::AgentState { agent, state } if agent == who => Some(state.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn not_ready_with_a_reason_takes_no_calls() {
    let mut sim = sim();
    sim.not_ready("a", "就餐");
    sim.not_ready("b", "培训");
    assert_eq!(sim.state("a"), not_ready("就餐"));
    assert_eq!(states_of(&sim.take_events(), "a"), vec![not_ready("就餐")]);
    let c = sim.call("short");
    assert!(sim.take_offers().is_empty());
    // Another reason while not ready: the reason changes.
    sim.not_ready("a", "会议");
    assert_eq!(sim.state("a"), not_ready("会议"));
    sim.ready("b");
    assert_eq!(sim.take_offers(), vec![(c, "b".to_string())]);
    // The view: time in the state.
    sim.progress(7 * SEC);
    assert_eq!(sim.acd.agent("a", sim.now).unwrap().in_state_ms, 7 * SEC);
}

#[test]
fn not_ready_while_talking_is_applied_after_the_call_and_its_wrap_up() {
    let mut sim = sim();
    let c = sim.call("short");
    sim.answer(c, "a").unwrap();
    sim.not_ready("a", "就餐");
    assert_eq!(sim.state("a"), AgentState::Talking { call: c });
    assert_eq!(pending(&sim, "a").as_deref(), Some("not_ready:就餐"));
    sim.progress(60 * SEC);
    sim.hang_up(c).unwrap();
    assert_eq!(sim.state("a"), AgentState::WrapUp { until: 70 * SEC });
    // The desktop's countdown: what is left of the wrap-up, on the engine's clock.
    assert_eq!(
        sim.acd.agent("a", sim.now).unwrap().wrap_up_left_ms,
        Some(10 * SEC)
    );
    sim.progress(4 * SEC);
    assert_eq!(
        sim.acd.agent("a", sim.now).unwrap().wrap_up_left_ms,
        Some(6 * SEC)
    );
    assert_eq!(sim.acd.agent("b", sim.now).unwrap().wrap_up_left_ms, None);
    // A call arriving during the wrap-up does not go to a.
    sim.not_ready("b", "会议");
    sim.take_commands();
    let d = sim.call("short");
    sim.progress(10 * SEC);
    assert_eq!(sim.state("a"), not_ready("就餐"));
    assert!(sim.take_offers().is_empty());
    assert_eq!(pending(&sim, "a"), None);
    assert_eq!(sim.view(d).unwrap().state, "waiting");
}

#[test]
fn logout_while_talking_is_applied_after_the_call_and_its_wrap_up() {
    let mut sim = sim();
    let c = sim.call("long");
    sim.answer(c, "a").unwrap();
    sim.logout("a");
    assert_eq!(pending(&sim, "a").as_deref(), Some("logged_out"));
    sim.hang_up(c).unwrap();
    assert!(matches!(sim.state("a"), AgentState::WrapUp { .. }));
    sim.progress(30 * SEC - 1);
    assert!(matches!(sim.state("a"), AgentState::WrapUp { .. }));
    sim.progress(1);
    assert_eq!(sim.state("a"), AgentState::LoggedOut);
    // Logging in again while the logout is pending cancels it.
    sim.take_commands();
    let c = sim.call("long");
    let (_, who) = sim.take_offers()[0].clone();
    assert_eq!(who, "b");
    sim.answer(c, "b").unwrap();
    sim.logout("b");
    sim.login("b");
    assert_eq!(pending(&sim, "b"), None);
    sim.hang_up(c).unwrap();
    sim.progress(30 * SEC);
    assert_eq!(sim.state("b"), AgentState::Ready);
}

#[test]
fn wrap_up_time_is_the_queues_and_ready_or_end_wrap_up_end_it_early() {
    let mut sim = sim();
    let s = sim.call("short");
    let l = sim.call("long");
    sim.answer(s, "a").unwrap();
    sim.answer(l, "b").unwrap();
    sim.progress(5 * SEC);
    sim.hang_up(s).unwrap();
    sim.hang_up(l).unwrap();
    assert_eq!(sim.state("a"), AgentState::WrapUp { until: 15 * SEC });
    assert_eq!(sim.state("b"), AgentState::WrapUp { until: 35 * SEC });
    sim.progress(10 * SEC);
    assert_eq!(sim.state("a"), AgentState::Ready);
    assert!(matches!(sim.state("b"), AgentState::WrapUp { .. }));
    let now = sim.now;
    sim.acd.end_wrap_up("b", now).unwrap();
    sim.drain();
    assert_eq!(sim.state("b"), AgentState::Ready);
    // Not in wrap-up: refused.
    assert!(matches!(
        sim.acd.end_wrap_up("b", now),
        Err(AcdError::BadState { .. })
    ));
    // ready() in wrap-up ends it too, and the waiting call is offered at once.
    let c = sim.call("long");
    sim.answer(c, "a").unwrap();
    sim.hang_up(c).unwrap();
    sim.not_ready("b", "小休");
    let d = sim.call("long");
    assert!(sim.take_offers().iter().all(|(x, _)| *x != d));
    sim.ready("a");
    assert_eq!(sim.take_offers(), vec![(d, "a".to_string())]);
    // The wrap-up time counted: 10 s (a, short) + 10 s (b, long, ended early) + 0 s (a).
    let (per, _) = sim.acd.all_stats(sim.now);
    assert_eq!(per[0].counters.wrap_ms, 10 * SEC);
    assert_eq!(per[1].counters.wrap_ms, 10 * SEC);
}

#[test]
fn not_ready_while_ringing_withdraws_the_offer_without_a_no_answer() {
    let mut sim = sim();
    let c = sim.call("short");
    assert_eq!(sim.take_offers(), vec![(c, "a".to_string())]);
    sim.not_ready("a", "小休");
    let cmds = sim.take_commands();
    assert_eq!(cancels(&cmds), vec![(c, "a".to_string())]);
    assert_eq!(offers(&cmds), vec![(c, "b".to_string())]);
    assert_eq!(sim.state("a"), not_ready("小休"));
    let v = sim.acd.agent("a", sim.now).unwrap();
    assert_eq!(v.no_answer_streak, 0);
    let q = sim.acd.queue_stats("short", sim.now).unwrap();
    assert_eq!(q.counters.no_answers, 0);
    // Not barred either: b rejects, a is ready again and gets it at once.
    sim.fail(c, "b", OfferFailure::Rejected).unwrap();
    sim.ready("a");
    assert_eq!(sim.take_offers(), vec![(c, "a".to_string())]);
}

#[test]
fn logout_while_ringing_withdraws_the_offer() {
    let mut sim = sim();
    sim.not_ready("b", "小休");
    let c = sim.call("short");
    sim.take_offers();
    sim.logout("a");
    assert_eq!(cancels(&sim.take_commands()), vec![(c, "a".to_string())]);
    assert_eq!(sim.state("a"), AgentState::LoggedOut);
    assert_eq!(sim.view(c).unwrap().state, "waiting");
}

#[test]
fn an_unreachable_agent_is_logged_out_now_or_after_the_call() {
    let mut sim = sim();
    let now = sim.now;
    assert_eq!(sim.acd.agent_unreachable("a", now), Ok(true));
    assert_eq!(sim.state("a"), AgentState::LoggedOut);
    assert_eq!(sim.acd.agent_unreachable("a", now), Ok(false));
    let c = sim.call("short");
    sim.answer(c, "b").unwrap();
    assert_eq!(sim.acd.agent_unreachable("b", now), Ok(true));
    assert_eq!(sim.state("b"), AgentState::Talking { call: c });
    sim.hang_up(c).unwrap();
    sim.progress(10 * SEC);
    assert_eq!(sim.state("b"), AgentState::LoggedOut);
    assert_eq!(
        sim.acd.agent_unreachable("zz", now),
        Err(AcdError::NoAgent("zz".into()))
    );
}

#[test]
fn a_later_request_replaces_a_pending_one() {
    // Logout asked during the call, then not ready (小休) during the wrap-up: the agent is
    // not ready now, and the stale logout must not fire after their next call.
    let mut sim = sim();
    let c = sim.call("short");
    sim.answer(c, "a").unwrap();
    sim.logout("a");
    sim.hang_up(c).unwrap();
    sim.not_ready("a", "小休");
    assert_eq!(sim.state("a"), not_ready("小休"));
    assert_eq!(pending(&sim, "a"), None);
    sim.ready("a");
    sim.not_ready("b", "会议");
    let d = sim.call("short");
    sim.take_offers();
    sim.talk(d, "a", 5 * SEC);
    sim.progress(10 * SEC);
    assert_eq!(sim.state("a"), AgentState::Ready);
}

#[test]
fn restoring_agents_after_a_restart() {
    let mut s = sim();
    s.logout("a");
    s.logout("b");
    let c = s.call("short");
    s.take_commands();
    s.take_events();
    let now = s.now;
    // a was on a break when the server stopped: restored not ready, and not rung for the
    // waiting call on the way there.
    s.acd
        .restore_agent("a", StateRequest::NotReady("就餐".into()), now)
        .unwrap();
    s.drain();
    assert_eq!(s.state("a"), not_ready("就餐"));
    assert!(
        s.take_offers().is_empty(),
        "a not-ready agent is never rung"
    );
    assert_eq!(states_of(&s.take_events(), "a"), vec![not_ready("就餐")]);
    s.acd.restore_agent("b", StateRequest::Ready, now).unwrap();
    s.drain();
    assert_eq!(s.take_offers(), vec![(c, "b".to_string())]);
    s.acd
        .restore_agent("b", StateRequest::LoggedOut, now)
        .unwrap();
    s.drain();
    assert_eq!(s.state("b"), AgentState::LoggedOut);
    assert_eq!(
        s.acd.restore_agent("nobody", StateRequest::Ready, now),
        Err(AcdError::NoAgent("nobody".into()))
    );
}

#[test]
fn restoring_callbacks_and_counters() {
    let mut sim = sim();
    sim.not_ready("a", "小休");
    sim.not_ready("b", "小休");
    let now = sim.now;
    let first = sim
        .acd
        .restore_callback("short", "cb-1", "13800000001", 0, true, now)
        .unwrap();
    let second = sim
        .acd
        .restore_callback("short", "cb-2", "13800000002", 0, false, now)
        .unwrap();
    let v = sim.view(first).unwrap();
    assert_eq!(
        (v.state, v.message, v.position),
        ("callback", true, Some(1))
    );
    assert_eq!(sim.view(second).unwrap().position, Some(2));
    // A live caller arriving now comes after the restored items.
    let live = sim.call("short");
    assert_eq!(sim.view(live).unwrap().position, Some(3));
    assert!(matches!(
        sim.acd.restore_callback("nowhere", "x", "1", 0, false, now),
        Err(AcdError::NoQueue(_))
    ));

    let counters = Counters {
        offered: 10,
        answered: 8,
        answered_in_sl: 6,
        ..Counters::default()
    };
    sim.acd.restore_counters("long", counters.clone()).unwrap();
    assert_eq!(
        sim.acd.queue_stats("long", now).unwrap().service_level,
        Some(0.75)
    );
    let old = sim.acd.reset_counters();
    assert_eq!(old[1], ("long".to_string(), counters));
    assert_eq!(
        sim.acd.queue_stats("long", now).unwrap().counters,
        Counters::default()
    );
    assert!(
        sim.acd
            .restore_counters("nowhere", Counters::default())
            .is_err()
    );
}

#[test]
fn refusals() {
    let mut sim = sim();
    let now = sim.now;
    assert_eq!(
        sim.acd.not_ready("zz", "小休", now),
        Err(AcdError::NoAgent("zz".into()))
    );
    assert_eq!(
        sim.acd.ready("zz", now),
        Err(AcdError::NoAgent("zz".into()))
    );
    assert_eq!(
        sim.acd.login("zz", now),
        Err(AcdError::NoAgent("zz".into()))
    );
    assert_eq!(
        sim.acd.logout("zz", now),
        Err(AcdError::NoAgent("zz".into()))
    );
    assert_eq!(sim.acd.not_ready("a", "", now), Err(AcdError::NoReason));
    assert_eq!(sim.acd.not_ready("a", "  ", now), Err(AcdError::NoReason));
    assert_eq!(sim.state("a"), AgentState::Ready);
    sim.logout("a");
    assert!(matches!(
        sim.acd.not_ready("a", "小休", now),
        Err(AcdError::BadState { .. })
    ));
    assert_eq!(sim.state("a"), AgentState::LoggedOut);
    assert!(matches!(
        sim.acd.enqueue(
            "nowhere",
            "t",
            hotline_acd::Caller {
                number: "1".into(),
                priority: 0
            },
            now
        ),
        Err(AcdError::NoQueue(_))
    ));
    assert_eq!(sim.answer(42, "b"), Err(AcdError::NoCall(42)));
    assert_eq!(sim.hang_up(42), Err(AcdError::NoCall(42)));
    let c = sim.call("short");
    assert!(matches!(
        sim.answer(c, "a"),
        Err(AcdError::NotOffered { .. })
    ));
    assert!(matches!(
        sim.fail(c, "a", OfferFailure::NoAnswer),
        Err(AcdError::NotOffered { .. })
    ));
    assert!(matches!(
        sim.acd.move_call(c, "nowhere", now),
        Err(AcdError::NoQueue(_))
    ));
    sim.answer(c, "b").unwrap();
    assert!(matches!(
        sim.acd.move_call(c, "long", now),
        Err(AcdError::BadCallState { .. })
    ));
    // A logged-out agent asked to be not ready by a supervisor is logged in, not ready; with
    // no reason, nothing happens.
    assert_eq!(
        sim.acd
            .request_state("a", StateRequest::NotReady(" ".into()), now),
        Err(AcdError::NoReason)
    );
    assert_eq!(sim.state("a"), AgentState::LoggedOut);
    sim.acd
        .request_state("a", StateRequest::NotReady("会议".into()), now)
        .unwrap();
    assert_eq!(sim.state("a"), not_ready("会议"));
}
