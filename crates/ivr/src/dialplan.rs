//! A loaded, validated dialplan: its nodes and schedules. Only loading builds one, so every
//! target names a node and every schedule exists.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use hotline_calendar::{BusinessHours, Calendar};

use crate::condition::Condition;
use crate::template::Template;

/// The fallback queue group when a dialplan names none.
pub const DEFAULT_FALLBACK_GROUP: &str = "default";

#[derive(Clone)]
pub struct Dialplan {
    pub(crate) name: String,
    pub(crate) source: String,
    pub(crate) modes: Vec<String>,
    pub(crate) numbers: Vec<String>,
    pub(crate) entry: String,
    pub(crate) fallback_group: String,
    pub(crate) schedules: BTreeMap<String, BusinessHours>,
    pub(crate) nodes: BTreeMap<String, Node>,
    pub(crate) calendar: Arc<Calendar>,
}

impl Dialplan {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file (or test name) it was loaded from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Annex line modes whose calls use this dialplan.
    pub fn modes(&self) -> &[String] {
        &self.modes
    }

    /// Dialed numbers whose calls use this dialplan, whatever their line's mode.
    pub fn numbers(&self) -> &[String] {
        &self.numbers
    }

    pub fn entry(&self) -> &str {
        &self.entry
    }

    /// Where a call goes when the runtime loop guard trips.
    pub fn fallback_group(&self) -> &str {
        &self.fallback_group
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.get(name)
    }

    pub fn nodes(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.nodes.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn schedule(&self, name: &str) -> Option<&BusinessHours> {
        self.schedules.get(name)
    }

    /// The working-day calendar `hours` nodes consult.
    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    /// The same dialplan on another calendar, e.g. after the admin overrides changed.
    pub fn with_calendar(mut self, calendar: Arc<Calendar>) -> Self {
        self.calendar = calendar;
        self
    }
}

impl fmt::Debug for Dialplan {
    // The calendar is shared data, hundreds of dates long, and says nothing about the dialplan.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dialplan")
            .field("name", &self.name)
            .field("source", &self.source)
            .field("modes", &self.modes)
            .field("numbers", &self.numbers)
            .field("entry", &self.entry)
            .field("fallback_group", &self.fallback_group)
            .field("schedules", &self.schedules)
            .field("nodes", &self.nodes)
            .finish_non_exhaustive()
    }
}

/// One step of a dialplan, by its `action`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Node {
    Play(Play),
    Menu(Menu),
    Collect(Collect),
    Hours(Hours),
    Set(SetVar),
    Branch(Branch),
    Queue(Queue),
    Transfer(Transfer),
    Hangup(Hangup),
}

impl Node {
    /// The `action` value that makes this kind of node.
    pub fn action(&self) -> &'static str {
        match self {
            Node::Play(_) => "play",
            Node::Menu(_) => "menu",
            Node::Collect(_) => "collect",
            Node::Hours(_) => "hours",
            Node::Set(_) => "set",
            Node::Branch(_) => "branch",
            Node::Queue(_) => "queue",
            Node::Transfer(_) => "transfer",
            Node::Hangup(_) => "hangup",
        }
    }

    /// Queue, transfer and hangup end the IVR part of a call.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Node::Queue(_) | Node::Transfer(_) | Node::Hangup(_))
    }

    /// The nodes this one can lead to.
    pub fn successors(&self) -> impl Iterator<Item = &str> {
        self.edges().into_iter().map(|e| e.target)
    }

    /// The nodes this one can lead to, each with the key that names it.
    pub(crate) fn edges(&self) -> Vec<Edge<'_>> {
        fn e<'a>(field: &'static str, target: &'a str) -> Edge<'a> {
            Edge {
                field,
                option: None,
                target,
            }
        }
        match self {
            Node::Play(p) => vec![e("next", &p.next)],
            Node::Menu(m) => m
                .options
                .iter()
                .map(|(key, target)| Edge {
                    field: "options",
                    option: Some(*key),
                    target: target.as_str(),
                })
                .chain([
                    e("on_no_input", &m.on_no_input),
                    e("on_failure", &m.on_failure),
                ])
                .collect(),
            Node::Collect(c) => vec![e("next", &c.next), e("on_failure", &c.on_failure)],
            Node::Hours(h) => vec![e("open", &h.open), e("closed", &h.closed)],
            Node::Set(s) => vec![e("next", &s.next)],
            Node::Branch(b) => vec![e("then", &b.then), e("else", &b.otherwise)],
            Node::Queue(_) | Node::Transfer(_) | Node::Hangup(_) => Vec::new(),
        }
    }
}

/// A node's reference to another: the key it is written at (`options` with the key for menu
/// options) and the node named.
pub(crate) struct Edge<'a> {
    pub(crate) field: &'static str,
    pub(crate) option: Option<char>,
    pub(crate) target: &'a str,
}

/// `action = "play"`: announcements, then `next`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Play {
    pub prompts: Vec<Template>,
    /// A key pressed during playback stops it and is kept for the next menu or collect.
    pub interruptible: bool,
    pub next: String,
}

/// `action = "menu"`: a prompt, then one DTMF key chooses the next node.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Menu {
    pub prompt: Template,
    pub options: BTreeMap<char, String>,
    pub timeout_secs: u32,
    /// How many times the menu repeats after no input or an invalid key.
    pub retries: u32,
    pub interruptible: bool,
    pub invalid_prompt: Option<Template>,
    pub no_input_prompt: Option<Template>,
    /// Where a caller goes who never pressed a key, once the retries are used up.
    pub on_no_input: String,
    /// Where a caller goes after invalid keys, once the retries are used up.
    pub on_failure: String,
}

/// `action = "collect"`: digits into a variable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Collect {
    pub prompt: Template,
    pub var: String,
    pub min_digits: u32,
    pub max_digits: u32,
    pub terminator: Option<char>,
    pub first_digit_timeout_secs: u32,
    pub inter_digit_timeout_secs: u32,
    pub retries: u32,
    pub interruptible: bool,
    pub invalid_prompt: Option<Template>,
    pub no_input_prompt: Option<Template>,
    pub next: String,
    pub on_failure: String,
}

/// `action = "hours"`: `open` inside the schedule's windows on a working day, else `closed`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Hours {
    pub schedule: String,
    pub open: String,
    pub closed: String,
}

/// `action = "set"`: assigns a variable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SetVar {
    pub var: String,
    pub value: Template,
    pub next: String,
}

/// `action = "branch"`: `then` when the condition holds, else `else`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Branch {
    pub when: Condition,
    pub then: String,
    /// The `else` key (a Rust keyword).
    pub otherwise: String,
}

/// `action = "queue"`: hands the call to the ACD.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Queue {
    pub group: String,
    /// A URI rung in parallel with the group (remote seats); empty after expansion means none.
    pub also_ring: Option<Template>,
    pub prompt: Option<Template>,
}

/// `action = "transfer"`: to a number or SIP URI.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transfer {
    pub to: Template,
    pub prompt: Option<Template>,
}

/// `action = "hangup"`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Hangup {
    pub prompt: Option<Template>,
}
