//! The scheduler's rule over simulated months on the 2026 calendar (中秋 Sep 25–27 and 国庆
//! Oct 1–7 off, Sat Oct 10 worked): the exact Beijing instants at which the reminder, the two
//! reminder notices and the criticism flag become due, with a clock ticking every hour and one
//! jumping from `next` to `next`, which must agree.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use hotline_workorder::{
    Actor, EventKind, Kpis, RequestType, Rules, Satisfaction, Status, WorkOrder, due_steps,
    reminder_from,
};

type Log = Vec<(DateTime<Utc>, EventKind)>;
type Actions = Vec<(DateTime<Utc>, Actor, EventKind)>;

#[derive(Clone, Copy)]
enum Clock {
    /// Every hour from the start.
    Hourly,
    /// From one `next` (or human action) to the next.
    Jump,
}

const REMINDER: EventKind = EventKind::Reminded { notice: false };
const NOTICE: EventKind = EventKind::Reminded { notice: true };

/// 24:00 Beijing of that date plus one second: when a notice for that deadline is due.
fn just_after(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    end_of(y, m, d) + Duration::seconds(1)
}

/// Runs the scheduler from `start` to `end` like the server would (apply every step it
/// returns, as the system, at `now`), with the human `actions` (sorted) in between; checks on
/// every call that the steps are taken by `apply`, that calling again gives nothing, that
/// `next` is after `now`, and that a step appears exactly when the previous `next` said.
fn simulate(
    c: &mut Case,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    actions: Actions,
    clock: Clock,
) -> Log {
    let mut actions = actions.into_iter().peekable();
    let mut log = Vec::new();
    let mut now = start;
    let mut predicted: Option<DateTime<Utc>> = None;
    loop {
        let mut acted = false;
        while let Some((at, ..)) = actions.peek()
            && *at <= now
        {
            let (at, actor, kind) = actions.next().unwrap();
            c.ok(at, actor, kind);
            acted = true;
        }
        let s = due_steps(&c.order, now, &c.rules, &c.cal).unwrap();
        if !acted {
            // Nothing but time passed since the last call: steps are due exactly from `next`.
            let expected = predicted.is_some_and(|p| p <= now);
            assert_eq!(
                !s.steps.is_empty(),
                expected,
                "at {now}: {s:?}, predicted {predicted:?}"
            );
        }
        for k in &s.steps {
            c.ok(now, system(), k.clone());
            log.push((now, k.clone()));
        }
        let again = due_steps(&c.order, now, &c.rules, &c.cal).unwrap();
        assert!(again.steps.is_empty(), "at {now}, again: {again:?}");
        assert_eq!(again.next, s.next);
        if let Some(n) = s.next {
            assert!(n > now, "next {n} is not after {now}");
        }
        predicted = s.next;
        let t = match clock {
            Clock::Hourly => Some(now + Duration::hours(1)),
            Clock::Jump => [s.next, actions.peek().map(|a| a.0)]
                .into_iter()
                .flatten()
                .min(),
        };
        match t {
            Some(t) if t <= end => now = t,
            _ => break,
        }
    }
    assert!(actions.next().is_none(), "actions after the end");
    c.check_replay();
    log
}

/// Both clocks from a fresh `case()`: the hourly one sees each step at the first tick at or
/// after the instant the jumping one saw it. Returns the jumping clock's log and case.
fn both(
    case: impl Fn() -> Case,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    actions: Actions,
) -> (Log, Case) {
    let mut hourly = case();
    let ticks = simulate(&mut hourly, start, end, actions.clone(), Clock::Hourly);
    let mut jumping = case();
    let jumps = simulate(&mut jumping, start, end, actions, Clock::Jump);
    let on_tick = |t: DateTime<Utc>| {
        let h = Duration::hours(1);
        let n = ((t - start).num_seconds() as u64).div_ceil(h.num_seconds() as u64);
        start + h * n as i32
    };
    let expected: Log = jumps
        .iter()
        .map(|(t, k)| (on_tick(*t), k.clone()))
        .collect();
    assert_eq!(ticks, expected);
    assert_eq!(hourly.order.reminders, jumping.order.reminders);
    assert_eq!(hourly.order.notices, jumping.order.notices);
    assert_eq!(hourly.order.criticisms, jumping.order.criticisms);
    (jumps, jumping)
}

