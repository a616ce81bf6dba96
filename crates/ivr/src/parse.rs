//! One dialplan file's TOML into a [`Draft`]: every key read and typed, and the checks that need
//! only the key itself (windows, DTMF keys, digit bounds, template syntax). Checks across nodes
//! are in `check`.

use std::collections::BTreeMap;

use chrono::NaiveTime;
use hotline_calendar::{BusinessHours, BusinessHoursError};
use toml::de::{DeTable, DeValue};

use crate::condition::Condition;
use crate::diagnostics::Diagnostics;
use crate::dialplan::{
    Branch, Collect, DEFAULT_FALLBACK_GROUP, Hangup, Hours, Menu, Node, Play, Queue, SetVar,
    Transfer,
};
use crate::dtmf;
use crate::error::Problem;
use crate::fields::{Fields, Str, Value, wrong_type};
use crate::key_path::KeyPath;
use crate::template::Template;
use crate::vars::STANDARD_VARS;

/// The annex modes (hotlines.toml's `mode` values). Listed here rather than taken from
/// hotline-config so this crate stays free of the configuration loader; a test of the shipped
/// files keeps them in step.
pub(crate) const MODES: [&str; 6] = [
    "hotline",
    "direct-merge",
    "remote-seat",
    "interconnect",
    "emergency",
    "guidance-only",
];

/// Longest number a collect node takes: also the type-ahead bound, so a caller who typed a
/// whole number ahead loses none of it.
pub(crate) const MAX_DIGITS: u32 = 32;

/// A dialplan as read, before the checks across nodes. Parts that failed to read are `None`
/// (their problem is reported), so later checks can tell "missing" from "broken" and not report
/// the consequences of one mistake twice.
pub(crate) struct Draft {
    pub(crate) name: Option<Str>,
    pub(crate) modes: Vec<Str>,
    pub(crate) numbers: Vec<Str>,
    pub(crate) entry: Option<Str>,
    pub(crate) fallback_group: String,
    pub(crate) schedules: BTreeMap<String, Option<BusinessHours>>,
    pub(crate) nodes: BTreeMap<String, Option<Node>>,
}

pub(crate) fn dialplan_path() -> KeyPath {
    KeyPath::root().key("dialplan")
}

pub(crate) fn node_path(name: &str) -> KeyPath {
    KeyPath::root().key("node").key(name)
}

/// Reads one file. `None` when the text is not TOML: keys cannot be checked reliably in a text
/// that did not parse.
pub(crate) fn parse(d: &mut Diagnostics, text: &str) -> Option<Draft> {
    let (root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        for e in syntax {
            d.syntax(e.span().map_or(0, |s| s.start), e.message().to_owned());
        }
        return None;
    }
    let root = root.into_inner();
    let mut top = Fields::new(d, KeyPath::root(), &root);
    let mut draft = Draft {
        name: None,
        modes: Vec::new(),
        numbers: Vec::new(),
        entry: None,
        fallback_group: DEFAULT_FALLBACK_GROUP.to_owned(),
        schedules: BTreeMap::new(),
        nodes: BTreeMap::new(),
    };
    match top.table(d, "dialplan") {
        Some(header) => read_header(d, header, &mut draft),
        None if !root.contains_key("dialplan") => d.invalid(&dialplan_path(), Problem::Missing),
        None => {}
    }
    if let Some(mut schedules) = top.table(d, "schedule") {
        let path = schedules.path().clone();
        for (name, value) in schedules.entries() {
            let hours = read_schedule(d, &path.key(name), value);
            draft.schedules.insert(name.to_owned(), hours);
        }
    }
    match top.table(d, "node") {
        Some(mut nodes) => {
            for (name, value) in nodes.entries() {
                let path = node_path(name);
                if !is_node_name(name) {
                    d.invalid(
                        &path,
                        Problem::BadNodeName {
                            name: name.to_owned(),
                        },
                    );
                }
                let node = read_node(d, &path, value);
                draft.nodes.insert(name.to_owned(), node);
            }
        }
        None if !root.contains_key("node") => {
            d.invalid(&KeyPath::root().key("node"), Problem::Missing)
        }
        None => {}
    }
    top.finish(d, &["dialplan", "schedule", "node"]);
    Some(draft)
}

