//! The time limits of the notice's §7 (三), in working days.

/// A time limit for a unit handling a work order, counted in working days from the day after
/// the unit receives it (see [`crate::Calendar::add_working_days`] and [`crate::Calendar::due_at`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Deadline {
    /// 诉求 (requests): "须在 3 个工作日内办结和答复诉求人".
    Request,
    /// 建议、反映、投诉: "须在收到转办函件次日起 7 个工作日内办结和答复诉求人".
    SuggestionReportComplaint,
    /// Returning an order outside the unit's remit: "收到督办、转办函件次日起 2 日内 … 退回".
    ///
    /// The notice writes 2 日, not 2 个工作日. We count working days, like every other limit in the
    /// same paragraph, so an order received on a Friday or before 春节 can still be returned after
    /// the break; a strict calendar-day reading would be `received + 2 days`.
    Return,
}

impl Deadline {
    pub const fn working_days(self) -> u32 {
        match self {
            Deadline::Request => 3,
            Deadline::SuggestionReportComplaint => 7,
            Deadline::Return => 2,
        }
    }
}

/// "经两次催办仍超过办理时限 5 个工作日": working days past the deadline after which an order with
/// two reminders and no reported reason is flagged for 通报批评.
pub const ESCALATION_WORKING_DAYS_LATE: u32 = 5;
