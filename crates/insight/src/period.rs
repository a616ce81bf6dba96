//! Reporting periods in Beijing time (UTC+8 all year: China keeps no summer time): a day, a
//! week from Monday, a month; each knows its span, the one before it (环比) and the same one a
//! year before (同比).

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// Beijing time.
pub fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// The Beijing calendar day of an instant.
pub fn day_of(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&beijing()).date_naive()
}

/// How finely a trend is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Day,
    Week,
    Month,
}

/// One reporting period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Period {
    Day {
        day: NaiveDate,
    },
    /// The week starting on Monday `monday`.
    Week {
        monday: NaiveDate,
    },
    Month {
        year: i32,
        month: u32,
    },
}

impl Period {
    /// The period of `granularity` that holds `day`.
    pub fn containing(granularity: Granularity, day: NaiveDate) -> Period {
        match granularity {
            Granularity::Day => Period::Day { day },
            Granularity::Week => Period::Week {
                monday: day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
            },
            Granularity::Month => Period::Month {
                year: day.year(),
                month: day.month(),
            },
        }
    }

    pub fn granularity(&self) -> Granularity {
        match self {
            Period::Day { .. } => Granularity::Day,
            Period::Week { .. } => Granularity::Week,
            Period::Month { .. } => Granularity::Month,
        }
    }

    /// The first day and the day after the last (Beijing dates).
    pub fn days(&self) -> (NaiveDate, NaiveDate) {
        match *self {
            Period::Day { day } => (day, day + Duration::days(1)),
            Period::Week { monday } => (monday, monday + Duration::days(7)),
            Period::Month { year, month } => (first_of(year, month), next_month(year, month)),
        }
    }

    /// The span as instants: from 00:00 Beijing of the first day to 00:00 of the day after.
    pub fn span(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let (a, b) = self.days();
        (midnight(a), midnight(b))
    }

    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        let (a, b) = self.span();
        a <= at && at < b
    }

    /// The period just before (环比: month on month, week on week, day on day).
    pub fn previous(&self) -> Period {
        match *self {
            Period::Day { day } => Period::Day {
                day: day - Duration::days(1),
            },
            Period::Week { monday } => Period::Week {
                monday: monday - Duration::days(7),
            },
            Period::Month { year, month: 1 } => Period::Month {
                year: year - 1,
                month: 12,
            },
            Period::Month { year, month } => Period::Month {
                year,
                month: month - 1,
            },
        }
    }

    /// The period after.
    pub fn next(&self) -> Period {
        let (_, end) = self.days();
        Period::containing(self.granularity(), end)
    }

    /// The same period a year before (同比). A day is the same date (29 February goes to the
    /// 28th); a week is the ISO week of the same number (the last one when that year has
    /// fewer); a month is the same month.
    pub fn year_before(&self) -> Period {
        match *self {
            Period::Day { day } => {
                let d = NaiveDate::from_ymd_opt(day.year() - 1, day.month(), day.day())
                    .or_else(|| NaiveDate::from_ymd_opt(day.year() - 1, day.month(), 28))
                    .expect("the 28th exists in every month");
                Period::Day { day: d }
            }
            Period::Week { monday } => {
                let iso = monday.iso_week();
                let d =
                    NaiveDate::from_isoywd_opt(iso.year() - 1, iso.week(), chrono::Weekday::Mon)
                        .or_else(|| {
                            NaiveDate::from_isoywd_opt(iso.year() - 1, 52, chrono::Weekday::Mon)
                        })
                        .expect("every ISO year has 52 weeks");
                Period::Week { monday: d }
            }
            Period::Month { year, month } => Period::Month {
                year: year - 1,
                month,
            },
        }
    }

    /// A short label: 2026-01-05, 2026-W02, 2026-01.
    pub fn label(&self) -> String {
        match *self {
            Period::Day { day } => day.format("%Y-%m-%d").to_string(),
            Period::Week { monday } => {
                let w = monday.iso_week();
                format!("{}-W{:02}", w.year(), w.week())
            }
            Period::Month { year, month } => format!("{year}-{month:02}"),
        }
    }

    /// Every period of `granularity` from the one holding `from` to the one holding `to`.
    pub fn series(granularity: Granularity, from: NaiveDate, to: NaiveDate) -> Vec<Period> {
        let mut out = Vec::new();
        let mut p = Period::containing(granularity, from);
        let last = Period::containing(granularity, to);
        while p <= last {
            out.push(p);
            p = p.next();
        }
        out
    }
}

fn first_of(year: i32, month: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, 1).expect("a month's first day")
}

fn next_month(year: i32, month: u32) -> NaiveDate {
    if month == 12 {
        first_of(year + 1, 1)
    } else {
        first_of(year, month + 1)
    }
}

/// 00:00 Beijing time of `day`.
pub fn midnight(day: NaiveDate) -> DateTime<Utc> {
    beijing()
        .from_local_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight"))
        .single()
        .expect("a fixed offset has one local midnight")
        .with_timezone(&Utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn spans_are_beijing_days() {
        let p = Period::Day { day: d(2026, 1, 5) };
        let (a, b) = p.span();
        assert_eq!(a.to_rfc3339(), "2026-01-04T16:00:00+00:00");
        assert_eq!(b - a, Duration::days(1));
        // 23:30 UTC on the 4th is 07:30 Beijing on the 5th.
        assert!(p.contains("2026-01-04T23:30:00Z".parse().unwrap()));
        assert!(!p.contains("2026-01-05T16:00:00Z".parse().unwrap()));
    }

    #[test]
    fn comparisons() {
        let jan = Period::Month {
            year: 2026,
            month: 1,
        };
        assert_eq!(
            jan.previous(),
            Period::Month {
                year: 2025,
                month: 12
            }
        );
        assert_eq!(
            jan.year_before(),
            Period::Month {
                year: 2025,
                month: 1
            }
        );
        assert_eq!(jan.days(), (d(2026, 1, 1), d(2026, 2, 1)));
        let w = Period::containing(Granularity::Week, d(2026, 1, 7)); // a Wednesday
        assert_eq!(
            w,
            Period::Week {
                monday: d(2026, 1, 5)
            }
        );
        assert_eq!(w.label(), "2026-W02");
        assert_eq!(
            w.previous(),
            Period::Week {
                monday: d(2025, 12, 29)
            }
        );
        assert_eq!(w.year_before().label(), "2025-W02");
        let leap = Period::Day {
            day: d(2024, 2, 29),
        };
        assert_eq!(
            leap.year_before(),
            Period::Day {
                day: d(2023, 2, 28)
            }
        );
        // ISO 2026 has 53 weeks, 2025 has 52.
        let w53 = Period::containing(Granularity::Week, d(2026, 12, 31));
        assert_eq!(w53.label(), "2026-W53");
        assert_eq!(w53.year_before().label(), "2025-W52");
    }

    #[test]
    fn series_covers_the_range() {
        let s = Period::series(Granularity::Month, d(2025, 11, 20), d(2026, 2, 3));
        let labels: Vec<String> = s.iter().map(Period::label).collect();
        assert_eq!(labels, ["2025-11", "2025-12", "2026-01", "2026-02"]);
        assert_eq!(
            Period::series(Granularity::Day, d(2026, 1, 1), d(2026, 1, 31)).len(),
            31
        );
    }
}