/// Node names appear in call records joined with ` > ` and `:`, so they keep to characters that
/// cannot be confused with those separators.
fn is_node_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn read_header(d: &mut Diagnostics, mut f: Fields<'_, '_>, draft: &mut Draft) {
    draft.name = f.required_string(d, "name");
    if let Some(modes) = f.strings(d, "modes") {
        for mode in unique(d, modes) {
            if MODES.contains(&mode.value.as_str()) {
                draft.modes.push(mode);
            } else {
                d.invalid(
                    &mode.path,
                    Problem::UnknownMode {
                        mode: mode.value.clone(),
                    },
                );
            }
        }
    }
    if let Some(numbers) = f.strings(d, "numbers") {
        for number in unique(d, numbers) {
            if number.value.is_empty() {
                d.invalid(&number.path, Problem::Empty);
            } else {
                draft.numbers.push(number);
            }
        }
    }
    let serves_something = [f.peek("modes"), f.peek("numbers")]
        .into_iter()
        .any(|v| v.is_some_and(|v| !matches!(v.get_ref(), DeValue::Array(a) if a.is_empty())));
    if !serves_something {
        d.invalid(f.path(), Problem::ServesNothing);
    }
    draft.entry = f.required_string(d, "entry");
    if let Some(group) = f.string(d, "fallback_group") {
        if group.value.is_empty() {
            d.invalid(&group.path, Problem::Empty);
        } else {
            draft.fallback_group = group.value;
        }
    }
    f.finish(d, &["name", "modes", "numbers", "entry", "fallback_group"]);
}

/// Drops and reports repeats within one list.
fn unique(d: &mut Diagnostics, items: Vec<Str>) -> Vec<Str> {
    let mut seen: Vec<Str> = Vec::with_capacity(items.len());
    for item in items {
        if seen.iter().any(|s| s.value == item.value) {
            d.invalid(
                &item.path,
                Problem::Duplicate {
                    value: item.value.clone(),
                },
            );
        } else {
            seen.push(item);
        }
    }
    seen
}

fn read_schedule(d: &mut Diagnostics, path: &KeyPath, value: &Value<'_>) -> Option<BusinessHours> {
    let DeValue::Table(table) = value.get_ref() else {
        d.invalid(path, wrong_type("a table", value.get_ref()));
        return None;
    };
    let mut f = Fields::new(d, path.clone(), table);
    let present = table.contains_key("windows");
    let windows = f.strings(d, "windows");
    f.finish(d, &["windows"]);
    let Some(windows) = windows else {
        if !present {
            d.invalid(&path.key("windows"), Problem::Missing);
        }
        return None;
    };
    if windows.is_empty() {
        d.invalid(&path.key("windows"), Problem::Empty);
        return None;
    }
    let mut parsed = Vec::with_capacity(windows.len());
    for w in &windows {
        match parse_window(&w.value) {
            None => d.invalid(
                &w.path,
                Problem::BadWindow {
                    text: w.value.clone(),
                },
            ),
            // Checked alone first, so an empty window is reported at itself.
            Some(window) => match BusinessHours::new(vec![window]) {
                Ok(_) => parsed.push((window, &w.path)),
                Err(e) => d.invalid(&w.path, Problem::Hours(e)),
            },
        }
    }
    if parsed.len() < windows.len() {
        return None;
    }
    match BusinessHours::new(parsed.iter().map(|(w, _)| *w).collect()) {
        Ok(hours) => Some(hours),
        Err(e) => {
            // The later of two overlapping windows is the one that collides.
            let at = match &e {
                BusinessHoursError::Overlap {
                    second_start,
                    second_end,
                    ..
                } => parsed
                    .iter()
                    .find(|((s, e), _)| s == second_start && e == second_end)
                    .map_or_else(|| path.key("windows"), |(_, p)| (*p).clone()),
                _ => path.key("windows"),
            };
            d.invalid(&at, Problem::Hours(e));
            None
        }
    }
}

/// `HH:MM-HH:MM`; an end of `24:00` means up to midnight.
fn parse_window(text: &str) -> Option<(NaiveTime, NaiveTime)> {
    let (start, end) = text.split_once('-')?;
    let start = parse_time(start.trim())?;
    let end = match end.trim() {
        // NaiveTime has no 24:00; the last representable instant closes the day, and windows
        // are half-open, so only that last nanosecond is lost.
        "24:00" => NaiveTime::from_hms_nano_opt(23, 59, 59, 999_999_999)?,
        e => parse_time(e)?,
    };
    Some((start, end))
}