fn signed(t: RequestType, at: DateTime<Utc>) -> impl Fn() -> Case {
    move || {
        let mut c = Case::dispatched(t, at);
        c.ok(
            at + Duration::hours(1),
            staff("市住建局"),
            EventKind::SignedFor,
        );
        c
    }
}

fn extension(new_due: DateTime<Utc>) -> EventKind {
    EventKind::ExtensionRequested {
        new_due,
        basis: "需协调供热公司".into(),
        reason: "涉及整栋楼管网".into(),
    }
}

fn decided(approved: bool) -> EventKind {
    EventKind::ExtensionDecided {
        approved,
        note: "局长审批".into(),
        caller_informed: true,
    }
}

#[test]
fn a_month_without_a_reply_through_the_national_day_holiday() {
    // A consultation dispatched Thu 24 Sep 10:00, never signed for: 3 working days are Sep 28,
    // 29, 30 (中秋 25–27 off), due Wed 30 Sep 24:00.
    let start = bj(2026, 9, 24, 10);
    let (log, c) = both(
        || Case::dispatched(RequestType::Consultation, start),
        start,
        bj(2026, 10, 31, 0),
        vec![],
    );
    assert_eq!(c.order.due_at, Some(end_of(2026, 9, 30)));
    assert_eq!(
        log,
        [
            // From 00:00 of the last day.
            (bj(2026, 9, 30, 0), REMINDER),
            // The first second after the deadline, on the holiday.
            (just_after(2026, 9, 30), NOTICE),
            // 2 working days after Oct 1: Oct 8, 9.
            (bj(2026, 10, 9, 0), NOTICE),
            // 5 working days after Sep 30: Oct 8, 9, 10 (Saturday worked), 12, 13.
            (bj(2026, 10, 13, 0), EventKind::CriticismFlagged),
        ]
    );
    assert_eq!(c.order.status, Status::Dispatched);
    assert_eq!(
        (c.order.reminders, c.order.notices, c.order.criticisms),
        (1, 2, 1)
    );
    // Nothing more is ever due.
    let s = due_steps(&c.order, bj(2026, 12, 31, 0), &c.rules, &c.cal).unwrap();
    assert_eq!((s.steps.len(), s.next), (0, None));

    // A complaint signed for the same day: 7 working days, due Mon 12 Oct 24:00.
    let (log, c) = both(
        signed(RequestType::Complaint, start),
        start,
        bj(2026, 10, 31, 0),
        vec![],
    );
    assert_eq!(c.order.status, Status::Handling);
    assert_eq!(
        log,
        [
            (bj(2026, 10, 12, 0), REMINDER),
            (just_after(2026, 10, 12), NOTICE),
            (bj(2026, 10, 15, 0), NOTICE),
            (bj(2026, 10, 19, 0), EventKind::CriticismFlagged),
        ]
    );
}

#[test]
fn the_deadline_instant_itself_is_not_late() {
    let c = Case::dispatched(RequestType::Consultation, bj(2026, 9, 24, 10));
    let due = end_of(2026, 9, 30);
    // Before the window: nothing, and the reminder is next.
    let s = due_steps(&c.order, bj(2026, 9, 29, 23), &c.rules, &c.cal).unwrap();
    assert_eq!((s.steps, s.next), (vec![], Some(bj(2026, 9, 30, 0))));
    // At 24:00 exactly the reminder is still due (a reply then is on time), not the notice.
    let s = due_steps(&c.order, due, &c.rules, &c.cal).unwrap();
    assert_eq!(
        (s.steps, s.next),
        (vec![REMINDER], Some(just_after(2026, 9, 30)))
    );
    // The scheduler was down through the whole window: no late reminder, the notice only.
    let s = due_steps(&c.order, bj(2026, 10, 2, 9), &c.rules, &c.cal).unwrap();
    assert_eq!((s.steps, s.next), (vec![NOTICE], Some(bj(2026, 10, 9, 0))));
    // Down until after the criticism's day: the notices one call apart, the flag with the second.
    let mut c = c;
    c.ok(bj(2026, 10, 2, 9), system(), NOTICE);
    let s = due_steps(&c.order, bj(2026, 10, 20, 9), &c.rules, &c.cal).unwrap();
    assert_eq!(
        (s.steps, s.next),
        (vec![NOTICE, EventKind::CriticismFlagged], None)
    );
}

