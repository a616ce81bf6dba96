//! The assessment figures (D3) from orders that went different ways, with every rate checked
//! against a hand count.

mod common;

use common::*;
use hotline_workorder::{EventKind, Kpis, RequestType, Satisfaction};

/// Four orders for 市住建局 and one for 市水务局, over a March week.
fn month() -> Vec<Case> {
    let mut out = Vec::new();
    // 1: signed the same day, replied on time, reviewed, called back satisfied, solved.
    let mut a = Case::dispatched(RequestType::Complaint, bj(2026, 3, 2, 9));
    a.ok(bj(2026, 3, 2, 11), staff("市住建局"), EventKind::SignedFor);
    a.ok(bj(2026, 3, 4, 11), staff("市住建局"), reply());
    a.ok(bj(2026, 3, 4, 15), supervisor(), review_passed());
    a.ok(
        bj(2026, 3, 5, 9),
        agent(),
        callback(true, Some(Satisfaction::Satisfied), false),
    );
    out.push(a);
    // 2: signed after the return window (late), replied after the deadline, two notices,
    // reviewed, called back unsatisfied for the unit's reasons, re-done.
    let mut b = Case::dispatched(RequestType::Consultation, bj(2026, 3, 2, 9));
    b.ok(
        bj(2026, 3, 5, 9),
        system(),
        EventKind::Reminded { notice: true },
    );
    b.ok(bj(2026, 3, 5, 10), staff("市住建局"), EventKind::SignedFor);
    b.ok(
        bj(2026, 3, 6, 9),
        system(),
        EventKind::Reminded { notice: true },
    );
    b.ok(bj(2026, 3, 9, 11), staff("市住建局"), reply());
    b.ok(bj(2026, 3, 9, 15), supervisor(), review_passed());
    b.ok(
        bj(2026, 3, 10, 9),
        agent(),
        callback(true, Some(Satisfaction::Unsatisfied), true),
    );
    b.ok(
        bj(2026, 3, 10, 10),
        supervisor(),
        EventKind::RedoOrdered {
            letter: "督办".into(),
        },
    );
    out.push(b);
    // 3: a return rejected, then handled; reviewed but not yet called back.
    let mut c = Case::dispatched(RequestType::Help, bj(2026, 3, 2, 9));
    c.ok(
        bj(2026, 3, 2, 10),
        staff("市住建局"),
        EventKind::ReturnRequested {
            reasons: "非本单位".into(),
            basis: "三定".into(),
        },
    );
    c.ok(
        bj(2026, 3, 2, 11),
        supervisor(),
        EventKind::ReturnRejected {
            reason: "属职责".into(),
        },
    );
    c.ok(bj(2026, 3, 2, 12), staff("市住建局"), EventKind::SignedFor);
    c.ok(bj(2026, 3, 3, 12), staff("市住建局"), reply());
    c.ok(bj(2026, 3, 3, 15), supervisor(), review_passed());
    out.push(c);
    // 4: returned and reassigned to 市水务局, which signs and has not replied yet.
    let mut d = Case::dispatched(RequestType::Help, bj(2026, 3, 2, 9));
    d.ok(
        bj(2026, 3, 2, 10),
        staff("市住建局"),
        EventKind::ReturnRequested {
            reasons: "供水问题".into(),
            basis: "职责".into(),
        },
    );
    d.ok(
        bj(2026, 3, 2, 11),
        supervisor(),
        EventKind::Reassigned {
            lead: "市水务局".into(),
            co: vec![],
            card: "改派".into(),
        },
    );
    d.ok(bj(2026, 3, 2, 15), staff("市水务局"), EventKind::SignedFor);
    out.push(d);
    // 5: answered on the spot: no unit's.
    let mut e = Case::new(Some("1001"), bj(2026, 3, 2, 9));
    e.ok(
        bj(2026, 3, 2, 9),
        agent(),
        EventKind::IntakeFilled(intake(RequestType::Consultation)),
    );
    e.ok(
        bj(2026, 3, 2, 9),
        agent(),
        EventKind::AnsweredOnSpot {
            answer: "工作日办理".into(),
        },
    );
    out.push(e);
    out
}

#[test]
fn every_figure_per_unit_and_overall() {
    let cases = month();
    let (per, all) = Kpis::by_unit(cases.iter().map(|c| &c.order));
    assert_eq!(per.keys().collect::<Vec<_>>(), ["市住建局", "市水务局"]);
    let k = &per["市住建局"];
    assert_eq!(k.dispatched, 3);
    // Signed: 1 (same day), 2 (after its window of Mar 3–4: late), 3 (on time).
    assert_eq!((k.signed, k.signed_on_time), (3, 2));
    assert_eq!(k.on_time_sign_for(), Some(2.0 / 3.0));
    // The order reassigned away counts for 市水务局: 市住建局 has one return request (rejected).
    assert_eq!(k.return_rate(), Some(1.0 / 3.0));
    assert_eq!(k.rejected_return_rate(), Some(1.0));
    // Replied: 1 on time, 2 late (due Mar 5, replied Mar 9), 3 on time; every round counts.
    assert_eq!(k.replied, 3);
    assert_eq!(k.on_time_completion(), Some(2.0 / 3.0));
    // Reviewed 3, called back 2.
    assert_eq!(k.callback_rate(), Some(2.0 / 3.0));
    assert_eq!(k.satisfaction_rate(), Some(0.5));
    assert_eq!(k.redo_rate(), Some(1.0 / 3.0));
    // Solved known: 1 (yes, callback), 2 (no, callback), 3 (yes, reply).
    assert_eq!(k.solved_rate(), Some(2.0 / 3.0));
    assert_eq!((k.notices, k.criticisms), (2, 0));
    let w = &per["市水务局"];
    assert_eq!((w.dispatched, w.signed, w.signed_on_time), (1, 1, 1));
    assert_eq!(
        w.return_rate(),
        Some(1.0),
        "the order came with its return request"
    );
    assert_eq!(w.on_time_completion(), None, "no reply yet");
    assert_eq!(
        all.dispatched, 4,
        "the order answered on the spot is no unit's"
    );
    let csv = Kpis::csv(&per, &all);
    let lines: Vec<_> = csv.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[0].starts_with("unit,dispatched,on_time_sign_for_pct"));
    assert_eq!(
        lines[1],
        "\"市住建局\",3,66.7,33.3,100.0,66.7,66.7,50.0,66.7,33.3,0,2,0"
    );
    assert!(lines[3].starts_with("\"全部\",4,"));
}

#[test]
fn one_orders_contribution_and_merged_totals() {
    let cases = month();
    let (per, all) = Kpis::by_unit(cases.iter().map(|c| &c.order));
    let mut merged = Kpis::default();
    for c in &cases {
        merged.merge(&Kpis::from_order(&c.order));
    }
    assert_eq!(merged, all);
    // Per unit merged back together is the overall figure too.
    let mut again = Kpis::default();
    per.values().for_each(|k| again.merge(k));
    assert_eq!(again, all);
    // The order answered on the spot contributes nothing; order 2 its two notices.
    assert_eq!(Kpis::from_order(&cases[4].order), Kpis::default());
    let b = Kpis::from_order(&cases[1].order);
    assert_eq!((b.dispatched, b.notices, b.redone), (1, 2, 1));
    // The figures travel as JSON both ways.
    let json = serde_json::to_string(&all).unwrap();
    assert_eq!(serde_json::from_str::<Kpis>(&json).unwrap(), all);
}
