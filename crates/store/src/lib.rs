//! The one crate that owns SQL tables: sqlx AnyPool, migrations for SQLite and PostgreSQL, spool and retry
