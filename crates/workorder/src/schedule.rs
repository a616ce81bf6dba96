//! The scheduler's rule (W5, W8): which system steps — reminder, reminder notices, the
//! criticism flag — are due for an order at an instant, and when the next one will be.
//!
//! Pure: the caller passes `now`, applies the steps it gets (as `Actor { role: System }`, at
//! `now`) and calls again at [`Scheduled::next`] or on its own tick. Per handling round (a
//! dispatch, a reassignment or a re-do starts one) and against the current deadline `due_at`
//! (24:00 Beijing of its last working day):
//!
//! 1. **Reminder** (催办, `Reminded { notice: false }`, "须在办理时限届满前通过电话或网络短信等方式
//!    进行催办"): once, from [`reminder_from`] — 00:00 Beijing of the
//!    `remind_before_working_days`-th working day counted back from the deadline's last day, that
//!    day included — until the deadline itself. With the default 1 that is 00:00 of the last
//!    day: a deadline of Wed 30 Sep 24:00 is reminded from Wed 30 Sep 00:00. A reminder window
//!    missed entirely (the scheduler was down until after the deadline) is not made up for: the
//!    notice takes its place.
//! 2. **First reminder notice** (催办通知书, `Reminded { notice: true }`, "超过办理期限又未报告
//!    说明理由的 … 及时发出"): from one second after the deadline (00:00:01 Beijing of the day
//!    after the last day).
//! 3. **Second notice**: from 00:00 Beijing of the `second_notice_after_working_days`-th working
//!    day after the Beijing day of the first (default 2: a first notice on the holiday of Thu
//!    1 Oct 2026 is followed on Fri 9 Oct, the second working day after the break).
//! 4. **Criticism flag** (`CriticismFlagged`, "经两次催办仍超过办理时限 5 个工作日且不报告说明
//!    理由"): once two notices were sent in the round and from 00:00 Beijing of the 5th working
//!    day after the deadline's last day ([`WorkOrder::escalation_due`]).
//!
//! "Not replied" means the order is with the unit: reminders and notices while it is
//! Dispatched, Handling or ReturnPending ([`Status::is_open_for_unit`]: a pending return does
//! not stop the clock, since the unit keeps the order if the return is rejected); the criticism
//! only while Dispatched or Handling (a pending return is the center's move, and `apply` refuses
//! it then). A reply stops everything; a reply that fails the center's review puts the order
//! back to Handling in the same round, against the same deadline, so notices resume.
//!
//! **Extensions.** An extension *request* changes nothing here: the notice has the unit head
//! approve it before it is filed with the center ("经承办单位主要领导同意后报 … 备案"), so an
//! undecided request is not yet a reported reason (and a request never decided cannot hold off
//! the notices). An *approved* extension is the reported reason: the deadline moves, and the
//! round's reminder, notices and last-notice time are reset, so the unit is reminded again
//! before the new deadline, no notice is sent for the old one, and notices already sent against
//! the old one (while the decision was pending) stay in the totals but not in the criticism's
//! two. A refused extension leaves the deadline and the notices as they were.

use crate::event::{Actor, Event, EventKind, Role};
use crate::order::{Status, StepError, WorkOrder};
use crate::rules::Rules;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use hotline_calendar::{
    Calendar, ESCALATION_WORKING_DAYS_LATE, OutOfRange, beijing_date, end_of_beijing_day,
};
use serde::Serialize;

/// What the scheduler has to do for one order at `now`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Scheduled {
    /// The system steps due at `now`, in the order to apply them (each is accepted by
    /// [`WorkOrder::apply`] after the ones before it, with a `System` actor at `now`).
    pub steps: Vec<EventKind>,
    /// The next instant, strictly after `now`, at which a step becomes due if nothing else
    /// happens to the order (and the steps above are applied); None when none will.
    pub next: Option<DateTime<Utc>>,
}

impl Scheduled {
    /// The steps as events by the scheduler `actor_id` at `at` (normally `now`).
    pub fn events(&self, at: DateTime<Utc>, actor_id: &str) -> Vec<Event> {
        self.steps
            .iter()
            .map(|kind| Event {
                at,
                actor: Actor {
                    id: actor_id.to_string(),
                    role: Role::System,
                },
                kind: kind.clone(),
            })
            .collect()
    }
}

/// The system steps due for `order` at `now`, and when the next one will be. See the module
/// docs for the rules; an error is a date the calendar does not cover (or a step `apply`
/// refused, which would be a bug here).
pub fn due_steps(
    order: &WorkOrder,
    now: DateTime<Utc>,
    rules: &Rules,
    cal: &Calendar,
) -> Result<Scheduled, StepError> {
    let mut o = order.clone();
    let mut steps = Vec::new();
    // At most a reminder or a notice, and the criticism the notice completes.
    for _ in 0..4 {
        match first_due(&o, now, rules, cal)? {
            Due::Now(kind) => {
                let e = Event {
                    at: now,
                    actor: Actor {
                        id: "scheduler".into(),
                        role: Role::System,
                    },
                    kind,
                };
                o.apply(&e, rules, cal)?;
                steps.push(e.kind);
            }
            Due::Later(next) => return Ok(Scheduled { steps, next }),
        }
    }
    // A due step changes the order so that it is not due again: not reached.
    Err(StepError::Invalid(
        "the scheduler found steps due without end".into(),
    ))
}

