//! Menus: a key picks an option, invalid keys and silence repeat the menu until the retries are
//! used up, and keys pressed early are kept for the menu (type-ahead).

mod common;

use common::{Driver, line, plan};
use hotline_ivr::{Action, TYPEAHEAD_LIMIT};

const MENU: &str = r#"
[dialplan]
name = "menu"
modes = ["hotline"]
entry = "greeting"

[node.greeting]
action = "play"
prompts = ["greeting"]
interruptible = true
next = "menu"

[node.menu]
action = "menu"
prompt = "menu_main"
options = { "1" = "one", "2" = "two", "*" = "star", "A" = "letter" }
timeout_secs = 5
retries = 2
invalid_prompt = "invalid"
no_input_prompt = "no_input"
on_no_input = "silent"
on_failure = "failed"

[node.one]
action = "queue"
group = "one"

[node.two]
action = "queue"
group = "two"

[node.star]
action = "queue"
group = "star"

[node.letter]
action = "queue"
group = "letter"

[node.silent]
action = "queue"
group = "silent"

[node.failed]
action = "hangup"
prompt = "goodbye"
"#;

fn driver() -> Driver {
    Driver::call(plan(MENU), &line("12345", "hotline"))
}

/// Greeting and menu prompt played to the end; the menu waits for a key.
fn at_menu() -> Driver {
    let mut d = driver();
    d.progress();
    d.progress();
    assert!(d.call.next_timeout().is_some());
    d
}

fn queue(group: &str) -> Action {
    Action::Queue {
        group: group.into(),
        also_ring: None,
    }
}

#[test]
fn invalid_key_then_valid_key() {
    let mut d = at_menu();
    let actions = d.digit('9');
    assert_eq!(
        actions,
        [Action::Play {
            prompts: vec!["invalid".into(), "menu_main".into()],
            interruptible: true
        }]
    );
    assert_eq!(
        d.call.next_timeout(),
        None,
        "no timer while the prompts play"
    );
    d.progress();
    assert_eq!(d.digit('2'), [queue("two")]);
    assert_eq!(d.route(), "greeting > menu:invalid=9 > menu:2 > two:two");
}

#[test]
fn invalid_keys_use_up_the_retries() {
    let mut d = at_menu();
    d.digit('9');
    d.progress();
    d.digit('8');
    d.progress();
    let last = d.digit('7');
    assert_eq!(
        last,
        [Action::Play {
            prompts: vec!["goodbye".into()],
            interruptible: false
        }]
    );
    assert_eq!(d.progress(), [Action::Hangup]);
    assert_eq!(
        d.route(),
        "greeting > menu:invalid=9 > menu:invalid=8 > menu:invalid=7 > failed"
    );
    assert_eq!(
        d.plays(),
        [
            "greeting",
            "menu_main",
            "invalid+menu_main",
            "invalid+menu_main",
            "goodbye"
        ]
    );
}

#[test]
fn silence_uses_up_the_retries_to_on_no_input() {
    let mut d = driver();
    d.run_to_end();
    assert_eq!(
        d.route(),
        "greeting > menu:timeout > menu:timeout > menu:timeout > silent:silent"
    );
    assert_eq!(
        d.plays(),
        [
            "greeting",
            "menu_main",
            "no_input+menu_main",
            "no_input+menu_main"
        ]
    );
}

#[test]
fn an_invalid_key_among_silences_leads_to_on_failure() {
    let mut d = at_menu();
    d.progress(); // timeout
    d.progress(); // no_input + menu
    d.digit('5');
    d.progress(); // invalid + menu
    d.progress(); // timeout, retries used up
    assert_eq!(
        d.route(),
        "greeting > menu:timeout > menu:invalid=5 > menu:timeout > failed"
    );
}

#[test]
fn a_key_during_the_menu_prompt_stops_it() {
    let mut d = driver();
    d.progress(); // greeting done, menu_main plays
    assert_eq!(d.digit('1'), [Action::StopPlayback, queue("one")]);
}

