//! The Chinese working-day calendar for 12345 work-order deadlines and business hours.
//!
//! Working days are Monday to Friday, except the days off and the weekend days worked (调休上班)
//! that the State Council General Office publishes each year (国务院办公厅关于XXXX年部分节假日
//! 安排的通知). The notices live as data in `config/calendar/<year>.toml`; admin overrides stored
//! elsewhere win over them. A date in a year without a notice is an [`OutOfRange`] error: the
//! crate never guesses, since the next year's schedule is only known each November.
//!
//! Pure: no clock, no I/O except [`Calendar::from_dir`]; callers pass dates and instants in.

mod business_hours;
mod calendar;
mod deadline;
mod error;
mod load;

pub use business_hours::BusinessHours;
pub use calendar::{
    BEIJING, Calendar, DayKind, Override, beijing_date, beijing_time, end_of_beijing_day,
};
pub use deadline::{Deadline, ESCALATION_WORKING_DAYS_LATE};
pub use error::{BusinessHoursError, DataError, OutOfRange, OverrideError, Problem};
pub use load::Holiday;
