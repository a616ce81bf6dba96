//! Deadlines across the long holidays, derived by hand from the notices and written as literal
//! dates so a data or counting mistake cannot hide behind the code under test.

use chrono::{DateTime, NaiveDate, Utc};
use hotline_calendar::{Calendar, Deadline};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("test date")
}

fn cal() -> Calendar {
    Calendar::embedded().expect("shipped data loads")
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().expect("test instant")
}

#[test]
fn issue_vectors_three_working_days() {
    let cal = cal();
    let n = Deadline::Request.working_days();
    assert_eq!(n, 3);
    // Fri 02-13: 02-14 Sat worked (1), 02-15..23 春节, 02-24 (2), 02-25 (3).
    assert_eq!(cal.add_working_days(d(2026, 2, 13), n), Ok(d(2026, 2, 25)));
    // Thu 09-24: 09-25..27 中秋, 09-28 (1), 09-29 (2), 09-30 (3).
    assert_eq!(cal.add_working_days(d(2026, 9, 24), n), Ok(d(2026, 9, 30)));
    // Wed 09-30: 10-01..07 国庆, 10-08 (1), 10-09 (2), 10-10 Sat worked (3).
    assert_eq!(cal.add_working_days(d(2026, 9, 30), n), Ok(d(2026, 10, 10)));
    // Wed 2025-12-31: 01-01..03 元旦, 01-04 Sun worked (1), 01-05 (2), 01-06 (3).
    assert_eq!(cal.add_working_days(d(2025, 12, 31), n), Ok(d(2026, 1, 6)));
}

#[test]
fn seven_working_days_across_holidays() {
    let cal = cal();
    let n = Deadline::SuggestionReportComplaint.working_days();
    assert_eq!(n, 7);
    let cases = [
        // 2026 春节: 02-12 (1), 02-13 (2), 02-14 Sat worked (3), 02-15..23 off,
        // 02-24 (4), 02-25 (5), 02-26 (6), 02-27 (7).
        (d(2026, 2, 11), d(2026, 2, 27)),
        // 2025 春节: 01-25 Sat off, 01-26 Sun worked (1), 01-27 (2), 01-28..02-04 off,
        // 02-05 (3), 02-06 (4), 02-07 (5), 02-08 Sat worked (6), 02-09 Sun off, 02-10 (7).
        (d(2025, 1, 24), d(2025, 2, 10)),
        // 2020 春节 as extended to 02-02: 01-17 (1), 01-18 Sat off, 01-19 Sun worked (2),
        // 01-20..23 (3..6), 01-24..02-02 off (02-01 Sat no longer worked), 02-03 (7).
        (d(2020, 1, 16), d(2020, 2, 3)),
        // 2024 国庆: 09-26 (1), 09-27 (2), 09-28 Sat off, 09-29 Sun worked (3), 09-30 (4),
        // 10-01..07 off, 10-08 (5), 10-09 (6), 10-10 (7).
        (d(2024, 9, 25), d(2024, 10, 10)),
        // 2023 中秋、国庆: 09-26 (1), 09-27 (2), 09-28 (3), 09-29..10-06 off,
        // 10-07 Sat worked (4), 10-08 Sun worked (5), 10-09 (6), 10-10 (7).
        (d(2023, 9, 25), d(2023, 10, 10)),
        // 2021 国庆: 09-25 Sat off, 09-26 Sun worked (1), 09-27..30 (2..5), 10-01..07 off,
        // 10-08 (6), 10-09 Sat worked (7).
        (d(2021, 9, 24), d(2021, 10, 9)),
        // 2022 劳动节: 04-23 Sat off, 04-24 Sun worked (1), 04-25..29 (2..6), 04-30..05-04 off,
        // 05-05 (7).
        (d(2022, 4, 22), d(2022, 5, 5)),
        // 2019 劳动节 as amended to 05-01..04: 04-26 (1), 04-27 Sat off, 04-28 Sun worked (2),
        // 04-29 (3), 04-30 (4), 05-01..04 off, 05-05 Sun worked (5), 05-06 (6), 05-07 (7).
        (d(2019, 4, 25), d(2019, 5, 7)),
        // 2025 劳动节: 04-29 (1), 04-30 (2), 05-01..05 off, 05-06..09 (3..6), 05-10/11 weekend,
        // 05-12 (7).
        (d(2025, 4, 28), d(2025, 5, 12)),
    ];
    for (received, due) in cases {
        assert_eq!(
            cal.add_working_days(received, n),
            Ok(due),
            "received {received}"
        );
        assert_eq!(
            cal.working_days_between(received, due),
            Ok(n),
            "received {received}"
        );
    }
}

