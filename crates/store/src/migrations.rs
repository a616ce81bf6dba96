use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::Backend;

/// One entry per file under `migrations/<dialect>/`, embedded so the binary needs no files at run
/// time. Each version must exist in both dialects; sqlx records applied versions (with a checksum
/// of the text) in `_sqlx_migrations`, so an edited, already-applied file is reported, not rerun.
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "call_records",
        include_str!("../migrations/sqlite/0001_call_records.sql"),
        include_str!("../migrations/postgres/0001_call_records.sql"),
    ),
    (
        2,
        "call_route_recording",
        include_str!("../migrations/sqlite/0002_call_route_recording.sql"),
        include_str!("../migrations/postgres/0002_call_route_recording.sql"),
    ),
    (
        3,
        "acd",
        include_str!("../migrations/sqlite/0003_acd.sql"),
        include_str!("../migrations/postgres/0003_acd.sql"),
    ),
    (
        4,
        "work_orders",
        include_str!("../migrations/sqlite/0004_work_orders.sql"),
        include_str!("../migrations/postgres/0004_work_orders.sql"),
    ),
    (
        5,
        "users_outbox_kpis",
        include_str!("../migrations/sqlite/0005_users_outbox_kpis.sql"),
        include_str!("../migrations/postgres/0005_users_outbox_kpis.sql"),
    ),
    (
        6,
        "scheduler_next_check",
        include_str!("../migrations/sqlite/0006_scheduler_next_check.sql"),
        include_str!("../migrations/postgres/0006_scheduler_next_check.sql"),
    ),
    (
        7,
        "knowledge_base",
        include_str!("../migrations/sqlite/0007_knowledge_base.sql"),
        include_str!("../migrations/postgres/0007_knowledge_base.sql"),
    ),
    (
        8,
        "attachments",
        include_str!("../migrations/sqlite/0008_attachments.sql"),
        include_str!("../migrations/postgres/0008_attachments.sql"),
    ),
    (
        9,
        "insight",
        include_str!("../migrations/sqlite/0009_insight.sql"),
        include_str!("../migrations/postgres/0009_insight.sql"),
    ),
];

/// How many versions there are.
pub(crate) fn count() -> usize {
    MIGRATIONS.len()
}

/// Built by hand rather than with `sqlx::migrate!`: the macro needs sqlx's `macros` feature and
/// picks one directory at compile time, while the backend here is only known from the URL.
pub(crate) fn migrator(backend: Backend) -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|&(version, description, sqlite, postgres)| {
            let sql = match backend {
                Backend::Sqlite => sqlite,
                Backend::Postgres => postgres,
            };
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}
