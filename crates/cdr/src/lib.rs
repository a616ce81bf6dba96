//! Sans-IO call records: the record each INVITE dialog leaves (requirement W1: every call leaves a
//! record).
//!
//! The SIP layer keeps a [`CallRecordBuilder`] per INVITE dialog, feeds it the events it sees with
//! the time it saw them, and turns it into a [`CallRecord`] when the dialog ends. Nothing here reads
//! the clock or does I/O, so the ordering rules are tested with plain timestamps.

mod kind;
mod reason;
mod record;

pub use kind::{CallKind, UnknownCallKind};
pub use reason::{EndReason, UnknownEndReason};
pub use record::{CallRecord, CallRecordBuilder};
