//! The path a call took through its dialplan, for the call record, and how it ended.

use std::fmt;

/// One node visited and what happened there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteStep {
    pub node: String,
    pub what: Step,
}

/// What happened at a node. Shown after the node name: `menu:2`, `hours:closed`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// A play node's prompts were started (shown as the bare node name).
    Played,
    /// A key stopped a play node's prompts, or skipped them because keys were already waiting.
    Interrupted,
    /// A menu key that chose an option.
    Key(char),
    /// A menu key with no option.
    InvalidKey(char),
    /// No key (menu) or no digit (collect) before the timeout.
    Timeout,
    /// Digits collected into a variable.
    Collected {
        var: String,
        value: String,
    },
    /// Fewer digits than `min_digits` (possibly none, when only the terminator was pressed).
    TooFew(String),
    Open,
    Closed,
    /// The calendar has no data for the date; the call took the `open` exit (see `hours`).
    HoursUnknown,
    Branch(bool),
    Set {
        var: String,
        value: String,
    },
    Queue(String),
    Transfer(String),
    Hangup,
    /// The runtime loop guard tripped here.
    LoopGuard,
    /// The call reached a transfer whose destination expanded to nothing.
    NoDestination,
    /// The caller hung up while the call was here.
    CallerHangup,
}

impl fmt::Display for RouteStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let node = &self.node;
        match &self.what {
            Step::Played | Step::Hangup => write!(f, "{node}"),
            Step::Interrupted => write!(f, "{node}:interrupted"),
            Step::Key(k) => write!(f, "{node}:{k}"),
            Step::InvalidKey(k) => write!(f, "{node}:invalid={k}"),
            Step::Timeout => write!(f, "{node}:timeout"),
            Step::Collected { var, value } | Step::Set { var, value } => {
                write!(f, "{node}:{var}={value}")
            }
            Step::TooFew(digits) => write!(f, "{node}:too-few={digits}"),
            Step::Open => write!(f, "{node}:open"),
            Step::Closed => write!(f, "{node}:closed"),
            Step::HoursUnknown => write!(f, "{node}:unknown"),
            Step::Branch(b) => write!(f, "{node}:{b}"),
            Step::Queue(group) => write!(f, "{node}:{group}"),
            Step::Transfer(to) => write!(f, "{node}:{to}"),
            Step::LoopGuard => write!(f, "{node}:loop-guard"),
            Step::NoDestination => write!(f, "{node}:no-destination"),
            Step::CallerHangup => write!(f, "{node}:caller-hangup"),
        }
    }
}

/// How the IVR part of a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    Queued {
        group: String,
        also_ring: Option<String>,
    },
    Transferred {
        to: String,
    },
    HungUp,
    /// More than [`crate::MAX_HOPS`] nodes in a row without waiting for the caller or the media:
    /// the call was queued to the dialplan's fallback group rather than left spinning.
    LoopGuard {
        group: String,
    },
    /// A transfer destination expanded to nothing (a variable the call did not have): the call
    /// was queued to the fallback group instead.
    NoDestination {
        group: String,
    },
    /// The caller hung up first.
    Abandoned,
}