enum Due {
    Now(EventKind),
    Later(Option<DateTime<Utc>>),
}

fn first_due(
    o: &WorkOrder,
    now: DateTime<Utc>,
    rules: &Rules,
    cal: &Calendar,
) -> Result<Due, StepError> {
    let Some(due) = o.due_at else {
        return Ok(Due::Later(None));
    };
    if !o.status.is_open_for_unit() {
        return Ok(Due::Later(None));
    }
    // A deadline the calendar covers (an extension's date is the unit's): the arithmetic
    // below stays within its years.
    cal.is_working_day(last_day(due, cal)?)?;
    let mut next: Option<DateTime<Utc>> = None;
    let mut later = |t: DateTime<Utc>| {
        debug_assert!(t > now);
        next = Some(next.map_or(t, |n| n.min(t)));
    };
    let after_deadline = notice_from(due);
    // 1. The reminder, in its window.
    if !o.round_reminded
        && now <= due
        && let Some(from) = reminder_from(due, rules.remind_before_working_days, cal)?
    {
        if now >= from {
            return Ok(Due::Now(EventKind::Reminded { notice: false }));
        }
        later(from);
    }
    // 2. and 3. The notices.
    let notice_at = match (o.round_notices, o.last_notice_at) {
        (0, _) => Some(after_deadline),
        (1, Some(first)) => Some(
            second_notice_from(first, rules.second_notice_after_working_days, cal)?
                .max(after_deadline),
        ),
        _ => None,
    };
    if let Some(from) = notice_at {
        if now >= from {
            return Ok(Due::Now(EventKind::Reminded { notice: true }));
        }
        later(from);
    }
    // 4. The criticism.
    if matches!(o.status, Status::Dispatched | Status::Handling)
        && !o.round_criticized
        && o.round_notices >= 2
    {
        if o.escalation_due(now, cal)? {
            return Ok(Due::Now(EventKind::CriticismFlagged));
        }
        later(escalation_from(due, cal)?);
    }
    Ok(Due::Later(next))
}

/// When the reminder for a deadline `due_at` becomes due: 00:00 Beijing of the
/// `working_days`-th working day counted back from the deadline's last day (the Beijing date
/// just before `due_at`), that day included when it is a working day. None when
/// `working_days` is 0 (no reminders). A deadline of Mon 12 Oct 2026 24:00 with 2 days is
/// reminded from Sat 10 Oct 00:00 (a make-up working day, 调休上班), one of Thu 8 Oct (the first
/// working day after the National Day break) from Wed 30 Sep 00:00.
pub fn reminder_from(
    due_at: DateTime<Utc>,
    working_days: u32,
    cal: &Calendar,
) -> Result<Option<DateTime<Utc>>, OutOfRange> {
    if working_days == 0 {
        return Ok(None);
    }
    let mut day = last_day(due_at, cal)?;
    let mut counted = 0;
    loop {
        if cal.is_working_day(day)? {
            counted += 1;
            if counted == working_days {
                return Ok(Some(start_of_beijing_day(day)));
            }
        }
        // The calendar's years are far from chrono's first date: not reached.
        day = day.pred_opt().ok_or_else(|| beyond(cal))?;
    }
}

/// One second after the deadline: the first notice is due from then.
fn notice_from(due_at: DateTime<Utc>) -> DateTime<Utc> {
    due_at + Duration::seconds(1)
}

/// 00:00 Beijing of the `n`-th working day after the Beijing day of the first notice.
fn second_notice_from(
    first: DateTime<Utc>,
    n: u32,
    cal: &Calendar,
) -> Result<DateTime<Utc>, OutOfRange> {
    let day = beijing_date(first).ok_or_else(|| beyond(cal))?;
    Ok(start_of_beijing_day(cal.add_working_days(day, n)?))
}

/// 00:00 Beijing of the 5th working day after the deadline's last day: what
/// [`WorkOrder::escalation_due`] tests for.
fn escalation_from(due_at: DateTime<Utc>, cal: &Calendar) -> Result<DateTime<Utc>, OutOfRange> {
    let day = cal.add_working_days(last_day(due_at, cal)?, ESCALATION_WORKING_DAYS_LATE)?;
    Ok(start_of_beijing_day(day).max(notice_from(due_at)))
}

/// The Beijing date of the last instant before `due_at` (24:00 of that date for a computed
/// deadline; an extension's date may fall at any time).
fn last_day(due_at: DateTime<Utc>, cal: &Calendar) -> Result<NaiveDate, OutOfRange> {
    due_at
        .checked_sub_signed(Duration::seconds(1))
        .and_then(beijing_date)
        .ok_or_else(|| beyond(cal))
}

/// For an instant at the ends of chrono's range, far outside the calendar's years.
fn beyond(cal: &Calendar) -> OutOfRange {
    // The calendar's own error for chrono's last (or first) date, which no notice covers.
    cal.is_working_day(NaiveDate::MAX)
        .err()
        .or_else(|| cal.is_working_day(NaiveDate::MIN).err())
        .expect("no calendar covers both of chrono's end years")
}

/// 00:00 Beijing of `d`, a date of the calendar's years (far from chrono's limits).
fn start_of_beijing_day(d: NaiveDate) -> DateTime<Utc> {
    end_of_beijing_day(d).expect("a calendar date is within chrono's range") - Duration::days(1)
}
