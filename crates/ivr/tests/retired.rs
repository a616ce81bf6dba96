//! A direct-merge number past its transition (T2): the caller hears it is retired, then the
//! 12345 flow, whether they press 1 or nothing. Branch conditions on line variables.

mod common;

use common::{Driver, line, plan};
use hotline_ivr::{Action, LineVars, Vars};

const FLOW: &str = r#"
[dialplan]
name = "12345"
modes = ["direct-merge"]
entry = "start"

[node.start]
action = "branch"
when = "line.retired"
then = "retired"
else = "greeting"

[node.retired]
action = "menu"
prompt = "retired"
options = { "1" = "greeting" }
retries = 0
on_no_input = "greeting"
on_failure = "greeting"

[node.greeting]
action = "play"
prompts = ["greeting"]
next = "queue"

[node.queue]
action = "queue"
group = "default"
"#;

fn retired() -> LineVars {
    LineVars {
        retired: true,
        ..line("12351", "direct-merge")
    }
}

#[test]
fn retired_number_then_no_input_goes_on_to_12345() {
    let mut d = Driver::call(plan(FLOW), &retired());
    assert_eq!(
        d.actions,
        [Action::Play {
            prompts: vec!["retired".into()],
            interruptible: true
        }]
    );
    d.run_to_end();
    assert_eq!(d.plays(), ["retired", "greeting"]);
    assert_eq!(
        d.route(),
        "start:true > retired:timeout > greeting > queue:default"
    );
}

#[test]
fn retired_number_then_1_goes_on_to_12345() {
    let mut d = Driver::call(plan(FLOW), &retired());
    d.progress();
    d.digit('1');
    d.run_to_end();
    assert_eq!(
        d.route(),
        "start:true > retired:1 > greeting > queue:default"
    );
}

#[test]
fn retired_number_then_another_key_also_goes_on() {
    let mut d = Driver::call(plan(FLOW), &retired());
    d.digit('7'); // interrupts the announcement
    assert_eq!(d.actions[1], Action::StopPlayback);
    d.run_to_end();
    assert_eq!(
        d.route(),
        "start:true > retired:invalid=7 > greeting > queue:default"
    );
}

#[test]
fn number_in_transition_skips_the_announcement() {
    let mut d = Driver::call(plan(FLOW), &line("12351", "direct-merge"));
    assert_eq!(d.plays(), ["greeting"]);
    d.run_to_end();
    assert_eq!(d.route(), "start:false > greeting > queue:default");
}

const BY_MODE: &str = r#"
[dialplan]
name = "by-mode"
modes = ["hotline", "direct-merge"]
entry = "start"

[node.start]
action = "branch"
when = "line.mode == direct-merge"
then = "merged"
else = "other"

[node.other]
action = "branch"
when = "line.unit != '12345中心'"
then = "unit"
else = "centre"

[node.merged]
action = "queue"
group = "merged"

[node.unit]
action = "queue"
group = "unit"

[node.centre]
action = "queue"
group = "centre"
"#;

#[test]
fn equality_conditions() {
    let merged = Driver::call(plan(BY_MODE), &line("12312", "direct-merge"));
    assert_eq!(merged.route(), "start:true > merged:merged");

    let centre = LineVars {
        unit: "12345中心".into(),
        ..line("12345", "hotline")
    };
    let d = Driver::call(plan(BY_MODE), &centre);
    assert_eq!(d.route(), "start:false > other:false > centre:centre");

    let d = Driver::call(plan(BY_MODE), &line("12345", "hotline"));
    assert_eq!(d.route(), "start:false > other:true > unit:unit");
}

#[test]
fn a_missing_variable_is_false_and_empty() {
    // Vars without the line.* ones: a driver that knows nothing of the line.
    let mut vars = Vars::new();
    vars.set("caller", "13800000000");
    let d = Driver::start(plan(FLOW), vars, common::a_tuesday_morning());
    assert_eq!(d.plays(), ["greeting"]);
}
