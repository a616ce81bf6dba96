//! Bad data files are rejected with the file, line and key at fault.

use hotline_calendar::{Calendar, DataError, Problem};

/// A one-holiday file for `year` with `body` as the entry's keys; the entry starts on line 4.
fn notice_file(year: i32, body: &str) -> String {
    format!(
        "# test\nyear = {year}\nnotice = \"国办发明电〔0〕0号\"\n[[holiday]]\nname = \"春节\"\n{body}\n"
    )
}

fn load(files: &[(&str, &str)]) -> DataError {
    Calendar::from_toml_strs(files).expect_err("bad data must be rejected")
}

fn invalid(err: DataError) -> (String, usize, String, Problem) {
    match err {
        DataError::Invalid {
            file,
            line,
            key,
            problem,
        } => (file, line, key, problem),
        other => panic!("expected an Invalid error, got {other:?}"),
    }
}

#[test]
fn a_good_file_loads() {
    let text = notice_file(
        2026,
        "from = \"2026-02-15\"\nto = \"2026-02-23\"\nwork = [\"2026-02-14\", \"2026-02-28\"]",
    );
    let cal = Calendar::from_toml_strs(&[("2026.toml", &text)]).expect("loads");
    assert_eq!(cal.covered(), 2026..=2026);
    assert_eq!(cal.holidays().len(), 1);
}

#[test]
fn bad_date_names_file_line_and_key() {
    let text = notice_file(
        2026,
        "from = \"2026-02-15\"\nto = \"2026-02-30\"\nwork = []",
    );
    let err = load(&[("2026.toml", &text)]);
    assert_eq!(
        err.to_string(),
        "2026.toml:7: to: `2026-02-30` is not a date (YYYY-MM-DD)"
    );
    let text = notice_file(2026, "from = \"2026-2-15\"\nto = \"2026-02-20\"\nwork = []");
    let (_, line, key, problem) = invalid(load(&[("2026.toml", &text)]));
    assert_eq!((line, key.as_str()), (6, "from"));
    assert!(matches!(problem, Problem::BadDate { text } if text == "2026-2-15"));
}

#[test]
fn unknown_key_is_rejected() {
    let text = notice_file(
        2026,
        "from = \"2026-02-15\"\nto = \"2026-02-23\"\ndays = 9\nwork = []",
    );
    let (file, line, key, problem) = invalid(load(&[("2026.toml", &text)]));
    assert_eq!(
        (file.as_str(), line, key.as_str()),
        ("2026.toml", 8, "days")
    );
    assert!(
        matches!(&problem, Problem::Toml(m) if m.contains("unknown field `days`")),
        "{problem}"
    );

    let text = "year = 2026\nnotice = \"x\"\nsource = \"y\"\n";
    let (_, line, key, _) = invalid(load(&[("2026.toml", text)]));
    assert_eq!((line, key.as_str()), (3, "source"));
}

#[test]
fn syntax_errors_and_missing_keys_have_lines() {
    let text = notice_file(2026, "from = \"2026-02-15\"\nto = \n");
    let (_, line, _, problem) = invalid(load(&[("2026.toml", &text)]));
    assert_eq!(line, 7, "{problem}");
    // `work` is required so a forgotten make-up list is not read as "none".
    let text = notice_file(2026, "from = \"2026-02-15\"\nto = \"2026-02-23\"");
    let (_, line, _, problem) = invalid(load(&[("2026.toml", &text)]));
    assert!(
        matches!(&problem, Problem::Toml(m) if m.contains("work")),
        "{problem}"
    );
    assert!(line >= 4, "{line}");
}

#[test]
fn make_up_day_must_be_a_weekend() {
    // 2026-02-16 is a Monday.
    let text = notice_file(
        2026,
        "from = \"2026-02-15\"\nto = \"2026-02-15\"\nwork = [\n  \"2026-02-14\",\n  \"2026-02-16\",\n]",
    );
    let err = load(&[("2026.toml", &text)]);
    assert_eq!(
        err.to_string(),
        "2026.toml:10: work: make-up working day 2026-02-16 is a Mon, not a Saturday or Sunday"
    );
}

