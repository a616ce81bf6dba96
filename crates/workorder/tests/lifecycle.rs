//! Every path of an order through the notice's lifecycle, on the 2026 calendar: the deadline
//! vectors, return, extension, reply, review, callback, re-do, escalation, merge, missed calls,
//! the roles, and refused steps that change nothing.

mod common;

use common::*;
use hotline_workorder::{
    Event, EventKind, RequestType, Satisfaction, Status, StepError, WorkOrder,
};

#[test]
fn deadlines_follow_the_working_day_calendar() {
    // The vectors (3 working days, from the day after receipt, to 24:00 Beijing).
    for ((y, m, d), due) in [
        ((2026, 2, 13), end_of(2026, 2, 25)),
        ((2026, 9, 24), end_of(2026, 9, 30)),
        ((2026, 9, 30), end_of(2026, 10, 10)),
        ((2025, 12, 31), end_of(2026, 1, 6)),
    ] {
        let c = Case::dispatched(RequestType::Consultation, bj(y, m, d, 10));
        assert_eq!(c.order.due_at, Some(due), "received {y}-{m}-{d}");
    }
    // 7 working days for a complaint received Friday before 春节 2026 (Feb 15–23 off, Feb 14
    // and 28 working): Feb 14, 24, 25, 26, 27, 28, Mar 2.
    let c = Case::dispatched(RequestType::Complaint, bj(2026, 2, 13, 10));
    assert_eq!(c.order.due_at, Some(end_of(2026, 3, 2)));
    // 2 days to return, received the day before 国庆 (Oct 1–7 off): Oct 8 and 9.
    let c = Case::dispatched(RequestType::Consultation, bj(2026, 9, 30, 10));
    assert_eq!(c.order.return_due, Some(end_of(2026, 10, 9)));
    // Received late on a Beijing evening: still that Beijing date.
    let c = Case::dispatched(RequestType::Consultation, bj(2026, 9, 24, 23));
    assert_eq!(c.order.due_at, Some(end_of(2026, 9, 30)));
}

#[test]
fn the_whole_way_from_dispatch_to_archive() {
    let mut c = Case::dispatched(RequestType::Complaint, bj(2026, 3, 2, 9));
    assert_eq!(c.order.status, Status::Dispatched);
    assert_eq!(
        c.order.owner.as_deref(),
        Some("1001"),
        "first contact owns it"
    );
    c.ok(bj(2026, 3, 2, 11), staff("市住建局"), EventKind::SignedFor);
    c.ok(bj(2026, 3, 5, 11), staff("市住建局"), reply());
    assert_eq!(c.order.replied_on_time, Some(true));
    c.ok(bj(2026, 3, 5, 15), supervisor(), review_passed());
    c.ok(bj(2026, 3, 6, 9), agent(), callback(false, None, false));
    c.ok(
        bj(2026, 3, 6, 15),
        agent(),
        callback(true, Some(Satisfaction::VerySatisfied), false),
    );
    assert_eq!(c.order.status, Status::CalledBack);
    assert_eq!(c.order.callback_attempts, 2);
    c.ok(
        bj(2026, 3, 6, 16),
        agent(),
        EventKind::Classified {
            category: "供暖".into(),
        },
    );
    assert_eq!(c.order.status, Status::Archived);
    c.check_replay();
    // Archived is final.
    assert!(matches!(
        c.refused(bj(2026, 3, 7, 9), staff("市住建局"), reply()),
        StepError::WrongStatus { .. }
    ));
}

#[test]
fn answered_on_the_spot_informed_or_moved_to_an_emergency_line_closes() {
    for kind in [
        EventKind::AnsweredOnSpot {
            answer: "办理时间为工作日".into(),
        },
        EventKind::Informed {
            guidance: "请到区政务服务中心".into(),
        },
        EventKind::EmergencyTransferred {
            number: "110".into(),
        },
    ] {
        let mut c = Case::new(Some("1001"), bj(2026, 3, 2, 9));
        // Nothing can be closed before the intake.
        assert!(matches!(
            c.refused(bj(2026, 3, 2, 9), agent(), kind.clone()),
            StepError::Invalid(_)
        ));
        c.ok(
            bj(2026, 3, 2, 9),
            agent(),
            EventKind::IntakeFilled(intake(RequestType::Consultation)),
        );
        c.ok(bj(2026, 3, 2, 9), agent(), kind);
        assert_eq!(c.order.status, Status::Closed);
        c.ok(
            bj(2026, 3, 2, 10),
            agent(),
            EventKind::Classified {
                category: "政务咨询".into(),
            },
        );
        c.check_replay();
    }
}

