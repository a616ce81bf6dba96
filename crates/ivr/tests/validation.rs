//! Every kind of mistake in a dialplan file, each reported as `file:line:column: key: message`,
//! and all of them at once.

mod common;

use common::{errors, errors_with_lines, line};
use hotline_ivr::LineVars;

/// Lines 1-4 of most texts below; the nodes start on line 6.
const HEAD: &str = "[dialplan]\nname = \"t\"\nmodes = [\"hotline\"]\nentry = \"start\"\n\n";

const BYE: &str = "\n[node.bye]\naction = \"hangup\"\n";

fn with_head(nodes: &str) -> String {
    format!("{HEAD}{nodes}")
}

#[test]
fn a_valid_text_has_no_errors() {
    assert_eq!(
        errors(&with_head("[node.start]\naction = \"hangup\"\n")),
        Vec::<String>::new()
    );
}

#[test]
fn toml_syntax() {
    let text = with_head("[node.start]\naction = hangup\n");
    let errs = errors(&text);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].starts_with("test.toml:7:10: "), "{errs:?}");
}

#[test]
fn unknown_keys() {
    let text = format!(
        "{HEAD}[node.start]
action = \"play\"
prompts = [\"greeting\"]
next = \"bye\"
timeout_secs = 5
{BYE}
[extra]
x = 1
"
    );
    assert_eq!(
        errors(&text),
        [
            "test.toml:10:1: node.start.timeout_secs: unknown key (expected one of: action, prompts, interruptible, next)",
            "test.toml:15:1: extra: unknown key (expected one of: dialplan, schedule, node)",
        ]
    );
    let text = "[dialplan]\nname = \"t\"\nmode = [\"hotline\"]\nmodes = [\"hotline\"]\nentry = \"start\"\n\n[node.start]\naction = \"hangup\"\n";
    assert_eq!(
        errors(text),
        [
            "test.toml:3:1: dialplan.mode: unknown key (expected one of: name, modes, numbers, entry, fallback_group)"
        ]
    );
}

#[test]
fn wrong_types() {
    let text = format!(
        "{HEAD}[node.start]
action = \"menu\"
prompt = \"menu_main\"
options = {{ \"1\" = 2 }}
timeout_secs = \"5\"
interruptible = \"yes\"
on_no_input = \"bye\"
on_failure = [\"bye\"]
{BYE}"
    );
    assert_eq!(
        errors(&text),
        [
            "test.toml:9:13: node.start.options.1: expected a node name, found integer",
            "test.toml:10:1: node.start.timeout_secs: expected an integer, found string",
            "test.toml:11:1: node.start.interruptible: expected a boolean, found string",
            "test.toml:13:1: node.start.on_failure: expected a string, found array",
        ]
    );
}

#[test]
fn missing_required_keys_per_action() {
    let text = format!(
        "{HEAD}[node.start]
action = \"menu\"
prompt = \"menu_main\"
options = {{ \"1\" = \"bye\" }}
on_failure = \"bye\"

[node.collect]
action = \"collect\"
prompt = \"enter_order_no\"

[node.noaction]
next = \"bye\"
{BYE}"
    );
    assert_eq!(
        errors(&text),
        [
            "test.toml:6:1: node.start.on_no_input: missing required key",
            "test.toml:12:1: node.collect.var: missing required key",
            "test.toml:12:1: node.collect.max_digits: missing required key",
            "test.toml:12:1: node.collect.next: missing required key",
            "test.toml:12:1: node.collect.on_failure: missing required key",
            "test.toml:16:1: node.noaction.action: missing required key",
        ]
    );
    assert_eq!(
        errors("[dialplan]\nname = \"t\"\nmodes = [\"hotline\"]\n"),
        [
            "test.toml:1:1: dialplan.entry: missing required key",
            "test.toml:1:1: node: missing required key",
        ]
    );
}

#[test]
fn unknown_action_and_mode() {
    let text = "[dialplan]\nname = \"t\"\nmodes = [\"hotline\", \"remote\"]\nentry = \"start\"\n\n[node.start]\naction = \"ring\"\ngroup = \"x\"\n";
    assert_eq!(
        errors(text),
        [
            "test.toml:3:21: dialplan.modes[1]: unknown line mode `remote` (expected one of: hotline, direct-merge, remote-seat, interconnect, emergency, guidance-only)",
            "test.toml:7:1: node.start.action: unknown action `ring` (expected one of: play, menu, collect, hours, set, branch, queue, transfer, hangup)",
        ]
    );
}

#[test]
fn a_dialplan_must_serve_something() {
    let text = "[dialplan]\nname = \"t\"\nmodes = []\nentry = \"start\"\n\n[node.start]\naction = \"hangup\"\n";
    assert_eq!(
        errors(text),
        ["test.toml:1:1: dialplan: the dialplan serves no calls: give `modes` or `numbers`"]
    );
    let by_number = "[dialplan]\nname = \"t\"\nnumbers = [\"12345\"]\nentry = \"start\"\n\n[node.start]\naction = \"hangup\"\n";
    assert_eq!(errors(by_number), Vec::<String>::new());
}

#[test]
fn duplicates_within_a_list() {
    let text = "[dialplan]\nname = \"t\"\nmodes = [\"hotline\", \"hotline\"]\nnumbers = [\"12345\", \"\"]\nentry = \"start\"\n\n[node.start]\naction = \"hangup\"\n";
    assert_eq!(
        errors(text),
        [
            "test.toml:3:21: dialplan.modes[1]: `hotline` is listed twice",
            "test.toml:4:21: dialplan.numbers[1]: must not be empty",
        ]
    );
}

#[test]
fn bad_windows() {
    let text = format!(
        "{HEAD}[schedule.office]
windows = [\"08:00-12:00\", \"8-12\", \"14:30-25:00\"]

[schedule.empty]
windows = [\"12:00-08:00\"]

[schedule.overlap]
windows = [\"08:00-12:00\", \"11:30-13:00\"]

[schedule.none]
windows = []

[node.start]
action = \"hangup\"
"
    );
    assert_eq!(
        errors(&text),
        [
            "test.toml:7:27: schedule.office.windows[1]: `8-12` is not a window HH:MM-HH:MM",
            "test.toml:7:35: schedule.office.windows[2]: `14:30-25:00` is not a window HH:MM-HH:MM",
            "test.toml:10:12: schedule.empty.windows[0]: window 12:00:00-08:00:00 does not end after it starts",
            "test.toml:13:27: schedule.overlap.windows[1]: windows 08:00:00-12:00:00 and 11:30:00-13:00:00 overlap",
            "test.toml:16:1: schedule.none.windows: must not be empty",
        ]
    );
}

#[test]
fn unknown_nodes_and_schedules() {
    let text = "[dialplan]\nname = \"t\"\nmodes = [\"hotline\"]\nentry = \"begin\"\n\n[node.start]\naction = \"hours\"\nschedule = \"office\"\nopen = \"seat\"\nclosed = \"bye\"\n\n[node.menu]\naction = \"menu\"\nprompt = \"menu_main\"\noptions = { \"1\" = \"bye\", \"2\" = \"nowhere\" }\non_no_input = \"bye\"\non_failure = \"bye\"\n\n[node.bye]\naction = \"hangup\"\n";
    assert_eq!(
        errors(text),
        [
            "test.toml:4:1: dialplan.entry: no node named `begin`",
            "test.toml:8:1: node.start.schedule: no schedule named `office`",
            "test.toml:9:1: node.start.open: no node named `seat`",
            "test.toml:15:26: node.menu.options.2: no node named `nowhere`",
        ]
    );
}

#[test]
fn menu_keys_must_be_single_dtmf_keys() {
    let text = format!(
        "{HEAD}[node.start]
action = \"menu\"
prompt = \"menu_main\"
options = {{ \"10\" = \"bye\", \"x\" = \"bye\", \"#\" = \"bye\", \"a\" = \"bye\" }}
on_no_input = \"bye\"
on_failure = \"bye\"
{BYE}"
    );
    assert_eq!(
        errors(&text),
        [
            "test.toml:9:13: node.start.options.10: `10` is not a single DTMF key (0-9, *, #, A-D)",
            "test.toml:9:27: node.start.options.x: `x` is not a single DTMF key (0-9, *, #, A-D)",
            "test.toml:9:53: node.start.options.a: `a` is not a single DTMF key (0-9, *, #, A-D)",
        ]
    );
}

#[test]
fn digit_bounds_and_terminator() {
    let text = format!(
        "{HEAD}[node.start]
action = \"collect\"
prompt = \"enter_order_no\"
var = \"order_no\"
min_digits = 6
max_digits = 4
terminator = \"##\"
next = \"bye\"
on_failure = \"bye\"
{BYE}"
    );
    assert_eq!(
        errors(&text),
        [
            "test.toml:10:1: node.start.min_digits: min_digits 6 is more than max_digits 4",
            "test.toml:12:1: node.start.terminator: `##` is not a single DTMF key (0-9, *, #, A-D)",
        ]
    );
}

#[test]
fn integers_out_of_range() {
    let text = format!(
        "{HEAD}[node.start]
action = \"collect\"
prompt = \"enter_order_no\"
var = \"order_no\"
max_digits = 40
inter_digit_timeout_secs = 0
retries = -1
next = \"bye\"
on_failure = \"bye\"
{BYE}"
    );
    assert_eq!(
        errors(&text),
        [
            "test.toml:10:1: node.start.max_digits: 40 is outside 1..=32",
            "test.toml:11:1: node.start.inter_digit_timeout_secs: 0 is outside 1..=60",
            "test.toml:12:1: node.start.retries: -1 is outside 0..=9",
        ]
    );
}

#[test]
fn prompts_that_do_not_exist() {
    let text = format!(
        "{HEAD}[node.start]
action = \"play\"
prompts = [\"greeting\", \"welcome\"]
next = \"bye\"

[node.bye]
action = \"hangup\"
prompt = \"good-bye\"
"
    );
    assert_eq!(
        errors(&text),
        [
            "test.toml:8:24: node.start.prompts[1]: prompt `welcome` does not exist",
            "test.toml:13:1: node.bye.prompt: prompt `good-bye` does not exist",
        ]
    );
}

#[test]
fn templated_prompts_are_checked_for_each_line_served() {
    let text = "[dialplan]\nname = \"t\"\nmodes = [\"guidance-only\"]\nnumbers = [\"96301\"]\nentry = \"start\"\n\n[node.start]\naction = \"play\"\nprompts = [\"guidance-${line.number}\"]\nnext = \"bye\"\n\n[node.bye]\naction = \"hangup\"\n";
    let lines = [
        line("12339", "guidance-only"),
        line("12399", "guidance-only"),
        // Served through `numbers` although its mode is another.
        line("96301", "direct-merge"),
        // Not served: no guidance prompt needed.
        line("12345", "hotline"),
    ];
    assert_eq!(
        errors_with_lines(text, &lines),
        [
            "test.toml:9:12: node.start.prompts[0]: prompt `guidance-12399` does not exist (expanded for line 12399)",
            "test.toml:9:12: node.start.prompts[0]: prompt `guidance-96301` does not exist (expanded for line 96301)",
        ]
    );
    // Without lines, there is nothing to expand the name for.
    assert_eq!(errors(text), Vec::<String>::new());
}

#[test]
fn transfer_destinations_must_not_be_empty_for_a_line() {
    let text = "[dialplan]\nname = \"t\"\nmodes = [\"emergency\"]\nentry = \"start\"\n\n[node.start]\naction = \"transfer\"\nto = \"${line.trunk}\"\n";
    let lines = [
        LineVars {
            trunk: "sip:110@trunk.invalid".into(),
            ..line("110", "emergency")
        },
        line("119", "emergency"),
    ];
    assert_eq!(
        errors_with_lines(text, &lines),
        ["test.toml:8:1: node.start.to: the destination is empty for line 119"]
    );
}

#[test]
fn unknown_variables() {
    let text = format!(
        "{HEAD}[node.start]
action = \"branch\"
when = \"line.retierd\"
then = \"set\"
else = \"set\"

[node.set]
action = \"set\"
var = \"who\"
value = \"${{caller}}-${{callr}}\"
next = \"seat\"

[node.seat]
action = \"queue\"
group = \"default\"
also_ring = \"sip:${{who}}@${{line.host}}\"
"
    );
    assert_eq!(
        errors(&text),
        [
            "test.toml:8:1: node.start.when: unknown variable `line.retierd` (known: caller, dialed, line.number, line.unit, line.mode, line.target, line.trunk, line.guidance, line.retired and the vars of set and collect nodes)",
            "test.toml:15:1: node.set.value: unknown variable `callr` (known: caller, dialed, line.number, line.unit, line.mode, line.target, line.trunk, line.guidance, line.retired and the vars of set and collect nodes)",
            "test.toml:21:1: node.seat.also_ring: unknown variable `line.host` (known: caller, dialed, line.number, line.unit, line.mode, line.target, line.trunk, line.guidance, line.retired and the vars of set and collect nodes)",
        ]
    );
}

#[test]
fn bad_templates_conditions_and_variable_names() {
    let text = format!(
        "{HEAD}[node.start]
action = \"branch\"
when = \"line.mode ==\"
then = \"set\"
else = \"set\"

[node.set]
action = \"set\"
var = \"caller\"
value = \"x\"
next = \"set2\"

[node.set2]
action = \"set\"
var = \"2nd\"
value = \"${{x\"
next = \"bye\"
{BYE}"
    );
    assert_eq!(
        errors(&text),
        [
            "test.toml:8:1: node.start.when: `line.mode ==` is not a condition (use `VAR`, `VAR == VALUE` or `VAR != VALUE`)",
            "test.toml:14:1: node.set.var: `caller` is set by the platform for every call and cannot be assigned",
            "test.toml:20:1: node.set2.var: `2nd` is not a variable name (ASCII letters, digits and `_`, not starting with a digit)",
            "test.toml:21:1: node.set2.value: `${x`: `${` without a closing `}`",
        ]
    );
}

#[test]
fn bad_node_names() {
    let text = format!(
        "{HEAD}[node.start]\naction = \"hangup\"\n\n[node.\"a > b\"]\naction = \"hangup\"\n"
    );
    let errs = errors(&text);
    assert_eq!(
        errs[0],
        "test.toml:9:1: node.\"a > b\": `a > b` is not a node name (letters, digits, `_` and `-`)"
    );
}

#[test]
fn unreachable_nodes() {
    let text = format!(
        "{HEAD}[node.start]
action = \"hangup\"

[node.orphan]
action = \"play\"
prompts = [\"greeting\"]
next = \"start\"
"
    );
    assert_eq!(
        errors(&text),
        ["test.toml:9:1: node.orphan: not reachable from the entry node `start`"]
    );
}

#[test]
fn loops_with_no_exit() {
    let text = format!(
        "{HEAD}[node.start]
action = \"play\"
prompts = [\"greeting\"]
next = \"menu\"

[node.menu]
action = \"menu\"
prompt = \"menu_main\"
options = {{ \"1\" = \"again\" }}
on_no_input = \"menu\"
on_failure = \"again\"

[node.again]
action = \"play\"
prompts = [\"invalid\"]
next = \"menu\"
"
    );
    assert_eq!(
        errors(&text),
        [
            "test.toml:6:1: node.start: no queue, transfer or hangup node can be reached from here (a caller would be stuck among: again, menu, start)",
            "test.toml:11:1: node.menu: no queue, transfer or hangup node can be reached from here (a caller would be stuck among: again, menu)",
            "test.toml:18:1: node.again: no queue, transfer or hangup node can be reached from here (a caller would be stuck among: again, menu)",
        ]
    );
}

#[test]
fn a_cycle_with_an_exit_is_fine() {
    let text = format!(
        "{HEAD}[node.start]
action = \"menu\"
prompt = \"menu_main\"
options = {{ \"1\" = \"again\", \"0\" = \"bye\" }}
on_no_input = \"start\"
on_failure = \"start\"

[node.again]
action = \"play\"
prompts = [\"greeting\"]
next = \"start\"
{BYE}"
    );
    assert_eq!(errors(&text), Vec::<String>::new());
}

#[test]
fn columns_count_characters_not_bytes() {
    // "一" is 3 bytes in UTF-8: a byte count would put `"二"` at column 28.
    let text = format!(
        "{HEAD}[node.start]
action = \"menu\"
prompt = \"menu_main\"
options = {{ \"一\" = \"bye\", \"二\" = \"bye\" }}
on_no_input = \"bye\"
on_failure = \"bye\"
{BYE}"
    );
    assert_eq!(
        errors(&text),
        [
            "test.toml:9:13: node.start.options.\"一\": `一` is not a single DTMF key (0-9, *, #, A-D)",
            "test.toml:9:26: node.start.options.\"二\": `二` is not a single DTMF key (0-9, *, #, A-D)",
        ]
    );
}

/// A bad field does not hide the other mistakes of its node.
#[test]
fn every_problem_at_once() {
    let text = format!(
        "{HEAD}[node.start]
action = \"menu\"
prompt = \"menu_mian\"
options = {{ \"11\" = \"bye\" }}
retries = 20
on_no_input = \"by\"
on_failure = \"bye\"
colour = \"red\"
{BYE}"
    );
    assert_eq!(
        errors(&text),
        [
            "test.toml:8:1: node.start.prompt: prompt `menu_mian` does not exist",
            "test.toml:9:13: node.start.options.11: `11` is not a single DTMF key (0-9, *, #, A-D)",
            "test.toml:10:1: node.start.retries: 20 is outside 0..=9",
            "test.toml:11:1: node.start.on_no_input: no node named `by`",
            "test.toml:13:1: node.start.colour: unknown key (expected one of: action, prompt, options, timeout_secs, retries, interruptible, invalid_prompt, no_input_prompt, on_no_input, on_failure)",
        ]
    );
}
