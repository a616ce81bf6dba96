//! `hours` nodes: Beijing-time windows on working days of the Chinese calendar, with the State
//! Council's holidays and make-up working days (调休) from hotline-calendar.

mod common;

use chrono::{DateTime, Utc};
use common::{Driver, beijing, line, plan};
use hotline_ivr::{Action, Vars};

const OFFICE: &str = r#"
[dialplan]
name = "office"
modes = ["hotline"]
entry = "hours"

[schedule.office]
windows = ["08:00-12:00", "14:30-18:00"]

[node.hours]
action = "hours"
schedule = "office"
open = "seat"
closed = "closed"

[node.seat]
action = "queue"
group = "unit"

[node.closed]
action = "hangup"
prompt = "closed"
"#;

/// The route of a call arriving at `at`.
fn route_at(at: DateTime<Utc>) -> String {
    let vars = Vars::for_call("13800000000", "12345", &line("12345", "hotline"));
    Driver::start(plan(OFFICE), vars, at).route()
}

const OPEN: &str = "hours:open > seat:unit";
const CLOSED: &str = "hours:closed > closed";

#[test]
fn open_on_a_working_day_inside_a_window() {
    // 2024-10-15 is a Tuesday.
    assert_eq!(route_at(beijing(2024, 10, 15, 9, 30)), OPEN);
    assert_eq!(
        route_at(beijing(2024, 10, 15, 8, 0)),
        OPEN,
        "start is inside"
    );
    assert_eq!(route_at(beijing(2024, 10, 15, 17, 59)), OPEN);
}

#[test]
fn closed_outside_the_windows_on_a_working_day() {
    assert_eq!(route_at(beijing(2024, 10, 15, 7, 59)), CLOSED);
    assert_eq!(
        route_at(beijing(2024, 10, 15, 18, 0)),
        CLOSED,
        "end is outside"
    );
    assert_eq!(route_at(beijing(2024, 10, 15, 22, 0)), CLOSED);
}

#[test]
fn closed_over_lunch() {
    assert_eq!(route_at(beijing(2024, 10, 15, 11, 59)), OPEN);
    assert_eq!(route_at(beijing(2024, 10, 15, 12, 0)), CLOSED);
    assert_eq!(route_at(beijing(2024, 10, 15, 14, 29)), CLOSED);
    assert_eq!(route_at(beijing(2024, 10, 15, 14, 30)), OPEN);
}

#[test]
fn closed_at_the_weekend() {
    // 2024-10-19 is a Saturday with nothing declared.
    assert_eq!(route_at(beijing(2024, 10, 19, 10, 0)), CLOSED);
}

#[test]
fn closed_on_national_day() {
    // 2024-10-01, a Tuesday, is 国庆节.
    assert_eq!(route_at(beijing(2024, 10, 1, 10, 0)), CLOSED);
    assert_eq!(
        route_at(beijing(2024, 10, 7, 10, 0)),
        CLOSED,
        "last day off, a Monday"
    );
}

#[test]
fn open_on_a_make_up_saturday() {
    // 2024-10-12, a Saturday, is worked for 国庆节 (调休上班), as is Sunday 2024-09-29.
    assert_eq!(route_at(beijing(2024, 10, 12, 10, 0)), OPEN);
    assert_eq!(route_at(beijing(2024, 9, 29, 15, 0)), OPEN);
}

#[test]
fn beijing_time_not_utc() {
    // 09:30 Beijing is 01:30 UTC: a UTC reading would call it closed.
    let at = beijing(2024, 10, 15, 9, 30);
    assert_eq!(at.format("%H:%M").to_string(), "01:30");
    assert_eq!(route_at(at), OPEN);
}

const AFTER_GREETING: &str = r#"
[dialplan]
name = "lunch"
modes = ["hotline"]
entry = "greeting"

[schedule.office]
windows = ["08:00-12:00"]

[node.greeting]
action = "play"
prompts = ["greeting"]
next = "hours"

[node.hours]
action = "hours"
schedule = "office"
open = "seat"
closed = "closed"

[node.seat]
action = "queue"
group = "unit"

[node.closed]
action = "hangup"
prompt = "closed"
"#;

fn lunch_call(second: u32) -> Driver {
    let at = beijing(2024, 10, 15, 11, 59) + chrono::TimeDelta::seconds(i64::from(second));
    let vars = Vars::for_call("13800000000", "12345", &line("12345", "hotline"));
    let mut d = Driver::start(plan(AFTER_GREETING), vars, at);
    d.progress(); // the greeting takes PLAY_MS (3 s)
    d
}

#[test]
fn the_time_is_taken_when_the_node_is_reached() {
    // Arrived 11:59:55, greeting over at 11:59:58: still open.
    assert_eq!(lunch_call(55).route(), "greeting > hours:open > seat:unit");
    // Arrived 11:59:58, greeting over at 12:00:01: closed for lunch.
    let mut d = lunch_call(58);
    assert_eq!(d.route(), "greeting > hours:closed > closed");
    assert_eq!(d.progress(), [Action::Hangup]);
    assert_eq!(d.plays(), ["greeting", "closed"]);
}

const ALL_DAY: &str = r#"
[dialplan]
name = "all-day"
modes = ["hotline"]
entry = "hours"

[schedule.day]
windows = ["00:00-24:00"]

[node.hours]
action = "hours"
schedule = "day"
open = "seat"
closed = "closed"

[node.seat]
action = "queue"
group = "unit"

[node.closed]
action = "hangup"
"#;

#[test]
fn a_window_can_end_at_midnight() {
    let vars = || Vars::for_call("1", "12345", &line("12345", "hotline"));
    let late = Driver::start(plan(ALL_DAY), vars(), beijing(2024, 10, 15, 23, 59));
    assert_eq!(late.route(), "hours:open > seat:unit");
    let holiday = Driver::start(plan(ALL_DAY), vars(), beijing(2024, 10, 1, 12, 0));
    assert_eq!(holiday.route(), "hours:closed > closed");
}

#[test]
fn a_year_without_calendar_data_counts_as_open() {
    // The shipped notices end with 2026; a seat answering beats a caller turned away.
    assert_eq!(
        route_at(beijing(2031, 3, 4, 22, 0)),
        "hours:unknown > seat:unit"
    );
}
