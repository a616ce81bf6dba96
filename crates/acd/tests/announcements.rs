//! Position and estimated-wait announcements: the first after `announce_first_ms`, then every
//! `announce_every_ms` and never closer, with the caller's 1-based place, and the estimated
//! wait only once the queue's handle time is known.

mod common;
use common::*;
use hotline_acd::{Command, LeaveAction, Millis, QueueConfig};

/// (time, call, position, ewt) of every Announce so far, consuming the commands.
fn announced(sim: &mut Sim, log: &mut Vec<(Millis, u64, usize, Option<u64>)>) {
    for c in sim.take_commands() {
        if let Command::Announce {
            call,
            position,
            ewt_secs,
        } = c
        {
            log.push((sim.now, call, position, ewt_secs));
        }
    }
}

/// Runs the clock to `until`, one millisecond-exact timer at a time, logging announcements
/// with the time they were made.
fn run(sim: &mut Sim, until: Millis, log: &mut Vec<(Millis, u64, usize, Option<u64>)>) {
    while let Some(t) = sim.acd.poll_timeout() {
        if t > until {
            break;
        }
        sim.progress_to(t.max(sim.now));
        announced(sim, log);
    }
    sim.progress_to(until);
    announced(sim, log);
}

fn announcing(name: &str) -> QueueConfig {
    let mut q = queue(name);
    q.announce_first_ms = Some(30 * SEC);
    q.announce_every_ms = 60 * SEC;
    q
}

#[test]
fn first_after_announce_first_then_every_announce_every_with_the_position() {
    let mut sim = Sim::with_ready(config(vec![announcing("q")]), vec![agent("a", &[("q", 5)])]);
    let busy = sim.call("q");
    sim.answer(busy, "a").unwrap();
    sim.take_commands();
    let c1 = sim.call("q");
    sim.progress(5 * SEC);
    let c2 = sim.call("q");
    sim.progress(5 * SEC);
    let c3 = sim.call("q");
    let mut log = Vec::new();
    run(&mut sim, 160 * SEC, &mut log);
    // No call handled yet: the wait cannot be estimated.
    assert_eq!(
        log,
        vec![
            (30 * SEC, c1, 1, None),
            (35 * SEC, c2, 2, None),
            (40 * SEC, c3, 3, None),
            (90 * SEC, c1, 1, None),
            (95 * SEC, c2, 2, None),
            (100 * SEC, c3, 3, None),
            (150 * SEC, c1, 1, None),
            (155 * SEC, c2, 2, None),
            (160 * SEC, c3, 3, None),
        ]
    );
}

#[test]
fn the_estimated_wait_comes_once_the_handle_time_is_known_and_positions_move_up() {
    let mut sim = Sim::with_ready(config(vec![announcing("q")]), vec![agent("a", &[("q", 5)])]);
    let busy = sim.call("q");
    sim.answer(busy, "a").unwrap();
    sim.take_commands();
    let c1 = sim.call("q");
    sim.progress(5 * SEC);
    let c2 = sim.call("q");
    let mut log = Vec::new();
    run(&mut sim, 40 * SEC, &mut log);
    assert_eq!(log, vec![(30 * SEC, c1, 1, None), (35 * SEC, c2, 2, None)]);
    log.clear();
    // The first call took 60 s (no wrap-up): AHT = 60 s, one agent staffed. a takes c1.
    sim.progress_to(60 * SEC);
    sim.hang_up(busy).unwrap();
    assert_eq!(sim.take_offers(), vec![(c1, "a".to_string())]);
    sim.answer(c1, "a").unwrap();
    run(&mut sim, 100 * SEC, &mut log);
    // c1 is connected: no more announcements for it. c2 is next: 1 × 60 s / 1 agent.
    assert_eq!(log, vec![(95 * SEC, c2, 1, Some(60))]);
}

