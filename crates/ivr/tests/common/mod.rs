//! What the behaviour tests share: the prompt catalog of the shipped files, the annex lines, and
//! a driver that runs a call on a manual clock.

// Each test file uses a different part of this module.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use hotline_calendar::{BEIJING, Calendar};
use hotline_ivr::{
    Action, Dialplan, DialplanErrors, DialplanSet, Event, IvrCall, LineVars, LoadContext, Millis,
    Outcome, Vars,
};

pub const GUIDANCE_NUMBERS: [&str; 7] = [
    "12339", "12388", "12309", "12368", "12380", "12371", "12310",
];

/// Exactly the prompts the shipped dialplans use, and no more, so a test that names another
/// prompt fails validation.
pub fn catalog() -> BTreeSet<String> {
    let mut names: BTreeSet<String> = [
        "greeting",
        "menu_main",
        "queue_wait",
        "invalid",
        "no_input",
        "retired",
        "goodbye",
        "enter_order_no",
        "closed",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    names.extend(GUIDANCE_NUMBERS.iter().map(|n| format!("guidance-{n}")));
    names
}

pub fn calendar() -> Arc<Calendar> {
    static CALENDAR: OnceLock<Arc<Calendar>> = OnceLock::new();
    Arc::clone(CALENDAR.get_or_init(|| Arc::new(Calendar::embedded().expect("shipped calendar"))))
}

pub fn line(number: &str, mode: &str) -> LineVars {
    LineVars {
        number: number.to_owned(),
        unit: "测试单位".to_owned(),
        mode: mode.to_owned(),
        ..LineVars::default()
    }
}

/// A few lines of each mode the shipped dialplans serve, as the server would build them.
pub fn lines() -> Vec<LineVars> {
    let mut out = vec![
        line("12345", "hotline"),
        line("12312", "direct-merge"),
        LineVars {
            retired: true,
            ..line("12351", "direct-merge")
        },
        LineVars {
            target: "sip:12369@seats.invalid".to_owned(),
            ..line("12369", "remote-seat")
        },
        LineVars {
            target: "sip:2577201@interconnect.invalid".to_owned(),
            ..line("2577201", "interconnect")
        },
    ];
    for n in GUIDANCE_NUMBERS {
        out.push(LineVars {
            guidance: format!("请拨打{n}。"),
            ..line(n, "guidance-only")
        });
    }
    out
}

/// Loads one dialplan with the shipped catalog and no lines.
pub fn plan(text: &str) -> Arc<Dialplan> {
    Arc::new(load(text).unwrap_or_else(|e| panic!("test dialplan loads:\n{e}")))
}

pub fn load(text: &str) -> Result<Dialplan, DialplanErrors> {
    let catalog = catalog();
    let ctx = LoadContext {
        prompts: &catalog,
        lines: &[],
        calendar: calendar(),
    };
    Dialplan::from_str("test.toml", text, &ctx)
}

/// The messages of loading `text` as `test.toml`; empty when it loads.
pub fn errors(text: &str) -> Vec<String> {
    load(text).err().map(|e| e.messages()).unwrap_or_default()
}

pub fn errors_with_lines(text: &str, lines: &[LineVars]) -> Vec<String> {
    let catalog = catalog();
    let ctx = LoadContext {
        prompts: &catalog,
        lines,
        calendar: calendar(),
    };
    Dialplan::from_str("test.toml", text, &ctx)
        .err()
        .map(|e| e.messages())
        .unwrap_or_default()
}

pub fn shipped_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../dialplans")
}

pub fn shipped() -> DialplanSet {
    let catalog = catalog();
    let lines = lines();
    let ctx = LoadContext {
        prompts: &catalog,
        lines: &lines,
        calendar: calendar(),
    };
    DialplanSet::load_dir(shipped_dir(), &ctx).unwrap_or_else(|e| panic!("shipped dialplans:\n{e}"))
}

