//! Admin overrides win over the notices, and business hours follow the working days.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use hotline_calendar::{
    BusinessHours, BusinessHoursError, Calendar, DayKind, Override, OverrideError,
};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("test date")
}

fn t(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("test time")
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().expect("test instant")
}

fn over(date: NaiveDate, working: bool, reason: &str) -> Override {
    Override {
        date,
        working,
        reason: reason.to_owned(),
    }
}

#[test]
fn overrides_win_over_the_notices() {
    let base = Calendar::embedded().expect("shipped data loads");
    let cal = base
        .clone()
        .with_overrides(vec![
            over(d(2026, 3, 3), false, "台风停工"),
            over(d(2026, 2, 14), false, "补班取消"),
            over(d(2026, 2, 16), true, "春节值班"),
        ])
        .expect("valid overrides");
    // A plain Tuesday made a day off.
    assert_eq!(base.is_working_day(d(2026, 3, 3)), Ok(true));
    assert_eq!(cal.is_working_day(d(2026, 3, 3)), Ok(false));
    assert!(
        matches!(cal.day_kind(d(2026, 3, 3)), Ok(DayKind::Override(o)) if o.reason == "台风停工")
    );
    // A make-up Saturday made a day off, and a 春节 day made a working day.
    assert_eq!(cal.is_working_day(d(2026, 2, 14)), Ok(false));
    assert_eq!(cal.is_working_day(d(2026, 2, 16)), Ok(true));
    // Deadlines move with them: from Fri 02-13, 02-16 (1), 02-24 (2), 02-25 (3)…
    assert_eq!(cal.add_working_days(d(2026, 2, 13), 3), Ok(d(2026, 2, 25)));
    assert_eq!(cal.add_working_days(d(2026, 2, 13), 2), Ok(d(2026, 2, 24)));
    // …where the notices alone give 02-14 (1), 02-24 (2).
    assert_eq!(base.add_working_days(d(2026, 2, 13), 1), Ok(d(2026, 2, 14)));
    assert_eq!(cal.add_working_days(d(2026, 2, 13), 1), Ok(d(2026, 2, 16)));
    // …and 03-02 (1), 03-04 (2) past the typhoon day.
    assert_eq!(cal.add_working_days(d(2026, 3, 1), 2), Ok(d(2026, 3, 4)));
    assert_eq!(cal.overrides().count(), 3);

    // A new set replaces the old one.
    let replaced = cal.with_overrides(vec![]).expect("empty set");
    assert_eq!(replaced, base);
}

#[test]
fn bad_overrides_are_rejected() {
    let base = Calendar::embedded().expect("shipped data loads");
    let err = base
        .clone()
        .with_overrides(vec![over(d(2027, 1, 4), false, "not covered")])
        .expect_err("2027 has no notice");
    assert!(matches!(err, OverrideError::OutOfRange(e) if e.date == d(2027, 1, 4)));
    let err = base
        .with_overrides(vec![
            over(d(2026, 3, 3), false, "a"),
            over(d(2026, 3, 3), false, "b"),
        ])
        .expect_err("twice");
    assert_eq!(
        err,
        OverrideError::Duplicate {
            date: d(2026, 3, 3)
        }
    );
}

#[test]
fn business_hours_follow_working_days_in_beijing_time() {
    let cal = Calendar::embedded().expect("shipped data loads");
    let hours = BusinessHours::new(vec![(t(14, 30), t(17, 30)), (t(8, 0), t(12, 0))])
        .expect("valid windows");
    assert_eq!(hours.windows()[0], (t(8, 0), t(12, 0)));
    let open = |s| hours.is_open(&cal, utc(s));
    // Mon 2026-03-02, Beijing = UTC+8.
    assert_eq!(open("2026-03-01T23:59:00Z"), Ok(false)); // 07:59
    assert_eq!(open("2026-03-02T00:00:00Z"), Ok(true)); // 08:00
    assert_eq!(open("2026-03-02T04:00:00Z"), Ok(false)); // 12:00, end is exclusive
    assert_eq!(open("2026-03-02T06:30:00Z"), Ok(true)); // 14:30
    assert_eq!(open("2026-03-02T09:30:00Z"), Ok(false)); // 17:30
    // Make-up Saturday 02-14 is open; 春节 Monday 02-16 and a plain Sunday are not.
    assert_eq!(open("2026-02-14T01:00:00Z"), Ok(true));
    assert_eq!(open("2026-02-16T01:00:00Z"), Ok(false));
    assert_eq!(open("2026-03-08T01:00:00Z"), Ok(false));
    // 2027 is unknown.
    assert!(open("2027-01-04T01:00:00Z").is_err());

    assert_eq!(
        BusinessHours::new(vec![(t(9, 0), t(9, 0))]),
        Err(BusinessHoursError::Empty {
            start: t(9, 0),
            end: t(9, 0)
        })
    );
    assert!(matches!(
        BusinessHours::new(vec![(t(8, 0), t(12, 0)), (t(11, 0), t(13, 0))]),
        Err(BusinessHoursError::Overlap { .. })
    ));
}

#[test]
fn instants_at_the_end_of_time_are_out_of_range() {
    let cal = Calendar::embedded().expect("shipped data loads");
    let hours = BusinessHours::new(vec![(t(0, 0), t(23, 59))]).expect("valid window");
    assert!(hours.is_open(&cal, DateTime::<Utc>::MAX_UTC).is_err());
    assert!(hours.is_open(&cal, DateTime::<Utc>::MIN_UTC).is_err());
}
