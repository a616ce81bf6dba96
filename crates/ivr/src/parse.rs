//! One dialplan file's TOML into a [`Draft`]: every key read and typed, and the checks that need
//! only the key itself (windows, DTMF keys, digit bounds, template syntax). Checks across nodes
//! are in `check`.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

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
    pub(crate) nodes: BTreeMap<String, Option<DraftNode>>,
}

/// A node as read; `complete` is false when a field was missing or bad and a stand-in took its
/// place (see `NodeReader`).
pub(crate) struct DraftNode {
    pub(crate) node: Node,
    pub(crate) complete: bool,
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

fn read_node(d: &mut Diagnostics, path: &KeyPath, value: &Value<'_>) -> Option<DraftNode> {
    let DeValue::Table(table) = value.get_ref() else {
        d.invalid(path, wrong_type("a table", value.get_ref()));
        return None;
    };
    let mut f = Fields::new(d, path.clone(), table);
    let action = f.required_string(d, "action")?;
    let mut r = NodeReader {
        d,
        f,
        complete: true,
    };
    let (node, keys) = match action.value.as_str() {
        "play" => (r.play(), PLAY_KEYS),
        "menu" => (r.menu(), MENU_KEYS),
        "collect" => (r.collect(), COLLECT_KEYS),
        "hours" => (r.hours(), HOURS_KEYS),
        "set" => (r.set(), SET_KEYS),
        "branch" => (r.branch(), BRANCH_KEYS),
        "queue" => (r.queue(), QUEUE_KEYS),
        "transfer" => (r.transfer(), TRANSFER_KEYS),
        "hangup" => (r.hangup(), HANGUP_KEYS),
        other => {
            // The other keys cannot be judged without knowing what the node is meant to be.
            r.d.invalid(
                &action.path,
                Problem::UnknownAction {
                    action: other.to_owned(),
                },
            );
            return None;
        }
    };
    let complete = r.complete;
    r.f.finish(r.d, keys);
    Some(DraftNode { node, complete })
}

/// Reads one node's fields. A field that is missing or bad is reported and replaced by a
/// stand-in (an empty name or template, the default number) and the node is marked incomplete:
/// the rest of it is still checked, so one mistake does not hide the others, but it is never
/// run. Checks skip empty stand-ins, whose problem is already reported.
struct NodeReader<'a, 't, 'i> {
    d: &'a mut Diagnostics,
    f: Fields<'t, 'i>,
    complete: bool,
}