#[test]
fn holiday_on_a_make_up_day_is_rejected() {
    let text = format!(
        "{}[[holiday]]\nname = \"x\"\nfrom = \"2026-02-28\"\nto = \"2026-03-01\"\nwork = []\n",
        notice_file(
            2026,
            "from = \"2026-02-15\"\nto = \"2026-02-23\"\nwork = [\"2026-02-28\"]"
        )
    );
    let (file, line, key, problem) = invalid(load(&[("2026.toml", &text)]));
    assert_eq!(
        (file.as_str(), line, key.as_str()),
        ("2026.toml", 11, "from")
    );
    assert_eq!(
        problem,
        Problem::HolidayOnMakeUpDay {
            date: chrono::NaiveDate::from_ymd_opt(2026, 2, 28).expect("date"),
            other_file: "2026.toml".to_owned(),
            other_line: 8,
        }
    );
    // The same entry marking a day both ways.
    let text = notice_file(
        2026,
        "from = \"2026-02-14\"\nto = \"2026-02-23\"\nwork = [\"2026-02-14\"]",
    );
    let (_, line, key, problem) = invalid(load(&[("2026.toml", &text)]));
    assert_eq!((line, key.as_str()), (8, "work"));
    assert!(matches!(
        problem,
        Problem::HolidayOnMakeUpDay { other_line: 6, .. }
    ));
}

#[test]
fn overlapping_entries_across_files_are_rejected() {
    let a = notice_file(
        2022,
        "from = \"2022-12-30\"\nto = \"2022-12-31\"\nwork = []",
    );
    let b = notice_file(
        2023,
        "from = \"2022-12-31\"\nto = \"2023-01-02\"\nwork = []",
    );
    // Given in the wrong order on purpose: files are taken by year.
    let err = load(&[("b/2023.toml", &b), ("a/2022.toml", &a)]);
    assert_eq!(
        err.to_string(),
        "b/2023.toml:6: from: 2022-12-31 is already listed at a/2022.toml:6"
    );
}

#[test]
fn file_level_mistakes() {
    let good = |year| {
        notice_file(
            year,
            &format!("from = \"{year}-05-01\"\nto = \"{year}-05-01\"\nwork = []"),
        )
    };
    // File name and `year` disagree.
    let (_, line, key, problem) = invalid(load(&[("2025.toml", &good(2026))]));
    assert_eq!((line, key.as_str()), (2, "year"));
    assert_eq!(
        problem,
        Problem::YearMismatch {
            year: 2026,
            file_year: 2025
        }
    );
    // The same year twice.
    let (file, _, _, problem) = invalid(load(&[("x", &good(2026)), ("y", &good(2026))]));
    assert_eq!(file, "y");
    assert!(matches!(problem, Problem::DuplicateYear { year: 2026, .. }));
    // A gap cannot be covered by a range.
    let err = load(&[("2019.toml", &good(2019)), ("2021.toml", &good(2021))]);
    assert!(matches!(
        err,
        DataError::MissingYear {
            missing: 2020,
            first: 2019,
            last: 2021
        }
    ));
    assert!(matches!(load(&[]), DataError::Empty));
    // Dates far from the notice's year, and a range that ends before it starts.
    let text = notice_file(
        2026,
        "from = \"2027-01-01\"\nto = \"2027-01-02\"\nwork = []",
    );
    let (_, line, _, problem) = invalid(load(&[("2026.toml", &text)]));
    assert_eq!(line, 6);
    assert!(matches!(
        problem,
        Problem::DateOutsideYear { year: 2026, .. }
    ));
    let text = notice_file(
        2026,
        "from = \"2026-05-05\"\nto = \"2026-05-01\"\nwork = []",
    );
    let (_, line, key, problem) = invalid(load(&[("2026.toml", &text)]));
    assert_eq!((line, key.as_str()), (7, "to"));
    assert!(matches!(problem, Problem::Reversed { .. }));
}

#[test]
fn from_dir_reports_paths_and_rejects_stray_toml() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("README.md"), "not data").expect("write");
    std::fs::write(
        dir.path().join("2026.toml"),
        notice_file(
            2026,
            "from = \"2026-02-15\"\nto = \"2026-02-23\"\nwork = [\"2026-02-16\"]",
        ),
    )
    .expect("write");
    let err = Calendar::from_dir(dir.path()).expect_err("Monday make-up day");
    let path = dir.path().join("2026.toml").display().to_string();
    assert!(
        err.to_string().starts_with(&format!("{path}:8: work: ")),
        "{err}"
    );

    std::fs::write(
        dir.path().join("2026.toml"),
        notice_file(
            2026,
            "from = \"2026-02-15\"\nto = \"2026-02-23\"\nwork = [\"2026-02-14\"]",
        ),
    )
    .expect("write");
    assert!(Calendar::from_dir(dir.path()).is_ok());
    std::fs::write(dir.path().join("holidays.toml"), "").expect("write");
    let (_, _, _, problem) = invalid(Calendar::from_dir(dir.path()).expect_err("stray file"));
    assert_eq!(problem, Problem::BadFileName);

    let missing = dir.path().join("nope");
    assert!(matches!(
        Calendar::from_dir(&missing),
        Err(DataError::Io { .. })
    ));
}
