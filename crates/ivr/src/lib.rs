//! IVR dialplans for the 12345 platform (requirement A1): greeting, DTMF menus, digit
//! collection, working-hours rules on the Chinese calendar, announcements, and routes to ACD
//! queues and numbers.
//!
//! Dialplans are TOML files, one per file (`dialplans/*.toml`, format in dialplans/README.md).
//! [`DialplanSet::load_dir`] reads and checks them all, reporting every problem at once as
//! `file:line:column: key: message`: types and unknown keys, targets and schedules that do not
//! exist, unreachable nodes, loops with no exit, prompts missing from the caller's
//! [`PromptCatalog`] (templated names expanded for each line served), and two files claiming
//! the same line mode or number.
//!
//! [`IvrCall`] runs one call through a dialplan. It is sans-IO: the driver feeds it
//! [`Event`]s with the time of a monotonic clock in milliseconds, carries out the [`Action`]s
//! it returns and calls [`IvrCall::on_timeout`] at [`IvrCall::next_timeout`]. Nothing here reads
//! a clock, opens a socket or spawns a thread, so tests run calls on a manual clock.

mod call;
mod check;
mod condition;
mod diagnostics;
mod dialplan;
mod dtmf;
mod error;
mod event;
mod fields;
mod key_path;
mod location;
mod parse;
mod prompt_catalog;
mod route;
mod set;
mod template;
mod vars;

pub use call::{IvrCall, MAX_HOPS, Millis, TYPEAHEAD_LIMIT};
pub use condition::Condition;
pub use dialplan::{
    Branch, Collect, DEFAULT_FALLBACK_GROUP, Dialplan, Hangup, Hours, Menu, Node, Play, Queue,
    SetVar, Transfer,
};
pub use dtmf::is_dtmf;
pub use error::{DialplanError, DialplanErrors, Problem};
pub use event::{Action, Event};
pub use location::Location;
pub use prompt_catalog::PromptCatalog;
pub use route::{Outcome, RouteStep, Step};
pub use set::{DialplanSet, LoadContext};
pub use template::Template;
pub use vars::{
    CALLER, DIALED, LINE_GUIDANCE, LINE_MODE, LINE_NUMBER, LINE_RETIRED, LINE_TARGET, LINE_TRUNK,
    LINE_UNIT, LineVars, STANDARD_VARS, Vars,
};
