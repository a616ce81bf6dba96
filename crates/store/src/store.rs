use std::sync::Once;
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

use crate::backend::{is_sqlite_memory, redact, sqlite_file};
use crate::{Backend, StoreError, migrations};

/// Pool settings. The defaults suit the server; the writer lowers `acquire_timeout` so a dead
/// database is noticed quickly and records go to the spool instead of waiting.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    /// How long a query may wait for a connection, including (re)connecting to the server.
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// A migrated connection pool. Cheap to clone (the pool is shared).
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connects to `sqlite://path?mode=rwc` (creating the file's parent directories) or
    /// `postgres://...`, and applies pending migrations for that backend.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Store::connect_with(url, &StoreOptions::default()).await
    }

    pub async fn connect_with(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        install_drivers();
        let backend = Backend::from_url(url)?;
        let mut pool_options = AnyPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout);
        if backend == Backend::Sqlite {
            if let Some(dir) = sqlite_file(url).and_then(|f| f.parent().map(|p| p.to_path_buf()))
                && !dir.as_os_str().is_empty()
            {
                tokio::fs::create_dir_all(&dir)
                    .await
                    .map_err(|source| StoreError::CreateDir { path: dir, source })?;
            }
            // WAL: a commit is one sequential append to the log, and readers (reports, tests)
            // never block the writer; a busy timeout rather than an instant SQLITE_BUSY when they
            // overlap. synchronous stays FULL (a record acknowledged is on disk even after a power
            // loss); the writer batches records so that costs one sync per batch, not per call.
            pool_options = pool_options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    use sqlx::Executor;
                    conn.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;")
                        .await?;
                    Ok(())
                })
            });
            if is_sqlite_memory(url) {
                // Each SQLite connection to :memory: is its own empty database: keep exactly one,
                // forever, or the tables vanish with the connection.
                pool_options = pool_options
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None);
            }
        }
        let pool = pool_options.connect(url).await?;
        let migrator = migrations::migrator(backend);
        // SQLite has no migration lock: two connects racing on a new file both see a version
        // missing and the slower one fails on its DDL. The faster one committed the change
        // together with its migration row, so a rerun sees it applied. Each failed run means
        // one version was taken by the other connection: one retry per version is enough.
        // PostgreSQL takes an advisory lock for the run instead, and a failed run (an edited
        // migration, a DDL error) does not release it on its pooled connection: a retry on
        // another connection would wait for it forever. So there a failure is final, and the
        // pool is closed, which ends the session that holds the lock.
        let mut attempt = 0;
        while let Err(e) = migrator.run(&pool).await {
            attempt += 1;
            if backend == Backend::Postgres || attempt > migrations::count() {
                pool.close().await;
                return Err(e.into());
            }
            tracing::debug!(error = %e, attempt, "migration failed; retrying");
        }
        tracing::debug!(url = %redact(url), ?backend, "store connected and migrated");
        Ok(Store { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Round trip to the server: true health, not just a pooled connection existing.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool's connections; later queries fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn install_drivers() {
    // sqlx's own Once makes repeated calls harmless; ours just avoids the call on every connect.
    static ONCE: Once = Once::new();
    ONCE.call_once(sqlx::any::install_default_drivers);
}

impl Store {
    /// `columns` of `table`'s rows about order `order_no` (or all rows), newest id first, at
    /// most `limit`: the shape of the audit log's and the outbox's listings.
    pub(crate) async fn newest_of_order(
        &self,
        table: &'static str,
        columns: &'static str,
        order_no: Option<&str>,
        limit: u32,
    ) -> Result<Vec<sqlx::any::AnyRow>, StoreError> {
        let filter = if order_no.is_some() {
            "WHERE order_no = $2 "
        } else {
            ""
        };
        let sql = format!("SELECT {columns} FROM {table} {filter}ORDER BY id DESC LIMIT $1");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(i64::from(limit));
        if let Some(no) = order_no {
            q = q.bind(no);
        }
        Ok(q.fetch_all(&self.pool).await?)
    }
}
