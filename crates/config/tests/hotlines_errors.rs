//! Mistakes in a hotlines file: each reported with line, column and key.

use chrono::NaiveDate;
use hotline_config::{Hotlines, Mode};

const HOTLINE: &str = "[[line]]\nunit = \"中心\"\nnumbers = [\"12345\"]\nmode = \"hotline\"\n";

fn errors(text: &str) -> Vec<String> {
    match Hotlines::from_toml("hotlines.toml", text) {
        Ok(_) => Vec::new(),
        Err(e) => e.messages(),
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
}

#[test]
fn duplicate_numbers_across_lines() {
    let text = format!(
        "{HOTLINE}
[[line]]
unit = \"市市场监管局\"
numbers = [\"12315\", \"12358\"]
mode = \"remote-seat\"
target = \"sip:12315@seats.invalid\"

[[line]]
unit = \"市消费者协会\"
numbers = [\"12358\"]
mode = \"interconnect\"
target = \"sip:12358@seats.invalid\"
"
    );
    assert_eq!(
        errors(&text),
        ["hotlines.toml:14:12: line[2].numbers[0]: duplicate number 12358, first used by line[1]"]
    );
}

#[test]
fn missing_per_mode_fields() {
    let text = format!(
        "{HOTLINE}
[[line]]
unit = \"市生态环境局\"
numbers = [\"12369\"]
mode = \"remote-seat\"

[[line]]
unit = \"市公安局\"
numbers = [\"110\"]
mode = \"emergency\"

[[line]]
unit = \"市检察院\"
numbers = [\"12309\"]
mode = \"guidance-only\"

[[line]]
unit = \"市创建办\"
numbers = [\"2666110\"]
mode = \"direct-merge\"

[[line]]
numbers = [\"1\"]
"
    );
    assert_eq!(
        errors(&text),
        [
            "hotlines.toml:6:1: line[1].target: missing: this mode needs a SIP URI",
            "hotlines.toml:11:1: line[2].trunk: missing: this mode needs a SIP URI",
            "hotlines.toml:16:1: line[3].guidance: missing: a guidance-only line needs the sentence the caller hears",
            "hotlines.toml:21:1: line[4].cutover: missing: set `cutover` on the line or at the top of the file",
            "hotlines.toml:26:1: line[5].unit: missing field `unit`",
            "hotlines.toml:26:1: line[5].mode: missing field `mode` (hotline, direct-merge, remote-seat, interconnect, emergency or guidance-only)",
        ]
    );
}

#[test]
fn fields_of_another_mode() {
    let text = format!(
        "{HOTLINE}
[[line]]
unit = \"市公安局\"
numbers = [\"110\"]
mode = \"emergency\"
trunk = \"sip:110@trunk.invalid\"
target = \"sip:110@seat.invalid\"
"
    );
    assert_eq!(
        errors(&text),
        ["hotlines.toml:11:1: line[1].target: `target` does not apply to mode emergency"]
    );
}

#[test]
fn invalid_sip_uris() {
    let text = format!(
        "{HOTLINE}
[[line]]
unit = \"市税务局\"
numbers = [\"12366\"]
mode = \"remote-seat\"
target = \"12366@tax.invalid\"

[[line]]
unit = \"市卫健委\"
numbers = [\"120\"]
mode = \"emergency\"
trunk = \"sip:\"
"
    );
    assert_eq!(
        errors(&text),
        [
            "hotlines.toml:10:1: line[1].target: `12366@tax.invalid` is not a SIP URI (must start with sip:, sips: or tel:)",
            "hotlines.toml:16:1: line[2].trunk: `sip:` is not a SIP URI (must start with sip:, sips: or tel:)",
        ]
    );
}

#[test]
fn transition_end_before_the_cutover() {
    let text = format!(
        "cutover = 2020-01-01
{HOTLINE}
[[line]]
unit = \"市商务局\"
numbers = [\"12312\"]
mode = \"direct-merge\"
transition_end = 2019-12-31

[[line]]
unit = \"市总工会\"
numbers = [\"12351\"]
mode = \"direct-merge\"
transition_end = 2020-03-01
transition_months = 2

[[line]]
unit = \"市妇联\"
numbers = [\"12338\"]
mode = \"direct-merge\"
cutover = 2020-01-01T08:00:00
"
    );
    assert_eq!(
        errors(&text),
        [
            "hotlines.toml:11:1: line[1].transition_end: 2019-12-31 is before the cut-over 2020-01-01",
            "hotlines.toml:17:1: line[2].transition_end: give `transition_end` or `transition_months`, not both",
            "hotlines.toml:24:1: line[3].cutover: `2020-01-01T08:00:00` is not a date like 2020-01-01",
        ]
    );
}

#[test]
fn per_line_cutover_and_transition_override_the_top_level() {
    let text = format!(
        "cutover = 2020-01-01
transition_months = 3
{HOTLINE}
[[line]]
unit = \"市商务局\"
numbers = [\"12312\"]
mode = \"direct-merge\"

[[line]]
unit = \"市总工会\"
numbers = [\"12351\"]
mode = \"direct-merge\"
cutover = 2020-02-15
transition_months = 12

[[line]]
unit = \"市妇联\"
numbers = [\"12338\"]
mode = \"direct-merge\"
transition_end = 2020-01-10
"
    );
    let h = Hotlines::from_toml("hotlines.toml", &text).expect("valid");
    let mode = |n: &str| h.lookup(n).map(|l| l.mode.clone());
    assert_eq!(
        mode("12312"),
        Some(Mode::DirectMerge {
            cutover: date(2020, 1, 1),
            transition_end: date(2020, 4, 1)
        })
    );
    assert_eq!(
        mode("12351"),
        Some(Mode::DirectMerge {
            cutover: date(2020, 2, 15),
            transition_end: date(2021, 2, 15)
        })
    );
    let short = h.lookup("12338").expect("12338");
    assert!(short.is_in_transition(date(2020, 1, 9)));
    assert!(!short.is_in_transition(date(2020, 1, 10)));
    assert!(short.is_retired(date(2020, 1, 10)));
}

#[test]
fn unknown_keys_and_bad_numbers() {
    let text = format!(
        "cut_over = 2020-01-01
{HOTLINE}
[[line]]
unit = \"市商务局\"
number = \"12312\"
numbers = [\"123-12\"]
mode = \"direct-merged\"
"
    );
    assert_eq!(
        errors(&text),
        [
            "hotlines.toml:1:1: cut_over: unknown field `cut_over`, expected one of `cutover`, `transition_months`, `line`",
            "hotlines.toml:9:1: line[1].number: unknown field `number`, expected one of `unit`, `company`, `numbers`, `mode`, `cutover`, `transition_months`, `transition_end`, `target`, `trunk`, `guidance`",
            "hotlines.toml:10:12: line[1].numbers[0]: `123-12` is not a number (digits only)",
            "hotlines.toml:11:1: line[1].mode: unknown variant `direct-merged`, expected one of `hotline`, `direct-merge`, `remote-seat`, `interconnect`, `emergency`, `guidance-only`",
        ]
    );
}

#[test]
fn exactly_one_hotline_line() {
    assert_eq!(
        errors("cutover = 2020-01-01\n"),
        ["hotlines.toml:1:1: line: no line with mode = \"hotline\" (the 12345 number itself)"]
    );
    let two = format!("{HOTLINE}{}", HOTLINE.replace("12345", "12346"));
    assert_eq!(
        errors(&two),
        ["hotlines.toml:8:1: line[1].mode: a second `hotline` line: 12345 is one line"]
    );
}

/// Columns count characters, so a position after Chinese text matches
/// what an editor shows.
#[test]
fn columns_count_characters() {
    let text =
        "line = [\n  { unit = \"市创建办\", numbers = [\"2666x\"], mode = \"hotline\" },\n]\n";
    assert_eq!(
        errors(text),
        ["hotlines.toml:2:31: line[0].numbers[0]: `2666x` is not a number (digits only)"]
    );
}

#[test]
fn a_bad_value_is_not_also_reported_missing() {
    let text = format!(
        "{HOTLINE}\n[[line]]\nunit = \"市商务局\"\nnumbers = \"12312\"\nmode = \"hotline\"\n"
    );
    assert_eq!(
        errors(&text),
        ["hotlines.toml:8:1: line[1].numbers: invalid type: string \"12312\", expected a sequence"]
    );
}
