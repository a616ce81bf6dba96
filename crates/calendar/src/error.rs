use std::ops::RangeInclusive;
use std::path::PathBuf;

use chrono::{NaiveDate, Weekday};
use thiserror::Error;

/// A date in a year the loaded data does not describe.
///
/// Returned instead of a guess: treating an unknown year as "weekdays only" would put deadlines on
/// days that turn out to be 春节 once the notice is published.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{date} is outside the working-day calendar, which covers {}..={}", covered.start(), covered.end())]
#[non_exhaustive]
pub struct OutOfRange {
    pub date: NaiveDate,
    /// Years (inclusive) for which a notice was loaded.
    pub covered: RangeInclusive<i32>,
}

/// Bad calendar data. `Invalid` names the file, the 1-based line and the key at fault.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DataError {
    #[error("{file}:{line}: {key}: {problem}")]
    Invalid {
        file: String,
        line: usize,
        key: String,
        problem: Problem,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no calendar data (<year>.toml files) given")]
    Empty,
    #[error("calendar data covers {first}..={last} but has no file for {missing}")]
    MissingYear { missing: i32, first: i32, last: i32 },
}

/// What is wrong at the place a [`DataError::Invalid`] points to.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Problem {
    /// TOML syntax, a wrong type, a missing key or an unknown key.
    #[error("{0}")]
    Toml(String),
    #[error("`{text}` is not a date (YYYY-MM-DD)")]
    BadDate { text: String },
    #[error("the file name says {file_year} but `year` is {year}")]
    YearMismatch { year: i32, file_year: i32 },
    #[error("year {year} is also given by {other_file}")]
    DuplicateYear { year: i32, other_file: String },
    #[error(
        "{date} is outside the notice's year {year} (only December of the year before may appear)"
    )]
    DateOutsideYear { date: NaiveDate, year: i32 },
    #[error("`to` {to} is before `from` {from}")]
    Reversed { from: NaiveDate, to: NaiveDate },
    #[error("make-up working day {date} is a {weekday}, not a Saturday or Sunday")]
    MakeUpNotWeekend { date: NaiveDate, weekday: Weekday },
    #[error(
        "{date} is both a day off and a make-up working day (the other at {other_file}:{other_line})"
    )]
    HolidayOnMakeUpDay {
        date: NaiveDate,
        other_file: String,
        other_line: usize,
    },
    #[error("{date} is already listed at {other_file}:{other_line}")]
    Overlap {
        date: NaiveDate,
        other_file: String,
        other_line: usize,
    },
    #[error("a calendar data file must be named <year>.toml")]
    BadFileName,
}

/// Rejected admin overrides.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OverrideError {
    /// Overrides only amend covered years: a year without its notice must get its data file first,
    /// or every other day of that year would still be a guess.
    #[error("override for a date outside the calendar data: {0}")]
    OutOfRange(#[from] OutOfRange),
    #[error("{date} is overridden twice")]
    Duplicate { date: NaiveDate },
}

/// Rejected business-hours windows.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BusinessHoursError {
    #[error("window {start}-{end} does not end after it starts")]
    Empty {
        start: chrono::NaiveTime,
        end: chrono::NaiveTime,
    },
    #[error("windows {first_start}-{first_end} and {second_start}-{second_end} overlap")]
    Overlap {
        first_start: chrono::NaiveTime,
        first_end: chrono::NaiveTime,
        second_start: chrono::NaiveTime,
        second_end: chrono::NaiveTime,
    },
}
