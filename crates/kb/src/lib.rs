//! The knowledge base's rules (issue 7, K1 and A4): what an entry is, how it moves from draft
//! to published and retired with every version kept, who may do what, when an entry is in
//! force, and how a batch import is validated row by row, all or nothing (and exported back in the
//! same formats).
//!
//! Pure: no storage, no search index, no clock (every step takes its time). The store keeps the
//! canonical rows; the search index is derived from the published versions.

mod entry;
mod export;
mod import;
mod workflow;

pub use entry::{Entry, EntryKind, Validity};
pub use export::{to_csv, to_json};
pub use import::RawRow;
pub use import::{Format, ImportError, RowError, parse_csv, parse_for, parse_json, validate_rows};
pub use workflow::{Actor, KbRole, Step, StepError, Version, VersionState, apply, live, published};
