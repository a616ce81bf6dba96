//! The 12345 flow: greeting, an optional menu, a queue; with no key pressed the caller still
//! reaches a seat (GB/T 33358).

mod common;

use common::{Driver, line, plan, queued};
use hotline_ivr::{Action, LineVars, Outcome};

const FLOW: &str = r#"
[dialplan]
name = "12345"
modes = ["hotline", "direct-merge"]
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
interruptible = true
next = "menu"

[node.menu]
action = "menu"
prompt = "menu_main"
options = { "1" = "consult", "2" = "complaint", "3" = "help", "0" = "human" }
timeout_secs = 5
retries = 1
invalid_prompt = "invalid"
no_input_prompt = "no_input"
on_no_input = "queue"
on_failure = "queue"

[node.consult]
action = "queue"
group = "consult"

[node.complaint]
action = "queue"
group = "complaint"

[node.help]
action = "queue"
group = "help"

[node.human]
action = "queue"
group = "default"

[node.queue]
action = "queue"
group = "default"
prompt = "queue_wait"
"#;

fn hotline() -> LineVars {
    line("12345", "hotline")
}

#[test]
fn no_key_pressed_reaches_the_queue() {
    let mut d = Driver::call(plan(FLOW), &hotline());
    assert_eq!(d.run_to_end(), &queued("default"));
    assert_eq!(
        d.plays(),
        ["greeting", "menu_main", "no_input+menu_main", "queue_wait"]
    );
    assert_eq!(
        d.route(),
        "start:false > greeting > menu:timeout > menu:timeout > queue:default"
    );
    assert_eq!(
        d.actions.last(),
        Some(&Action::Queue {
            group: "default".into(),
            also_ring: None
        })
    );
}

#[test]
fn the_queue_action_waits_for_the_queue_prompt() {
    let mut d = Driver::call(plan(FLOW), &hotline());
    while d.plays().last().map(String::as_str) != Some("queue_wait") {
        d.progress();
    }
    assert_eq!(d.call.outcome(), None, "queued before queue_wait was heard");
    assert!(!d.actions.iter().any(|a| matches!(a, Action::Queue { .. })));
    assert_eq!(
        d.call.next_timeout(),
        None,
        "no timer while the prompt plays"
    );
    let last = d.progress();
    assert_eq!(
        last,
        [Action::Queue {
            group: "default".into(),
            also_ring: None
        }]
    );
}

#[test]
fn menu_timeout_counts_from_the_end_of_the_prompt() {
    let mut d = Driver::call(plan(FLOW), &hotline());
    d.progress(); // greeting done, menu_main starts
    assert_eq!(d.call.next_timeout(), None);
    d.progress(); // menu_main done
    assert_eq!(d.call.next_timeout(), Some(d.now + 5_000));
    // Early timer calls do nothing.
    assert_eq!(d.call.on_timeout(d.now + 4_999), []);
    assert_eq!(d.route(), "start:false > greeting");
}

#[test]
fn each_menu_key_picks_its_route() {
    for (key, group, node) in [
        ('1', "consult", "consult"),
        ('2', "complaint", "complaint"),
        ('3', "help", "help"),
        ('0', "default", "human"),
    ] {
        let mut d = Driver::call(plan(FLOW), &hotline());
        d.progress(); // greeting
        d.progress(); // menu prompt
        let actions = d.digit(key);
        assert_eq!(
            actions,
            [Action::Queue {
                group: group.into(),
                also_ring: None
            }],
            "key {key}"
        );
        assert_eq!(
            d.route(),
            format!("start:false > greeting > menu:{key} > {node}:{group}")
        );
        assert_eq!(d.call.outcome(), Some(&queued(group)));
    }
}

#[test]
fn direct_merge_in_transition_hears_the_12345_greeting() {
    let mut d = Driver::call(plan(FLOW), &line("12312", "direct-merge"));
    assert_eq!(d.plays(), ["greeting"]);
    d.run_to_end();
    assert!(
        d.route().starts_with("start:false > greeting > "),
        "{}",
        d.route()
    );
}

#[test]
fn events_after_the_outcome_are_ignored() {
    let mut d = Driver::call(plan(FLOW), &hotline());
    d.progress();
    d.progress();
    d.digit('1');
    assert!(d.call.outcome().is_some());
    assert_eq!(d.digit('2'), []);
    assert_eq!(d.event(hotline_ivr::Event::PlaybackDone), []);
    assert_eq!(d.event(hotline_ivr::Event::CallerHangup), []);
    assert_eq!(d.call.on_timeout(d.now + 60_000), []);
    assert_eq!(d.call.outcome(), Some(&queued("consult")));
}

#[test]
fn caller_hanging_up_ends_the_route() {
    let mut d = Driver::call(plan(FLOW), &hotline());
    d.progress();
    assert_eq!(d.event(hotline_ivr::Event::CallerHangup), []);
    assert_eq!(d.call.outcome(), Some(&Outcome::Abandoned));
    assert_eq!(d.call.next_timeout(), None);
    assert_eq!(d.route(), "start:false > greeting > menu:caller-hangup");
}