#[test]
fn a_return_within_two_days_is_reassigned_or_rejected_and_a_late_one_refused() {
    let mut c = Case::dispatched(RequestType::Consultation, bj(2026, 3, 2, 9));
    let ret = EventKind::ReturnRequested {
        reasons: "不属本单位职责".into(),
        basis: "三定方案第五条".into(),
    };
    // Another unit cannot return it.
    assert!(matches!(
        c.refused(bj(2026, 3, 2, 10), staff("市教育局"), ret.clone()),
        StepError::Forbidden { .. }
    ));
    // Reasons and basis are required.
    assert!(matches!(
        c.refused(
            bj(2026, 3, 2, 10),
            staff("市住建局"),
            EventKind::ReturnRequested {
                reasons: "x".into(),
                basis: " ".into()
            }
        ),
        StepError::Invalid(_)
    ));
    c.ok(bj(2026, 3, 3, 10), staff("市住建局"), ret.clone());
    assert_eq!(c.order.status, Status::ReturnPending);
    // The center reassigns: a new lead, new deadlines from the new receipt.
    c.ok(
        bj(2026, 3, 4, 10),
        supervisor(),
        EventKind::Reassigned {
            lead: "市水务局".into(),
            co: vec![],
            card: "改派".into(),
        },
    );
    assert_eq!(c.order.lead.as_deref(), Some("市水务局"));
    assert_eq!(c.order.due_at, Some(end_of(2026, 3, 9)));
    // The new unit's return is too late after its 2 working days (Mar 5, 6).
    assert_eq!(c.order.return_due, Some(end_of(2026, 3, 6)));
    assert!(matches!(
        c.refused(bj(2026, 3, 9, 9), staff("市水务局"), ret.clone()),
        StepError::TooLate { .. }
    ));
    // Within it, but rejected: the unit keeps the order.
    c.ok(bj(2026, 3, 5, 9), staff("市水务局"), EventKind::SignedFor);
    c.ok(bj(2026, 3, 6, 9), staff("市水务局"), ret);
    assert!(matches!(
        c.refused(
            bj(2026, 3, 6, 10),
            agent(),
            EventKind::ReturnRejected {
                reason: "属于职责".into()
            }
        ),
        StepError::Forbidden { .. }
    ));
    c.ok(
        bj(2026, 3, 6, 10),
        supervisor(),
        EventKind::ReturnRejected {
            reason: "供水属于职责".into(),
        },
    );
    assert_eq!(c.order.status, Status::Handling);
    assert_eq!((c.order.returns, c.order.rejected_returns), (2, 1));
    c.check_replay();
}

