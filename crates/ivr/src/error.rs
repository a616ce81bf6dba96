//! Errors that name where the bad setting is: file, line, column and key.

use std::fmt;

use hotline_calendar::BusinessHoursError;

use crate::location::Location;

/// One problem found while loading dialplans.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DialplanError {
    /// A file or the directory could not be read at all.
    #[error("{path}: cannot read: {reason}")]
    Read { path: String, reason: String },
    /// The text is not TOML.
    #[error("{at}: {message}")]
    Syntax { at: Location, message: String },
    /// The TOML is well formed but a key or value is wrong.
    #[error("{at}: {key}: {problem}")]
    Invalid {
        at: Location,
        key: String,
        problem: Problem,
    },
}

impl DialplanError {
    /// Where the problem is, when it is inside a file.
    pub fn location(&self) -> Option<&Location> {
        match self {
            DialplanError::Read { .. } => None,
            DialplanError::Syntax { at, .. } | DialplanError::Invalid { at, .. } => Some(at),
        }
    }

    /// What is wrong, for an [`DialplanError::Invalid`].
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            DialplanError::Invalid { problem, .. } => Some(problem),
            _ => None,
        }
    }
}

/// What is wrong at the place a [`DialplanError::Invalid`] points to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    #[error("unknown key (expected one of: {expected})")]
    UnknownKey { expected: String },
    #[error("expected {expected}, found {found}")]
    WrongType {
        expected: &'static str,
        found: &'static str,
    },
    #[error("missing required key")]
    Missing,
    #[error("must not be empty")]
    Empty,
    #[error("`{value}` is listed twice")]
    Duplicate { value: String },
    #[error("{value} is outside {min}..={max}")]
    OutOfRange { value: i64, min: u32, max: u32 },
    #[error(
        "unknown action `{action}` (expected one of: play, menu, collect, hours, set, branch, queue, transfer, hangup)"
    )]
    UnknownAction { action: String },
    #[error(
        "unknown line mode `{mode}` (expected one of: hotline, direct-merge, remote-seat, interconnect, emergency, guidance-only)"
    )]
    UnknownMode { mode: String },
    #[error("the dialplan serves no calls: give `modes` or `numbers`")]
    ServesNothing,
    #[error("`{name}` is not a node name (letters, digits, `_` and `-`)")]
    BadNodeName { name: String },
    #[error("`{text}` is not a window HH:MM-HH:MM")]
    BadWindow { text: String },
    #[error("{0}")]
    Hours(BusinessHoursError),
    #[error("no node named `{name}`")]
    UnknownNode { name: String },
    #[error("no schedule named `{name}`")]
    UnknownSchedule { name: String },
    #[error("`{key}` is not a single DTMF key (0-9, *, #, A-D)")]
    NotDtmf { key: String },
    #[error("min_digits {min} is more than max_digits {max}")]
    DigitBounds { min: u32, max: u32 },
    #[error("`{template}`: {reason}")]
    BadTemplate {
        template: String,
        reason: &'static str,
    },
    #[error(
        "unknown variable `{name}` (known: caller, dialed, line.number, line.unit, line.mode, line.target, line.trunk, line.guidance, line.retired and the vars of set and collect nodes)"
    )]
    UnknownVariable { name: String },
    #[error(
        "`{name}` is not a variable name (ASCII letters, digits and `_`, not starting with a digit)"
    )]
    BadVarName { name: String },
    #[error("`{name}` is set by the platform for every call and cannot be assigned")]
    ReservedVar { name: String },
    #[error("`{text}` is not a condition (use `VAR`, `VAR == VALUE` or `VAR != VALUE`)")]
    BadCondition { text: String },
    #[error("prompt `{prompt}` does not exist{}", for_line(line.as_deref()))]
    MissingPrompt {
        prompt: String,
        /// The number of the line whose variables produced `prompt`, for a templated name.
        line: Option<String>,
    },
    #[error("the destination is empty for line {line}")]
    EmptyDestination { line: String },
    #[error("not reachable from the entry node `{entry}`")]
    Unreachable { entry: String },
    #[error(
        "no queue, transfer or hangup node can be reached from here (a caller would be stuck among: {})",
        stuck.join(", ")
    )]
    NoExit { stuck: Vec<String> },
    #[error("{what} `{value}` is also claimed by {other}")]
    DuplicateClaim {
        /// `mode` or `number`.
        what: &'static str,
        value: String,
        other: Location,
    },
    #[error("dialplan name `{name}` is also used by {other}")]
    DuplicateName { name: String, other: Location },
}

fn for_line(line: Option<&str>) -> String {
    line.map(|n| format!(" (expanded for line {n})"))
        .unwrap_or_default()
}

/// Every problem found, in file order and within a file in source order. Loading reports all of
/// them at once so an operator fixes the files in one round.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DialplanErrors {
    errors: Vec<DialplanError>,
}

impl DialplanErrors {
    pub(crate) fn new(errors: Vec<DialplanError>) -> Self {
        Self { errors }
    }

    pub fn as_slice(&self) -> &[DialplanError] {
        &self.errors
    }

    pub fn into_vec(self) -> Vec<DialplanError> {
        self.errors
    }

    pub fn len(&self) -> usize {
        self.errors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The rendered errors, one string each, for tests and logs.
    pub fn messages(&self) -> Vec<String> {
        self.errors.iter().map(ToString::to_string).collect()
    }
}

impl fmt::Display for DialplanErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}
