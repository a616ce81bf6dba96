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
    #[error("spool {path}: {source}")]
    Spool {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the call record writer task has stopped")]
    WriterStopped,
}
