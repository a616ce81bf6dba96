//! Work orders (requirements W1–W10, the notice's §7): every call becomes an order, handled by
//! the center or dispatched to units, called back and archived.
//!
//! An order is its events: [`Event`]s are appended, never changed, and [`WorkOrder::replay`]
//! recomputes any state from them. [`WorkOrder::apply`] checks a step against the current
//! state, the roles and the working-day deadlines (on the Chinese calendar of
//! `hotline-calendar`) and refuses an invalid one with a [`StepError`] saying why, changing
//! nothing. Pure: no clock (every event carries its time), no storage.
//!
//! [`due_steps`] is the scheduler's rule (reminders, reminder notices, the criticism flag) for
//! an order at a given instant.

mod event;
mod kpi;
mod notify;
mod number;
mod order;
pub mod privacy;
mod rules;
pub mod schedule;
mod types;

pub use event::{Actor, Event, EventKind, Role};
pub use kpi::Kpis;
pub use notify::{Notification, NotificationKind, beijing_deadline, notification};
pub use number::{OrderNumber, OrderNumberError};
pub use order::{Status, StepError, WorkOrder, status_name};
pub use privacy::{
    Exposure, exposure, hide_free_text, mask_free_text, mask_id_card, mask_phone, redact_event,
    redact_history, redact_order,
};
pub use rules::Rules;
pub use schedule::{Scheduled, due_steps, reminder_from};
pub use types::{Intake, RequestType, Requester, Satisfaction, Urgency};
