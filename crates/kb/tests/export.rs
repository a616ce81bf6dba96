//! Export: what is exported imports again to the same entries, in both formats.

use chrono::NaiveDate;
use hotline_kb::{Entry, EntryKind, Validity, parse_csv, parse_json, to_csv, to_json};

fn entries() -> Vec<Entry> {
    vec![
        Entry {
            kind: EntryKind::Everyday,
            category: "城乡建设/供暖".into(),
            title: "暖气不热，找谁？".into(),
            body: "先联系小区供热站，\n仍不热拨 12345；说明\"楼号、单元\"。".into(),
            unit: "市热力公司".into(),
            keywords: vec!["暖气".into(), "供暖".into()],
            validity: Validity {
                from: NaiveDate::from_ymd_opt(2026, 11, 15),
                to: NaiveDate::from_ymd_opt(2027, 3, 15),
            },
        },
        Entry {
            kind: EntryKind::Glossary,
            category: "社会保障".into(),
            title: "灵活就业人员".into(),
            body: "没有用人单位、自己缴社保的人".into(),
            unit: "市人社局".into(),
            keywords: vec![],
            validity: Validity::default(),
        },
    ]
}

#[test]
fn csv_export_imports_back_unchanged() {
    let csv = to_csv(&entries());
    assert!(csv.starts_with('\u{feff}'), "a BOM for spreadsheets");
    assert_eq!(parse_csv(&csv).unwrap(), entries());
}

#[test]
fn json_export_imports_back_unchanged() {
    let json = to_json(&entries());
    assert_eq!(parse_json(&json).unwrap(), entries());
    assert!(
        !json.contains("valid_from\": null"),
        "absent dates are left out"
    );
}

#[test]
fn an_empty_export_is_a_header_or_an_empty_array_and_imports_as_nothing_to_do() {
    assert_eq!(
        to_csv(&[]),
        "\u{feff}kind,category,title,body,unit,keywords,valid_from,valid_to\r\n"
    );
    assert_eq!(to_json(&[]), "[]");
    // The import refuses an empty batch in both formats alike: nothing to import is said.
    for r in [parse_csv(&to_csv(&[])), parse_json(&to_json(&[]))] {
        assert_eq!(r.unwrap_err().0[0].reason, "no entries");
    }
}
