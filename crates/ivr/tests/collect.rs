//! Collecting digits into a variable: ended by the terminator, by max_digits or by the
//! inter-digit timeout; too few digits repeat the prompt until the retries are used up.

mod common;

use common::{Driver, line, plan};
use hotline_ivr::{Action, Outcome};

const COLLECT: &str = r##"
[dialplan]
name = "collect"
modes = ["hotline"]
entry = "order"

[node.order]
action = "collect"
prompt = "enter_order_no"
var = "order_no"
min_digits = 4
max_digits = 8
terminator = "#"
first_digit_timeout_secs = 8
inter_digit_timeout_secs = 4
retries = 1
invalid_prompt = "invalid"
no_input_prompt = "no_input"
next = "found"
on_failure = "failed"

[node.found]
action = "queue"
group = "orders"
also_ring = "sip:${order_no}@orders.invalid"

[node.failed]
action = "queue"
group = "default"
"##;

fn at_prompt_end() -> Driver {
    let mut d = Driver::call(plan(COLLECT), &line("12345", "hotline"));
    assert_eq!(d.plays(), ["enter_order_no"]);
    d.progress();
    d
}

fn found(order: &str) -> Action {
    Action::Queue {
        group: "orders".into(),
        also_ring: Some(format!("sip:{order}@orders.invalid")),
    }
}

#[test]
fn terminator_ends_the_number() {
    let mut d = at_prompt_end();
    assert_eq!(d.digits("12345"), []);
    assert_eq!(d.digit('#'), [found("12345")]);
    assert_eq!(d.call.vars().get("order_no"), Some("12345"));
    assert_eq!(d.route(), "order:order_no=12345 > found:orders");
}

#[test]
fn max_digits_ends_the_number() {
    let mut d = at_prompt_end();
    assert_eq!(d.digits("1234567"), []);
    assert_eq!(d.digit('8'), [found("12345678")]);
}

#[test]
fn inter_digit_timeout_ends_the_number() {
    let mut d = at_prompt_end();
    assert_eq!(d.call.next_timeout(), Some(d.now + 8_000), "first digit");
    d.digits("2024");
    let last_key = d.now;
    assert_eq!(d.call.next_timeout(), Some(last_key + 4_000), "inter-digit");
    assert_eq!(d.call.on_timeout(last_key + 3_999), []);
    assert_eq!(d.progress(), [found("2024")]);
    assert_eq!(d.now, last_key + 4_000);
}

#[test]
fn too_few_digits_then_enough() {
    let mut d = at_prompt_end();
    let actions = d.digits("12#");
    assert_eq!(
        actions,
        [Action::Play {
            prompts: vec!["invalid".into(), "enter_order_no".into()],
            interruptible: true
        }]
    );
    d.progress();
    d.digits("5678#");
    assert_eq!(d.call.outcome().map(|_| ()), Some(()));
    assert_eq!(
        d.route(),
        "order:too-few=12 > order:order_no=5678 > found:orders"
    );
}

#[test]
fn too_few_digits_by_timeout_use_up_the_retries() {
    let mut d = at_prompt_end();
    d.digits("1");
    d.progress(); // inter-digit timeout: too few
    d.progress(); // invalid + prompt
    d.digits("99");
    let actions = d.progress();
    assert_eq!(
        actions,
        [Action::Queue {
            group: "default".into(),
            also_ring: None
        }]
    );
    assert_eq!(
        d.route(),
        "order:too-few=1 > order:too-few=99 > failed:default"
    );
    assert_eq!(d.call.vars().get("order_no"), None);
}

#[test]
fn no_digits_at_all() {
    let mut d = at_prompt_end();
    d.run_to_end();
    assert_eq!(d.plays(), ["enter_order_no", "no_input+enter_order_no"]);
    assert_eq!(d.route(), "order:timeout > order:timeout > failed:default");
}

#[test]
fn digits_during_the_prompt_stop_it_and_count() {
    let mut d = Driver::call(plan(COLLECT), &line("12345", "hotline"));
    assert_eq!(d.digit('4'), [Action::StopPlayback]);
    assert_eq!(
        d.call.next_timeout(),
        Some(d.now + 4_000),
        "inter-digit now"
    );
    assert_eq!(d.digits("321#"), [found("4321")]);
}

const AFTER_GREETING: &str = r#"
[dialplan]
name = "typeahead"
modes = ["hotline"]
entry = "greeting"

[node.greeting]
action = "play"
prompts = ["greeting"]
interruptible = true
next = "order"

[node.order]
action = "collect"
prompt = "enter_order_no"
var = "order_no"
max_digits = 4
next = "found"
on_failure = "found"

[node.found]
action = "transfer"
to = "sip:${order_no}@orders.invalid"
"#;

#[test]
fn a_whole_number_typed_during_the_greeting() {
    let mut d = Driver::call(plan(AFTER_GREETING), &line("12345", "hotline"));
    assert_eq!(d.digit('7'), [Action::StopPlayback]);
    let actions = d.digits("123");
    assert_eq!(
        actions,
        [Action::Transfer {
            to: "sip:7123@orders.invalid".into()
        }]
    );
    assert_eq!(d.plays(), ["greeting"]);
    assert_eq!(
        d.call.outcome(),
        Some(&Outcome::Transferred {
            to: "sip:7123@orders.invalid".into()
        })
    );
    assert_eq!(
        d.route(),
        "greeting:interrupted > order:order_no=7123 > found:sip:7123@orders.invalid"
    );
}
