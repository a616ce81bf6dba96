//! An order's state, computed from its events, and the checks every step must pass.

use crate::event::{Actor, Event, EventKind, Role};
use crate::rules::Rules;
use crate::types::{Intake, Satisfaction};
use chrono::{DateTime, Utc};
use hotline_calendar::{Calendar, ESCALATION_WORKING_DAYS_LATE, OutOfRange, beijing_date};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Status {
    /// Taken down during the call, not yet decided.
    Draft,
    /// Nobody answered the call: on the missed-call callback list (漏接回拨).
    MissedCall,
    /// Answered on the spot, moved to an emergency line, or told where to go.
    Closed,
    /// With the lead unit, not yet signed for.
    Dispatched,
    /// Signed for; the unit is handling it.
    Handling,
    /// The unit asked to return it; the center decides.
    ReturnPending,
    /// The unit replied; the center reviews.
    Replied,
    /// Reviewed; the caller is to be called back.
    AwaitingCallback,
    /// Called back and unsatisfied: a re-do or a classification is due.
    CallbackUnsatisfied,
    /// Called back and satisfied.
    CalledBack,
    /// Not reached after the allowed attempts.
    Unreachable,
    Archived,
    /// A duplicate merged into a master order.
    Merged,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 13] = [
        Status::Draft,
        Status::MissedCall,
        Status::Closed,
        Status::Dispatched,
        Status::Handling,
        Status::ReturnPending,
        Status::Replied,
        Status::AwaitingCallback,
        Status::CallbackUnsatisfied,
        Status::CalledBack,
        Status::Unreachable,
        Status::Archived,
        Status::Merged,
    ];

    /// The name serde gives it (snake_case), for URLs, filters and logs.
    pub const fn name(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::MissedCall => "missed_call",
            Status::Closed => "closed",
            Status::Dispatched => "dispatched",
            Status::Handling => "handling",
            Status::ReturnPending => "return_pending",
            Status::Replied => "replied",
            Status::AwaitingCallback => "awaiting_callback",
            Status::CallbackUnsatisfied => "callback_unsatisfied",
            Status::CalledBack => "called_back",
            Status::Unreachable => "unreachable",
            Status::Archived => "archived",
            Status::Merged => "merged",
        }
    }

    /// With the lead unit and not yet answered by it: dispatched, being handled, or waiting
    /// for the center's decision on a return. The deadline runs (and reminders with it).
    pub const fn is_open_for_unit(self) -> bool {
        matches!(
            self,
            Status::Dispatched | Status::Handling | Status::ReturnPending
        )
    }
}