#[test]
fn an_extension_is_asked_before_the_deadline_and_decided_by_the_unit_head() {
    let mut c = Case::dispatched(RequestType::Consultation, bj(2026, 3, 2, 9));
    let due = c.order.due_at.unwrap();
    assert_eq!(due, end_of(2026, 3, 5));
    c.ok(bj(2026, 3, 2, 11), staff("市住建局"), EventKind::SignedFor);
    let ask = |new_due| EventKind::ExtensionRequested {
        new_due,
        basis: "需现场勘查".into(),
        reason: "涉及多户".into(),
    };
    // Not later than the deadline: refused.
    assert!(matches!(
        c.refused(bj(2026, 3, 3, 9), staff("市住建局"), ask(due)),
        StepError::Invalid(_)
    ));
    c.ok(
        bj(2026, 3, 3, 9),
        staff("市住建局"),
        ask(end_of(2026, 3, 12)),
    );
    // Staff cannot approve; another unit's head cannot either.
    let decide = EventKind::ExtensionDecided {
        approved: true,
        note: "同意".into(),
        caller_informed: true,
    };
    assert!(matches!(
        c.refused(bj(2026, 3, 3, 10), staff("市住建局"), decide.clone()),
        StepError::Forbidden { .. }
    ));
    assert!(matches!(
        c.refused(bj(2026, 3, 3, 10), head("市教育局"), decide.clone()),
        StepError::Forbidden { .. }
    ));
    c.ok(bj(2026, 3, 3, 10), head("市住建局"), decide.clone());
    assert_eq!(c.order.due_at, Some(end_of(2026, 3, 12)));
    assert_eq!(c.order.extensions, 1);
    // Nothing pending any more.
    assert!(matches!(
        c.refused(bj(2026, 3, 3, 11), head("市住建局"), decide),
        StepError::Invalid(_)
    ));
    // After the (new) deadline no extension can be asked.
    assert!(matches!(
        c.refused(
            bj(2026, 3, 13, 9),
            staff("市住建局"),
            ask(end_of(2026, 3, 20))
        ),
        StepError::TooLate { .. }
    ));
    // A late reply is taken, and marked late.
    c.ok(bj(2026, 3, 13, 9), staff("市住建局"), reply());
    assert_eq!(c.order.replied_on_time, Some(false));
    c.check_replay();
}

#[test]
fn an_unsatisfied_callback_for_the_units_reasons_means_another_round() {
    let mut c = Case::dispatched(RequestType::Complaint, bj(2026, 3, 2, 9));
    c.ok(bj(2026, 3, 2, 11), staff("市住建局"), EventKind::SignedFor);
    c.ok(bj(2026, 3, 4, 11), staff("市住建局"), reply());
    // A failed review sends it back to the unit, with a reason.
    assert!(matches!(
        c.refused(
            bj(2026, 3, 4, 15),
            supervisor(),
            EventKind::Reviewed {
                passed: false,
                note: String::new()
            }
        ),
        StepError::Invalid(_)
    ));
    c.ok(
        bj(2026, 3, 4, 15),
        supervisor(),
        EventKind::Reviewed {
            passed: false,
            note: "答复不完整".into(),
        },
    );
    assert_eq!(c.order.status, Status::Handling);
    c.ok(bj(2026, 3, 5, 11), staff("市住建局"), reply());
    c.ok(bj(2026, 3, 5, 15), supervisor(), review_passed());
    // Satisfied callers cannot be "unsatisfied for the unit's reasons".
    assert!(matches!(
        c.refused(
            bj(2026, 3, 6, 9),
            agent(),
            callback(true, Some(Satisfaction::Satisfied), true)
        ),
        StepError::Invalid(_)
    ));
    c.ok(
        bj(2026, 3, 6, 9),
        agent(),
        callback(true, Some(Satisfaction::Unsatisfied), true),
    );
    assert_eq!(c.order.status, Status::CallbackUnsatisfied);
    // Not archived while a re-do is due.
    assert!(matches!(
        c.refused(
            bj(2026, 3, 6, 10),
            agent(),
            EventKind::Classified {
                category: "x".into()
            }
        ),
        StepError::WrongStatus { .. }
    ));
    c.ok(
        bj(2026, 3, 6, 10),
        supervisor(),
        EventKind::RedoOrdered {
            letter: "督办函：请重新办理".into(),
        },
    );
    assert_eq!((c.order.status, c.order.round), (Status::Dispatched, 2));
    // The new round has its own 7 working days from the re-do.
    assert_eq!(c.order.due_at, Some(end_of(2026, 3, 17)));
    c.ok(bj(2026, 3, 9, 9), staff("市住建局"), EventKind::SignedFor);
    c.ok(bj(2026, 3, 12, 9), staff("市住建局"), reply());
    c.ok(bj(2026, 3, 12, 15), supervisor(), review_passed());
    c.ok(
        bj(2026, 3, 13, 9),
        agent(),
        callback(true, Some(Satisfaction::Satisfied), false),
    );
    c.ok(
        bj(2026, 3, 13, 10),
        agent(),
        EventKind::Classified {
            category: "供暖".into(),
        },
    );
    assert_eq!(c.order.status, Status::Archived);
    c.check_replay();
}

