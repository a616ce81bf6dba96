//! The scheduler's messages to units: kind, unit, deadline, and the Chinese SMS text in
//! Beijing time.

mod common;

use chrono::Duration;
use common::*;
use hotline_workorder::{
    EventKind, NotificationKind, RequestType, beijing_deadline, due_steps, notification,
};

const NO: &str = "YC20260924-000123";

#[test]
fn reminder_notices_and_criticism_read_in_beijing_time() {
    // Due Wed 30 Sep 2026 24:00.
    let mut c = Case::dispatched(RequestType::Consultation, bj(2026, 9, 24, 10));
    let mut texts = Vec::new();
    for at in [
        bj(2026, 9, 30, 0),
        end_of(2026, 9, 30) + Duration::seconds(1),
        bj(2026, 10, 9, 0),
        bj(2026, 10, 13, 0),
    ] {
        for step in due_steps(&c.order, at, &c.rules, &c.cal).unwrap().steps {
            c.ok(at, system(), step.clone());
            // As the step left the order.
            let n = notification(&c.order, NO, &step).unwrap();
            assert_eq!(n.unit, "市住建局");
            assert_eq!(n.order_no, NO);
            assert_eq!(n.due_at, end_of(2026, 9, 30));
            texts.push((n.kind, n.text));
        }
    }
    assert_eq!(
        texts,
        [
            (
                NotificationKind::Reminder,
                "【12345】工单YC20260924-000123将于2026年9月30日24时到期，请及时办理。".to_string()
            ),
            (
                NotificationKind::ReminderNotice,
                "【12345】工单YC20260924-000123已超过办理时限（2026年9月30日24时到期），\
                 现发出《催办通知书》，请立即办理并答复诉求人，不能按时办结的须报告说明理由。"
                    .to_string()
            ),
            (
                NotificationKind::ReminderNotice,
                "【12345】工单YC20260924-000123已超过办理时限（2026年9月30日24时到期），\
                 现第二次发出《催办通知书》，请立即办理并答复诉求人，不能按时办结的须报告说明理由。"
                    .to_string()
            ),
            (
                NotificationKind::Criticism,
                "【12345】工单YC20260924-000123（2026年9月30日24时到期）经两次催办仍超过办理时限\
                 5个工作日，已报请通报批评并移交督查室。"
                    .to_string()
            ),
        ]
    );
    // Not a system step, or no unit: no message.
    assert!(notification(&c.order, NO, &EventKind::SignedFor).is_none());
    let d = Case::new(Some("1001"), bj(2026, 9, 24, 10));
    assert!(notification(&d.order, NO, &EventKind::Reminded { notice: false }).is_none());
    // The kind's JSON name, for webhooks.
    assert_eq!(
        serde_json::to_string(&NotificationKind::ReminderNotice).unwrap(),
        "\"reminder_notice\""
    );
}

#[test]
fn deadlines_at_midnight_read_as_24h_of_the_last_day() {
    assert_eq!(beijing_deadline(end_of(2026, 11, 30)), "2026年11月30日24时");
    assert_eq!(beijing_deadline(end_of(2026, 12, 31)), "2026年12月31日24时");
    assert_eq!(beijing_deadline(bj(2026, 10, 13, 15)), "2026年10月13日15时");
    assert_eq!(
        beijing_deadline(bj(2026, 10, 13, 15) + Duration::minutes(30)),
        "2026年10月13日15时30分"
    );
    // An extension's deadline is the one the message names.
    let mut c = Case::dispatched(RequestType::Consultation, bj(2026, 9, 24, 10));
    c.ok(bj(2026, 9, 24, 11), staff("市住建局"), EventKind::SignedFor);
    c.ok(
        bj(2026, 9, 29, 9),
        staff("市住建局"),
        EventKind::ExtensionRequested {
            new_due: end_of(2026, 10, 13),
            basis: "需现场勘查".into(),
            reason: "涉及多户".into(),
        },
    );
    c.ok(
        bj(2026, 9, 29, 10),
        head("市住建局"),
        EventKind::ExtensionDecided {
            approved: true,
            note: "同意".into(),
            caller_informed: true,
        },
    );
    let n = notification(&c.order, NO, &EventKind::Reminded { notice: false }).unwrap();
    assert!(n.text.contains("2026年10月13日24时到期"), "{}", n.text);
}
