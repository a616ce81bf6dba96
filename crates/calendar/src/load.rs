//! Parsing and checking the `<year>.toml` notice files.

use std::collections::BTreeMap;
use std::ops::{Range, RangeInclusive};
use std::path::Path;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;
use toml::Spanned;

use crate::error::{DataError, Problem};

/// One holiday of one notice: the days off and the weekend days worked to make up for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    /// Holiday name as the notice writes it, e.g. `春节` or `国庆节、中秋节`.
    pub name: String,
    /// The year the notice is for (its days off may start in December of the year before).
    pub year: i32,
    /// Document number of the year's notice, e.g. `国办发明电〔2025〕7号`.
    pub notice: String,
    /// Document number of a later notice that changed this holiday, if any.
    pub amended_by: Option<String>,
    pub days_off: RangeInclusive<NaiveDate>,
    /// 调休上班: Saturdays and Sundays that are working days.
    pub make_up_days: Vec<NaiveDate>,
}

/// How the notices mark a date; the index is into the holiday list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    Off(usize),
    Work(usize),
}

#[derive(Debug)]
pub(crate) struct Loaded {
    pub covered: RangeInclusive<i32>,
    pub holidays: Vec<Holiday>,
    pub marks: BTreeMap<NaiveDate, Mark>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileData {
    year: Spanned<i32>,
    notice: String,
    #[serde(default)]
    holiday: Vec<EntryData>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryData {
    name: String,
    from: Spanned<String>,
    to: Spanned<String>,
    work: Vec<Spanned<String>>,
    amended_by: Option<String>,
}

/// Where a date was declared, for errors that point at both declarations.
#[derive(Clone)]
struct Origin {
    file: usize,
    line: usize,
}

struct Source<'a> {
    name: &'a str,
    text: &'a str,
}

impl Source<'_> {
    fn line(&self, span: &Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    fn invalid(&self, span: &Range<usize>, key: &str, problem: Problem) -> DataError {
        DataError::Invalid {
            file: self.name.to_owned(),
            line: self.line(span),
            key: key.to_owned(),
            problem,
        }
    }

    fn date(&self, value: &Spanned<String>, key: &str) -> Result<NaiveDate, DataError> {
        let text = value.get_ref();
        // The length check keeps `2019-1-1`-style dates out: the files copy the notices, and a
        // uniform format makes them easy to review line by line.
        match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(date) if text.len() == 10 => Ok(date),
            _ => Err(self.invalid(&value.span(), key, Problem::BadDate { text: text.clone() })),
        }
    }
}

/// The year a file name such as `2026.toml` or `config/calendar/2026.toml` stands for.
pub(crate) fn file_year(name: &str) -> Option<i32> {
    let stem = Path::new(name).file_stem()?.to_str()?;
    if stem.len() == 4 && stem.bytes().all(|b| b.is_ascii_digit()) {
        stem.parse().ok()
    } else {
        None
    }
}