#[test]
fn two_day_return_counts_working_days() {
    let cal = cal();
    let n = Deadline::Return.working_days();
    assert_eq!(n, 2);
    let cases = [
        // 2026 春节: 02-14 Sat worked (1), 02-15..23 off, 02-24 (2).
        (d(2026, 2, 13), d(2026, 2, 24)),
        // 2026 国庆: 09-30 (1), 10-01..07 off, 10-08 (2).
        (d(2026, 9, 29), d(2026, 10, 8)),
        // 2025 国庆、中秋: 10-01..08 off, 10-09 (1), 10-10 (2).
        (d(2025, 9, 30), d(2025, 10, 10)),
        // 2024 劳动节: 04-30 (1), 05-01..05 off, 05-06 (2).
        (d(2024, 4, 29), d(2024, 5, 6)),
        // 2023 劳动节: 04-29..05-03 off, 05-04 (1), 05-05 (2).
        (d(2023, 4, 28), d(2023, 5, 5)),
        // 2021 春节: 02-11..17 off, 02-18 (1), 02-19 (2).
        (d(2021, 2, 10), d(2021, 2, 19)),
        // 2022 春节: both weekend days before it are worked: 01-29 Sat (1), 01-30 Sun (2).
        (d(2022, 1, 28), d(2022, 1, 30)),
    ];
    for (received, due) in cases {
        assert_eq!(
            cal.add_working_days(received, n),
            Ok(due),
            "received {received}"
        );
    }
}

#[test]
fn due_at_is_midnight_beijing_after_the_due_date() {
    let cal = cal();
    // 10:00 Beijing on Fri 02-13 → due 02-25, 24:00 Beijing = 16:00 UTC.
    assert_eq!(
        cal.due_at(utc("2026-02-13T02:00:00Z"), 3),
        Ok(utc("2026-02-25T16:00:00Z"))
    );
    // 23:30 Beijing on Thu 02-12 is still the 12th there: 02-13 (1), 02-14 (2), 02-24 (3).
    assert_eq!(
        cal.due_at(utc("2026-02-12T15:30:00Z"), 3),
        Ok(utc("2026-02-24T16:00:00Z"))
    );
    // 00:30 Beijing on 02-13 is the 13th there although UTC still says the 12th.
    assert_eq!(
        cal.due_at(utc("2026-02-12T16:30:00Z"), 3),
        Ok(utc("2026-02-25T16:00:00Z"))
    );
    assert_eq!(
        cal.due_at(utc("2025-12-31T09:00:00Z"), 3),
        Ok(utc("2026-01-06T16:00:00Z"))
    );
}

#[test]
fn lateness_and_next_working_day() {
    let cal = cal();
    // Due 02-25; 02-26 (1), 02-27 (2), 02-28 Sat worked (3), 03-01 Sun, 03-02 (4), 03-03 (5).
    assert_eq!(
        cal.working_days_between(d(2026, 2, 25), d(2026, 3, 3)),
        Ok(5)
    );
    assert_eq!(
        cal.working_days_between(d(2026, 2, 25), d(2026, 3, 1)),
        Ok(3)
    );
    // Not late at all, or asked backwards.
    assert_eq!(
        cal.working_days_between(d(2026, 2, 25), d(2026, 2, 25)),
        Ok(0)
    );
    assert_eq!(
        cal.working_days_between(d(2026, 3, 3), d(2026, 2, 25)),
        Ok(0)
    );
    // Holidays between are not counted: 02-14 Sat worked is the only working day to 02-23.
    assert_eq!(
        cal.working_days_between(d(2026, 2, 13), d(2026, 2, 23)),
        Ok(1)
    );

    assert_eq!(cal.next_working_day(d(2026, 2, 13)), Ok(d(2026, 2, 14)));
    assert_eq!(cal.next_working_day(d(2026, 2, 14)), Ok(d(2026, 2, 24)));
    assert_eq!(cal.next_working_day(d(2026, 3, 6)), Ok(d(2026, 3, 9)));
    assert_eq!(cal.add_working_days(d(2026, 2, 15), 0), Ok(d(2026, 2, 15)));
}

#[test]
fn adding_then_counting_round_trips_over_every_covered_day() {
    let cal = cal();
    let mut checked = 0;
    for received in d(2019, 1, 1)
        .iter_days()
        .take_while(|r| *r <= d(2026, 12, 31))
    {
        for n in [0, 1, 2, 3, 7] {
            let Ok(due) = cal.add_working_days(received, n) else {
                // Only the last days of 2026 run past the data.
                assert!(received >= d(2026, 12, 20), "{received} + {n}");
                continue;
            };
            assert!(due >= received);
            assert_eq!(
                cal.working_days_between(received, due),
                Ok(n),
                "{received} + {n}"
            );
            if n > 0 {
                assert_eq!(cal.is_working_day(due), Ok(true), "{received} + {n}");
            }
            checked += 1;
        }
    }
    assert!(checked > 14_000);
}