impl NodeReader<'_, '_, '_> {
    fn bad<T>(&mut self, stand_in: T) -> T {
        self.complete = false;
        stand_in
    }

    fn template(&mut self, s: Str) -> Template {
        match Template::parse(&s.value) {
            Ok(t) => t,
            Err(e) => {
                self.d.invalid(
                    &s.path,
                    Problem::BadTemplate {
                        template: s.value,
                        reason: e.reason(),
                    },
                );
                self.bad(Template::empty())
            }
        }
    }

    /// A required prompt or destination: present, not empty, and a valid template.
    fn required_template(&mut self, key: &str) -> Template {
        match self.f.required_string(self.d, key) {
            Some(s) => self.template(s),
            None => self.bad(Template::empty()),
        }
    }

    /// An optional prompt: when given, not empty.
    fn optional_template(&mut self, key: &str) -> Option<Template> {
        let present = self.f.peek(key).is_some();
        match self.f.string(self.d, key) {
            None if present => self.bad(None),
            None => None,
            Some(s) if s.value.is_empty() => {
                self.d.invalid(&s.path, Problem::Empty);
                self.bad(None)
            }
            Some(s) => Some(self.template(s)),
        }
    }

    fn target(&mut self, key: &str) -> String {
        match self.f.required_string(self.d, key) {
            Some(s) => s.value,
            None => self.bad(String::new()),
        }
    }

    fn boolean(&mut self, key: &str, default: bool) -> bool {
        let present = self.f.peek(key).is_some();
        let value = self.f.boolean(self.d, key, default);
        if present
            && !matches!(
                self.f.peek(key).map(|v| v.get_ref()),
                Some(DeValue::Boolean(_))
            )
        {
            self.complete = false;
        }
        value
    }

    fn integer_or(&mut self, key: &str, default: u32, range: RangeInclusive<u32>) -> u32 {
        let present = self.f.peek(key).is_some();
        match self.f.integer(self.d, key, range) {
            Some(n) => n,
            None if present => self.bad(default),
            None => default,
        }
    }

    fn var_name(&mut self) -> String {
        let Some(s) = self.f.required_string(self.d, "var") else {
            return self.bad(String::new());
        };
        let valid = s
            .value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && s.value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if STANDARD_VARS.contains(&s.value.as_str()) {
            self.d
                .invalid(&s.path, Problem::ReservedVar { name: s.value });
            self.bad(String::new())
        } else if !valid {
            self.d
                .invalid(&s.path, Problem::BadVarName { name: s.value });
            self.bad(String::new())
        } else {
            s.value
        }
    }

    fn play(&mut self) -> Node {
        let present = self.f.peek("prompts").is_some();
        let mut prompts = Vec::new();
        match self.f.strings(self.d, "prompts") {
            None => {
                if !present {
                    self.d
                        .invalid(&self.f.path().key("prompts"), Problem::Missing);
                }
                self.complete = false;
            }
            Some(list) => {
                if list.is_empty() {
                    self.d
                        .invalid(&self.f.path().key("prompts"), Problem::Empty);
                    self.complete = false;
                }
                if let Some(DeValue::Array(all)) = self.f.peek("prompts").map(|v| v.get_ref())
                    && all.len() != list.len()
                {
                    // Elements of the wrong type were reported and left out.
                    self.complete = false;
                }
                for s in list {
                    if s.value.is_empty() {
                        self.d.invalid(&s.path, Problem::Empty);
                        self.complete = false;
                    } else {
                        let t = self.template(s);
                        prompts.push(t);
                    }
                }
            }
        }
        let interruptible = self.boolean("interruptible", false);
        let next = self.target("next");
        Node::Play(Play {
            prompts,
            interruptible,
            next,
        })
    }

    fn options(&mut self) -> BTreeMap<char, String> {
        let mut options = BTreeMap::new();
        let present = self.f.peek("options").is_some();
        let Some(mut table) = self.f.table(self.d, "options") else {
            if !present {
                self.d
                    .invalid(&self.f.path().key("options"), Problem::Missing);
            }
            return self.bad(options);
        };
        let path = table.path().clone();
        let entries = table.entries();
        if entries.is_empty() {
            self.d.invalid(&path, Problem::Empty);
            self.complete = false;
        }
        for (key, value) in entries {
            let at = path.key(key);
            let digit = dtmf::single_key(key);
            if digit.is_none() {
                self.d.invalid(
                    &at,
                    Problem::NotDtmf {
                        key: key.to_owned(),
                    },
                );
                self.complete = false;
            }
            let target = match value.get_ref() {
                DeValue::String(s) if s.is_empty() => {
                    self.d.invalid(&at, Problem::Empty);
                    self.bad(String::new())
                }
                DeValue::String(s) => s.to_string(),
                other => {
                    self.d.invalid(&at, wrong_type("a node name", other));
                    self.bad(String::new())
                }
            };
            if let Some(digit) = digit {
                options.insert(digit, target);
            }
        }
        options
    }

    fn menu(&mut self) -> Node {
        Node::Menu(Menu {
            prompt: self.required_template("prompt"),
            options: self.options(),
            timeout_secs: self.integer_or("timeout_secs", 5, 1..=120),
            retries: self.integer_or("retries", 2, 0..=9),
            interruptible: self.boolean("interruptible", true),
            invalid_prompt: self.optional_template("invalid_prompt"),
            no_input_prompt: self.optional_template("no_input_prompt"),
            on_no_input: self.target("on_no_input"),
            on_failure: self.target("on_failure"),
        })
    }

    fn collect(&mut self) -> Node {
        let prompt = self.required_template("prompt");
        let var = self.var_name();
        let min_digits = self.integer_or("min_digits", 1, 0..=MAX_DIGITS);
        let max_present = self.f.peek("max_digits").is_some();
        let max_digits = match self.f.integer(self.d, "max_digits", 1..=MAX_DIGITS) {
            Some(n) => Some(n),
            None => {
                if !max_present {
                    self.d
                        .invalid(&self.f.path().key("max_digits"), Problem::Missing);
                }
                self.bad(None)
            }
        };
        if let Some(max) = max_digits
            && min_digits > max
        {
            self.d.invalid(
                &self.f.path().key("min_digits"),
                Problem::DigitBounds {
                    min: min_digits,
                    max,
                },
            );
            self.complete = false;
        }
        let terminator = match self.f.string(self.d, "terminator") {
            None => {
                if self.f.peek("terminator").is_some() {
                    self.complete = false;
                }
                None
            }
            Some(s) => match dtmf::single_key(&s.value) {
                Some(key) => Some(key),
                None => {
                    self.d.invalid(&s.path, Problem::NotDtmf { key: s.value });
                    self.bad(None)
                }
            },
        };
        Node::Collect(Collect {
            prompt,
            var,
            min_digits,
            max_digits: max_digits.unwrap_or(MAX_DIGITS),
            terminator,
            first_digit_timeout_secs: self.integer_or("first_digit_timeout_secs", 8, 1..=120),
            inter_digit_timeout_secs: self.integer_or("inter_digit_timeout_secs", 4, 1..=60),
            retries: self.integer_or("retries", 1, 0..=9),
            interruptible: self.boolean("interruptible", true),
            invalid_prompt: self.optional_template("invalid_prompt"),
            no_input_prompt: self.optional_template("no_input_prompt"),
            next: self.target("next"),
            on_failure: self.target("on_failure"),
        })
    }

    fn hours(&mut self) -> Node {
        Node::Hours(Hours {
            schedule: self.target("schedule"),
            open: self.target("open"),
            closed: self.target("closed"),
        })
    }

    fn set(&mut self) -> Node {
        let var = self.var_name();
        // An empty value is allowed: it clears the variable.
        let present = self.f.peek("value").is_some();
        let value = match self.f.string(self.d, "value") {
            Some(s) => self.template(s),
            None => {
                if !present {
                    self.d
                        .invalid(&self.f.path().key("value"), Problem::Missing);
                }
                self.bad(Template::empty())
            }
        };
        Node::Set(SetVar {
            var,
            value,
            next: self.target("next"),
        })
    }

    fn branch(&mut self) -> Node {
        let when = match self.f.required_string(self.d, "when") {
            Some(s) => match Condition::parse(&s.value) {
                Some(c) => c,
                None => {
                    self.d
                        .invalid(&s.path, Problem::BadCondition { text: s.value });
                    self.bad(Condition::IsTrue(String::new()))
                }
            },
            None => self.bad(Condition::IsTrue(String::new())),
        };
        Node::Branch(Branch {
            when,
            then: self.target("then"),
            otherwise: self.target("else"),
        })
    }

    fn queue(&mut self) -> Node {
        let group = self.target("group");
        // Unlike a prompt, an empty `also_ring` is allowed: it means nobody is rung in parallel.
        let present = self.f.peek("also_ring").is_some();
        let also_ring = match self.f.string(self.d, "also_ring") {
            Some(s) => Some(self.template(s)),
            None if present => self.bad(None),
            None => None,
        };
        Node::Queue(Queue {
            group,
            also_ring,
            prompt: self.optional_template("prompt"),
        })
    }

    fn transfer(&mut self) -> Node {
        Node::Transfer(Transfer {
            to: self.required_template("to"),
            prompt: self.optional_template("prompt"),
        })
    }

    fn hangup(&mut self) -> Node {
        Node::Hangup(Hangup {
            prompt: self.optional_template("prompt"),
        })
    }
}
