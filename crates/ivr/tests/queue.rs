//! Terminal nodes: queue (with `also_ring` for remote seats), transfer and hangup, their
//! prompts, and variables set on the way.

mod common;

use common::{Driver, line, plan};
use hotline_ivr::{Action, LineVars, Outcome};

const REMOTE: &str = r#"
[dialplan]
name = "remote"
modes = ["remote-seat", "interconnect"]
entry = "queue"

[node.queue]
action = "queue"
group = "default"
also_ring = "${line.target}"
"#;

#[test]
fn also_ring_is_the_line_target() {
    let seat = LineVars {
        target: "sip:12369@seats.invalid".into(),
        ..line("12369", "remote-seat")
    };
    let d = Driver::call(plan(REMOTE), &seat);
    assert_eq!(
        d.actions,
        [Action::Queue {
            group: "default".into(),
            also_ring: Some("sip:12369@seats.invalid".into())
        }]
    );
    assert_eq!(
        d.call.outcome(),
        Some(&Outcome::Queued {
            group: "default".into(),
            also_ring: Some("sip:12369@seats.invalid".into())
        })
    );
}

#[test]
fn an_empty_also_ring_rings_nobody() {
    let d = Driver::call(plan(REMOTE), &line("12369", "remote-seat"));
    assert_eq!(
        d.actions,
        [Action::Queue {
            group: "default".into(),
            also_ring: None
        }]
    );
}

const EMERGENCY: &str = r#"
[dialplan]
name = "emergency"
modes = ["emergency"]
entry = "note"

[node.note]
action = "set"
var = "reason"
value = "emergency from ${caller}"
next = "transfer"

[node.transfer]
action = "transfer"
to = "${line.trunk}"
prompt = "queue_wait"
"#;

#[test]
fn transfer_to_the_trunk_after_its_prompt() {
    let police = LineVars {
        trunk: "sip:110@emergency-trunk.invalid".into(),
        ..line("110", "emergency")
    };
    let mut d = Driver::call(plan(EMERGENCY), &police);
    assert_eq!(d.plays(), ["queue_wait"]);
    assert_eq!(d.call.outcome(), None);
    assert_eq!(
        d.progress(),
        [Action::Transfer {
            to: "sip:110@emergency-trunk.invalid".into()
        }]
    );
    assert_eq!(
        d.call.vars().get("reason"),
        Some("emergency from 13800000000")
    );
    assert_eq!(
        d.route(),
        "note:reason=emergency from 13800000000 > transfer:sip:110@emergency-trunk.invalid"
    );
}

#[test]
fn a_transfer_with_no_destination_queues_to_the_fallback_group() {
    // A line with no trunk: loading would have caught it for a line it was told about.
    let mut d = Driver::call(plan(EMERGENCY), &line("110", "emergency"));
    d.progress();
    assert_eq!(
        d.actions.last(),
        Some(&Action::Queue {
            group: "default".into(),
            also_ring: None
        })
    );
    assert_eq!(
        d.call.outcome(),
        Some(&Outcome::NoDestination {
            group: "default".into()
        })
    );
    assert_eq!(
        d.route(),
        "note:reason=emergency from 13800000000 > transfer:no-destination"
    );
}

const GUIDANCE: &str = r#"
[dialplan]
name = "guidance"
modes = ["guidance-only"]
entry = "guidance"

[node.guidance]
action = "play"
prompts = ["guidance-${line.number}"]
next = "bye"

[node.bye]
action = "hangup"
prompt = "goodbye"
"#;

#[test]
fn guidance_then_goodbye_then_hangup() {
    let mut d = Driver::call(plan(GUIDANCE), &line("12371", "guidance-only"));
    assert_eq!(
        d.actions,
        [Action::Play {
            prompts: vec!["guidance-12371".into()],
            interruptible: false
        }]
    );
    // Keys change nothing here.
    assert_eq!(d.digit('1'), []);
    assert_eq!(
        d.progress(),
        [Action::Play {
            prompts: vec!["goodbye".into()],
            interruptible: false
        }]
    );
    assert_eq!(d.digit('1'), []);
    assert_eq!(d.progress(), [Action::Hangup]);
    assert_eq!(d.call.outcome(), Some(&Outcome::HungUp));
    assert_eq!(d.route(), "guidance > bye");
}