#[test]
fn an_order_replied_before_the_deadline_gets_the_reminder_only() {
    let start = bj(2026, 9, 24, 10);
    let (log, c) = both(
        signed(RequestType::Consultation, start),
        start,
        bj(2026, 10, 31, 0),
        vec![
            (bj(2026, 9, 30, 15), staff("市住建局"), reply()),
            (bj(2026, 10, 8, 9), supervisor(), review_passed()),
        ],
    );
    assert_eq!(log, [(bj(2026, 9, 30, 0), REMINDER)]);
    assert_eq!(c.order.status, Status::AwaitingCallback);
    assert_eq!(c.order.replied_on_time, Some(true));
}

#[test]
fn a_reply_failing_review_after_the_deadline_puts_the_notices_back_on() {
    let start = bj(2026, 9, 24, 10);
    let (log, _) = both(
        signed(RequestType::Consultation, start),
        start,
        bj(2026, 10, 31, 0),
        vec![
            (bj(2026, 9, 30, 15), staff("市住建局"), reply()),
            (
                bj(2026, 10, 8, 9),
                supervisor(),
                EventKind::Reviewed {
                    passed: false,
                    note: "未答复群众诉求".into(),
                },
            ),
            (bj(2026, 10, 12, 11), staff("市住建局"), reply()),
        ],
    );
    // Back with the unit in the same round, past the same deadline: the notice at once, the
    // second two working days later (Oct 9, Sat 10 worked); replied again before the
    // criticism's day (Oct 13).
    assert_eq!(
        log,
        [
            (bj(2026, 9, 30, 0), REMINDER),
            (bj(2026, 10, 8, 9), NOTICE),
            (bj(2026, 10, 10, 0), NOTICE),
        ]
    );
}

#[test]
fn an_approved_extension_restarts_the_reminders_against_the_new_deadline() {
    let start = bj(2026, 9, 24, 10);
    let new_due = end_of(2026, 10, 13);
    let (log, c) = both(
        signed(RequestType::Consultation, start),
        start,
        bj(2026, 10, 31, 0),
        vec![
            (bj(2026, 9, 30, 9), staff("市住建局"), extension(new_due)),
            (bj(2026, 9, 30, 10), head("市住建局"), decided(true)),
        ],
    );
    assert_eq!(c.order.due_at, Some(new_due));
    assert_eq!(
        log,
        [
            // Against the old deadline, before the extension.
            (bj(2026, 9, 30, 0), REMINDER),
            // No notice on Oct 1: the new deadline is Tue 13 Oct 24:00, reminded afresh.
            (bj(2026, 10, 13, 0), REMINDER),
            (just_after(2026, 10, 13), NOTICE),
            (bj(2026, 10, 16, 0), NOTICE),
            (bj(2026, 10, 20, 0), EventKind::CriticismFlagged),
        ]
    );

    // Asked in time, approved after the old deadline: the notice sent meanwhile (an undecided
    // request is no reported reason yet) stays counted but does not count towards the
    // criticism of the new deadline.
    let (log, c) = both(
        signed(RequestType::Consultation, start),
        start,
        bj(2026, 10, 31, 0),
        vec![
            (bj(2026, 9, 30, 20), staff("市住建局"), extension(new_due)),
            (bj(2026, 10, 8, 9), head("市住建局"), decided(true)),
        ],
    );
    assert_eq!(
        log,
        [
            (bj(2026, 9, 30, 0), REMINDER),
            (just_after(2026, 9, 30), NOTICE),
            (bj(2026, 10, 13, 0), REMINDER),
            (just_after(2026, 10, 13), NOTICE),
            (bj(2026, 10, 16, 0), NOTICE),
            (bj(2026, 10, 20, 0), EventKind::CriticismFlagged),
        ]
    );
    assert_eq!((c.order.notices, c.order.round_notices), (3, 2));

    // Refused: the old deadline stands, and so do its notices.
    let (log, _) = both(
        signed(RequestType::Consultation, start),
        start,
        bj(2026, 10, 31, 0),
        vec![
            (bj(2026, 9, 30, 9), staff("市住建局"), extension(new_due)),
            (bj(2026, 9, 30, 10), head("市住建局"), decided(false)),
        ],
    );
    assert_eq!(
        log.iter().map(|l| l.0).collect::<Vec<_>>(),
        [
            bj(2026, 9, 30, 0),
            just_after(2026, 9, 30),
            bj(2026, 10, 9, 0),
            bj(2026, 10, 13, 0)
        ]
    );
}