#[test]
fn unsatisfied_not_for_the_units_reasons_and_unreachable_callers_are_archived() {
    let mut c = Case::dispatched(RequestType::Suggestion, bj(2026, 3, 2, 9));
    c.ok(bj(2026, 3, 2, 11), staff("市住建局"), EventKind::SignedFor);
    c.ok(bj(2026, 3, 4, 11), staff("市住建局"), reply());
    c.ok(bj(2026, 3, 4, 15), supervisor(), review_passed());
    c.ok(
        bj(2026, 3, 5, 9),
        agent(),
        callback(true, Some(Satisfaction::VeryUnsatisfied), false),
    );
    assert!(matches!(
        c.refused(
            bj(2026, 3, 5, 10),
            supervisor(),
            EventKind::RedoOrdered { letter: "x".into() }
        ),
        StepError::Invalid(_)
    ));
    c.ok(
        bj(2026, 3, 5, 10),
        agent(),
        EventKind::Classified {
            category: "建议".into(),
        },
    );

    let mut c = Case::dispatched(RequestType::Help, bj(2026, 3, 2, 9));
    c.ok(bj(2026, 3, 2, 11), staff("市住建局"), EventKind::SignedFor);
    c.ok(bj(2026, 3, 3, 11), staff("市住建局"), reply());
    c.ok(bj(2026, 3, 3, 15), supervisor(), review_passed());
    for h in [9, 12, 16] {
        c.ok(bj(2026, 3, 4, h), agent(), callback(false, None, false));
    }
    assert_eq!(
        (c.order.status, c.order.callback_attempts),
        (Status::Unreachable, 3)
    );
    c.ok(
        bj(2026, 3, 5, 9),
        agent(),
        EventKind::Classified {
            category: "求助".into(),
        },
    );
    c.check_replay();
}

#[test]
fn reminders_notices_and_criticism_after_five_more_working_days() {
    let mut c = Case::dispatched(RequestType::Consultation, bj(2026, 3, 2, 9));
    // Due Mar 5 24:00.
    c.ok(
        bj(2026, 3, 5, 9),
        system(),
        EventKind::Reminded { notice: false },
    );
    c.ok(
        bj(2026, 3, 6, 9),
        system(),
        EventKind::Reminded { notice: true },
    );
    c.ok(
        bj(2026, 3, 9, 9),
        system(),
        EventKind::Reminded { notice: true },
    );
    assert_eq!((c.order.reminders, c.order.notices), (1, 2));
    // Mar 12 is 5 working days after the deadline only from Mar 12 (6, 9, 10, 11, 12).
    assert!(!c.order.escalation_due(bj(2026, 3, 11, 9), &c.cal).unwrap());
    assert!(matches!(
        c.refused(bj(2026, 3, 11, 9), system(), EventKind::CriticismFlagged),
        StepError::Invalid(_)
    ));
    assert!(c.order.escalation_due(bj(2026, 3, 12, 9), &c.cal).unwrap());
    // Only the scheduler or a supervisor flags it.
    assert!(matches!(
        c.refused(bj(2026, 3, 12, 9), agent(), EventKind::CriticismFlagged),
        StepError::Forbidden { .. }
    ));
    c.ok(bj(2026, 3, 12, 9), system(), EventKind::CriticismFlagged);
    assert!(c.order.criticized);
    // Once.
    assert!(
        c.step(bj(2026, 3, 13, 9), system(), EventKind::CriticismFlagged)
            .is_err()
    );
    c.check_replay();
}

#[test]
fn a_missed_call_is_called_back_and_taken_down() {
    let mut c = Case::new(None, bj(2026, 3, 2, 9));
    assert_eq!(c.order.status, Status::MissedCall);
    assert_eq!(c.order.owner, None);
    c.ok(bj(2026, 3, 2, 10), agent(), callback(false, None, false));
    c.ok(
        bj(2026, 3, 2, 11),
        agent(),
        EventKind::IntakeFilled(intake(RequestType::Help)),
    );
    assert_eq!(c.order.status, Status::Draft);
    assert_eq!(
        c.order.owner.as_deref(),
        Some("1001"),
        "the agent who called back owns it"
    );
    c.check_replay();
}

