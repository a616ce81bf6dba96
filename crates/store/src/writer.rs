use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hotline_cdr::CallRecord;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::backend::redact;
use crate::spool::Spool;
use crate::{Store, StoreError, StoreOptions};

#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// First wait before retrying a failed database; doubles up to `retry_max`.
    pub retry_initial: Duration,
    pub retry_max: Duration,
    /// Records queued in memory before `submit` writes straight to the spool instead.
    pub queue_capacity: usize,
    /// How long one database operation may wait for a connection before the record is spooled.
    pub acquire_timeout: Duration,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(30),
            queue_capacity: 65_536,
            acquire_timeout: Duration::from_secs(3),
        }
    }
}

enum Command {
    Record(Box<CallRecord>),
    Flush(oneshot::Sender<()>),
}

/// Writes call records to the database in the background; while the database is unreachable
/// they go to an fsynced spool file, replayed in order once it is back.
#[derive(Debug)]
pub struct CallRecordWriter;

impl CallRecordWriter {
    /// Starts the writer task on the current tokio runtime. It runs until every handle is dropped.
    pub fn start(
        store_url: String,
        spool_dir: PathBuf,
    ) -> (CallRecordWriterHandle, JoinHandle<()>) {
        CallRecordWriter::start_with(store_url, spool_dir, WriterConfig::default())
    }

    pub fn start_with(
        store_url: String,
        spool_dir: PathBuf,
        config: WriterConfig,
    ) -> (CallRecordWriterHandle, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
        let spool = Spool::new(spool_dir);
        let spooled_directly = Arc::new(AtomicBool::new(false));
        let spool_only = Arc::new(AtomicBool::new(false));
        let handle = CallRecordWriterHandle {
            spool_only: spool_only.clone(),
            tx,
            spool: spool.clone(),
            spooled_directly: spooled_directly.clone(),
        };
        let task = Task {
            spool_only,
            // One task writing one batch at a time needs no more than a spare connection.
            options: StoreOptions {
                max_connections: 2,
                acquire_timeout: config.acquire_timeout,
            },
            url: store_url,
            backoff: config.retry_initial,
            config,
            spool,
            spooled_directly,
            store: None,
            healthy: false,
            retry_at: Instant::now(),
            unspooled: VecDeque::new(),
        };
        (handle, tokio::spawn(task.run(rx)))
    }
}

#[derive(Debug, Clone)]
pub struct CallRecordWriterHandle {
    spool_only: Arc<AtomicBool>,
    tx: mpsc::Sender<Command>,
    spool: Spool,
    spooled_directly: Arc<AtomicBool>,
}

impl CallRecordWriterHandle {
    /// Never waits on the database. When the queue is full (or the task is gone) the record is
    /// appended to the spool right here, so it is on disk before this returns.
    pub fn submit(&self, record: CallRecord) {
        let record = match self.tx.try_send(Command::Record(Box::new(record))) {
            Ok(()) => return,
            Err(mpsc::error::TrySendError::Full(Command::Record(r)))
            | Err(mpsc::error::TrySendError::Closed(Command::Record(r))) => *r,
            Err(_) => return,
        };
        tracing::warn!(id = %record.id, "call record queue full or writer stopped; spooling directly");
        match self.spool.append(std::slice::from_ref(&record)) {
            Ok(()) => self.spooled_directly.store(true, Ordering::Release),
            Err(e) => tracing::error!(
                error = %e,
                record = %serde_json::to_string(&record).unwrap_or_default(),
                "call record could not be queued nor spooled"
            ),
        }
    }

    /// From now on every queued and new record goes to the spool, not the database: for a
    /// shutdown that cannot wait for a slow database any longer. A later start replays them.
    pub fn spool_rest(&self) {
        self.spool_only.store(true, Ordering::Release);
    }

    /// Returns once every record submitted before the call is in the database or in the spool
    /// on disk. For shutdown.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Command::Flush(done))
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        wait.await.map_err(|_| StoreError::WriterStopped)
    }
}

/// How many queued records one database transaction (or one spool append) takes at most.
const BATCH: usize = 256;

struct Task {
    /// Set by [`CallRecordWriterHandle::spool_rest`]: the database is no longer waited for.
    spool_only: Arc<AtomicBool>,
    url: String,
    options: StoreOptions,
    config: WriterConfig,
    spool: Spool,
    spooled_directly: Arc<AtomicBool>,
    store: Option<Store>,
    /// False from the first failure until the spool has been replayed: while false every record
    /// goes to the spool, which keeps them in arrival order.
    healthy: bool,
    backoff: Duration,
    retry_at: Instant,
    /// Records neither the database nor the spool took (disk full); retried with the database.
    unspooled: VecDeque<CallRecord>,
}

