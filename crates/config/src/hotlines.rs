//! The annex of hotline numbers (config/hotlines.toml): every number the
//! platform answers and how each is integrated into 12345 (T1-T6).

use std::collections::HashMap;
use std::fmt;

use chrono::{Months, NaiveDate};
use serde::Deserialize;
use toml::value::Datetime;

use crate::deserialize::Problem;
use crate::tree::KeyPath;

/// Used when neither the line nor the file sets one (notice section 4(1)).
pub const DEFAULT_TRANSITION_MONTHS: u32 = 6;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hotlines {
    lines: Vec<Line>,
    by_number: HashMap<String, usize>,
    hotline: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The unit (承办单位) as the annex writes it; a direct-merge call's
    /// work order carries it as the call's origin.
    pub unit: String,
    /// The company within the unit, where the annex names one.
    pub company: Option<String>,
    /// Never empty; the first is the line's main number.
    pub numbers: Vec<String>,
    pub mode: Mode,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// 12345 itself (T1).
    Hotline,
    /// 直接合并 (T2): the old number enters 12345 from `cutover` until
    /// `transition_end` (exclusive), then is retired.
    DirectMerge {
        cutover: NaiveDate,
        transition_end: NaiveDate,
    },
    /// 设置远端座席 (T3): the bureau's remote seat, in parallel with 12345.
    RemoteSeat { target: SipUri },
    /// 对接联通 (T4): the utility's line, in parallel with 12345.
    Interconnect { target: SipUri },
    /// 话务转接 (T5): one-key transfer to the emergency line's trunk.
    Emergency { trunk: SipUri },
    /// 提供话务引导 (T6): not integrated; the caller hears `guidance`.
    GuidanceOnly { guidance: String },
}

/// The mode without its data, for counting and matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModeKind {
    Hotline,
    DirectMerge,
    RemoteSeat,
    Interconnect,
    Emergency,
    GuidanceOnly,
}

impl ModeKind {
    pub const ALL: [ModeKind; 6] = [
        ModeKind::Hotline,
        ModeKind::DirectMerge,
        ModeKind::RemoteSeat,
        ModeKind::Interconnect,
        ModeKind::Emergency,
        ModeKind::GuidanceOnly,
    ];

    /// The name used in hotlines.toml.
    pub fn as_str(self) -> &'static str {
        match self {
            ModeKind::Hotline => "hotline",
            ModeKind::DirectMerge => "direct-merge",
            ModeKind::RemoteSeat => "remote-seat",
            ModeKind::Interconnect => "interconnect",
            ModeKind::Emergency => "emergency",
            ModeKind::GuidanceOnly => "guidance-only",
        }
    }

    /// The keys a line of this mode may have besides unit, company,
    /// numbers and mode.
    fn fields(self) -> &'static [&'static str] {
        match self {
            ModeKind::Hotline => &[],
            ModeKind::DirectMerge => &["cutover", "transition_months", "transition_end"],
            ModeKind::RemoteSeat | ModeKind::Interconnect => &["target"],
            ModeKind::Emergency => &["trunk"],
            ModeKind::GuidanceOnly => &["guidance"],
        }
    }
}

impl fmt::Display for ModeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Mode {
    pub fn kind(&self) -> ModeKind {
        match self {
            Mode::Hotline => ModeKind::Hotline,
            Mode::DirectMerge { .. } => ModeKind::DirectMerge,
            Mode::RemoteSeat { .. } => ModeKind::RemoteSeat,
            Mode::Interconnect { .. } => ModeKind::Interconnect,
            Mode::Emergency { .. } => ModeKind::Emergency,
            Mode::GuidanceOnly { .. } => ModeKind::GuidanceOnly,
        }
    }
}

/// A `sip:`, `sips:` or `tel:` URI, checked only that far: the SIP stack
/// parses it fully when it sends the request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SipUri(String);

