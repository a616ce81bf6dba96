use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("unsupported database URL {0:?}: expected sqlite:... or postgres://...")]
    UnsupportedUrl(String),
    #[error("cannot create directory {path} for the SQLite database: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("call record {id} in the database is unreadable: {reason}")]
    Corrupt { id: String, reason: String },
    /// A row of another table that cannot be turned back into its Rust type (a value written
    /// by hand or by a newer version).
    #[error("{table} row {key} in the database is unreadable: {reason}")]
    CorruptRow {
        table: &'static str,
        key: String,
        reason: String,
    },
    /// The caller handed over a value the table does not accept (an unknown state or status,
    /// counters that are not a JSON object). Nothing of the call is stored; the database's own
    /// CHECK constraints are a second line, not the error a caller sees.
    #[error("invalid value: {0}")]
    Invalid(String),
    /// A create of a row whose key is taken (an import naming a knowledge-base entry that is
    /// already there): a caller tells it from a bad value, since the fix is another key or an
    /// update, not other content. Nothing of the call is stored.
    #[error("{table} row {key} exists already")]
    Exists { table: &'static str, key: String },
    /// A row naming a work order there is not (an attachment of an unknown order). Nothing of
    /// the call is stored.
    #[error("no work order {0}")]
    NoSuchOrder(String),
    /// An optimistic-concurrency loss: the caller computed its change from version `expected`
    /// of the order, but the stored one is `found` (another append got there first; 0 when
    /// there is no such order). Nothing was written; the caller reloads, replays and retries.
    #[error("work order {no} is at version {found}, not {expected}: changed by someone else")]
    Conflict {
        no: String,
        expected: u32,
        found: u32,
    },
    #[error("spool {path}: {source}")]
    Spool {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the call record writer task has stopped")]
    WriterStopped,
}
