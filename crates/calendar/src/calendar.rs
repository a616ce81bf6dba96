//! Working-day queries over the loaded notices and the admin overrides.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::path::Path;

use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc, Weekday,
};
use serde::{Deserialize, Serialize};

use crate::error::{DataError, OutOfRange, OverrideError, Problem};
use crate::load::{self, Holiday, Mark};

/// Beijing time. China has kept UTC+8 without daylight saving since 1991, so a fixed offset is
/// exact for every year the notices cover.
pub const BEIJING: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

/// The data shipped in `config/calendar/`, compiled in so a server without the directory still
/// computes deadlines; a test checks it equals the directory.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "config/calendar/2019.toml",
        include_str!("../../../config/calendar/2019.toml"),
    ),
    (
        "config/calendar/2020.toml",
        include_str!("../../../config/calendar/2020.toml"),
    ),
    (
        "config/calendar/2021.toml",
        include_str!("../../../config/calendar/2021.toml"),
    ),
    (
        "config/calendar/2022.toml",
        include_str!("../../../config/calendar/2022.toml"),
    ),
    (
        "config/calendar/2023.toml",
        include_str!("../../../config/calendar/2023.toml"),
    ),
    (
        "config/calendar/2024.toml",
        include_str!("../../../config/calendar/2024.toml"),
    ),
    (
        "config/calendar/2025.toml",
        include_str!("../../../config/calendar/2025.toml"),
    ),
    (
        "config/calendar/2026.toml",
        include_str!("../../../config/calendar/2026.toml"),
    ),
];

/// An admin decision about one date that wins over the notices (a typhoon day off, a notice
/// amended after the data file was shipped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    pub date: NaiveDate,
    pub working: bool,
    pub reason: String,
}

/// Why a date is or is not a working day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DayKind<'a> {
    /// Monday to Friday with nothing declared.
    Weekday,
    /// Saturday or Sunday with nothing declared.
    Weekend,
    /// A day off of this holiday.
    Holiday(&'a Holiday),
    /// A weekend day worked for this holiday (调休上班).
    MakeUp(&'a Holiday),
    Override(&'a Override),
}

impl DayKind<'_> {
    pub fn is_working(&self) -> bool {
        match self {
            DayKind::Weekday | DayKind::MakeUp(_) => true,
            DayKind::Weekend | DayKind::Holiday(_) => false,
            DayKind::Override(o) => o.working,
        }
    }
}

/// The Chinese working-day calendar: weekdays work, weekends rest, except as the State Council
/// notices and the admin overrides say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    covered: RangeInclusive<i32>,
    holidays: Vec<Holiday>,
    marks: BTreeMap<NaiveDate, Mark>,
    overrides: BTreeMap<NaiveDate, Override>,
}

impl Calendar {
    /// The data compiled into this crate from `config/calendar/`.
    pub fn embedded() -> Result<Self, DataError> {
        Self::from_toml_strs(EMBEDDED)
    }