#[test]
fn a_pending_return_gets_reminders_and_notices_but_no_criticism() {
    let start = bj(2026, 9, 24, 10);
    let (log, c) = both(
        || Case::dispatched(RequestType::Consultation, start),
        start,
        bj(2026, 10, 31, 0),
        vec![
            (
                bj(2026, 9, 28, 10),
                staff("市住建局"),
                EventKind::ReturnRequested {
                    reasons: "非本单位职责".into(),
                    basis: "三定方案".into(),
                },
            ),
            (
                bj(2026, 10, 14, 10),
                supervisor(),
                EventKind::ReturnRejected {
                    reason: "属于住建职责".into(),
                },
            ),
        ],
    );
    assert_eq!(
        log,
        [
            (bj(2026, 9, 30, 0), REMINDER),
            (just_after(2026, 9, 30), NOTICE),
            (bj(2026, 10, 9, 0), NOTICE),
            // Held while the center decided (Oct 13 would have been the day); once the return
            // is rejected the unit's round stands as it is.
            (bj(2026, 10, 14, 10), EventKind::CriticismFlagged),
        ]
    );
    assert_eq!(c.order.status, Status::Dispatched);
}

#[test]
fn a_month_with_a_redo_round_and_an_escalation_replays_to_the_same_order() {
    let start = bj(2026, 9, 24, 10);
    let actions: Actions = vec![
        (bj(2026, 9, 24, 11), staff("市住建局"), EventKind::SignedFor),
        // Late: after the deadline of Sep 30 and its first notice.
        (bj(2026, 10, 8, 10), staff("市住建局"), reply()),
        (bj(2026, 10, 8, 15), supervisor(), review_passed()),
        (
            bj(2026, 10, 9, 9),
            agent(),
            callback(true, Some(Satisfaction::Unsatisfied), true),
        ),
        (
            bj(2026, 10, 9, 10),
            supervisor(),
            EventKind::RedoOrdered {
                letter: "督办函：请重新核查供暖问题".into(),
            },
        ),
        // Round 2: due Oct 10 (Saturday worked), 12, 13 → Tue 13 Oct 24:00.
        (bj(2026, 10, 10, 9), staff("市住建局"), EventKind::SignedFor),
        (bj(2026, 10, 21, 10), staff("市住建局"), reply()),
        (bj(2026, 10, 21, 15), supervisor(), review_passed()),
        (
            bj(2026, 10, 22, 9),
            agent(),
            callback(true, Some(Satisfaction::Satisfied), false),
        ),
        (
            bj(2026, 10, 22, 10),
            agent(),
            EventKind::Classified {
                category: "城乡建设/供暖".into(),
            },
        ),
    ];
    let (log, c) = both(
        || Case::dispatched(RequestType::Consultation, start),
        start,
        bj(2026, 10, 31, 0),
        actions.clone(),
    );
    assert_eq!(
        log,
        [
            (bj(2026, 9, 30, 0), REMINDER),
            (just_after(2026, 9, 30), NOTICE),
            // Round 2 starts afresh: its own reminder, two notices, the flag.
            (bj(2026, 10, 13, 0), REMINDER),
            (just_after(2026, 10, 13), NOTICE),
            (bj(2026, 10, 16, 0), NOTICE),
            (bj(2026, 10, 20, 0), EventKind::CriticismFlagged),
        ]
    );
    let o = &c.order;
    assert_eq!((o.status, o.round), (Status::Archived, 2));
    assert_eq!((o.reminders, o.notices, o.criticisms), (2, 3, 1));
    assert_eq!((o.replies, o.replies_on_time), (2, 0));
    // The whole history, human and system steps, replays to the same order.
    assert_eq!(
        WorkOrder::replay(&c.events, &c.rules, &c.cal).unwrap(),
        c.order
    );
    let json = serde_json::to_string(&c.events).unwrap();
    let back: Vec<hotline_workorder::Event> = serde_json::from_str(&json).unwrap();
    assert_eq!(WorkOrder::replay(&back, &c.rules, &c.cal).unwrap(), c.order);
    let k = Kpis::from_order(o);
    assert_eq!(
        (k.reminders, k.notices, k.criticisms, k.redone),
        (2, 3, 1, 1)
    );

    // Right after the re-do the round's state is reset, the totals kept.
    let mut d = Case::dispatched(RequestType::Consultation, start);
    simulate(
        &mut d,
        start,
        bj(2026, 10, 9, 10),
        actions[..5].to_vec(),
        Clock::Jump,
    );
    let o = &d.order;
    assert_eq!((o.status, o.round), (Status::Dispatched, 2));
    assert_eq!(o.due_at, Some(end_of(2026, 10, 13)));
    assert_eq!(
        (
            o.round_reminded,
            o.round_notices,
            o.last_notice_at,
            o.round_criticized
        ),
        (false, 0, None, false)
    );
    assert_eq!((o.reminders, o.notices), (1, 1));
    let s = due_steps(o, bj(2026, 10, 9, 10), &d.rules, &d.cal).unwrap();
    assert_eq!((s.steps, s.next), (vec![], Some(bj(2026, 10, 13, 0))));
}

