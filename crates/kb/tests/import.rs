//! Batch import: every bad row reported with row, field and reason; nothing returned otherwise.

use hotline_kb::{EntryKind, RowError, parse_csv, parse_json};

const HEADER: &str = "kind,category,title,body,unit,keywords,valid_from,valid_to\n";

#[test]
fn a_good_csv_batch_with_quotes_commas_and_line_breaks() {
    let text = format!(
        "\u{feff}{HEADER}日常咨询,城乡建设/供暖,暖气不热找谁？,\"先联系小区供热站，\n仍不热可拨 12345\",市住建局,暖气;供暖、采暖,2026-11-15,2027-03-15\n\
         \n名词解释,交通/公交,\"什么是\"\"定制公交\"\"？\",按乘客需求开行的公交线路,市交通局,,,\n"
    );
    let v = parse_csv(&text).unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].keywords, ["暖气", "供暖", "采暖"]);
    assert_eq!(v[0].body, "先联系小区供热站，\n仍不热可拨 12345");
    assert_eq!(v[0].validity.to.unwrap().to_string(), "2027-03-15");
    assert_eq!(v[1].kind, EntryKind::Glossary);
    assert_eq!(v[1].title, "什么是\"定制公交\"？");
    assert!(v[1].keywords.is_empty() && v[1].validity.from.is_none());
}

fn errors(r: Result<Vec<hotline_kb::Entry>, hotline_kb::ImportError>) -> Vec<String> {
    r.unwrap_err().0.iter().map(RowError::to_string).collect()
}

#[test]
fn every_bad_row_is_named_and_nothing_is_imported() {
    let text = format!(
        "{HEADER}日常咨询,城乡建设/供暖,暖气不热找谁？,先联系供热站,市住建局,,,\n\
         杂谈,城乡建设/供暖,问题二,答案,市住建局,,,\n\
         日常咨询,,问题三,,市住建局,,2026-13-01,\n\
         日常咨询,城乡建设/供暖,暖气不热找谁？,重复,市住建局,,2027-01-02,2027-01-01\n\
         日常咨询,城乡建设/供暖,问题五,答案,市住建局,,,,多余\n"
    );
    assert_eq!(
        errors(parse_csv(&text)),
        [
            "row 3: kind: `杂谈` is not one of 办事指南, 政策法规, 热点问答, 日常咨询, 通知公告, 名词解释",
            "row 4: category: is missing",
            "row 4: body: is missing",
            "row 4: valid_from: `2026-13-01` is not a date (YYYY-MM-DD)",
            "row 5: valid_to: 2027-01-01 is before valid_from 2027-01-02",
            "row 5: title: the same title for 市住建局 as row 2",
            "row 6: -: 9 fields, the header has 8",
        ]
    );
}

#[test]
fn bad_headers_and_broken_files() {
    assert_eq!(
        errors(parse_csv("kind,title,colour,title\n")),
        [
            "row 1: colour: unknown column; known: kind, category, title, body, unit, keywords, valid_from, valid_to",
            "row 1: title: the column is named twice",
            "row 1: category: the column is missing",
            "row 1: body: the column is missing",
            "row 1: unit: the column is missing",
        ]
    );
    assert_eq!(
        errors(parse_csv("")),
        ["row 1: -: the file is empty: it needs a header row"]
    );
    assert_eq!(
        errors(parse_csv(&format!("{HEADER}日常咨询,\"未闭合,x,y,z\n"))),
        ["row 2: -: a quoted field is not closed"]
    );
    assert_eq!(errors(parse_csv(HEADER)), ["row 0: -: no entries"]);
}

#[test]
fn json_batches_are_checked_the_same_way() {
    let good = r#"[{"kind":"guide","category":"社保/医保","title":"医保卡丢了怎么补办？","body":"携带身份证到社保大厅","unit":"市医保局","keywords":["医保卡","补办"]}]"#;
    let v = parse_json(good).unwrap();
    assert_eq!(v[0].kind, EntryKind::Guide);
    let bad = r#"[{"kind":"guide","category":"社保/医保","title":"","body":"b","unit":"u"},
                  {"kind":"guide","colour":"red"},
                  {"kind":"办事指南","category":"a/b","title":"t","body":"b","unit":"u","valid_to":"soon"}]"#;
    let e = errors(parse_json(bad));
    assert_eq!(e.len(), 3, "{e:?}");
    assert_eq!(e[0], "row 1: title: is missing");
    assert!(
        e[1].starts_with("row 2: -: unknown field `colour`"),
        "{e:?}"
    );
    assert_eq!(e[2], "row 3: valid_to: `soon` is not a date (YYYY-MM-DD)");
    assert!(errors(parse_json("{}"))[0].contains("not a JSON array"));
}

#[test]
fn a_unit_imports_only_its_own_entries_and_readers_none() {
    use hotline_kb::{Actor, Format, KbRole, parse_for};
    let text = format!(
        "{HEADER}日常咨询,城乡建设/供暖,暖气不热找谁？,先联系供热站,市热力公司,,,\n\
         日常咨询,交通/公交,公交卡丢了怎么办？,到营业厅挂失,市公共交通总公司,,,\n"
    );
    let editor = Actor {
        id: "rl".into(),
        role: KbRole::UnitEditor("市热力公司".into()),
    };
    let e = parse_for(&editor, Format::Csv, &text).unwrap_err().0;
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!((e[0].row, e[0].field.as_str()), (3, "unit"));
    assert!(e[0].reason.contains("市公共交通总公司"), "{}", e[0].reason);

    let reader = Actor {
        id: "1001".into(),
        role: KbRole::Reader,
    };
    let e = parse_for(&reader, Format::Csv, &text).unwrap_err().0;
    assert_eq!(e.iter().map(|e| e.row).collect::<Vec<_>>(), [2, 3]);

    let maintainer = Actor {
        id: "kb".into(),
        role: KbRole::Maintainer,
    };
    assert_eq!(parse_for(&maintainer, Format::Csv, &text).unwrap().len(), 2);
    // The JSON batch is held to the same rule, rows counted from 1.
    let json = r#"[{"kind":"guide","category":"a","title":"t","body":"b","unit":"市住建局"}]"#;
    let e = parse_for(&editor, Format::Json, json).unwrap_err().0;
    assert_eq!((e[0].row, e[0].field.as_str()), (1, "unit"));
}