impl SipUri {
    pub fn parse(s: &str) -> Option<SipUri> {
        let lower = s.to_ascii_lowercase();
        let rest = ["sip:", "sips:", "tel:"]
            .iter()
            .find_map(|scheme| lower.strip_prefix(scheme))?;
        let clean = !rest.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        clean.then(|| SipUri(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Line {
    pub fn kind(&self) -> ModeKind {
        self.mode.kind()
    }

    pub fn main_number(&self) -> &str {
        self.numbers.first().map_or("", String::as_str)
    }

    /// A direct-merge line on a day from its cut-over up to (not including)
    /// its transition end: the old number still enters 12345 (T2).
    /// False for other modes and for days before the cut-over.
    pub fn is_in_transition(&self, today: NaiveDate) -> bool {
        match self.mode {
            Mode::DirectMerge {
                cutover,
                transition_end,
            } => cutover <= today && today < transition_end,
            _ => false,
        }
    }

    /// A direct-merge line on or after its transition end: callers hear
    /// that the number is retired and are offered 12345 (T2).
    pub fn is_retired(&self, today: NaiveDate) -> bool {
        match self.mode {
            Mode::DirectMerge { transition_end, .. } => today >= transition_end,
            _ => false,
        }
    }
}

impl Hotlines {
    /// The line a dialed number (the Request-URI user part) belongs to.
    pub fn lookup(&self, dialed_user_part: &str) -> Option<&Line> {
        self.by_number
            .get(dialed_user_part)
            .and_then(|&i| self.lines.get(i))
    }

    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    pub fn lines_of(&self, kind: ModeKind) -> impl Iterator<Item = &Line> {
        self.lines.iter().filter(move |l| l.kind() == kind)
    }

    /// The 12345 line; a valid file has exactly one.
    pub fn hotline(&self) -> &Line {
        &self.lines[self.hotline]
    }

    /// Same as [`Line::is_in_transition`]; here for callers that hold the
    /// table rather than the line.
    pub fn is_in_transition(&self, line: &Line, today: NaiveDate) -> bool {
        line.is_in_transition(today)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHotlines {
    cutover: Option<Datetime>,
    transition_months: Option<u32>,
    #[serde(default)]
    line: Vec<RawLine>,
}

/// Every field optional so that each missing or misplaced one is reported
/// against its line and mode.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine {
    unit: Option<String>,
    company: Option<String>,
    numbers: Option<Vec<String>>,
    mode: Option<ModeKind>,
    cutover: Option<Datetime>,
    transition_months: Option<u32>,
    transition_end: Option<Datetime>,
    target: Option<String>,
    trunk: Option<String>,
    guidance: Option<String>,
}

impl RawLine {
    fn present_mode_fields(&self) -> Vec<&'static str> {
        let mut present = Vec::new();
        let set: [(&'static str, bool); 6] = [
            ("cutover", self.cutover.is_some()),
            ("transition_months", self.transition_months.is_some()),
            ("transition_end", self.transition_end.is_some()),
            ("target", self.target.is_some()),
            ("trunk", self.trunk.is_some()),
            ("guidance", self.guidance.is_some()),
        ];
        for (name, is_set) in set {
            if is_set {
                present.push(name);
            }
        }
        present
    }
}

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn fail(&mut self, path: KeyPath, message: impl Into<String>) {
        self.problems.push(Problem {
            path,
            message: message.into(),
        });
    }
}

impl RawHotlines {
    pub(crate) fn validate(self) -> (Option<Hotlines>, Vec<Problem>) {
        let mut c = Checker {
            problems: Vec::new(),
        };
        let root = KeyPath::root();
        let default_cutover = self
            .cutover
            .as_ref()
            .and_then(|d| date(d, &root.key("cutover"), &mut c));
        let default_months = self.transition_months.unwrap_or(DEFAULT_TRANSITION_MONTHS);

        let mut lines = Vec::with_capacity(self.line.len());
        let mut by_number: HashMap<String, usize> = HashMap::new();
        let mut first_use: HashMap<String, usize> = HashMap::new();
        let mut hotline = None;
        for (i, raw) in self.line.into_iter().enumerate() {
            let here = root.key("line").index(i);
            let numbers = raw.numbers.clone().unwrap_or_default();
            if raw.numbers.is_none() {
                c.fail(here.key("numbers"), "missing field `numbers`");
            } else if numbers.is_empty() {
                c.fail(here.key("numbers"), "must list at least one number");
            }
            for (n, number) in numbers.iter().enumerate() {
                if !is_dialable(number) {
                    c.fail(
                        here.key("numbers").index(n),
                        format!("`{number}` is not a number (digits only)"),
                    );
                } else if let Some(first) = first_use.get(number) {
                    c.fail(
                        here.key("numbers").index(n),
                        format!("duplicate number {number}, first used by line[{first}]"),
                    );
                } else {
                    first_use.insert(number.clone(), i);
                }
            }
            let line = build_line(raw, numbers, &here, default_cutover, default_months, &mut c);
            if let Some(line) = line {
                if line.kind() == ModeKind::Hotline {
                    if hotline.is_some() {
                        c.fail(
                            here.key("mode"),
                            "a second `hotline` line: 12345 is one line",
                        );
                        continue;
                    }
                    hotline = Some(lines.len());
                }
                for number in &line.numbers {
                    if first_use.get(number) == Some(&i) {
                        by_number.insert(number.clone(), lines.len());
                    }
                }
                lines.push(line);
            }
        }
        let Some(hotline) = hotline else {
            if c.problems.is_empty() {
                c.fail(
                    root.key("line"),
                    "no line with mode = \"hotline\" (the 12345 number itself)",
                );
            }
            return (None, c.problems);
        };
        if !c.problems.is_empty() {
            return (None, c.problems);
        }
        (
            Some(Hotlines {
                lines,
                by_number,
                hotline,
            }),
            c.problems,
        )
    }
}

fn build_line(
    raw: RawLine,
    numbers: Vec<String>,
    here: &KeyPath,
    default_cutover: Option<NaiveDate>,
    default_months: u32,
    c: &mut Checker,
) -> Option<Line> {
    let unit = match raw.unit.as_deref() {
        None => {
            c.fail(here.key("unit"), "missing field `unit`");
            None
        }
        Some("") => {
            c.fail(here.key("unit"), "must be non-empty");
            None
        }
        Some(u) => Some(u.to_owned()),
    };
    let Some(kind) = raw.mode else {
        c.fail(
            here.key("mode"),
            "missing field `mode` (hotline, direct-merge, remote-seat, interconnect, emergency or guidance-only)",
        );
        return None;
    };
    let mut ok = true;
    for field in raw.present_mode_fields() {
        if !kind.fields().contains(&field) {
            c.fail(
                here.key(field),
                format!("`{field}` does not apply to mode {kind}"),
            );
            ok = false;
        }
    }
    let mode = match kind {
        ModeKind::Hotline => Some(Mode::Hotline),
        ModeKind::DirectMerge => direct_merge(&raw, here, default_cutover, default_months, c),
        ModeKind::RemoteSeat => uri(raw.target.as_deref(), &here.key("target"), c)
            .map(|target| Mode::RemoteSeat { target }),
        ModeKind::Interconnect => uri(raw.target.as_deref(), &here.key("target"), c)
            .map(|target| Mode::Interconnect { target }),
        ModeKind::Emergency => {
            uri(raw.trunk.as_deref(), &here.key("trunk"), c).map(|trunk| Mode::Emergency { trunk })
        }
        ModeKind::GuidanceOnly => match raw.guidance {
            Some(g) if !g.trim().is_empty() => Some(Mode::GuidanceOnly { guidance: g }),
            Some(_) => {
                c.fail(here.key("guidance"), "must be non-empty");
                None
            }
            None => {
                c.fail(
                    here.key("guidance"),
                    "missing: a guidance-only line needs the sentence the caller hears",
                );
                None
            }
        },
    };
    match (unit, mode, ok && !numbers.is_empty()) {
        (Some(unit), Some(mode), true) => Some(Line {
            unit,
            company: raw.company,
            numbers,
            mode,
        }),
        _ => None,
    }
}

fn direct_merge(
    raw: &RawLine,
    here: &KeyPath,
    default_cutover: Option<NaiveDate>,
    default_months: u32,
    c: &mut Checker,
) -> Option<Mode> {
    let cutover = match &raw.cutover {
        Some(d) => date(d, &here.key("cutover"), c)?,
        None => match default_cutover {
            Some(d) => d,
            None => {
                c.fail(
                    here.key("cutover"),
                    "missing: set `cutover` on the line or at the top of the file",
                );
                return None;
            }
        },
    };
    let transition_end = match (&raw.transition_end, raw.transition_months) {
        (Some(_), Some(_)) => {
            c.fail(
                here.key("transition_end"),
                "give `transition_end` or `transition_months`, not both",
            );
            return None;
        }
        (Some(end), None) => {
            let end = date(end, &here.key("transition_end"), c)?;
            if end < cutover {
                c.fail(
                    here.key("transition_end"),
                    format!("{end} is before the cut-over {cutover}"),
                );
                return None;
            }
            end
        }
        (None, months) => {
            let months = months.unwrap_or(default_months);
            let Some(end) = cutover.checked_add_months(Months::new(months)) else {
                c.fail(
                    here.key("transition_months"),
                    format!("{months} months after {cutover} is out of range"),
                );
                return None;
            };
            end
        }
    };
    Some(Mode::DirectMerge {
        cutover,
        transition_end,
    })
}

fn uri(value: Option<&str>, at: &KeyPath, c: &mut Checker) -> Option<SipUri> {
    match value {
        None => {
            c.fail(at.clone(), "missing: this mode needs a SIP URI");
            None
        }
        Some(v) => {
            let parsed = SipUri::parse(v);
            if parsed.is_none() {
                c.fail(
                    at.clone(),
                    format!("`{v}` is not a SIP URI (must start with sip:, sips: or tel:)"),
                );
            }
            parsed
        }
    }
}

/// A TOML local date (`2020-01-01`), nothing more: a time or offset would
/// suggest a precision the cut-over does not have.
fn date(value: &Datetime, at: &KeyPath, c: &mut Checker) -> Option<NaiveDate> {
    let parsed = match (value.date, value.time, value.offset) {
        (Some(d), None, None) => {
            NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
        }
        _ => None,
    };
    if parsed.is_none() {
        c.fail(
            at.clone(),
            format!("`{value}` is not a date like 2020-01-01"),
        );
    }
    parsed
}

fn is_dialable(number: &str) -> bool {
    !number.is_empty() && number.len() <= 32 && number.bytes().all(|b| b.is_ascii_digit())
}
