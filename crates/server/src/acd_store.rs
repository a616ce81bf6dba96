//! The ACD's persistence over `hotline-store`: connects on first use and again after a
//! failure, so the hotline starts (and takes calls) while the database is down; the ACD task
//! retries each write until it lands.

use chrono::{DateTime, NaiveDate, Utc};
use hotline_sip::{AcdStore, CallbackItem, Restored, StoreFailure};
use hotline_store::{AgentStateRow, CallbackRow, Store};
use tokio::sync::Mutex;

pub struct StoreAcd {
    url: String,
    store: Mutex<Option<Store>>,
}

impl StoreAcd {
    pub fn new(url: String) -> Self {
        StoreAcd {
            url,
            store: Mutex::new(None),
        }
    }

    async fn store(&self) -> Result<Store, StoreFailure> {
        let mut g = self.store.lock().await;
        if let Some(s) = g.as_ref() {
            return Ok(s.clone());
        }
        let s = Store::connect(&self.url).await?;
        *g = Some(s.clone());
        Ok(s)
    }

    /// Runs `f`; on an error the connection is dropped so the next try reconnects.
    async fn with<T, F, Fut>(&self, f: F) -> Result<T, StoreFailure>
    where
        F: FnOnce(Store) -> Fut,
        Fut: std::future::Future<Output = Result<T, hotline_store::StoreError>>,
    {
        let s = self.store().await?;
        match f(s).await {
            Ok(v) => Ok(v),
            Err(e) => {
                *self.store.lock().await = None;
                Err(e.into())
            }
        }
    }
}

#[async_trait::async_trait]
impl AcdStore for StoreAcd {
    async fn load(
        &self,
        recent_since: DateTime<Utc>,
        day: NaiveDate,
    ) -> Result<Restored, StoreFailure> {
        self.with(|s| async move {
            let agents = s
                .agent_states()
                .await?
                .into_iter()
                .map(|r| (r.agent, r.state, r.reason))
                .collect();
            let callbacks = s
                .pending_callbacks()
                .await?
                .into_iter()
                .map(|r| CallbackItem {
                    tag: r.tag,
                    queue: r.queue,
                    caller: r.caller,
                    priority: r.priority,
                    message: r.message,
                    recording: r.recording,
                    requested_at: r.requested_at,
                })
                .collect();
            let counters = s.queue_stats(day).await?;
            let recent = s.recent_answered_callers(recent_since).await?;
            Ok(Restored {
                agents,
                callbacks,
                counters,
                recent,
            })
        })
        .await
    }

    async fn save_agent(
        &self,
        agent: &str,
        state: &str,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreFailure> {
        let row = AgentStateRow {
            agent: agent.to_string(),
            state: state.to_string(),
            reason: reason.map(str::to_string),
            updated_at: at,
        };
        self.with(|s| async move { s.save_agent_state(&row).await })
            .await
    }

    async fn add_callback(&self, item: &CallbackItem) -> Result<(), StoreFailure> {
        let row = CallbackRow {
            tag: item.tag.clone(),
            queue: item.queue.clone(),
            caller: item.caller.clone(),
            priority: item.priority,
            message: item.message,
            recording: item.recording.clone(),
            requested_at: item.requested_at,
            status: "pending".into(),
            agent: None,
            done_at: None,
            outcome: None,
        };
        self.with(|s| async move { s.add_callback(&row).await.map(|_| ()) })
            .await
    }

    async fn finish_callback(
        &self,
        tag: &str,
        status: &str,
        agent: Option<&str>,
        outcome: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreFailure> {
        self.with(|s| async move {
            s.finish_callback(tag, status, agent, outcome, at)
                .await
                .map(|_| ())
        })
        .await
    }

    async fn save_counters(
        &self,
        day: NaiveDate,
        rows: Vec<(String, String)>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreFailure> {
        self.with(|s| async move { s.save_queue_stats_batch(day, &rows, at).await })
            .await
    }
}
