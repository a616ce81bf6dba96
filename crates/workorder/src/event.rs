//! The append-only history of an order: who did what, when.

use crate::types::{Intake, Satisfaction};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Who acts, and in which capacity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", content = "unit", rename_all = "snake_case")]
pub enum Role {
    /// A 12345 center agent (话务员).
    Agent,
    /// The center's supervisors and reviewers.
    Supervisor,
    /// Staff of a handling unit (承办单位).
    UnitStaff(String),
    /// The head of a handling unit (approves extensions).
    UnitHead(String),
    Admin,
    /// The scheduler (reminders, escalation).
    System,
}

impl Role {
    pub fn unit(&self) -> Option<&str> {
        match self {
            Role::UnitStaff(u) | Role::UnitHead(u) => Some(u),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::UnitStaff(_) => "unit staff",
            Role::UnitHead(_) => "unit head",
            Role::Admin => "admin",
            Role::System => "system",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub id: String,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// From a call record: owned by the agent who answered it (首接责任制); a call nobody
    /// answered (abandoned, IVR only) is a missed call to call back (漏接回拨).
    Drafted {
        record: String,
        agent: Option<String>,
        caller: String,
        line: Option<String>,
    },
    IntakeFilled(Intake),
    /// 直办: answered during the call; closed.
    AnsweredOnSpot {
        answer: String,
    },
    /// Moved to an emergency line (110, 119, 120, 122, 12122); closed.
    EmergencyTransferred {
        number: String,
    },
    /// 告知: told where to go; closed.
    Informed {
        guidance: String,
    },
    /// 转办: a transfer card to a lead unit and co-units.
    Dispatched {
        lead: String,
        co: Vec<String>,
        card: String,
    },
    /// The lead unit takes it (签收).
    SignedFor,
    /// Outside the unit's remit (退回), within the return limit.
    ReturnRequested {
        reasons: String,
        basis: String,
    },
    /// The center accepts the return and reassigns.
    Reassigned {
        lead: String,
        co: Vec<String>,
        card: String,
    },
    /// The center refuses the return: the unit keeps the order.
    ReturnRejected {
        reason: String,
    },
    /// Before the deadline: a later date, with basis and reason.
    ExtensionRequested {
        new_due: DateTime<Utc>,
        basis: String,
        reason: String,
    },
    /// The unit head's decision, the caller informed or not.
    ExtensionDecided {
        approved: bool,
        note: String,
        caller_informed: bool,
    },
    /// The unit's answer: internal and public text, whether it contacted the caller and solved
    /// the problem.
    Replied {
        internal: String,
        public: String,
        contacted_caller: bool,
        solved: bool,
    },
    /// The center's review of the reply.
    Reviewed {
        passed: bool,
        note: String,
    },
    /// One callback attempt (回访).
    CallbackAttempt {
        reached: bool,
        solved: Option<bool>,
        satisfaction: Option<Satisfaction>,
        /// Unsatisfied for the unit's own reasons: a re-do is due.
        unit_at_fault: bool,
    },
    /// 重办: another round with a supervision letter (督办函).
    RedoOrdered {
        letter: String,
    },
    /// Final classification; archived.
    Classified {
        category: String,
    },
    /// A duplicate: merged into a master order.
    Merged {
        into: String,
    },
    /// 催办: a reminder before the deadline, or a reminder notice (催办通知书) at it.
    Reminded {
        notice: bool,
    },
    /// Two notices and 5 more working days late: flagged for 通报批评 and the supervision office.
    CriticismFlagged,
}

impl EventKind {
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Drafted { .. } => "drafted",
            EventKind::IntakeFilled(_) => "intake_filled",
            EventKind::AnsweredOnSpot { .. } => "answered_on_spot",
            EventKind::EmergencyTransferred { .. } => "emergency_transferred",
            EventKind::Informed { .. } => "informed",
            EventKind::Dispatched { .. } => "dispatched",
            EventKind::SignedFor => "signed_for",
            EventKind::ReturnRequested { .. } => "return_requested",
            EventKind::Reassigned { .. } => "reassigned",
            EventKind::ReturnRejected { .. } => "return_rejected",
            EventKind::ExtensionRequested { .. } => "extension_requested",
            EventKind::ExtensionDecided { .. } => "extension_decided",
            EventKind::Replied { .. } => "replied",
            EventKind::Reviewed { .. } => "reviewed",
            EventKind::CallbackAttempt { .. } => "callback_attempt",
            EventKind::RedoOrdered { .. } => "redo_ordered",
            EventKind::Classified { .. } => "classified",
            EventKind::Merged { .. } => "merged",
            EventKind::Reminded { .. } => "reminded",
            EventKind::CriticismFlagged => "criticism_flagged",
        }
    }
}
