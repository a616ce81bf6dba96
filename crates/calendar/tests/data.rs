//! The shipped notices: loaded from the directory, compiled in, and checked against the rules the
//! notices follow.

use std::path::PathBuf;

use chrono::{Datelike, NaiveDate, Weekday};
use hotline_calendar::{Calendar, DayKind};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("test date")
}

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/calendar")
}

fn cal() -> Calendar {
    Calendar::embedded().expect("shipped data loads")
}

#[test]
fn embedded_equals_the_directory() {
    let from_dir = Calendar::from_dir(data_dir()).expect("directory loads");
    assert_eq!(Calendar::embedded().expect("embedded loads"), from_dir);
    assert_eq!(from_dir.covered(), 2019..=2026);
}

#[test]
fn make_up_days_are_weekends_and_worked() {
    let cal = cal();
    let mut count = 0;
    for holiday in cal.holidays() {
        for day in &holiday.make_up_days {
            assert!(
                matches!(day.weekday(), Weekday::Sat | Weekday::Sun),
                "{} {day} is a {}",
                holiday.name,
                day.weekday()
            );
            if cal.covered().contains(&day.year()) {
                assert_eq!(cal.is_working_day(*day), Ok(true), "{} {day}", holiday.name);
                count += 1;
            }
        }
    }
    // 2018-12-29, the one make-up day before the data's first year, is not counted.
    assert_eq!(count, 7 - 1 + 6 + 7 + 7 + 7 + 8 + 5 + 6);
}

#[test]
fn every_holiday_date_is_off() {
    let cal = cal();
    for holiday in cal.holidays() {
        let (from, to) = (*holiday.days_off.start(), *holiday.days_off.end());
        for day in from.iter_days().take_while(|x| *x <= to) {
            if cal.covered().contains(&day.year()) {
                assert_eq!(cal.is_working_day(day), Ok(false), "{} {day}", holiday.name);
                assert!(matches!(cal.day_kind(day), Ok(DayKind::Holiday(h)) if h == holiday));
            }
        }
    }
}

/// Days off and weekend days worked per notice year, counting a "与周末连休" day once and with the
/// 2019 and 2020 changes applied. Counted from the notices and matching the independent table in
/// another public calendar data set.
#[test]
fn totals_per_year_match_the_notices() {
    let cal = cal();
    let expected = [
        (2019, 24, 7),
        (2020, 30, 6),
        (2021, 31, 7),
        (2022, 31, 7),
        (2023, 27, 7),
        (2024, 28, 8),
        (2025, 28, 5),
        (2026, 33, 6),
    ];
    for (year, off, worked) in expected {
        let of_year = cal.holidays().iter().filter(|h| h.year == year);
        let days_off: i64 = of_year
            .clone()
            .map(|h| (*h.days_off.end() - *h.days_off.start()).num_days() + 1)
            .sum();
        let make_up: usize = of_year.clone().map(|h| h.make_up_days.len()).sum();
        assert_eq!((days_off, make_up), (off, worked), "{year}");
        assert!(
            of_year
                .clone()
                .all(|h| h.notice.starts_with("国办发明电〔"))
        );
    }
}

#[test]
fn amended_and_notable_days() {
    let cal = cal();
    // 2020: the extension to 02-02 makes 01-31 (Fri) and 02-01 (Sat, first a make-up day) off.
    assert_eq!(cal.is_working_day(d(2020, 1, 31)), Ok(false));
    assert_eq!(cal.is_working_day(d(2020, 2, 1)), Ok(false));
    assert_eq!(cal.is_working_day(d(2020, 2, 3)), Ok(true));
    let spring_2020 = cal
        .holidays()
        .iter()
        .find(|h| h.year == 2020 && h.name == "春节")
        .expect("2020 春节");
    assert_eq!(
        spring_2020.amended_by.as_deref(),
        Some("国办发明电〔2020〕1号")
    );
    // 2019: 劳动节 moved from 05-01 alone to 05-01..04, Sundays 04-28 and 05-05 worked.
    assert_eq!(cal.is_working_day(d(2019, 5, 2)), Ok(false));
    assert_eq!(cal.is_working_day(d(2019, 4, 28)), Ok(true));
    assert_eq!(cal.is_working_day(d(2019, 5, 5)), Ok(true));
    // 2024: 除夕 02-09 is only "encouraged" off; it stays a working Friday.
    assert_eq!(cal.is_working_day(d(2024, 2, 9)), Ok(true));
    // 2025: 春节 from 除夕 (01-28) and 劳动节 to 05-05 under the 2024 regulation.
    assert_eq!(cal.is_working_day(d(2025, 1, 28)), Ok(false));
    assert_eq!(cal.is_working_day(d(2025, 5, 5)), Ok(false));
    // 2023's 元旦 began on 2022-12-31, a Saturday, and ended Monday 2023-01-02.
    assert_eq!(cal.is_working_day(d(2023, 1, 2)), Ok(false));
    assert!(matches!(cal.day_kind(d(2022, 12, 31)), Ok(DayKind::Holiday(h)) if h.year == 2023));
    // Ordinary days.
    assert_eq!(cal.day_kind(d(2026, 3, 4)), Ok(DayKind::Weekday));
    assert_eq!(cal.day_kind(d(2026, 3, 7)), Ok(DayKind::Weekend));
}

#[test]
fn dates_outside_the_data_are_errors() {
    let cal = cal();
    let check = |date: NaiveDate| {
        let err = cal.is_working_day(date).expect_err("outside the data");
        assert_eq!((err.date, err.covered.clone()), (date, 2019..=2026));
        assert_eq!(
            err.to_string(),
            format!("{date} is outside the working-day calendar, which covers 2019..=2026")
        );
    };
    // The 2019 file lists 2018-12-29..31, but 2018 as a whole has no notice here.
    check(d(2018, 12, 31));
    check(d(2018, 12, 29));
    check(d(2027, 1, 1));
    check(NaiveDate::MIN);
    check(NaiveDate::MAX);

    // 12-31 (1), then 2027-01-01 is unknown: no deadline rather than a guessed one.
    let err = cal
        .add_working_days(d(2026, 12, 30), 3)
        .expect_err("runs past the data");
    assert_eq!(err.date, d(2027, 1, 1));
    assert_eq!(
        cal.working_days_between(d(2026, 12, 1), d(2027, 1, 5))
            .map_err(|e| e.date),
        Err(d(2027, 1, 1))
    );
    assert!(cal.add_working_days(NaiveDate::MAX, 1).is_err());
    assert!(cal.add_working_days(NaiveDate::MIN, 1).is_err());
    assert!(
        cal.due_at(chrono::DateTime::<chrono::Utc>::MAX_UTC, 1)
            .is_err()
    );
    assert!(
        cal.due_at(chrono::DateTime::<chrono::Utc>::MIN_UTC, 1)
            .is_err()
    );
}
