//! Live statistics on a hand-computed example: service level, abandon rate, ASA, AHT, per
//! queue and overall.

mod common;
use common::*;
use hotline_acd::{AgentState, Caller};

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

/// Queue `q` (T = 15 s, wrap-up 10 s, at most 4 live callers, then goodbye) with agents a
/// and b; queue `q2` (T = 15 s, no wrap-up) with agent x; agent `both` has both skills and
/// stays logged out. No desktop: callback items are not offered.
///
/// q, by call (times in s):
///
/// | call | arrives | outcome                        | wait | within T |
/// |------|---------|--------------------------------|------|----------|
/// | c1   | 0       | a answers at 5, ends at 100    | 5    | yes      |
/// | c2   | 0       | b answers at 12, ends at 100   | 12   | yes      |
/// | c3   | 1       | hangs up at 9                  | 8    | yes      |
/// | c4   | 2       | hangs up at 32                 | 30   | no       |
/// | c5   | 3       | full (4 live): goodbye         | 0    | yes      |
/// | c6   | 20      | asks for a callback at 50      | 30   | no       |
/// | c7   | 30      | answered at 112, ends at 142   | 82   | no       |
///
/// SL = answered within T / (answered + abandoned after T + left after T)
///    = 2 / (3 + 1 + 1) = 0.4 (c3's short abandon and c5's left-within-T are left out).
/// Abandon rate = 2 / (3 answered + 2 abandoned + 2 left) = 2/7.
/// ASA = (5 + 12 + 82) / 3 = 33 s.
/// AHT = (talk 95 + 88 + 30 + wrap 3 × 10) / 3 = 81 s.
///
/// q2: c8 arrives at 0, x answers at once and talks to 200; c9 arrives at 1 and hangs up at
/// 40 (abandoned after T). Overall: SL = (2 + 1) / (4 + 2 + 1) = 3/7, abandon rate
/// = 3 / (4 + 3 + 2) = 1/3, ASA = 99 s / 4.
#[test]
fn a_hand_computed_day() {
    let mut q = queue("q");
    q.wrap_up_ms = 10 * SEC;
    q.max_len = Some(4);
    q.on_full = hotline_acd::LeaveAction::Hangup;
    q.ring_timeout_ms = 60 * SEC;
    let q2 = queue("q2");
    let mut sim = Sim::new(
        config(vec![q, q2]),
        vec![
            agent("a", &[("q", 5)]),
            agent("b", &[("q", 5)]),
            agent("x", &[("q2", 5)]),
            agent("both", &[("q", 5), ("q2", 5)]),
        ],
    );
    for a in ["a", "b", "x"] {
        sim.login(a);
    }
    let c1 = sim.call("q");
    let c2 = sim.call("q");
    let c8 = sim.call("q2");
    assert_eq!(
        sim.take_offers(),
        vec![(c1, "a".into()), (c2, "b".into()), (c8, "x".into())]
    );
    sim.answer(c8, "x").unwrap();
    sim.progress_to(SEC);
    let c3 = sim.call("q");
    let c9 = sim.call("q2");
    sim.progress_to(2 * SEC);
    let c4 = sim.call("q");
    sim.progress_to(3 * SEC);
    let c5 = sim.call("q");
    assert!(sim.view(c5).is_none(), "full: goodbye");
    sim.progress_to(5 * SEC);
    sim.answer(c1, "a").unwrap();
    sim.progress_to(9 * SEC);
    sim.hang_up(c3).unwrap();
    sim.progress_to(12 * SEC);
    sim.answer(c2, "b").unwrap();
    sim.progress_to(20 * SEC);
    let c6 = sim.call("q");
    sim.progress_to(30 * SEC);
    let c7 = sim.call("q");
    sim.progress_to(32 * SEC);
    sim.hang_up(c4).unwrap();
    sim.progress_to(40 * SEC);
    sim.hang_up(c9).unwrap();
    sim.progress_to(50 * SEC);
    let now = sim.now;
    sim.acd.request_callback(c6, now).unwrap();
    sim.drain();

    // Live figures at 60 s: c7 waits (30 s), the callback item keeps its place.
    sim.progress_to(60 * SEC);
    let s = sim.acd.queue_stats("q", sim.now).unwrap();
    assert_eq!(
        (s.waiting, s.callbacks_waiting, s.longest_wait_ms),
        (1, 1, 30 * SEC)
    );
    assert_eq!(
        (s.agents.talking, s.agents.logged_out, s.agents.logged_in()),
        (2, 1, 2)
    );

    sim.progress_to(100 * SEC);
    sim.hang_up(c1).unwrap();
    sim.hang_up(c2).unwrap();
    sim.take_commands();
    sim.progress_to(110 * SEC);
    // Both wrap-ups end at 110 s; one of them gets c7 (the callback item is not offered).
    let offered = sim.take_offers();
    assert_eq!(offered.len(), 1);
    assert_eq!(offered[0].0, c7);
    let who = offered[0].1.clone();
    sim.progress_to(112 * SEC);
    sim.answer(c7, &who).unwrap();
    sim.progress_to(142 * SEC);
    sim.hang_up(c7).unwrap();
    sim.progress_to(152 * SEC);
    assert_eq!(sim.state(&who), AgentState::Ready);

    let s = sim.acd.queue_stats("q", sim.now).unwrap();
    let c = &s.counters;
    assert_eq!((c.offered, c.answered, c.answered_in_sl), (7, 3, 2));
    assert_eq!((c.abandoned, c.abandoned_in_sl), (2, 1));
    assert_eq!((c.left, c.left_in_sl, c.callbacks), (2, 1, 1));
    assert_eq!(c.wait_answered_ms, 99 * SEC);
    assert_eq!(c.wait_abandoned_ms, 38 * SEC);
    assert_eq!((c.handled, c.talk_ms, c.wrap_ms), (3, 213 * SEC, 30 * SEC));
    assert!(close(s.service_level, 0.4), "{:?}", s.service_level);
    assert!(close(s.abandon_rate, 2.0 / 7.0), "{:?}", s.abandon_rate);
    assert!(close(s.asa_ms, 33_000.0), "{:?}", s.asa_ms);
    assert!(close(s.aht_ms, 81_000.0), "{:?}", s.aht_ms);
    assert_eq!(s.service_level_secs, 15);
    assert_eq!(s.strategy, "longest-idle");

    let s2 = sim.acd.queue_stats("q2", sim.now).unwrap();
    assert!(close(s2.service_level, 0.5), "{:?}", s2.service_level);
    assert!(close(s2.asa_ms, 0.0));
    assert_eq!(s2.aht_ms, None, "x is still talking: nothing handled");

    let (per, all) = sim.acd.all_stats(sim.now);
    assert_eq!(per.len(), 2);
    assert_eq!(per[0], s);
    assert_eq!(all.queue, "*");
    assert!(
        close(all.service_level, 3.0 / 7.0),
        "{:?}",
        all.service_level
    );
    assert!(close(all.abandon_rate, 3.0 / 9.0), "{:?}", all.abandon_rate);
    assert!(close(all.asa_ms, 99_000.0 / 4.0), "{:?}", all.asa_ms);
    assert!(close(all.aht_ms, 81_000.0));
    // Agents once each: a, b ready, x talking, `both` logged out (it is in both queues).
    assert_eq!(
        (all.agents.ready, all.agents.talking, all.agents.logged_out),
        (2, 1, 1)
    );
    assert_eq!((all.waiting, all.callbacks_waiting), (0, 1));
    let _ = c5;
}

