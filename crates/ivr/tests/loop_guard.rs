//! The runtime loop guard: a flow that passes validation but spins without waiting for the
//! caller is ended in the fallback queue after MAX_HOPS transitions.

mod common;

use common::{Driver, line, plan};
use hotline_ivr::{Action, LineVars, MAX_HOPS, Outcome};

// Validation accepts this: `start` has an exit (bye). But for a retired line the branch always
// comes back to itself.
const SPIN: &str = r#"
[dialplan]
name = "spin"
modes = ["direct-merge"]
entry = "start"
fallback_group = "rescue"

[node.start]
action = "branch"
when = "line.retired"
then = "again"
else = "bye"

[node.again]
action = "set"
var = "spins"
value = "x"
next = "start"

[node.bye]
action = "hangup"
"#;

fn retired() -> LineVars {
    LineVars {
        retired: true,
        ..line("12351", "direct-merge")
    }
}

#[test]
fn a_spinning_flow_ends_in_the_fallback_group() {
    let d = Driver::call(plan(SPIN), &retired());
    assert_eq!(
        d.actions,
        [Action::Queue {
            group: "rescue".into(),
            also_ring: None
        }]
    );
    assert_eq!(
        d.call.outcome(),
        Some(&Outcome::LoopGuard {
            group: "rescue".into()
        })
    );
    let route = d.call.route();
    assert_eq!(route.len(), MAX_HOPS as usize + 1, "{}", d.route());
    assert!(
        d.route().ends_with("again:spins=x > again:loop-guard"),
        "{}",
        d.route()
    );
}

#[test]
fn the_same_flow_without_the_spin_is_not_stopped() {
    let d = Driver::call(plan(SPIN), &line("12351", "direct-merge"));
    assert_eq!(d.actions, [Action::Hangup]);
    assert_eq!(d.route(), "start:false > bye");
}

// A menu loop that waits for the caller each time round is not a spin: each key resets the
// count, however often the caller goes round.
const MENU_LOOP: &str = r#"
[dialplan]
name = "menu-loop"
modes = ["hotline"]
entry = "menu"

[node.menu]
action = "menu"
prompt = "menu_main"
options = { "9" = "again", "0" = "seat" }
on_no_input = "seat"
on_failure = "seat"

[node.again]
action = "set"
var = "round"
value = "${round}x"
next = "menu"

[node.seat]
action = "queue"
group = "default"
"#;

#[test]
fn waiting_for_the_caller_resets_the_count() {
    let mut d = Driver::call(plan(MENU_LOOP), &line("12345", "hotline"));
    for _ in 0..(MAX_HOPS * 2) {
        d.digit('9');
    }
    assert_eq!(d.call.outcome(), None, "{}", d.route());
    assert_eq!(
        d.call.vars().get("round").map(str::len),
        Some(MAX_HOPS as usize * 2)
    );
    d.digit('0');
    assert_eq!(d.call.outcome(), Some(&common::queued("default")));
}