fn parse_time(text: &str) -> Option<NaiveTime> {
    let (h, m) = text.split_once(':')?;
    let two_digits = |s: &str| s.len() == 2 && s.chars().all(|c| c.is_ascii_digit());
    if !two_digits(h) || !two_digits(m) {
        return None;
    }
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

const PLAY_KEYS: &[&str] = &["action", "prompts", "interruptible", "next"];
const MENU_KEYS: &[&str] = &[
    "action",
    "prompt",
    "options",
    "timeout_secs",
    "retries",
    "interruptible",
    "invalid_prompt",
    "no_input_prompt",
    "on_no_input",
    "on_failure",
];
const COLLECT_KEYS: &[&str] = &[
    "action",
    "prompt",
    "var",
    "min_digits",
    "max_digits",
    "terminator",
    "first_digit_timeout_secs",
    "inter_digit_timeout_secs",
    "retries",
    "interruptible",
    "invalid_prompt",
    "no_input_prompt",
    "next",
    "on_failure",
];
const HOURS_KEYS: &[&str] = &["action", "schedule", "open", "closed"];
const SET_KEYS: &[&str] = &["action", "var", "value", "next"];
const BRANCH_KEYS: &[&str] = &["action", "when", "then", "else"];
const QUEUE_KEYS: &[&str] = &["action", "group", "also_ring", "prompt"];
const TRANSFER_KEYS: &[&str] = &["action", "to", "prompt"];
const HANGUP_KEYS: &[&str] = &["action", "prompt"];

fn read_node(d: &mut Diagnostics, path: &KeyPath, value: &Value<'_>) -> Option<Node> {
    let DeValue::Table(table) = value.get_ref() else {
        d.invalid(path, wrong_type("a table", value.get_ref()));
        return None;
    };
    let mut f = Fields::new(d, path.clone(), table);
    let action = f.required_string(d, "action")?;
    let (node, keys) = match action.value.as_str() {
        "play" => (read_play(d, &mut f), PLAY_KEYS),
        "menu" => (read_menu(d, &mut f), MENU_KEYS),
        "collect" => (read_collect(d, &mut f), COLLECT_KEYS),
        "hours" => (read_hours(d, &mut f), HOURS_KEYS),
        "set" => (read_set(d, &mut f), SET_KEYS),
        "branch" => (read_branch(d, &mut f), BRANCH_KEYS),
        "queue" => (read_queue(d, &mut f), QUEUE_KEYS),
        "transfer" => (read_transfer(d, &mut f), TRANSFER_KEYS),
        "hangup" => (read_hangup(d, &mut f), HANGUP_KEYS),
        other => {
            // The other keys cannot be judged without knowing what the node is meant to be.
            d.invalid(
                &action.path,
                Problem::UnknownAction {
                    action: other.to_owned(),
                },
            );
            return None;
        }
    };
    f.finish(d, keys);
    node
}

fn template(d: &mut Diagnostics, s: Str) -> Option<Template> {
    match Template::parse(&s.value) {
        Ok(t) => Some(t),
        Err(e) => {
            d.invalid(
                &s.path,
                Problem::BadTemplate {
                    template: s.value,
                    reason: e.reason(),
                },
            );
            None
        }
    }
}

/// A required prompt (or destination): present, not empty, and a valid template.
fn required_template(d: &mut Diagnostics, f: &mut Fields<'_, '_>, key: &str) -> Option<Template> {
    let s = f.required_string(d, key)?;
    template(d, s)
}

/// An optional prompt; `Err` when present but bad, so the node is not built from a stand-in.
fn optional_template(
    d: &mut Diagnostics,
    f: &mut Fields<'_, '_>,
    key: &str,
) -> Result<Option<Template>, ()> {
    let present = f.peek(key).is_some();
    match f.string(d, key) {
        None if present => Err(()),
        None => Ok(None),
        Some(s) if s.value.is_empty() => {
            d.invalid(&s.path, Problem::Empty);
            Err(())
        }
        Some(s) => template(d, s).map(Some).ok_or(()),
    }
}

fn target(d: &mut Diagnostics, f: &mut Fields<'_, '_>, key: &str) -> Option<String> {
    f.required_string(d, key).map(|s| s.value)
}

/// An optional integer with a default; `Err` when present but bad.
fn integer_or(
    d: &mut Diagnostics,
    f: &mut Fields<'_, '_>,
    key: &str,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, ()> {
    let present = f.peek(key).is_some();
    match f.integer(d, key, range) {
        Some(n) => Ok(n),
        None if present => Err(()),
        None => Ok(default),
    }
}

fn var_name(d: &mut Diagnostics, f: &mut Fields<'_, '_>) -> Option<String> {
    let s = f.required_string(d, "var")?;
    let valid = s
        .value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if STANDARD_VARS.contains(&s.value.as_str()) {
        d.invalid(&s.path, Problem::ReservedVar { name: s.value });
        None
    } else if !valid {
        d.invalid(&s.path, Problem::BadVarName { name: s.value });
        None
    } else {
        Some(s.value)
    }
}

fn read_play(d: &mut Diagnostics, f: &mut Fields<'_, '_>) -> Option<Node> {
    let present = f.peek("prompts").is_some();
    let prompts = match f.strings(d, "prompts") {
        None => {
            if !present {
                d.invalid(&f.path().key("prompts"), Problem::Missing);
            }
            None
        }
        Some(list) if list.is_empty() => {
            d.invalid(&f.path().key("prompts"), Problem::Empty);
            None
        }
        Some(list) => {
            let count = list.len();
            let mut out = Vec::with_capacity(count);
            for s in list {
                if s.value.is_empty() {
                    d.invalid(&s.path, Problem::Empty);
                } else if let Some(t) = template(d, s) {
                    out.push(t);
                }
            }
            (out.len() == count).then_some(out)
        }
    };
    let interruptible = f.boolean(d, "interruptible", false);
    let next = target(d, f, "next");
    Some(Node::Play(Play {
        prompts: prompts?,
        interruptible,
        next: next?,
    }))
}

fn read_options(d: &mut Diagnostics, f: &mut Fields<'_, '_>) -> Option<BTreeMap<char, String>> {
    let present = f.peek("options").is_some();
    let Some(mut table) = f.table(d, "options") else {
        if !present {
            d.invalid(&f.path().key("options"), Problem::Missing);
        }
        return None;
    };
    let path = table.path().clone();
    let entries = table.entries();
    if entries.is_empty() {
        d.invalid(&path, Problem::Empty);
        return None;
    }
    let mut options = BTreeMap::new();
    let mut ok = true;
    for (key, value) in entries {
        let at = path.key(key);
        let Some(digit) = dtmf::single_key(key) else {
            d.invalid(
                &at,
                Problem::NotDtmf {
                    key: key.to_owned(),
                },
            );
            ok = false;
            continue;
        };
        match value.get_ref() {
            DeValue::String(s) if s.is_empty() => {
                d.invalid(&at, Problem::Empty);
                ok = false;
            }
            DeValue::String(s) => {
                options.insert(digit, s.to_string());
            }
            other => {
                d.invalid(&at, wrong_type("a node name", other));
                ok = false;
            }
        }
    }
    ok.then_some(options)
}

fn read_menu(d: &mut Diagnostics, f: &mut Fields<'_, '_>) -> Option<Node> {
    let prompt = required_template(d, f, "prompt");
    let options = read_options(d, f);
    let timeout_secs = integer_or(d, f, "timeout_secs", 5, 1..=120);
    let retries = integer_or(d, f, "retries", 2, 0..=9);
    let interruptible = f.boolean(d, "interruptible", true);
    let invalid_prompt = optional_template(d, f, "invalid_prompt");
    let no_input_prompt = optional_template(d, f, "no_input_prompt");
    let on_no_input = target(d, f, "on_no_input");
    let on_failure = target(d, f, "on_failure");
    Some(Node::Menu(Menu {
        prompt: prompt?,
        options: options?,
        timeout_secs: timeout_secs.ok()?,
        retries: retries.ok()?,
        interruptible,
        invalid_prompt: invalid_prompt.ok()?,
        no_input_prompt: no_input_prompt.ok()?,
        on_no_input: on_no_input?,
        on_failure: on_failure?,
    }))
}

fn read_collect(d: &mut Diagnostics, f: &mut Fields<'_, '_>) -> Option<Node> {
    let prompt = required_template(d, f, "prompt");
    let var = var_name(d, f);
    let min_digits = integer_or(d, f, "min_digits", 1, 0..=MAX_DIGITS);
    let max_present = f.peek("max_digits").is_some();
    let max_digits = f.integer(d, "max_digits", 1..=MAX_DIGITS);
    if !max_present {
        d.invalid(&f.path().key("max_digits"), Problem::Missing);
    }
    if let (Ok(min), Some(max)) = (min_digits, max_digits)
        && min > max
    {
        d.invalid(
            &f.path().key("min_digits"),
            Problem::DigitBounds { min, max },
        );
    }
    let terminator = match f.string(d, "terminator") {
        None => Ok(None),
        Some(s) => match dtmf::single_key(&s.value) {
            Some(key) => Ok(Some(key)),
            None => {
                d.invalid(&s.path, Problem::NotDtmf { key: s.value });
                Err(())
            }
        },
    };
    let first = integer_or(d, f, "first_digit_timeout_secs", 8, 1..=120);
    let inter = integer_or(d, f, "inter_digit_timeout_secs", 4, 1..=60);
    let retries = integer_or(d, f, "retries", 1, 0..=9);
    let interruptible = f.boolean(d, "interruptible", true);
    let invalid_prompt = optional_template(d, f, "invalid_prompt");
    let no_input_prompt = optional_template(d, f, "no_input_prompt");
    let next = target(d, f, "next");
    let on_failure = target(d, f, "on_failure");
    let (min_digits, max_digits) = (min_digits.ok()?, max_digits?);
    if min_digits > max_digits {
        return None;
    }
    Some(Node::Collect(Collect {
        prompt: prompt?,
        var: var?,
        min_digits,
        max_digits,
        terminator: terminator.ok()?,
        first_digit_timeout_secs: first.ok()?,
        inter_digit_timeout_secs: inter.ok()?,
        retries: retries.ok()?,
        interruptible,
        invalid_prompt: invalid_prompt.ok()?,
        no_input_prompt: no_input_prompt.ok()?,
        next: next?,
        on_failure: on_failure?,
    }))
}

fn read_hours(d: &mut Diagnostics, f: &mut Fields<'_, '_>) -> Option<Node> {
    let schedule = target(d, f, "schedule");
    let open = target(d, f, "open");
    let closed = target(d, f, "closed");
    Some(Node::Hours(Hours {
        schedule: schedule?,
        open: open?,
        closed: closed?,
    }))
}

fn read_set(d: &mut Diagnostics, f: &mut Fields<'_, '_>) -> Option<Node> {
    let var = var_name(d, f);
    // An empty value is allowed: it clears the variable.
    let present = f.peek("value").is_some();
    let value = f.string(d, "value");
    if !present {
        d.invalid(&f.path().key("value"), Problem::Missing);
    }
    let value = value.and_then(|s| template(d, s));
    let next = target(d, f, "next");
    Some(Node::Set(SetVar {
        var: var?,
        value: value?,
        next: next?,
    }))
}

fn read_branch(d: &mut Diagnostics, f: &mut Fields<'_, '_>) -> Option<Node> {
    let when = f.required_string(d, "when").and_then(|s| {
        let parsed = Condition::parse(&s.value);
        if parsed.is_none() {
            d.invalid(&s.path, Problem::BadCondition { text: s.value });
        }
        parsed
    });
    let then = target(d, f, "then");
    let otherwise = target(d, f, "else");
    Some(Node::Branch(Branch {
        when: when?,
        then: then?,
        otherwise: otherwise?,
    }))
}

fn read_queue(d: &mut Diagnostics, f: &mut Fields<'_, '_>) -> Option<Node> {
    let group = f.required_string(d, "group");
    // Unlike a prompt, an empty `also_ring` is allowed: it means nobody is rung in parallel.
    let also_ring = match f.string(d, "also_ring") {
        None => Ok(None),
        Some(s) => template(d, s).map(Some).ok_or(()),
    };
    let prompt = optional_template(d, f, "prompt");
    Some(Node::Queue(Queue {
        group: group?.value,
        also_ring: also_ring.ok()?,
        prompt: prompt.ok()?,
    }))
}

fn read_transfer(d: &mut Diagnostics, f: &mut Fields<'_, '_>) -> Option<Node> {
    let to = required_template(d, f, "to");
    let prompt = optional_template(d, f, "prompt");
    Some(Node::Transfer(Transfer {
        to: to?,
        prompt: prompt.ok()?,
    }))
}

fn read_hangup(d: &mut Diagnostics, f: &mut Fields<'_, '_>) -> Option<Node> {
    let prompt = optional_template(d, f, "prompt");
    Some(Node::Hangup(Hangup {
        prompt: prompt.ok()?,
    }))
}