#[test]
fn a_criticized_round_is_flagged_once_and_a_late_redo_round_again() {
    // Round 1 runs to its criticism, then is replied, called back unsatisfied and re-done; the
    // new round is late again and flagged again (criticisms are per round).
    let start = bj(2026, 9, 24, 10);
    let (log, c) = both(
        signed(RequestType::Consultation, start),
        start,
        bj(2026, 10, 31, 0),
        vec![
            (bj(2026, 10, 14, 9), staff("市住建局"), reply()),
            (bj(2026, 10, 14, 10), supervisor(), review_passed()),
            (
                bj(2026, 10, 14, 11),
                agent(),
                callback(true, Some(Satisfaction::VeryUnsatisfied), true),
            ),
            (
                bj(2026, 10, 14, 12),
                supervisor(),
                EventKind::RedoOrdered {
                    letter: "督办函".into(),
                },
            ),
        ],
    );
    // Round 2 from Wed 14 Oct: Oct 15, 16, 19 → Mon 19 Oct 24:00; 5 working days late on
    // Oct 26.
    assert_eq!(
        log.iter()
            .filter(|l| l.1 == EventKind::CriticismFlagged)
            .map(|l| l.0)
            .collect::<Vec<_>>(),
        [bj(2026, 10, 13, 0), bj(2026, 10, 26, 0)]
    );
    assert_eq!(log[4], (bj(2026, 10, 19, 0), REMINDER));
    assert_eq!((c.order.criticisms, c.order.criticized), (2, true));
}

#[test]
fn the_reminder_window_counts_working_days_back_over_weekends_and_holidays() {
    let cal = hotline_calendar::Calendar::embedded().unwrap();
    for (due, n, from) in [
        // The default: 00:00 of the last day.
        (end_of(2026, 9, 30), 1, Some(bj(2026, 9, 30, 0))),
        // Mon 9 Mar with 2: back over the weekend to Fri 6 Mar.
        (end_of(2026, 3, 9), 2, Some(bj(2026, 3, 6, 0))),
        // Mon 12 Oct with 2: Sat 10 Oct is worked (调休上班).
        (end_of(2026, 10, 12), 2, Some(bj(2026, 10, 10, 0))),
        // Thu 8 Oct, the first working day after 国庆, with 2: back over the holiday.
        (end_of(2026, 10, 8), 2, Some(bj(2026, 9, 30, 0))),
        // Mon 28 Sep with 2: back over 中秋 (Sep 25–27) to Thu 24 Sep.
        (end_of(2026, 9, 28), 2, Some(bj(2026, 9, 24, 0))),
        // An extension to a Sunday: the last working day before it.
        (end_of(2026, 10, 11), 1, Some(bj(2026, 10, 10, 0))),
        // An extension to 15:30 on a working day: that day.
        (
            bj(2026, 10, 13, 15) + Duration::minutes(30),
            1,
            Some(bj(2026, 10, 13, 0)),
        ),
        (end_of(2026, 9, 30), 0, None),
    ] {
        assert_eq!(reminder_from(due, n, &cal).unwrap(), from, "{due} {n}");
    }
}

