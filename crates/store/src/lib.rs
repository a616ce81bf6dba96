//! The one crate that owns SQL tables: sqlx `AnyPool` over SQLite or PostgreSQL, the migrations
//! for both, and the spool-and-retry writer that makes sure no call record is lost while the
//! database is down (W1: every call leaves a record).

mod accounts;
mod acd;
mod attachments;
mod backend;
mod calendar;
mod call_records;
mod error;
mod insight;
mod knowledge;
mod migrations;
mod outbox;
mod spool;
mod store;
mod work_orders;
mod writer;

pub use accounts::{AuditRow, SessionRow, UserRow};
pub use acd::{AgentStateRow, CallbackRow};
pub use attachments::{AttachmentMeta, AttachmentRow};
pub use backend::Backend;
pub use calendar::CalendarOverrideRow;
pub use call_records::Inserted;
pub use error::StoreError;
pub use insight::{AlertRow, FactDimension, OrderFactRow};
pub use knowledge::{KbEntryRow, KbKpiCounts, KbLinkRow, KbQuery, KbSaved, KbVersionRow};
pub use outbox::{NewOutbox, OutboxRow};
pub use spool::{BAD_FILE, REPLAYING_FILE, SPOOL_FILE};
pub use store::{Store, StoreOptions};
pub use work_orders::{EventRow, KpiCounts, LIST_LIMIT_MAX, OrderQuery, OrderRow};
pub use writer::{CallRecordWriter, CallRecordWriterHandle, WriterConfig};
