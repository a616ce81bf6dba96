//! The interpreter: one [`IvrCall`] per call. Sans-IO: the driver feeds events and the time, and
//! carries out the actions returned; the call never reads a clock.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use crate::dialplan::{Collect, Dialplan, Menu, Node};
use crate::dtmf;
use crate::event::{Action, Event};
use crate::route::{Outcome, RouteStep, Step};
use crate::template::Template;
use crate::vars::Vars;

/// Milliseconds on the driver's monotonic clock.
pub type Millis = u64;

/// Node transitions allowed in a row without waiting for the caller or the media. Validation
/// rejects loops with no exit, but a loop whose exit depends on a variable that never changes
/// (`branch` on `line.retired` back to itself) only shows at run time.
pub const MAX_HOPS: u32 = 64;

/// Keys kept while nothing waits for them. A collect node takes at most this many digits, so a
/// caller who typed a whole number ahead loses none of it.
pub const TYPEAHEAD_LIMIT: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// A play node's prompts are playing.
    Play {
        interruptible: bool,
    },
    /// A menu's or collect's prompts are playing.
    Prompt {
        interruptible: bool,
    },
    /// A menu or collect waits for keys until `deadline`.
    Input {
        deadline: Millis,
    },
    /// A terminal node's prompt is playing; its action follows.
    Farewell,
    Done,
}

/// One call through a dialplan.
#[derive(Debug)]
pub struct IvrCall {
    plan: Arc<Dialplan>,
    vars: Vars,
    started: Millis,
    wall: DateTime<Utc>,
    node: String,
    /// Repeats used by the current menu or collect.
    attempt: u32,
    /// Whether the current menu saw an invalid key, which decides between its two exits.
    invalid_seen: bool,
    /// Digits the current collect has so far.
    digits: String,
    wait: Wait,
    typeahead: VecDeque<char>,
    route: Vec<RouteStep>,
    outcome: Option<Outcome>,
    hops: u32,
}

impl IvrCall {
    /// Starts a call at the dialplan's entry. `wall` is the wall-clock time at `now`; `hours`
    /// nodes use `wall + (now - start now)`, so the driver's clock is read once per call.
    pub fn start(
        plan: Arc<Dialplan>,
        vars: Vars,
        now: Millis,
        wall: DateTime<Utc>,
    ) -> (IvrCall, Vec<Action>) {
        let entry = plan.entry().to_owned();
        let mut call = IvrCall {
            plan,
            vars,
            started: now,
            wall,
            node: entry.clone(),
            attempt: 0,
            invalid_seen: false,
            digits: String::new(),
            wait: Wait::Done,
            typeahead: VecDeque::new(),
            route: Vec::new(),
            outcome: None,
            hops: 0,
        };
        let mut out = Vec::new();
        call.go(entry, now, &mut out);
        (call, out)
    }

    pub fn on_event(&mut self, event: Event, now: Millis) -> Vec<Action> {
        let mut out = Vec::new();
        if self.outcome.is_some() {
            return out;
        }
        self.hops = 0;
        match event {
            Event::Digit(c) => {
                if let Some(key) = dtmf::normalize(c) {
                    self.digit(key, now, &mut out);
                }
            }
            Event::PlaybackDone => self.playback_done(now, &mut out),
            Event::CallerHangup => {
                self.step(Step::CallerHangup);
                self.finish(Outcome::Abandoned);
            }
        }
        out
    }

    /// Call at or after [`Self::next_timeout`]; an early call does nothing.
    pub fn on_timeout(&mut self, now: Millis) -> Vec<Action> {
        let mut out = Vec::new();
        if let Wait::Input { deadline } = self.wait
            && now >= deadline
            && self.outcome.is_none()
        {
            self.hops = 0;
            self.input_timeout(now, &mut out);
        }
        out
    }

    /// When [`Self::on_timeout`] is due. `None` while prompts play (the media side reports their
    /// end) and once the call is done.
    pub fn next_timeout(&self) -> Option<Millis> {
        match self.wait {
            Wait::Input { deadline } => Some(deadline),
            _ => None,
        }
    }

    pub fn route(&self) -> &[RouteStep] {
        &self.route
    }

