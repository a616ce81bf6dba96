//! The work-order service: the async shell around the pure lifecycle of `hotline-workorder`
//! and the tables of `hotline-store`.
//!
//! - every call record becomes a draft (an answered call owned by its agent, any other on the
//!   missed-call list), at once and again by a catch-up scan, so a record spooled while the
//!   database was down still gets its order;
//! - a step is loaded, checked by the pure rules against the replayed order and appended
//!   with optimistic concurrency: a concurrent change makes it retry on the fresh state, and
//!   a refused step writes nothing;
//! - the scheduler asks the pure rules which reminders, notices and criticisms are due and
//!   appends each with its notifications in one transaction; the outbox delivers those at
//!   least once (SMS sink, webhooks);
//! - log-in with argon2 hashes and expiring tokens.
//!
//! Nothing here reads the clock: every operation takes `now`, so tests run a month in
//! milliseconds on a real database.

pub mod auth;
mod error;
pub mod outbox;
mod projection;
mod service;

pub use auth::Principal;
pub use error::ServiceError;
pub use projection::{kpis_from_counts, projection};
pub use service::{Drafted, OrderService, ScheduleReport, Settings, StoredOrder, open_statuses};
