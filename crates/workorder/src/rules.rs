//! The time limits and counts the notice sets, per request type, overridable in config.

use crate::types::RequestType;
use hotline_calendar::Deadline;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    /// 诉求 (consultation, help, praise, other): working days to complete.
    pub request_days: u32,
    /// 投诉, 举报/反映, 建议: working days to complete.
    pub complaint_days: u32,
    /// Working days to return an order outside the unit's remit.
    pub return_days: u32,
    /// Callback attempts before the caller counts as unreachable.
    pub callback_attempts: u32,
    /// The reminder (催办, "须在办理时限届满前 … 进行催办") is due from 00:00 Beijing of the
    /// `n`-th working day counted back from the deadline's last day (that day counts if it is a
    /// working day) until the deadline. Default 1: from 00:00 of the last day. 0: no reminders.
    /// See [`crate::reminder_from`].
    pub remind_before_working_days: u32,
    /// The second reminder notice (催办通知书) is due from 00:00 Beijing of the `n`-th working day
    /// after the day of the first, if the unit still has not replied. Default 2.
    pub second_notice_after_working_days: u32,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            request_days: Deadline::Request.working_days(),
            complaint_days: Deadline::SuggestionReportComplaint.working_days(),
            return_days: Deadline::Return.working_days(),
            callback_attempts: 3,
            remind_before_working_days: 1,
            second_notice_after_working_days: 2,
        }
    }
}

impl Rules {
    /// Working days a unit has for an order of this type.
    pub fn days_for(&self, t: RequestType) -> u32 {
        match t {
            RequestType::Complaint | RequestType::Report | RequestType::Suggestion => {
                self.complaint_days
            }
            _ => self.request_days,
        }
    }
}