    /// The route as the call record shows it: `greeting > menu:2 > queue_complaint:default`.
    pub fn route_string(&self) -> String {
        self.route
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" > ")
    }

    pub fn vars(&self) -> &Vars {
        &self.vars
    }

    /// Set once the terminal action has been emitted (or the caller hung up).
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// The node the call is at.
    pub fn node(&self) -> &str {
        &self.node
    }

    pub fn plan(&self) -> &Arc<Dialplan> {
        &self.plan
    }

    fn step(&mut self, what: Step) {
        self.route.push(RouteStep {
            node: self.node.clone(),
            what,
        });
    }

    fn finish(&mut self, outcome: Outcome) {
        self.outcome = Some(outcome);
        self.wait = Wait::Done;
    }

    fn buffer(&mut self, key: char) {
        if self.typeahead.len() < TYPEAHEAD_LIMIT {
            self.typeahead.push_back(key);
        }
    }

    /// Moves to `target` and on through every node that needs no waiting.
    fn go(&mut self, target: String, now: Millis, out: &mut Vec<Action>) {
        let mut next = Some(target);
        while let Some(name) = next.take() {
            self.hops += 1;
            if self.hops > MAX_HOPS {
                self.step(Step::LoopGuard);
                self.fallback(|group| Outcome::LoopGuard { group }, out);
                return;
            }
            self.node = name;
            next = self.enter(now, out);
        }
    }

    /// Queues the call to the fallback group: a caller must never be left in silence.
    fn fallback(&mut self, outcome: impl FnOnce(String) -> Outcome, out: &mut Vec<Action>) {
        let group = self.plan.fallback_group().to_owned();
        out.push(Action::Queue {
            group: group.clone(),
            also_ring: None,
        });
        self.finish(outcome(group));
    }

    /// Does what the current node does on arrival; the next node when it needs no waiting.
    fn enter(&mut self, now: Millis, out: &mut Vec<Action>) -> Option<String> {
        let plan = Arc::clone(&self.plan);
        let Some(node) = plan.node(&self.node) else {
            // Loading checked every target, so this is not reached; if it were, the caller
            // still reaches a human.
            self.step(Step::LoopGuard);
            self.fallback(|group| Outcome::LoopGuard { group }, out);
            return None;
        };
        match node {
            Node::Play(p) => {
                self.step(Step::Played);
                if p.interruptible && !self.typeahead.is_empty() {
                    // The caller is already pressing ahead.
                    self.amend(Step::Interrupted);
                    return Some(p.next.clone());
                }
                out.push(Action::Play {
                    prompts: p.prompts.iter().map(|t| t.expand(&self.vars)).collect(),
                    interruptible: p.interruptible,
                });
                self.wait = Wait::Play {
                    interruptible: p.interruptible,
                };
                None
            }
            Node::Menu(m) => {
                self.attempt = 0;
                self.invalid_seen = false;
                if self.typeahead.is_empty() {
                    self.ask(&m.prompt, None, m.interruptible, out);
                    None
                } else {
                    self.menu_input(m, now, out)
                }
            }
            Node::Collect(c) => {
                self.attempt = 0;
                self.digits.clear();
                if self.typeahead.is_empty() {
                    self.ask(&c.prompt, None, c.interruptible, out);
                    None
                } else {
                    self.collect_input(c, now, out)
                }
            }
            Node::Hours(h) => {
                let at = self.wall_at(now);
                let open = plan
                    .schedule(&h.schedule)
                    .map(|s| s.is_open(plan.calendar(), at));
                match open {
                    Some(Ok(true)) => {
                        self.step(Step::Open);
                        Some(h.open.clone())
                    }
                    Some(Ok(false)) => {
                        self.step(Step::Closed);
                        Some(h.closed.clone())
                    }
                    // A year without calendar data: open, because turning 12345 callers away
                    // over a data gap is worse than a seat answering on a holiday.
                    Some(Err(_)) | None => {
                        self.step(Step::HoursUnknown);
                        Some(h.open.clone())
                    }
                }
            }
            Node::Set(s) => {
                let value = s.value.expand(&self.vars);
                self.vars.set(&s.var, &value);
                self.step(Step::Set {
                    var: s.var.clone(),
                    value,
                });
                Some(s.next.clone())
            }
            Node::Branch(b) => {
                let holds = b.when.eval(&self.vars);
                self.step(Step::Branch(holds));
                Some(if holds {
                    b.then.clone()
                } else {
                    b.otherwise.clone()
                })
            }
            Node::Queue(q) => {
                self.step(Step::Queue(q.group.clone()));
                self.farewell(q.prompt.as_ref(), out);
                None
            }
            Node::Transfer(t) => {
                self.step(Step::Transfer(t.to.expand(&self.vars)));
                self.farewell(t.prompt.as_ref(), out);
                None
            }
            Node::Hangup(h) => {
                self.step(Step::Hangup);
                self.farewell(h.prompt.as_ref(), out);
                None
            }
        }
    }

    /// Replaces what the last route step says, when it is about the current node.
    fn amend(&mut self, what: Step) {
        if let Some(last) = self.route.last_mut()
            && last.node == self.node
        {
            last.what = what;
        }
    }

    fn wall_at(&self, now: Millis) -> DateTime<Utc> {
        let elapsed = now.saturating_sub(self.started);
        i64::try_from(elapsed)
            .ok()
            .and_then(TimeDelta::try_milliseconds)
            .and_then(|d| self.wall.checked_add_signed(d))
            .unwrap_or(self.wall)
    }

    /// Plays a menu's or collect's prompt, after `preface` (the invalid or no-input prompt).
    fn ask(
        &mut self,
        prompt: &Template,
        preface: Option<&Template>,
        interruptible: bool,
        out: &mut Vec<Action>,
    ) {
        let prompts = preface
            .into_iter()
            .chain([prompt])
            .map(|t| t.expand(&self.vars))
            .collect();
        out.push(Action::Play {
            prompts,
            interruptible,
        });
        self.wait = Wait::Prompt { interruptible };
    }

    /// A terminal node: its prompt first when it has one, then its action.
    fn farewell(&mut self, prompt: Option<&Template>, out: &mut Vec<Action>) {
        match prompt {
            Some(p) => {
                out.push(Action::Play {
                    prompts: vec![p.expand(&self.vars)],
                    interruptible: false,
                });
                self.wait = Wait::Farewell;
            }
            None => self.terminal_action(out),
        }
    }

    fn terminal_action(&mut self, out: &mut Vec<Action>) {
        let plan = Arc::clone(&self.plan);
        match plan.node(&self.node) {
            Some(Node::Queue(q)) => {
                let also_ring = q
                    .also_ring
                    .as_ref()
                    .map(|t| t.expand(&self.vars))
                    .filter(|uri| !uri.trim().is_empty());
                out.push(Action::Queue {
                    group: q.group.clone(),
                    also_ring: also_ring.clone(),
                });
                self.finish(Outcome::Queued {
                    group: q.group.clone(),
                    also_ring,
                });
            }
            Some(Node::Transfer(t)) => {
                let to = t.to.expand(&self.vars);
                if to.trim().is_empty() {
                    self.amend(Step::NoDestination);
                    self.fallback(|group| Outcome::NoDestination { group }, out);
                } else {
                    out.push(Action::Transfer { to: to.clone() });
                    self.finish(Outcome::Transferred { to });
                }
            }
            Some(Node::Hangup(_)) => {
                out.push(Action::Hangup);
                self.finish(Outcome::HungUp);
            }
            // Only terminal nodes wait in Farewell; not reached.
            _ => self.fallback(|group| Outcome::LoopGuard { group }, out),
        }
    }

    fn digit(&mut self, key: char, now: Millis, out: &mut Vec<Action>) {
        match self.wait {
            Wait::Play {
                interruptible: true,
            } => {
                out.push(Action::StopPlayback);
                self.buffer(key);
                self.amend(Step::Interrupted);
                if let Some(Node::Play(p)) = self.plan.node(&self.node) {
                    let next = p.next.clone();
                    self.go(next, now, out);
                }
            }
            Wait::Prompt {
                interruptible: true,
            } => {
                out.push(Action::StopPlayback);
                self.buffer(key);
                self.take_input(now, out);
            }
            Wait::Play { .. } | Wait::Prompt { .. } => self.buffer(key),
            Wait::Input { .. } => {
                self.buffer(key);
                self.take_input(now, out);
            }
            // Keys during a goodbye have nowhere to go.
            Wait::Farewell | Wait::Done => {}
        }
    }

    fn playback_done(&mut self, now: Millis, out: &mut Vec<Action>) {
        match self.wait {
            Wait::Play { .. } => {
                if let Some(Node::Play(p)) = self.plan.node(&self.node) {
                    let next = p.next.clone();
                    self.go(next, now, out);
                }
            }
            Wait::Prompt { .. } => self.take_input(now, out),
            Wait::Farewell => self.terminal_action(out),
            // The end of a prompt already stopped by a key.
            Wait::Input { .. } | Wait::Done => {}
        }
    }

    /// Hands buffered keys to the current menu or collect, or waits for them.
    fn take_input(&mut self, now: Millis, out: &mut Vec<Action>) {
        let plan = Arc::clone(&self.plan);
        let next = match plan.node(&self.node) {
            Some(Node::Menu(m)) => self.menu_input(m, now, out),
            Some(Node::Collect(c)) => self.collect_input(c, now, out),
            _ => None,
        };
        if let Some(next) = next {
            self.go(next, now, out);
        }
    }

    fn input_timeout(&mut self, now: Millis, out: &mut Vec<Action>) {
        let plan = Arc::clone(&self.plan);
        let next = match plan.node(&self.node) {
            Some(Node::Menu(m)) => {
                self.step(Step::Timeout);
                self.menu_retry(m, m.no_input_prompt.as_ref(), out)
            }
            Some(Node::Collect(c)) if self.digits.is_empty() => {
                self.step(Step::Timeout);
                self.collect_retry(c, c.no_input_prompt.as_ref(), out)
            }
            // Digits then silence: the inter-digit timeout ends the number.
            Some(Node::Collect(c)) => self.collect_done(c, out),
            _ => None,
        };
        if let Some(next) = next {
            self.go(next, now, out);
        }
    }

    fn menu_input(&mut self, m: &Menu, now: Millis, out: &mut Vec<Action>) -> Option<String> {
        let Some(key) = self.typeahead.pop_front() else {
            self.wait = Wait::Input {
                deadline: now.saturating_add(ms(m.timeout_secs)),
            };
            return None;
        };
        if let Some(target) = m.options.get(&key) {
            self.step(Step::Key(key));
            return Some(target.clone());
        }
        self.step(Step::InvalidKey(key));
        self.invalid_seen = true;
        // Keys typed after a wrong one were typed before the caller heard it was wrong.
        self.typeahead.clear();
        self.menu_retry(m, m.invalid_prompt.as_ref(), out)
    }

    fn menu_retry(
        &mut self,
        m: &Menu,
        preface: Option<&Template>,
        out: &mut Vec<Action>,
    ) -> Option<String> {
        if self.attempt >= m.retries {
            return Some(if self.invalid_seen {
                m.on_failure.clone()
            } else {
                m.on_no_input.clone()
            });
        }
        self.attempt += 1;
        self.ask(&m.prompt, preface, m.interruptible, out);
        None
    }

    fn collect_input(&mut self, c: &Collect, now: Millis, out: &mut Vec<Action>) -> Option<String> {
        if self.typeahead.is_empty() {
            // Just after the prompt, the caller may need longer for the first digit.
            let secs = if self.digits.is_empty() {
                c.first_digit_timeout_secs
            } else {
                c.inter_digit_timeout_secs
            };
            self.wait = Wait::Input {
                deadline: now.saturating_add(ms(secs)),
            };
            return None;
        }
        while let Some(key) = self.typeahead.pop_front() {
            if c.terminator == Some(key) {
                return self.collect_done(c, out);
            }
            self.digits.push(key);
            if self.digits.len() >= usize_of(c.max_digits) {
                return self.collect_done(c, out);
            }
        }
        self.wait = Wait::Input {
            deadline: now.saturating_add(ms(c.inter_digit_timeout_secs)),
        };
        None
    }

    fn collect_done(&mut self, c: &Collect, out: &mut Vec<Action>) -> Option<String> {
        let digits = std::mem::take(&mut self.digits);
        if digits.len() >= usize_of(c.min_digits) {
            self.vars.set(&c.var, &digits);
            self.step(Step::Collected {
                var: c.var.clone(),
                value: digits,
            });
            return Some(c.next.clone());
        }
        self.step(Step::TooFew(digits));
        self.typeahead.clear();
        self.collect_retry(c, c.invalid_prompt.as_ref(), out)
    }

    fn collect_retry(
        &mut self,
        c: &Collect,
        preface: Option<&Template>,
        out: &mut Vec<Action>,
    ) -> Option<String> {
        if self.attempt >= c.retries {
            return Some(c.on_failure.clone());
        }
        self.attempt += 1;
        self.ask(&c.prompt, preface, c.interruptible, out);
        None
    }
}

fn ms(secs: u32) -> Millis {
    Millis::from(secs) * 1000
}

fn usize_of(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}