#[test]
fn the_estimate_is_position_times_aht_over_the_staffed_agents() {
    let mut sim = Sim::with_ready(
        config(vec![announcing("q")]),
        vec![agent("a", &[("q", 5)]), agent("b", &[("q", 5)])],
    );
    // Two handled calls of 50 s and 70 s: AHT 60 s.
    let x = sim.call("q");
    let y = sim.call("q");
    sim.answer(x, "a").unwrap();
    sim.answer(y, "b").unwrap();
    sim.progress(50 * SEC);
    sim.hang_up(x).unwrap();
    sim.progress(20 * SEC);
    sim.hang_up(y).unwrap();
    let x = sim.call("q");
    let y = sim.call("q");
    sim.answer(x, "a").unwrap();
    sim.answer(y, "b").unwrap();
    sim.take_commands();
    let waiting: Vec<_> = (0..3).map(|_| sim.call("q")).collect();
    let mut log = Vec::new();
    let start = sim.now;
    run(&mut sim, start + 30 * SEC, &mut log);
    // Places 1, 2, 3 with two agents: 30 s, 60 s, 90 s.
    let at = start + 30 * SEC;
    assert_eq!(
        log,
        vec![
            (at, waiting[0], 1, Some(30)),
            (at, waiting[1], 2, Some(60)),
            (at, waiting[2], 3, Some(90)),
        ]
    );
}

#[test]
fn a_ringing_caller_is_not_announced_and_the_gap_holds_after_the_offer() {
    let mut q = announcing("q");
    q.ring_timeout_ms = 10 * SEC;
    let mut sim = Sim::with_ready(config(vec![q]), vec![agent("a", &[("q", 5)])]);
    sim.not_ready("a", "小休");
    let c = sim.call("q");
    sim.progress(25 * SEC);
    sim.ready("a"); // rings 25..35 s, over the first announcement's time
    let mut log = Vec::new();
    run(&mut sim, 34 * SEC, &mut log);
    assert!(log.is_empty());
    sim.not_ready("a", "小休"); // withdrawn at 34 s: the caller waits again
    run(&mut sim, 100 * SEC, &mut log);
    // Skipped at 30 s while ringing; the next at 90 s, not at once.
    assert_eq!(log, vec![(90 * SEC, c, 1, None)]);
}

#[test]
fn position_or_estimate_alone() {
    let mut q = announcing("q");
    q.announce_position = false;
    let mut sim = Sim::new(config(vec![q]), vec![agent("a", &[("q", 5)])]);
    let c = sim.call("q");
    let mut log = Vec::new();
    run(&mut sim, 30 * SEC, &mut log);
    assert_eq!(log, vec![(30 * SEC, c, 0, None)]);

    let mut q = announcing("q");
    q.announce_position = false;
    q.announce_ewt = false;
    let mut sim = Sim::new(config(vec![q]), vec![agent("a", &[("q", 5)])]);
    sim.call("q");
    let mut log = Vec::new();
    run(&mut sim, 200 * SEC, &mut log);
    assert!(log.is_empty());
}

#[test]
fn no_announcement_once_the_caller_left_for_a_callback() {
    let mut q = announcing("q");
    q.max_wait_ms = Some(40 * SEC);
    q.on_timeout = LeaveAction::Callback;
    let mut sim = Sim::new(config(vec![q]), vec![agent("a", &[("q", 5)])]);
    let c = sim.call("q");
    let mut log = Vec::new();
    run(&mut sim, 300 * SEC, &mut log);
    assert_eq!(log, vec![(30 * SEC, c, 1, None)]);
    assert_eq!(sim.view(c).unwrap().state, "callback");
}

#[test]
fn never_closer_than_announce_every_not_even_across_an_overflow() {
    // Announced at 30 s in `first`; overflowed at 40 s into `second`, whose own first
    // announcement (30 s after entering) would come at 70 s, 40 s after the last one: it
    // waits for the 60 s gap (90 s).
    let mut first = announcing("first");
    first.max_wait_ms = Some(40 * SEC);
    first.on_timeout = LeaveAction::Overflow("second".into());
    let mut sim = Sim::new(
        config(vec![first, announcing("second")]),
        vec![agent("a", &[("first", 5), ("second", 5)])],
    );
    let c = sim.call("first");
    let mut log = Vec::new();
    run(&mut sim, 200 * SEC, &mut log);
    assert_eq!(sim.view(c).unwrap().queue, "second");
    let times: Vec<Millis> = log.iter().map(|l| l.0 / SEC).collect();
    assert_eq!(times, vec![30, 90, 150]);
}