#[test]
fn type_ahead_during_the_greeting() {
    let mut d = driver();
    // The caller knows the menu and presses 2 during the greeting.
    let actions = d.digit('2');
    assert_eq!(actions, [Action::StopPlayback, queue("two")]);
    assert_eq!(d.route(), "greeting:interrupted > menu:2 > two:two");
    assert_eq!(d.plays(), ["greeting"], "the menu prompt is never played");
}

#[test]
fn stars_and_letters_are_keys() {
    let mut d = at_menu();
    assert_eq!(d.digit('*'), [queue("star")]);
    let mut d = at_menu();
    // Some phones report A-D in lower case.
    assert_eq!(d.digit('a'), [queue("letter")]);
}

#[test]
fn characters_that_are_not_keys_are_ignored() {
    let mut d = at_menu();
    let timeout = d.call.next_timeout();
    assert_eq!(d.digit('x'), []);
    assert_eq!(d.digit('E'), []);
    assert_eq!(d.call.next_timeout(), timeout);
    assert_eq!(d.route(), "greeting");
}

const SLOW: &str = r#"
[dialplan]
name = "slow"
modes = ["hotline"]
entry = "notice"

# A legal notice that must be heard in full.
[node.notice]
action = "play"
prompts = ["greeting", "queue_wait"]
next = "menu"

[node.menu]
action = "menu"
prompt = "menu_main"
options = { "1" = "one", "2" = "two" }
interruptible = false
on_no_input = "one"
on_failure = "one"

[node.one]
action = "queue"
group = "one"

[node.two]
action = "queue"
group = "two"
"#;

#[test]
fn keys_during_a_prompt_that_cannot_be_interrupted_wait_for_the_menu() {
    let mut d = Driver::call(plan(SLOW), &line("12345", "hotline"));
    assert_eq!(
        d.actions,
        [Action::Play {
            prompts: vec!["greeting".into(), "queue_wait".into()],
            interruptible: false
        }]
    );
    assert_eq!(d.digit('2'), [], "the notice keeps playing");
    // The menu takes the buffered key at once, without playing its prompt.
    assert_eq!(d.progress(), [queue("two")]);
    assert_eq!(d.route(), "notice > menu:2 > two:two");

    let mut d = Driver::call(plan(SLOW), &line("12345", "hotline"));
    d.progress();
    assert_eq!(d.plays(), ["greeting+queue_wait", "menu_main"]);
    assert_eq!(d.digit('2'), [], "menu_main cannot be interrupted either");
    assert_eq!(d.progress(), [queue("two")]);
}

const BOUND: &str = r#"
[dialplan]
name = "bound"
modes = ["hotline"]
entry = "notice"

[node.notice]
action = "play"
prompts = ["greeting"]
next = "number"

[node.number]
action = "collect"
prompt = "enter_order_no"
var = "n"
max_digits = 32
next = "menu"
on_failure = "menu"

[node.menu]
action = "menu"
prompt = "menu_main"
options = { "3" = "three" }
on_no_input = "three"
on_failure = "three"

[node.three]
action = "queue"
group = "three"
"#;

#[test]
fn type_ahead_is_bounded() {
    let mut d = Driver::call(plan(BOUND), &line("12345", "hotline"));
    let ones = "1".repeat(TYPEAHEAD_LIMIT);
    d.digits(&ones);
    // One key too many while the notice plays: dropped.
    d.digit('3');
    let actions = d.progress();
    assert_eq!(d.call.vars().get("n"), Some(ones.as_str()));
    // Had the 3 been kept, the menu would have taken it instead of playing its prompt.
    assert_eq!(
        actions,
        [Action::Play {
            prompts: vec!["menu_main".into()],
            interruptible: true
        }]
    );
    assert_eq!(d.digit('3'), [Action::StopPlayback, queue("three")]);
}