/// A Beijing wall-clock time as UTC.
pub fn beijing(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    let date = NaiveDate::from_ymd_opt(y, m, d).expect("test date");
    let local = date.and_hms_opt(h, min, 0).expect("test time");
    BEIJING
        .from_local_datetime(&local)
        .single()
        .expect("Beijing has no DST")
        .with_timezone(&Utc)
}

/// A weekday morning, inside every office window.
pub fn a_tuesday_morning() -> DateTime<Utc> {
    beijing(2024, 10, 15, 9, 30)
}

/// How long the fake media side takes to play a Play's prompts.
pub const PLAY_MS: Millis = 3_000;

/// Drives one call like the media side and the timer wheel would, on a manual clock.
pub struct Driver {
    pub call: IvrCall,
    pub now: Millis,
    /// Every action the call emitted, in order.
    pub actions: Vec<Action>,
    /// Whether a Play is going on (not yet done, stopped or replaced).
    pub playing: bool,
}

impl Driver {
    pub fn start(plan: Arc<Dialplan>, vars: Vars, wall: DateTime<Utc>) -> Driver {
        let now = 1_000_000;
        let (call, actions) = IvrCall::start(plan, vars, now, wall);
        let mut driver = Driver {
            call,
            now,
            actions: Vec::new(),
            playing: false,
        };
        driver.record(actions);
        driver
    }

    /// A call from 13800000000 to `line`.
    pub fn call(plan: Arc<Dialplan>, line: &LineVars) -> Driver {
        Self::start(
            plan,
            Vars::for_call("13800000000", &line.number, line),
            a_tuesday_morning(),
        )
    }

    fn record(&mut self, actions: Vec<Action>) -> Vec<Action> {
        for a in &actions {
            match a {
                Action::Play { .. } => self.playing = true,
                Action::StopPlayback => self.playing = false,
                _ => {}
            }
        }
        self.actions.extend(actions.iter().cloned());
        actions
    }

    pub fn event(&mut self, event: Event) -> Vec<Action> {
        let actions = self.call.on_event(event, self.now);
        self.record(actions)
    }

    /// A key pressed `after` ms from now.
    pub fn digit_after(&mut self, after: Millis, key: char) -> Vec<Action> {
        self.now += after;
        self.event(Event::Digit(key))
    }

    pub fn digit(&mut self, key: char) -> Vec<Action> {
        self.digit_after(100, key)
    }

    pub fn digits(&mut self, keys: &str) -> Vec<Action> {
        keys.chars().flat_map(|k| self.digit(k)).collect()
    }

    /// One step of time: a Play in progress finishes after [`PLAY_MS`], else the clock jumps to
    /// the call's next timeout and fires it. Panics when the call waits for nothing, which for a
    /// live call would be a caller left in silence.
    pub fn progress(&mut self) -> Vec<Action> {
        if self.playing {
            self.now += PLAY_MS;
            self.playing = false;
            return self.event(Event::PlaybackDone);
        }
        let Some(at) = self.call.next_timeout() else {
            panic!(
                "the call waits for nothing at {} (route {})",
                self.call.node(),
                self.call.route_string()
            );
        };
        assert!(
            at >= self.now,
            "timeout {at} in the past (now {})",
            self.now
        );
        self.now = at;
        let actions = self.call.on_timeout(self.now);
        self.record(actions)
    }

    /// Progresses until the call has an outcome, at most `limit` steps.
    pub fn run_to_end(&mut self) -> &Outcome {
        for _ in 0..100 {
            if self.call.outcome().is_some() {
                break;
            }
            self.progress();
        }
        self.call
            .outcome()
            .unwrap_or_else(|| panic!("no outcome after 100 steps: {}", self.call.route_string()))
    }

    /// The prompts of every Play so far, each Play as one `+`-joined string.
    pub fn plays(&self) -> Vec<String> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Action::Play { prompts, .. } => Some(prompts.join("+")),
                _ => None,
            })
            .collect()
    }

    pub fn route(&self) -> String {
        self.call.route_string()
    }
}

pub fn queued(group: &str) -> Outcome {
    Outcome::Queued {
        group: group.to_owned(),
        also_ring: None,
    }
}