impl Task {
    async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        self.recover().await;
        loop {
            let needs_recovery = !self.healthy
                || !self.unspooled.is_empty()
                || self.spooled_directly.load(Ordering::Acquire);
            tokio::select! {
                command = rx.recv() => match command {
                    Some(Command::Record(record)) => {
                        // Take what else is queued (up to a batch) and write it in one commit.
                        let mut batch = vec![*record];
                        let mut flushes = Vec::new();
                        while batch.len() < BATCH {
                            match rx.try_recv() {
                                Ok(Command::Record(r)) => batch.push(*r),
                                Ok(Command::Flush(done)) => {
                                    // Answered after this batch: everything before it is in.
                                    flushes.push(done);
                                    break;
                                }
                                Err(_) => break,
                            }
                        }
                        self.write_batch(batch).await;
                        for done in flushes {
                            let _ = done.send(());
                        }
                    }
                    Some(Command::Flush(done)) => {
                        let _ = done.send(());
                    }
                    None => break,
                },
                () = tokio::time::sleep_until(self.retry_at), if needs_recovery => {
                    self.recover().await;
                }
            }
        }
        if !self.unspooled.is_empty() {
            tracing::error!(
                count = self.unspooled.len(),
                "call record writer stopping with records neither in the database nor spooled"
            );
        }
    }

    async fn write_batch(&mut self, batch: Vec<CallRecord>) {
        if self.spool_only.load(Ordering::Acquire) {
            // Stopping and out of time for the database: the disk takes them at once.
            return self.spool_records(batch).await;
        }
        if batch.len() == 1 || !self.healthy {
            for record in batch {
                self.write(record).await;
            }
            return;
        }
        let Some(store) = self.store.clone() else {
            return self.spool_records(batch).await;
        };
        match store.insert_call_records(&batch).await {
            Ok(_) => {}
            Err(e) if is_rejected(&e) => {
                // One bad record must not take the batch with it: retry one by one, so only the
                // refused one goes to the .bad file.
                for record in batch {
                    self.write(record).await;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "call record database write failed; spooling until it is back");
                self.backoff = self.config.retry_initial;
                self.failed();
                self.spool_records(batch).await;
            }
        }
    }

    async fn write(&mut self, record: CallRecord) {
        if self.healthy
            && let Some(store) = &self.store
        {
            match store.insert_call_record(&record).await {
                Ok(_) => return,
                Err(e) if is_rejected(&e) => {
                    self.reject(&record.id, serde_json::to_string(&record).ok(), &e)
                        .await;
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "call record database write failed; spooling until it is back");
                    self.backoff = self.config.retry_initial;
                    self.failed();
                }
            }
        }
        self.spool_record(record).await;
    }

    /// Append several records to the spool with one write and one sync.
    async fn spool_records(&mut self, records: Vec<CallRecord>) {
        let spool = self.spool.clone();
        let result = tokio::task::spawn_blocking(move || {
            let result = spool.append(&records);
            (records, result)
        })
        .await;
        match result {
            Ok((_, Ok(()))) => {}
            Ok((records, Err(e))) => {
                tracing::error!(error = %e, count = records.len(), "call records could not be spooled; holding them in memory");
                self.unspooled.extend(records);
            }
            Err(e) => tracing::error!(error = %e, "spool writer thread failed"),
        }
    }

    async fn spool_record(&mut self, record: CallRecord) {
        let spool = self.spool.clone();
        let result = tokio::task::spawn_blocking(move || {
            let result = spool.append(std::slice::from_ref(&record));
            (record, result)
        })
        .await;
        match result {
            Ok((_, Ok(()))) => {}
            Ok((record, Err(e))) => {
                tracing::error!(error = %e, id = %record.id, "call record could not be spooled; holding it in memory");
                self.unspooled.push_back(record);
            }
            Err(e) => tracing::error!(error = %e, "spool writer thread failed"),
        }
    }

    /// Reconnects (or pings), replays the spool, then writes what is held in memory. Any failure
    /// leaves the writer unhealthy with the next attempt scheduled.
    async fn recover(&mut self) {
        let store = match &self.store {
            Some(store) => match store.ping().await {
                Ok(()) => store.clone(),
                Err(e) => {
                    tracing::warn!(error = %e, "call record database still unavailable");
                    return self.failed();
                }
            },
            None => match Store::connect_with(&self.url, &self.options).await {
                Ok(store) => {
                    self.store = Some(store.clone());
                    store
                }
                Err(e) => {
                    tracing::warn!(url = %redact(&self.url), error = %e, "call record database unavailable; spooling");
                    return self.failed();
                }
            },
        };
        // Cleared before replaying so a record spooled by a handle during the replay is noticed.
        self.spooled_directly.store(false, Ordering::Release);
        if let Err(e) = self.replay(&store).await {
            tracing::warn!(error = %e, "call record spool replay interrupted");
            return self.failed();
        }
        while let Some(record) = self.unspooled.pop_front() {
            match store.insert_call_record(&record).await {
                Ok(_) => {}
                Err(e) if is_rejected(&e) => {
                    self.reject(&record.id, serde_json::to_string(&record).ok(), &e)
                        .await;
                }
                Err(e) => {
                    self.unspooled.push_front(record);
                    tracing::warn!(error = %e, "call record database failed again");
                    return self.failed();
                }
            }
        }
        if !self.healthy {
            tracing::info!("call record database available; writing directly");
        }
        self.healthy = true;
        self.backoff = self.config.retry_initial;
    }

    fn failed(&mut self) {
        self.healthy = false;
        self.retry_at = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(self.config.retry_max.max(self.config.retry_initial));
    }

    async fn replay(&mut self, store: &Store) -> Result<(), StoreError> {
        loop {
            let spool = self.spool.clone();
            let Some(path) = blocking(move || spool.take_for_replay()).await? else {
                return Ok(());
            };
            let (written, bad) = self.replay_file(store, &path).await?;
            let spool = self.spool.clone();
            blocking(move || spool.finish_replay()).await?;
            tracing::info!(written, bad, "call record spool replayed");
        }
    }

    /// Inserts every line in order. Stops at the first database failure, leaving the file to be
    /// replayed from the start next time (inserts already done are then duplicates, ignored).
    async fn replay_file(
        &mut self,
        store: &Store,
        path: &Path,
    ) -> Result<(usize, usize), StoreError> {
        let io = |source| StoreError::Spool {
            path: path.to_path_buf(),
            source,
        };
        let file = tokio::fs::File::open(path).await.map_err(io)?;
        let mut reader = BufReader::new(file);
        let mut buf = Vec::new();
        let (mut written, mut bad) = (0, 0);
        loop {
            buf.clear();
            if reader.read_until(b'\n', &mut buf).await.map_err(io)? == 0 {
                return Ok((written, bad));
            }
            let line = String::from_utf8_lossy(&buf);
            let line = line.trim_end_matches(['\r', '\n']);
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<CallRecord>(line) {
                Ok(record) => match store.insert_call_record(&record).await {
                    Ok(_) => written += 1,
                    Err(e) if is_rejected(&e) => {
                        self.reject(&record.id, Some(line.to_owned()), &e).await;
                        bad += 1;
                    }
                    Err(e) => return Err(e),
                },
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "malformed call record spool line moved to the bad file");
                    self.keep_bad(line.to_owned()).await;
                    bad += 1;
                }
            }
        }
    }

    async fn reject(&mut self, id: &str, line: Option<String>, error: &StoreError) {
        tracing::warn!(id, error = %error, "database refused call record; moved to the bad file");
        match line {
            Some(line) => self.keep_bad(line).await,
            None => tracing::error!(id, "refused call record could not be serialised"),
        }
    }

    async fn keep_bad(&mut self, line: String) {
        let spool = self.spool.clone();
        let kept = line.clone();
        if let Err(e) = blocking(move || spool.append_bad(&kept)).await {
            tracing::error!(error = %e, line, "could not write the call record bad file");
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Spool {
            path: PathBuf::new(),
            source: std::io::Error::other(e),
        })?
}

/// An error about this record rather than about the database being reachable: retrying would
/// fail forever and hold up every record behind it.
fn is_rejected(error: &StoreError) -> bool {
    match error {
        StoreError::Database(sqlx::Error::Database(db)) => {
            // Constraint violations, and PostgreSQL's SQLSTATE class 22 "data exception" (a NUL
            // byte in TEXT, a value out of range); SQLite's numeric codes are never 5 digits.
            db.kind() != sqlx::error::ErrorKind::Other
                || db
                    .code()
                    .is_some_and(|code| code.len() == 5 && code.starts_with("22"))
        }
        StoreError::Database(sqlx::Error::Encode(_)) => true,
        _ => false,
    }
}