#[test]
fn units_act_only_on_their_orders_and_duplicates_merge() {
    let mut c = Case::dispatched(RequestType::Consultation, bj(2026, 3, 2, 9));
    assert!(c.order.visible_to_unit("市住建局"));
    assert!(c.order.visible_to_unit("市城管局"), "co-unit");
    assert!(!c.order.visible_to_unit("市教育局"));
    // A co-unit and another unit cannot sign for it; a unit cannot fill the intake.
    for u in ["市城管局", "市教育局"] {
        assert!(matches!(
            c.refused(bj(2026, 3, 2, 10), staff(u), EventKind::SignedFor),
            StepError::Forbidden { .. }
        ));
    }
    assert!(matches!(
        c.refused(
            bj(2026, 3, 2, 10),
            staff("市住建局"),
            EventKind::IntakeFilled(intake(RequestType::Help))
        ),
        StepError::Forbidden { .. }
    ));
    // A lead that is also a co-unit is refused.
    let mut d = Case::new(Some("1001"), bj(2026, 3, 2, 9));
    d.ok(
        bj(2026, 3, 2, 9),
        agent(),
        EventKind::IntakeFilled(intake(RequestType::Help)),
    );
    assert!(matches!(
        d.refused(
            bj(2026, 3, 2, 9),
            agent(),
            EventKind::Dispatched {
                lead: "A".into(),
                co: vec!["A".into()],
                card: "x".into()
            }
        ),
        StepError::Invalid(_)
    ));
    // Merging a duplicate: only supervisors; then nothing more happens to it.
    assert!(matches!(
        c.refused(
            bj(2026, 3, 2, 11),
            agent(),
            EventKind::Merged {
                into: "YC20260302-000001".into()
            }
        ),
        StepError::Forbidden { .. }
    ));
    c.ok(
        bj(2026, 3, 2, 11),
        supervisor(),
        EventKind::Merged {
            into: "YC20260302-000001".into(),
        },
    );
    assert_eq!(c.order.status, Status::Merged);
    assert!(
        c.step(bj(2026, 3, 2, 12), staff("市住建局"), EventKind::SignedFor)
            .is_err()
    );
    c.check_replay();
}

#[test]
fn a_history_replays_from_json_and_a_bad_event_is_named_by_its_index() {
    let mut c = Case::dispatched(RequestType::Consultation, bj(2026, 3, 2, 9));
    c.ok(bj(2026, 3, 2, 11), staff("市住建局"), EventKind::SignedFor);
    let json = serde_json::to_string(&c.events).unwrap();
    let back: Vec<Event> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, c.events);
    assert_eq!(WorkOrder::replay(&back, &c.rules, &c.cal).unwrap(), c.order);
    // A second sign-for in the history: refused at index 4.
    let mut bad = back.clone();
    bad.push(bad[3].clone());
    let err = WorkOrder::replay(&bad, &c.rules, &c.cal).unwrap_err();
    assert_eq!(err.0, 4);
    assert!(matches!(err.1, StepError::WrongStatus { .. }));
    // A history must start with its draft.
    assert_eq!(
        WorkOrder::replay(&back[1..], &c.rules, &c.cal).unwrap_err(),
        (0, StepError::NotDrafted)
    );
    assert_eq!(
        WorkOrder::replay(&[], &c.rules, &c.cal).unwrap_err(),
        (0, StepError::NotDrafted)
    );
}

#[test]
fn status_names_are_the_serde_names_and_unit_open_ones_are_three() {
    use hotline_workorder::status_name;
    for s in Status::ALL {
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, format!("\"{}\"", status_name(s)));
        assert_eq!(serde_json::from_str::<Status>(&json).unwrap(), s);
    }
    let open: Vec<_> = Status::ALL
        .into_iter()
        .filter(|s| s.is_open_for_unit())
        .collect();
    assert_eq!(
        open,
        [Status::Dispatched, Status::Handling, Status::ReturnPending]
    );
    // The order state travels as JSON both ways (the store's projection).
    let c = Case::dispatched(RequestType::Report, bj(2026, 3, 2, 9));
    let json = serde_json::to_string(&c.order).unwrap();
    assert_eq!(serde_json::from_str::<WorkOrder>(&json).unwrap(), c.order);
}
