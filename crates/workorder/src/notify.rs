//! The messages the scheduler's steps send to the lead unit (W5, W8): the reminder SMS before
//! the deadline, the reminder notice (催办通知书) after it, the criticism report. Times are
//! Beijing time; a deadline at 24:00 reads as "24时" of its last day, as the notice counts
//! days ("11月30日24时", not "12月1日0时").

use crate::event::EventKind;
use crate::order::WorkOrder;
use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use hotline_calendar::{ESCALATION_WORKING_DAYS_LATE, beijing_time};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// 催办: before the deadline.
    Reminder,
    /// 催办通知书: the deadline passed with no reply.
    ReminderNotice,
    /// 通报批评: two notices and 5 working days late.
    Criticism,
}

/// One message to a unit about one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub kind: NotificationKind,
    /// The lead unit (承办单位) the message is for.
    pub unit: String,
    pub order_no: String,
    /// The deadline the message is about.
    pub due_at: DateTime<Utc>,
    /// The SMS text (Chinese), with the 【12345】 signature.
    pub text: String,
}

/// The message for a system step (`Reminded`, `CriticismFlagged`) of order `no`; None for other
/// steps or an order without a lead unit or deadline. `order` is the order as the step left it
/// (after [`WorkOrder::apply`]): a second notice then says so ("第二次").
pub fn notification(order: &WorkOrder, no: &str, step: &EventKind) -> Option<Notification> {
    let unit = order.lead.clone()?;
    let due_at = order.due_at?;
    let due = beijing_deadline(due_at);
    let (kind, text) = match step {
        EventKind::Reminded { notice: false } => (
            NotificationKind::Reminder,
            format!("【12345】工单{no}将于{due}到期，请及时办理。"),
        ),
        EventKind::Reminded { notice: true } => {
            let nth = if order.round_notices >= 2 {
                "第二次"
            } else {
                ""
            };
            (
                NotificationKind::ReminderNotice,
                format!(
                    "【12345】工单{no}已超过办理时限（{due}到期），现{nth}发出《催办通知书》，\
                     请立即办理并答复诉求人，不能按时办结的须报告说明理由。"
                ),
            )
        }
        EventKind::CriticismFlagged => (
            NotificationKind::Criticism,
            format!(
                "【12345】工单{no}（{due}到期）经两次催办仍超过办理时限\
                 {ESCALATION_WORKING_DAYS_LATE}个工作日，已报请通报批评并移交督查室。"
            ),
        ),
        _ => return None,
    };
    Some(Notification {
        kind,
        unit,
        order_no: no.to_string(),
        due_at,
        text,
    })
}

/// A deadline in Beijing time: "2026年11月30日24时" at midnight, else with its hour and minute
/// ("2026年10月13日15时30分", an extension's date may fall at any time).
pub fn beijing_deadline(due_at: DateTime<Utc>) -> String {
    let Some(t) = beijing_time(due_at) else {
        return due_at.to_rfc3339();
    };
    if t.time() == chrono::NaiveTime::MIN {
        let d = t.date() - Duration::days(1);
        return format!("{}年{}月{}日24时", d.year(), d.month(), d.day());
    }
    let d = t.date();
    let mut s = format!("{}年{}月{}日{}时", d.year(), d.month(), d.day(), t.hour());
    if t.minute() != 0 {
        s.push_str(&format!("{}分", t.minute()));
    }
    s
}