    /// Loads every `<year>.toml` in `dir`; other files (a README) are ignored, but a `.toml` file
    /// not named for a year is an error rather than silently skipped data.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self, DataError> {
        let dir = dir.as_ref();
        let io = |source| DataError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.extension().is_some_and(|e| e == "toml") {
                paths.push(path);
            }
        }
        paths.sort();
        let mut files = Vec::with_capacity(paths.len());
        for path in paths {
            let name = path.display().to_string();
            if load::file_year(&name).is_none() {
                return Err(DataError::Invalid {
                    file: name,
                    line: 1,
                    key: "-".to_owned(),
                    problem: Problem::BadFileName,
                });
            }
            let text = std::fs::read_to_string(&path).map_err(|source| DataError::Io {
                path: path.clone(),
                source,
            })?;
            files.push((name, text));
        }
        let borrowed: Vec<(&str, &str)> = files
            .iter()
            .map(|(name, text)| (name.as_str(), text.as_str()))
            .collect();
        Self::from_toml_strs(&borrowed)
    }

    /// Loads `(file name, TOML text)` pairs; the names appear in errors, and a name like
    /// `2026.toml` must match the file's `year`.
    pub fn from_toml_strs(files: &[(&str, &str)]) -> Result<Self, DataError> {
        let loaded = load::load(files)?;
        Ok(Self {
            covered: loaded.covered,
            holidays: loaded.holidays,
            marks: loaded.marks,
            overrides: BTreeMap::new(),
        })
    }

    /// Replaces the admin overrides with `overrides` (the full set, as stored).
    pub fn with_overrides(mut self, overrides: Vec<Override>) -> Result<Self, OverrideError> {
        let mut by_date = BTreeMap::new();
        for o in overrides {
            self.check_covered(o.date)?;
            let date = o.date;
            if by_date.insert(date, o).is_some() {
                return Err(OverrideError::Duplicate { date });
            }
        }
        self.overrides = by_date;
        Ok(self)
    }

    /// Years (inclusive) for which notices are loaded.
    pub fn covered(&self) -> RangeInclusive<i32> {
        self.covered.clone()
    }

    /// Every holiday of every loaded notice, by notice year and then as the file lists them.
    pub fn holidays(&self) -> &[Holiday] {
        &self.holidays
    }

    pub fn overrides(&self) -> impl Iterator<Item = &Override> {
        self.overrides.values()
    }

    /// What kind of day `date` is, for showing why a deadline moved.
    pub fn day_kind(&self, date: NaiveDate) -> Result<DayKind<'_>, OutOfRange> {
        self.check_covered(date)?;
        if let Some(o) = self.overrides.get(&date) {
            return Ok(DayKind::Override(o));
        }
        Ok(match self.marks.get(&date) {
            Some(Mark::Off(i)) => DayKind::Holiday(&self.holidays[*i]),
            Some(Mark::Work(i)) => DayKind::MakeUp(&self.holidays[*i]),
            None if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) => DayKind::Weekend,
            None => DayKind::Weekday,
        })
    }

    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, OutOfRange> {
        Ok(self.day_kind(date)?.is_working())
    }

    /// The `n`-th working day after `received`: counting starts the day after receipt, as the
    /// notice's "收到转办函件次日起 n 个工作日内" reads. `n = 0` gives `received` itself.
    pub fn add_working_days(&self, received: NaiveDate, n: u32) -> Result<NaiveDate, OutOfRange> {
        let mut date = received;
        let mut counted = 0;
        while counted < n {
            date = self.succ(date)?;
            if self.is_working_day(date)? {
                counted += 1;
            }
        }
        Ok(date)
    }

    /// The first working day after `date` (not `date` itself).
    pub fn next_working_day(&self, date: NaiveDate) -> Result<NaiveDate, OutOfRange> {
        self.add_working_days(date, 1)
    }

    /// Working days `d` with `from < d <= to`; 0 when `to <= from`. The inverse of
    /// [`Self::add_working_days`]: `working_days_between(r, add_working_days(r, n)) == n`, so
    /// `working_days_between(due_date, today)` is how many working days an order is late.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> Result<u32, OutOfRange> {
        let mut count = 0;
        let mut date = from;
        while date < to {
            date = self.succ(date)?;
            if self.is_working_day(date)? {
                count += 1;
            }
        }
        Ok(count)
    }

    /// The deadline instant for an order received at `received`: 24:00 Beijing time of the `n`-th
    /// working day after the Beijing date of receipt, i.e. 16:00 UTC that day.
    pub fn due_at(&self, received: DateTime<Utc>, n: u32) -> Result<DateTime<Utc>, OutOfRange> {
        let received_date =
            beijing_date(received).ok_or_else(|| self.out_of_range(received.date_naive()))?;
        let due = self.add_working_days(received_date, n)?;
        end_of_beijing_day(due).ok_or_else(|| self.out_of_range(due))
    }

    fn succ(&self, date: NaiveDate) -> Result<NaiveDate, OutOfRange> {
        date.succ_opt().ok_or_else(|| self.out_of_range(date))
    }

    fn check_covered(&self, date: NaiveDate) -> Result<(), OutOfRange> {
        if self.covered.contains(&date.year()) {
            Ok(())
        } else {
            Err(self.out_of_range(date))
        }
    }

    fn out_of_range(&self, date: NaiveDate) -> OutOfRange {
        OutOfRange {
            date,
            covered: self.covered.clone(),
        }
    }
}

/// Beijing wall-clock time at instant `at`; `None` only within 8 hours of the end of chrono's
/// range, where `DateTime::with_timezone` would panic.
pub fn beijing_time(at: DateTime<Utc>) -> Option<NaiveDateTime> {
    at.naive_utc()
        .checked_add_signed(TimeDelta::seconds(i64::from(BEIJING.local_minus_utc())))
}

/// The calendar date in Beijing at instant `at` (see [`beijing_time`] for `None`).
pub fn beijing_date(at: DateTime<Utc>) -> Option<NaiveDate> {
    beijing_time(at).map(|t| t.date())
}

/// 24:00 Beijing time at the end of `date`, as a UTC instant.
pub fn end_of_beijing_day(date: NaiveDate) -> Option<DateTime<Utc>> {
    let midnight = date.succ_opt()?.and_time(NaiveTime::MIN);
    let utc =
        midnight.checked_sub_signed(TimeDelta::seconds(i64::from(BEIJING.local_minus_utc())))?;
    Some(utc.and_utc())
}
