//! The knowledge-base service (issue 7, K1 and A4): the async shell around the pure rules of
//! `hotline-kb`, the canonical tables of `hotline-store` and the search index of
//! `hotline-kb-search`.
//!
//! - a step (draft, edit, submit, approve, reject, retire) is checked by the pure rules on the
//!   stored versions and saved with optimistic concurrency; a refused step writes nothing;
//! - the search index is derived from the published versions: rebuilt at start when missing
//!   or stale (it remembers the store's fingerprint), and brought in step with every save;
//! - a batch import is validated whole, row by row, and written in one transaction;
//! - agents search and get suggestions from the work order's text as it is typed; marking an
//!   entry as an order's answer (直办) links the two and counts the entry's hit;
//! - the direct-answer rate and the hit counts for the KPIs.
//!
//! Nothing here reads the clock: every operation takes `now`.

mod error;
mod roles;
mod rows;
mod service;

pub use error::KbError;
pub use roles::kb_actor;
pub use service::{KbKpis, KbService, StoredEntry, TopEntry};