#[test]
fn nothing_counted_yet_means_no_figures() {
    let sim = Sim::new(config(vec![queue("q")]), vec![agent("a", &[("q", 5)])]);
    let s = sim.acd.queue_stats("q", 0).unwrap();
    assert_eq!(
        (s.service_level, s.abandon_rate, s.asa_ms, s.aht_ms),
        (None, None, None, None)
    );
    assert!(sim.acd.queue_stats("nowhere", 0).is_none());
}

#[test]
fn the_service_level_threshold_is_inclusive_and_per_queue() {
    let mut q = queue("q");
    q.service_level_ms = 20 * SEC;
    let mut sim = Sim::with_ready(config(vec![q]), vec![agent("a", &[("q", 5)])]);
    sim.not_ready("a", "小休");
    let c = sim.call("q");
    sim.progress(20 * SEC);
    sim.ready("a");
    sim.answer(c, "a").unwrap();
    let d = sim
        .acd
        .enqueue(
            "q",
            "t",
            Caller {
                number: "1".into(),
                priority: 0,
            },
            sim.now,
        )
        .unwrap();
    sim.drain();
    sim.progress(20 * SEC + 1);
    sim.hang_up(d).unwrap();
    let s = sim.acd.queue_stats("q", sim.now).unwrap();
    // Answered at exactly T: within. Abandoned at T + 1 ms: after.
    assert_eq!(s.service_level_secs, 20);
    assert!(close(s.service_level, 0.5), "{:?}", s.service_level);
}

#[test]
fn restored_counters_that_do_not_add_up_give_figures_not_a_panic() {
    let mut sim = Sim::new(config(vec![queue("q")]), vec![]);
    let odd = hotline_acd::Counters {
        answered: 4,
        answered_in_sl: 2,
        abandoned: 1,
        abandoned_in_sl: 3,
        left: 0,
        left_in_sl: 2,
        ..Default::default()
    };
    sim.acd.restore_counters("q", odd).unwrap();
    let s = sim.acd.queue_stats("q", 0).unwrap();
    assert!(close(s.service_level, 0.5), "{:?}", s.service_level);
    let (_, all) = sim.acd.all_stats(0);
    assert!(close(all.service_level, 0.5));
}
