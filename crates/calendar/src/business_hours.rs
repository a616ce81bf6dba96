//! Opening hours on working days, for IVR rules and transfers to units that only staff their
//! phones in office hours.

use chrono::{DateTime, NaiveTime, Utc};

use crate::calendar::{Calendar, beijing_time};
use crate::error::{BusinessHoursError, OutOfRange};

/// Beijing-time windows `[start, end)` during which a service is open on working days; closed all
/// day on days off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessHours {
    windows: Vec<(NaiveTime, NaiveTime)>,
}

impl BusinessHours {
    pub fn new(mut windows: Vec<(NaiveTime, NaiveTime)>) -> Result<Self, BusinessHoursError> {
        if let Some(&(start, end)) = windows.iter().find(|(start, end)| start >= end) {
            return Err(BusinessHoursError::Empty { start, end });
        }
        windows.sort();
        for pair in windows.windows(2) {
            let ((first_start, first_end), (second_start, second_end)) = (pair[0], pair[1]);
            if second_start < first_end {
                return Err(BusinessHoursError::Overlap {
                    first_start,
                    first_end,
                    second_start,
                    second_end,
                });
            }
        }
        Ok(Self { windows })
    }

    pub fn windows(&self) -> &[(NaiveTime, NaiveTime)] {
        &self.windows
    }

    /// Whether the service is open at `at`: a working day in Beijing and inside a window.
    pub fn is_open(&self, calendar: &Calendar, at: DateTime<Utc>) -> Result<bool, OutOfRange> {
        let Some(local) = beijing_time(at) else {
            return Err(OutOfRange {
                date: at.date_naive(),
                covered: calendar.covered(),
            });
        };
        if !calendar.is_working_day(local.date())? {
            return Ok(false);
        }
        let time = local.time();
        Ok(self
            .windows
            .iter()
            .any(|(start, end)| *start <= time && time < *end))
    }
}