pub(crate) fn load(files: &[(&str, &str)]) -> Result<Loaded, DataError> {
    let sources: Vec<Source<'_>> = files
        .iter()
        .map(|(name, text)| Source { name, text })
        .collect();
    let mut parsed = Vec::with_capacity(sources.len());
    for (index, source) in sources.iter().enumerate() {
        let data: FileData = toml::from_str(source.text).map_err(|e| toml_error(source, &e))?;
        let year = *data.year.get_ref();
        if let Some(file_year) = file_year(source.name)
            && file_year != year
        {
            return Err(source.invalid(
                &data.year.span(),
                "year",
                Problem::YearMismatch { year, file_year },
            ));
        }
        parsed.push((index, data));
    }
    parsed.sort_by_key(|(_, data)| *data.year.get_ref());
    for pair in parsed.windows(2) {
        let (first, second) = (&pair[0], &pair[1]);
        if first.1.year.get_ref() == second.1.year.get_ref() {
            return Err(sources[second.0].invalid(
                &second.1.year.span(),
                "year",
                Problem::DuplicateYear {
                    year: *second.1.year.get_ref(),
                    other_file: sources[first.0].name.to_owned(),
                },
            ));
        }
    }
    let (Some(first), Some(last)) = (parsed.first(), parsed.last()) else {
        return Err(DataError::Empty);
    };
    let (first, last) = (*first.1.year.get_ref(), *last.1.year.get_ref());
    // Sorted and without duplicates: a gap is a neighbour more than one year on.
    for pair in parsed.windows(2) {
        let (earlier, later) = (*pair[0].1.year.get_ref(), *pair[1].1.year.get_ref());
        if later != earlier + 1 {
            return Err(DataError::MissingYear {
                missing: earlier + 1,
                first,
                last,
            });
        }
    }

    let mut holidays = Vec::new();
    let mut claims = Claims::default();
    for (file, data) in parsed {
        let source = &sources[file];
        let year = *data.year.get_ref();
        for entry in data.holiday {
            let from = source.date(&entry.from, "from")?;
            let to = source.date(&entry.to, "to")?;
            for (date, value, key) in [(from, &entry.from, "from"), (to, &entry.to, "to")] {
                check_in_year(source, date, year, value, key)?;
            }
            if to < from {
                return Err(source.invalid(&entry.to.span(), "to", Problem::Reversed { from, to }));
            }
            let index = holidays.len();
            let from_origin = Origin {
                file,
                line: source.line(&entry.from.span()),
            };
            for date in from.iter_days().take_while(|d| *d <= to) {
                claims.claim(
                    &sources,
                    date,
                    Mark::Off(index),
                    from_origin.clone(),
                    "from",
                )?;
            }
            let mut make_up_days = Vec::with_capacity(entry.work.len());
            for value in &entry.work {
                let date = source.date(value, "work")?;
                check_in_year(source, date, year, value, "work")?;
                let weekday = date.weekday();
                if !matches!(weekday, Weekday::Sat | Weekday::Sun) {
                    return Err(source.invalid(
                        &value.span(),
                        "work",
                        Problem::MakeUpNotWeekend { date, weekday },
                    ));
                }
                let origin = Origin {
                    file,
                    line: source.line(&value.span()),
                };
                claims.claim(&sources, date, Mark::Work(index), origin, "work")?;
                make_up_days.push(date);
            }
            holidays.push(Holiday {
                name: entry.name,
                year,
                notice: data.notice.clone(),
                amended_by: entry.amended_by,
                days_off: from..=to,
                make_up_days,
            });
        }
    }
    Ok(Loaded {
        covered: first..=last,
        holidays,
        marks: claims
            .marks
            .into_iter()
            .map(|(date, (mark, _))| (date, mark))
            .collect(),
    })
}

/// A notice lists its own year, plus the start of 元旦 in December of the year before.
fn check_in_year(
    source: &Source<'_>,
    date: NaiveDate,
    year: i32,
    value: &Spanned<String>,
    key: &str,
) -> Result<(), DataError> {
    let inside = date.year() == year || (date.year() == year - 1 && date.month() == 12);
    if inside {
        Ok(())
    } else {
        Err(source.invalid(&value.span(), key, Problem::DateOutsideYear { date, year }))
    }
}

/// Dates declared so far, with where each was declared, so a second claim names the first.
#[derive(Default)]
struct Claims {
    marks: BTreeMap<NaiveDate, (Mark, Origin)>,
}

impl Claims {
    fn claim(
        &mut self,
        sources: &[Source<'_>],
        date: NaiveDate,
        mark: Mark,
        origin: Origin,
        key: &str,
    ) -> Result<(), DataError> {
        if let Some((previous, previous_origin)) = self.marks.get(&date) {
            let other_file = sources[previous_origin.file].name.to_owned();
            let other_line = previous_origin.line;
            let problem = match (previous, mark) {
                (Mark::Off(_), Mark::Off(_)) | (Mark::Work(_), Mark::Work(_)) => Problem::Overlap {
                    date,
                    other_file,
                    other_line,
                },
                _ => Problem::HolidayOnMakeUpDay {
                    date,
                    other_file,
                    other_line,
                },
            };
            return Err(DataError::Invalid {
                file: sources[origin.file].name.to_owned(),
                line: origin.line,
                key: key.to_owned(),
                problem,
            });
        }
        self.marks.insert(date, (mark, origin));
        Ok(())
    }
}

fn toml_error(source: &Source<'_>, error: &toml::de::Error) -> DataError {
    let span = error.span().unwrap_or(0..0);
    // The span of an unknown or mistyped key covers that key; elsewhere it covers a value or a
    // table, and the first line of it is still the best name the reader gets.
    let key = source
        .text
        .get(span.clone())
        .and_then(|s| s.lines().next())
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 60)
        .unwrap_or("-")
        .to_owned();
    DataError::Invalid {
        file: source.name.to_owned(),
        line: source.line(&span),
        key,
        problem: Problem::Toml(error.message().trim().to_owned()),
    }
}