#[test]
fn the_rules_move_the_reminder_and_the_second_notice() {
    // Parsed like the config does: unknown fields refused, missing ones default.
    let rules: Rules = serde_json::from_str(
        r#"{"remind_before_working_days": 2, "second_notice_after_working_days": 1}"#,
    )
    .unwrap();
    assert_eq!(rules.request_days, Rules::default().request_days);
    assert_eq!(Rules::default().remind_before_working_days, 1);
    assert_eq!(Rules::default().second_notice_after_working_days, 2);
    assert!(serde_json::from_str::<Rules>(r#"{"remind_before": 2}"#).is_err());
    let start = bj(2026, 3, 4, 10);
    // Wed 4 Mar: due Mon 9 Mar 24:00; reminded from Fri 6 Mar, second notice on the next
    // working day after the first (Tue 10 → Wed 11), criticism 5 working days after Mar 9.
    let case = || {
        let mut c = Case::dispatched(RequestType::Consultation, start);
        c.rules = rules.clone();
        c
    };
    let (log, _) = both(case, start, bj(2026, 3, 31, 0), vec![]);
    assert_eq!(
        log,
        [
            (bj(2026, 3, 6, 0), REMINDER),
            (just_after(2026, 3, 9), NOTICE),
            (bj(2026, 3, 11, 0), NOTICE),
            (bj(2026, 3, 16, 0), EventKind::CriticismFlagged),
        ]
    );
    // A window that opens before the dispatch: the reminder is due at once. 3 working days
    // from Wed 30 Sep are Oct 8, 9, 10; 4 back from Oct 10 reach Sep 30.
    let mut c = Case::dispatched(RequestType::Consultation, bj(2026, 9, 30, 10));
    c.rules.remind_before_working_days = 4;
    let s = due_steps(&c.order, bj(2026, 9, 30, 10), &c.rules, &c.cal).unwrap();
    assert_eq!(s.steps, [REMINDER]);
    // No reminders at all with 0.
    c.rules.remind_before_working_days = 0;
    let s = due_steps(&c.order, bj(2026, 10, 10, 10), &c.rules, &c.cal).unwrap();
    assert_eq!((s.steps, s.next), (vec![], Some(just_after(2026, 10, 10))));
}

#[test]
fn closed_and_answered_orders_have_nothing_due() {
    let c = Case::new(Some("1001"), bj(2026, 9, 24, 10));
    let s = due_steps(&c.order, bj(2026, 10, 30, 0), &c.rules, &c.cal).unwrap();
    assert_eq!((s.steps.len(), s.next), (0, None));
    let mut c = Case::dispatched(RequestType::Consultation, bj(2026, 9, 24, 10));
    c.ok(
        bj(2026, 9, 24, 11),
        supervisor(),
        EventKind::Merged {
            into: "YC20260924-000001".into(),
        },
    );
    let s = due_steps(&c.order, bj(2026, 10, 30, 0), &c.rules, &c.cal).unwrap();
    assert_eq!((s.steps.len(), s.next), (0, None));
    // The steps as events, ready to append.
    let c = Case::dispatched(RequestType::Consultation, bj(2026, 9, 24, 10));
    let s = due_steps(&c.order, bj(2026, 9, 30, 8), &c.rules, &c.cal).unwrap();
    let evs = s.events(bj(2026, 9, 30, 8), "scheduler");
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].actor, system());
    assert_eq!(evs[0].kind, REMINDER);
}

#[test]
fn a_deadline_outside_the_calendar_is_an_error_not_a_panic() {
    use hotline_workorder::StepError;
    let mut c = Case::dispatched(RequestType::Consultation, bj(2026, 9, 24, 10));
    c.ok(bj(2026, 9, 24, 11), staff("市住建局"), EventKind::SignedFor);
    for far in [DateTime::<Utc>::MAX_UTC, end_of(2030, 1, 31)] {
        let mut d = Case {
            cal: c.cal.clone(),
            rules: c.rules.clone(),
            order: c.order.clone(),
            events: c.events.clone(),
        };
        d.ok(bj(2026, 9, 25, 9), staff("市住建局"), extension(far));
        d.ok(bj(2026, 9, 25, 10), head("市住建局"), decided(true));
        let err = due_steps(&d.order, bj(2026, 9, 26, 9), &d.rules, &d.cal).unwrap_err();
        assert!(matches!(err, StepError::Calendar(_)), "{err}");
        assert!(reminder_from(far, 1, &d.cal).is_err());
    }
    assert!(reminder_from(DateTime::<Utc>::MIN_UTC, 1, &c.cal).is_err());
}
