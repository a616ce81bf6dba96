//! A call's variables: the standard ones the platform sets (caller, dialed, line.*) and those the
//! dialplan's `set` and `collect` nodes add.

use std::collections::BTreeMap;

pub const CALLER: &str = "caller";
pub const DIALED: &str = "dialed";
pub const LINE_NUMBER: &str = "line.number";
pub const LINE_UNIT: &str = "line.unit";
pub const LINE_MODE: &str = "line.mode";
pub const LINE_TARGET: &str = "line.target";
pub const LINE_TRUNK: &str = "line.trunk";
pub const LINE_GUIDANCE: &str = "line.guidance";
pub const LINE_RETIRED: &str = "line.retired";

/// Every variable the platform sets for a call; dialplans may read these but not assign them.
pub const STANDARD_VARS: [&str; 9] = [
    CALLER,
    DIALED,
    LINE_NUMBER,
    LINE_UNIT,
    LINE_MODE,
    LINE_TARGET,
    LINE_TRUNK,
    LINE_GUIDANCE,
    LINE_RETIRED,
];

/// The facts about one annex number a dialplan may use, as the `line.*` variables. One per
/// number: a line with two numbers (12380 and 12371) gives two, each with its own `number`.
/// Fields a mode does not have (a hotline's `target`) are empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineVars {
    pub number: String,
    pub unit: String,
    /// The annex mode as hotlines.toml writes it: `hotline`, `direct-merge`, `remote-seat`,
    /// `interconnect`, `emergency` or `guidance-only`.
    pub mode: String,
    pub target: String,
    pub trunk: String,
    pub guidance: String,
    /// A direct-merge number past its transition end (the caller is told it is retired).
    pub retired: bool,
}

impl LineVars {
    /// The `line.*` variables of this number.
    pub fn to_vars(&self) -> Vars {
        let mut vars = Vars::new();
        vars.set_line(self);
        vars
    }
}

/// Variable name → value. Ordered, so dumps of a call's variables are stable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vars(BTreeMap<String, String>);

impl Vars {
    pub fn new() -> Self {
        Self::default()
    }

    /// The standard variables of a call from `caller` to `dialed` on `line`.
    pub fn for_call(caller: &str, dialed: &str, line: &LineVars) -> Self {
        let mut vars = Self::new();
        vars.set(CALLER, caller);
        vars.set(DIALED, dialed);
        vars.set_line(line);
        vars
    }

    /// Sets the `line.*` variables; `line.retired` is `true` or `false`.
    pub fn set_line(&mut self, line: &LineVars) {
        self.set(LINE_NUMBER, &line.number);
        self.set(LINE_UNIT, &line.unit);
        self.set(LINE_MODE, &line.mode);
        self.set(LINE_TARGET, &line.target);
        self.set(LINE_TRUNK, &line.trunk);
        self.set(LINE_GUIDANCE, &line.guidance);
        self.set(LINE_RETIRED, if line.retired { "true" } else { "false" });
    }

    pub fn set(&mut self, name: &str, value: &str) {
        self.0.insert(name.to_owned(), value.to_owned());
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}
