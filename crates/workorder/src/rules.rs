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
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            request_days: Deadline::Request.working_days(),
            complaint_days: Deadline::SuggestionReportComplaint.working_days(),
            return_days: Deadline::Return.working_days(),
            callback_attempts: 3,
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