/// [`Status::name`]: the serde (snake_case) name of a status.
pub const fn status_name(s: Status) -> &'static str {
    s.name()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StepError {
    #[error("`{step}` is not possible while the order is {status:?}")]
    WrongStatus { step: &'static str, status: Status },
    #[error("a {role} may not `{step}` this order")]
    Forbidden {
        step: &'static str,
        role: &'static str,
    },
    #[error("`{step}` is too late: its limit was {limit}")]
    TooLate {
        step: &'static str,
        limit: DateTime<Utc>,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("the first event of an order must be `drafted`")]
    NotDrafted,
    #[error(transparent)]
    Calendar(#[from] OutOfRange),
}

/// The state of one order, as its events made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkOrder {
    pub status: Status,
    pub record: String,
    /// First contact: the agent who answered the call owns the order (A3).
    pub owner: Option<String>,
    pub caller: String,
    pub line: Option<String>,
    pub intake: Option<Intake>,
    pub lead: Option<String>,
    pub co: Vec<String>,
    /// When the current dispatch reached the unit.
    pub received_at: Option<DateTime<Utc>>,
    /// 24:00 Beijing time of the last working day allowed (after approved extensions).
    pub due_at: Option<DateTime<Utc>>,
    /// The last moment the unit may return the order.
    pub return_due: Option<DateTime<Utc>>,
    pub signed: bool,
    /// When the lead unit signed for the current dispatch.
    pub signed_at: Option<DateTime<Utc>>,
    /// A reply passed the center's review (the caller is then called back).
    pub review_passed: bool,
    /// Over all rounds (for the KPIs): sign-fors, those within the return window, replies,
    /// those by the deadline.
    pub signs: u32,
    pub signs_on_time: u32,
    pub replies: u32,
    pub replies_on_time: u32,
    /// An extension waiting for the unit head.
    pub extension_requested: Option<DateTime<Utc>>,
    pub extensions: u32,
    pub returns: u32,
    pub rejected_returns: u32,
    /// Handling rounds: 1, plus one per re-do.
    pub round: u32,
    pub solved: Option<bool>,
    pub callback_attempts: u32,
    pub satisfaction: Option<Satisfaction>,
    /// The last callback found the caller unsatisfied for the unit's own reasons.
    pub unit_at_fault: bool,
    /// Over all rounds (for the KPIs): reminders (催办) and reminder notices (催办通知书) sent,
    /// criticisms flagged (通报批评).
    pub reminders: u32,
    pub notices: u32,
    pub criticisms: u32,
    /// Flagged for criticism in any round.
    pub criticized: bool,
    /// This round, against the current deadline: a reminder was sent. Reset by a new round
    /// (dispatch, reassignment, re-do) and by an approved extension (a new deadline gets its
    /// own reminder).
    pub round_reminded: bool,
    /// This round, against the current deadline: reminder notices sent. Reset like
    /// `round_reminded`: notices against a deadline an approved extension replaced do not count
    /// towards the criticism (the extension is the unit's reported reason).
    pub round_notices: u32,
    /// When the last of `round_notices` was sent.
    pub last_notice_at: Option<DateTime<Utc>>,
    /// This round was flagged for criticism. Reset by a new round only.
    pub round_criticized: bool,
    pub merged_into: Option<String>,
    pub category: Option<String>,
    /// The unit's reply came in before the deadline (None while there is none).
    pub replied_on_time: Option<bool>,
    pub events: u32,
}

impl WorkOrder {
    /// An order from its events, in order. Any refused event is reported with its index.
    pub fn replay(
        events: &[Event],
        rules: &Rules,
        cal: &Calendar,
    ) -> Result<WorkOrder, (usize, StepError)> {
        let first = events.first().ok_or((0, StepError::NotDrafted))?;
        let mut order = WorkOrder::from_draft(first).map_err(|e| (0, e))?;
        for (i, e) in events.iter().enumerate().skip(1) {
            order.apply(e, rules, cal).map_err(|err| (i, err))?;
        }
        Ok(order)
    }

    /// The new order a `drafted` event starts.
    pub fn from_draft(e: &Event) -> Result<WorkOrder, StepError> {
        let EventKind::Drafted {
            record,
            agent,
            caller,
            line,
        } = &e.kind
        else {
            return Err(StepError::NotDrafted);
        };
        Ok(WorkOrder {
            status: if agent.is_some() {
                Status::Draft
            } else {
                Status::MissedCall
            },
            record: record.clone(),
            owner: agent.clone(),
            caller: caller.clone(),
            line: line.clone(),
            intake: None,
            lead: None,
            co: Vec::new(),
            received_at: None,
            due_at: None,
            return_due: None,
            signed: false,
            signed_at: None,
            review_passed: false,
            signs: 0,
            signs_on_time: 0,
            replies: 0,
            replies_on_time: 0,
            extension_requested: None,
            extensions: 0,
            returns: 0,
            rejected_returns: 0,
            round: 1,
            solved: None,
            callback_attempts: 0,
            satisfaction: None,
            unit_at_fault: false,
            reminders: 0,
            notices: 0,
            criticisms: 0,
            criticized: false,
            round_reminded: false,
            round_notices: 0,
            last_notice_at: None,
            round_criticized: false,
            merged_into: None,
            category: None,
            replied_on_time: None,
            events: 1,
        })
    }

    /// Applies one step, or refuses it with the reason and changes nothing.
    pub fn apply(&mut self, e: &Event, rules: &Rules, cal: &Calendar) -> Result<(), StepError> {
        let mut next = self.clone();
        next.step(e, rules, cal)?;
        next.events += 1;
        *self = next;
        Ok(())
    }

    /// Whether a unit may see this order at all (lead or co-unit of it).
    pub fn visible_to_unit(&self, unit: &str) -> bool {
        self.lead.as_deref() == Some(unit) || self.co.iter().any(|c| c == unit)
    }

    fn step(&mut self, e: &Event, rules: &Rules, cal: &Calendar) -> Result<(), StepError> {
        use EventKind as K;
        use Status as S;
        let step = e.kind.name();
        let status = self.status;
        let wrong = || StepError::WrongStatus { step, status };
        match &e.kind {
            K::Drafted { .. } => return Err(wrong()),
            K::IntakeFilled(intake) => {
                self.center(&e.actor, step)?;
                if !matches!(status, S::Draft | S::MissedCall) {
                    return Err(wrong());
                }
                if intake.content.trim().is_empty() {
                    return Err(StepError::Invalid(
                        "the content of the request is empty".into(),
                    ));
                }
                self.intake = Some(intake.clone());
                if status == S::MissedCall {
                    // Called back and taken down: an order like any other from here.
                    self.status = S::Draft;
                    self.owner.get_or_insert_with(|| e.actor.id.clone());
                }
            }
            K::AnsweredOnSpot { .. } | K::EmergencyTransferred { .. } | K::Informed { .. } => {
                self.center(&e.actor, step)?;
                if status != S::Draft {
                    return Err(wrong());
                }
                self.need_intake()?;
                self.status = S::Closed;
            }
            K::Dispatched { lead, co, card } => {
                self.center(&e.actor, step)?;
                if status != S::Draft {
                    return Err(wrong());
                }
                let intake = self.need_intake()?.clone();
                self.dispatch(
                    lead,
                    co,
                    card,
                    e.at,
                    rules.days_for(intake.request_type),
                    rules,
                    cal,
                )?;
            }
            K::SignedFor => {
                self.lead_unit(&e.actor, step)?;
                if status != S::Dispatched {
                    return Err(wrong());
                }
                self.signed = true;
                self.signed_at = Some(e.at);
                self.signs += 1;
                self.signs_on_time += u32::from(self.return_due.is_none_or(|d| e.at <= d));
                self.status = S::Handling;
            }
            K::ReturnRequested { reasons, basis } => {
                self.lead_unit(&e.actor, step)?;
                if !matches!(status, S::Dispatched | S::Handling) {
                    return Err(wrong());
                }
                if reasons.trim().is_empty() || basis.trim().is_empty() {
                    return Err(StepError::Invalid(
                        "a return needs its reasons and its basis".into(),
                    ));
                }
                let limit = self.return_due.ok_or_else(wrong)?;
                if e.at > limit {
                    return Err(StepError::TooLate { step, limit });
                }
                self.returns += 1;
                self.status = S::ReturnPending;
            }
            K::Reassigned { lead, co, card } => {
                self.supervisor(&e.actor, step)?;
                if status != S::ReturnPending {
                    return Err(wrong());
                }
                let days = rules.days_for(self.need_intake()?.request_type);
                self.dispatch(lead, co, card, e.at, days, rules, cal)?;
            }
            K::ReturnRejected { reason } => {
                self.supervisor(&e.actor, step)?;
                if status != S::ReturnPending {
                    return Err(wrong());
                }
                if reason.trim().is_empty() {
                    return Err(StepError::Invalid(
                        "a rejected return needs a reason".into(),
                    ));
                }
                self.rejected_returns += 1;
                self.status = if self.signed {
                    S::Handling
                } else {
                    S::Dispatched
                };
            }
            K::ExtensionRequested {
                new_due,
                basis,
                reason,
            } => {
                self.lead_unit(&e.actor, step)?;
                if !matches!(status, S::Dispatched | S::Handling) {
                    return Err(wrong());
                }
                if self.extension_requested.is_some() {
                    return Err(StepError::Invalid(
                        "an extension request is already pending".into(),
                    ));
                }
                let due = self.due_at.ok_or_else(wrong)?;
                if e.at > due {
                    return Err(StepError::TooLate { step, limit: due });
                }
                if *new_due <= due {
                    return Err(StepError::Invalid(format!(
                        "the new date {new_due} is not after the deadline {due}"
                    )));
                }
                if basis.trim().is_empty() || reason.trim().is_empty() {
                    return Err(StepError::Invalid(
                        "an extension needs its basis and its reason".into(),
                    ));
                }
                self.extension_requested = Some(*new_due);
            }
            K::ExtensionDecided { approved, .. } => {
                let Role::UnitHead(u) = &e.actor.role else {
                    return Err(forbidden(&e.actor, step));
                };
                if self.lead.as_deref() != Some(u) {
                    return Err(forbidden(&e.actor, step));
                }
                let Some(new_due) = self.extension_requested.take() else {
                    return Err(StepError::Invalid("no extension is pending".into()));
                };
                if *approved {
                    self.due_at = Some(new_due);
                    self.extensions += 1;
                    // A new deadline: reminded and noticed afresh against it.
                    self.reset_reminders();
                }
            }
            K::Replied {
                internal,
                public,
                solved,
                ..
            } => {
                self.lead_unit(&e.actor, step)?;
                if status != S::Handling {
                    return Err(wrong());
                }
                if internal.trim().is_empty() || public.trim().is_empty() {
                    return Err(StepError::Invalid(
                        "a reply needs its internal and its public text".into(),
                    ));
                }
                self.solved = Some(*solved);
                let on_time = self.due_at.is_none_or(|d| e.at <= d);
                self.replied_on_time = Some(on_time);
                self.replies += 1;
                self.replies_on_time += u32::from(on_time);
                self.status = S::Replied;
            }
            K::Reviewed { passed, note } => {
                self.supervisor(&e.actor, step)?;
                if status != S::Replied {
                    return Err(wrong());
                }
                if !passed && note.trim().is_empty() {
                    return Err(StepError::Invalid("a failed review says why".into()));
                }
                self.review_passed |= *passed;
                self.status = if *passed {
                    S::AwaitingCallback
                } else {
                    S::Handling
                };
            }
            K::CallbackAttempt {
                reached,
                solved,
                satisfaction,
                unit_at_fault,
            } => {
                self.center(&e.actor, step)?;
                if !matches!(status, S::AwaitingCallback | S::MissedCall) {
                    return Err(wrong());
                }
                self.callback_attempts += 1;
                if status == S::MissedCall {
                    // A missed call's callback: reached, the agent takes the request down next.
                    return Ok(());
                }
                if !reached {
                    if self.callback_attempts >= rules.callback_attempts {
                        self.status = S::Unreachable;
                    }
                    return Ok(());
                }
                let Some(sat) = satisfaction else {
                    return Err(StepError::Invalid(
                        "a callback that reached the caller records the satisfaction".into(),
                    ));
                };
                if *unit_at_fault && sat.is_satisfied() {
                    return Err(StepError::Invalid(
                        "a satisfied caller cannot be unsatisfied for the unit's reasons".into(),
                    ));
                }
                self.satisfaction = Some(*sat);
                if let Some(s) = solved {
                    self.solved = Some(*s);
                }
                self.status = if sat.is_satisfied() {
                    S::CalledBack
                } else {
                    S::CallbackUnsatisfied
                };
                self.unit_at_fault = *unit_at_fault;
            }
            K::RedoOrdered { letter } => {
                self.supervisor(&e.actor, step)?;
                if status != S::CallbackUnsatisfied || !self.unit_at_fault {
                    return Err(StepError::Invalid(
                        "a re-do follows a callback unsatisfied for the unit's reasons".into(),
                    ));
                }
                if letter.trim().is_empty() {
                    return Err(StepError::Invalid(
                        "a re-do comes with its supervision letter".into(),
                    ));
                }
                let (lead, co) = (self.lead.clone().unwrap_or_default(), self.co.clone());
                let days = rules.days_for(self.need_intake()?.request_type);
                self.round += 1;
                self.unit_at_fault = false;
                self.dispatch(&lead, &co, letter, e.at, days, rules, cal)?;
            }
            K::Classified { category } => {
                self.center(&e.actor, step)?;
                let closable = matches!(status, S::CalledBack | S::Unreachable | S::Closed)
                    || (status == S::CallbackUnsatisfied && !self.unit_at_fault);
                if !closable {
                    return Err(wrong());
                }
                self.category = Some(category.clone());
                self.status = S::Archived;
            }
            K::Merged { into } => {
                self.supervisor(&e.actor, step)?;
                if matches!(status, S::Archived | S::Merged) {
                    return Err(wrong());
                }
                if into.trim().is_empty() {
                    return Err(StepError::Invalid("merged into which order?".into()));
                }
                self.merged_into = Some(into.clone());
                self.status = S::Merged;
            }
            K::Reminded { notice } => {
                if e.actor.role != Role::System && e.actor.role != Role::Supervisor {
                    return Err(forbidden(&e.actor, step));
                }
                if !matches!(status, S::Dispatched | S::Handling | S::ReturnPending) {
                    return Err(wrong());
                }
                if *notice {
                    self.notices += 1;
                    self.round_notices += 1;
                    self.last_notice_at = Some(e.at);
                } else {
                    self.reminders += 1;
                    self.round_reminded = true;
                }
            }
            K::CriticismFlagged => {
                if e.actor.role != Role::System && e.actor.role != Role::Supervisor {
                    return Err(forbidden(&e.actor, step));
                }
                if !matches!(status, S::Dispatched | S::Handling) || self.round_criticized {
                    return Err(wrong());
                }
                if !self.escalation_due(e.at, cal)? {
                    return Err(StepError::Invalid(format!(
                        "criticism needs two reminder notices in this round and {ESCALATION_WORKING_DAYS_LATE} working days past the deadline"
                    )));
                }
                self.criticized = true;
                self.round_criticized = true;
                self.criticisms += 1;
            }
        }
        Ok(())
    }

    /// Two notices in this round (against the current deadline) and 5 working days past the
    /// deadline at `at`, i.e. from 00:00 Beijing of the 5th working day after the deadline's
    /// day (the scheduler's test too). Whether the round was already flagged is not checked.
    pub fn escalation_due(&self, at: DateTime<Utc>, cal: &Calendar) -> Result<bool, StepError> {
        let Some(due) = self.due_at else {
            return Ok(false);
        };
        if self.round_notices < 2 || at <= due {
            return Ok(false);
        }
        // `due` is 24:00 of the last day, i.e. the first instant of the next one.
        let last_day = due - chrono::Duration::seconds(1);
        let (Some(d), Some(now)) = (beijing_date(last_day), beijing_date(at)) else {
            return Ok(false);
        };
        Ok(cal.working_days_between(d, now)? >= ESCALATION_WORKING_DAYS_LATE)
    }

    #[allow(clippy::too_many_arguments)]
    fn dispatch(
        &mut self,
        lead: &str,
        co: &[String],
        card: &str,
        at: DateTime<Utc>,
        days: u32,
        rules: &Rules,
        cal: &Calendar,
    ) -> Result<(), StepError> {
        if lead.trim().is_empty() {
            return Err(StepError::Invalid("a dispatch names its lead unit".into()));
        }
        if co.iter().any(|c| c == lead) {
            return Err(StepError::Invalid(format!(
                "`{lead}` cannot be lead and co-unit"
            )));
        }
        if card.trim().is_empty() {
            return Err(StepError::Invalid(
                "a dispatch carries its transfer card".into(),
            ));
        }
        self.lead = Some(lead.to_string());
        self.co = co.to_vec();
        self.received_at = Some(at);
        self.due_at = Some(cal.due_at(at, days)?);
        self.return_due = Some(cal.due_at(at, rules.return_days)?);
        self.signed = false;
        self.signed_at = None;
        self.extension_requested = None;
        self.replied_on_time = None;
        self.reset_reminders();
        self.round_criticized = false;
        self.status = Status::Dispatched;
        Ok(())
    }

    fn reset_reminders(&mut self) {
        self.round_reminded = false;
        self.round_notices = 0;
        self.last_notice_at = None;
    }

    fn need_intake(&self) -> Result<&Intake, StepError> {
        self.intake
            .as_ref()
            .ok_or_else(|| StepError::Invalid("the intake form is not filled in".into()))
    }

    fn center(&self, a: &Actor, step: &'static str) -> Result<(), StepError> {
        match a.role {
            Role::Agent | Role::Supervisor | Role::Admin => Ok(()),
            _ => Err(forbidden(a, step)),
        }
    }

    fn supervisor(&self, a: &Actor, step: &'static str) -> Result<(), StepError> {
        match a.role {
            Role::Supervisor | Role::Admin => Ok(()),
            _ => Err(forbidden(a, step)),
        }
    }

    /// Staff (or the head) of the lead unit.
    fn lead_unit(&self, a: &Actor, step: &'static str) -> Result<(), StepError> {
        match a.role.unit() {
            Some(u) if self.lead.as_deref() == Some(u) => Ok(()),
            _ => Err(forbidden(a, step)),
        }
    }
}

fn forbidden(a: &Actor, step: &'static str) -> StepError {
    StepError::Forbidden {
        step,
        role: a.role.name(),
    }
}
