//! The one crate that owns SQL tables: sqlx `AnyPool` over SQLite or PostgreSQL, the migrations
//! for both, and the spool-and-retry writer that makes sure no call record is lost while the
//! database is down (W1: every call leaves a record).

mod acd;
mod backend;
mod call_records;
mod error;
mod migrations;
mod spool;
mod store;
mod work_orders;
mod writer;

pub use acd::{AgentStateRow, CallbackRow};
pub use backend::Backend;
pub use call_records::Inserted;
pub use error::StoreError;
pub use spool::{BAD_FILE, REPLAYING_FILE, SPOOL_FILE};
pub use store::{Store, StoreOptions};
pub use work_orders::{EventRow, OrderRow};
pub use writer::{CallRecordWriter, CallRecordWriterHandle, WriterConfig};
