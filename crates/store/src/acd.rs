//! What the ACD (automatic call distribution) must find again after a restart: each agent's login
//! state, the callers' places kept as callback work items, and the day's queue counters. The ACD
//! actor in hotline-sip writes them as its events happen and reads them back when it starts; the
//! repeat-caller rule is rebuilt from `call_records`.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;

use crate::{Inserted, Store, StoreError};

/// The agent states worth restoring. The busy ones (reserved, talking, wrap-up) are not: a
/// restart ends every call, so an agent comes back in the state chosen before it.
const AGENT_STATES: [&str; 3] = ["logged_out", "ready", "not_ready"];

const CALLBACK_STATUSES: [&str; 3] = ["pending", "done", "cancelled"];

/// The statuses that end a callback work item.
const CALLBACK_FINISHED: [&str; 2] = ["done", "cancelled"];

/// One agent's stored state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentStateRow {
    pub agent: String,
    /// `logged_out`, `ready` or `not_ready`.
    pub state: String,
    /// The not-ready reason code (小休, 就餐, 会议…), if any.
    pub reason: Option<String>,
    /// When the ACD made the change; a save older than the stored row is ignored.
    pub updated_at: DateTime<Utc>,
}

/// A caller's place in a queue, kept as a callback work item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackRow {
    /// The call record id of the call that asked for the callback.
    pub tag: String,
    pub queue: String,
    pub caller: String,
    pub priority: u8,
    /// Whether the caller left a voice message (at `recording`).
    pub message: bool,
    pub recording: Option<String>,
    pub requested_at: DateTime<Utc>,
    /// `pending`, `done` or `cancelled`.
    pub status: String,
    /// Who handled it.
    pub agent: Option<String>,
    pub done_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
}

const CALLBACK_COLUMNS: &str = "tag, queue, caller, priority, message, recording, requested_at, \
     status, agent, done_at, outcome";

impl Store {
    /// Upsert of one agent's state. Newer wins: a row whose `updated_at` is older than the stored
    /// one changes nothing, so saves that overtake each other (retries, several tasks) never
    /// bring back a stale state. At an equal time the later save wins.
    pub async fn save_agent_state(&self, row: &AgentStateRow) -> Result<(), StoreError> {
        one_of("agent state", &row.state, &AGENT_STATES)?;
        sqlx::query(
            "INSERT INTO acd_agent_states (agent, state, reason, updated_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (agent) DO UPDATE SET state = excluded.state, \
             reason = excluded.reason, updated_at = excluded.updated_at \
             WHERE acd_agent_states.updated_at <= excluded.updated_at",
        )
        .bind(row.agent.as_str())
        .bind(row.state.as_str())
        .bind(row.reason.as_deref())
        .bind(row.updated_at.timestamp_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every stored agent state, by agent id (byte order on both backends).
    pub async fn agent_states(&self) -> Result<Vec<AgentStateRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT agent, state, reason, updated_at FROM acd_agent_states ORDER BY agent",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let agent: String = row.try_get("agent")?;
                let updated_at = millis_to_time(
                    "acd_agent_states",
                    &agent,
                    "updated_at",
                    row.try_get("updated_at")?,
                )?;
                Ok(AgentStateRow {
                    state: row.try_get("state")?,
                    reason: row.try_get("reason")?,
                    updated_at,
                    agent,
                })
            })
            .collect()
    }

    /// Idempotent by tag (`ON CONFLICT DO NOTHING`): the ACD may save a callback again after a
    /// failed attempt that did reach the database; the first row stays as it was.
    pub async fn add_callback(&self, row: &CallbackRow) -> Result<Inserted, StoreError> {
        one_of("callback status", &row.status, &CALLBACK_STATUSES)?;
        let sql = format!(
            "INSERT INTO acd_callbacks ({CALLBACK_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (tag) DO NOTHING"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(row.tag.as_str())
            .bind(row.queue.as_str())
            .bind(row.caller.as_str())
            .bind(i32::from(row.priority))
            .bind(i32::from(row.message))
            .bind(row.recording.as_deref())
            .bind(row.requested_at.timestamp_millis())
            .bind(row.status.as_str())
            .bind(row.agent.as_deref())
            .bind(row.done_at.map(|t| t.timestamp_millis()))
            .bind(row.outcome.as_deref())
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(if rows == 0 {
            Inserted::Duplicate
        } else {
            Inserted::New
        })
    }

    /// Ends a pending callback as `done` or `cancelled`. Only a pending row changes, so a work
    /// item finished twice (two agents, a retry) keeps the first outcome; false when nothing
    /// changed (already finished, or no such tag). `agent: None` keeps an agent already on the
    /// row.
    pub async fn finish_callback(
        &self,
        tag: &str,
        status: &str,
        agent: Option<&str>,
        outcome: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        one_of("finished callback status", status, &CALLBACK_FINISHED)?;
        let rows = sqlx::query(
            "UPDATE acd_callbacks SET status = $1, agent = COALESCE($2, agent), outcome = $3, \
             done_at = $4 WHERE tag = $5 AND status = 'pending'",
        )
        .bind(status)
        .bind(agent)
        .bind(outcome)
        .bind(at.timestamp_millis())
        .bind(tag)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(rows > 0)
    }

    /// The work items to put back in their queues, oldest request first (ties by tag), which is
    /// the order the ACD restores them in.
    pub async fn pending_callbacks(&self) -> Result<Vec<CallbackRow>, StoreError> {
        let sql = format!(
            "SELECT {CALLBACK_COLUMNS} FROM acd_callbacks WHERE status = 'pending' \
             ORDER BY requested_at, tag"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(callback_from_row).collect()
    }

    /// The latest callbacks of every status, newest request first.
    pub async fn callbacks(&self, limit: u32) -> Result<Vec<CallbackRow>, StoreError> {
        let sql = format!(
            "SELECT {CALLBACK_COLUMNS} FROM acd_callbacks \
             ORDER BY requested_at DESC, tag DESC LIMIT $1"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(callback_from_row).collect()
    }

    /// Upsert of one queue's counters for `day` (the Beijing date they count; the caller picks
    /// it, the store only formats it as `YYYY-MM-DD`). The last save wins. `counters_json` must
    /// be a JSON object; anything else is refused and nothing is written.
    pub async fn save_queue_stats(
        &self,
        day: NaiveDate,
        queue: &str,
        counters_json: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        json_object(queue, counters_json)?;
        let day = day_text(day);
        queue_stats_upsert(&day, queue, counters_json, at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// [`Store::save_queue_stats`] for several queues `(queue, counters_json)` in one
    /// transaction: the day's figures are saved together or not at all, so a restart never
    /// finds half the queues at a newer snapshot than the rest. A bad JSON anywhere in the batch
    /// rolls back the rows before it.
    pub async fn save_queue_stats_batch(
        &self,
        day: NaiveDate,
        stats: &[(String, String)],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let day = day_text(day);
        let mut tx = self.pool.begin().await?;
        for (queue, counters_json) in stats {
            // Returning drops `tx` uncommitted, which rolls back what this loop wrote.
            json_object(queue, counters_json)?;
            queue_stats_upsert(&day, queue, counters_json, at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// `(queue, counters_json)` for every queue saved for `day`, by queue name.
    pub async fn queue_stats(&self, day: NaiveDate) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT queue, counters FROM acd_queue_stats WHERE day = $1 ORDER BY queue",
        )
        .bind(day_text(day))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("queue")?, row.try_get("counters")?)))
            .collect()
    }

    /// For the repeat-caller rule after a restart: `(caller, agent, answered_at)` of each
    /// caller's latest call answered by an agent at or after `since`, one row per caller,
    /// oldest answer first (ties by caller). Callers that identify nobody (`''`, `anonymous` in
    /// any case, what hotline-sip records for a withheld number) are left out: a repeat-caller
    /// match on them would send strangers to the same agent.
    pub async fn recent_answered_callers(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(String, String, DateTime<Utc>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT caller, agent, answered_at FROM ( \
                 SELECT caller, agent, answered_at, ROW_NUMBER() OVER ( \
                     PARTITION BY caller ORDER BY answered_at DESC, id DESC) AS newest \
                 FROM call_records \
                 WHERE answered_at >= $1 AND agent IS NOT NULL \
                     AND caller <> '' AND LOWER(caller) <> 'anonymous' \
             ) latest WHERE newest = 1 ORDER BY answered_at, caller",
        )
        .bind(since.timestamp_millis())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let caller: String = row.try_get("caller")?;
                let answered_at = millis_to_time(
                    "call_records",
                    &caller,
                    "answered_at",
                    row.try_get("answered_at")?,
                )?;
                Ok((caller, row.try_get("agent")?, answered_at))
            })
            .collect()
    }
}

fn queue_stats_upsert<'q>(
    day: &'q str,
    queue: &'q str,
    counters_json: &'q str,
    at: DateTime<Utc>,
) -> Query<'q, sqlx::Any, AnyArguments> {
    sqlx::query(
        "INSERT INTO acd_queue_stats (day, queue, counters, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (day, queue) DO UPDATE SET counters = excluded.counters, \
         updated_at = excluded.updated_at",
    )
    .bind(day)
    .bind(queue)
    .bind(counters_json)
    .bind(at.timestamp_millis())
}

pub(crate) fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

pub(crate) fn one_of(what: &str, value: &str, allowed: &[&str]) -> Result<(), StoreError> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "{what} {value:?} is not one of {}",
            allowed.join(", ")
        )))
    }
}

/// The store keeps the counters as the ACD wrote them; it only makes sure a restart will find
/// something the ACD can read back as its counters object.
fn json_object(queue: &str, json: &str) -> Result<(), StoreError> {
    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(json)
        .map(drop)
        .map_err(|e| {
            StoreError::Invalid(format!(
                "counters of queue {queue:?} are not a JSON object: {e}"
            ))
        })
}

pub(crate) fn millis_to_time(
    table: &'static str,
    key: &str,
    column: &str,
    millis: i64,
) -> Result<DateTime<Utc>, StoreError> {
    DateTime::<Utc>::from_timestamp_millis(millis).ok_or_else(|| StoreError::CorruptRow {
        table,
        key: key.to_owned(),
        reason: format!("{column} {millis} is out of range"),
    })
}

fn callback_from_row(row: &AnyRow) -> Result<CallbackRow, StoreError> {
    const TABLE: &str = "acd_callbacks";
    let tag: String = row.try_get("tag")?;
    let corrupt = |reason: String| StoreError::CorruptRow {
        table: TABLE,
        key: tag.clone(),
        reason,
    };
    let priority: i32 = row.try_get("priority")?;
    let message: i32 = row.try_get("message")?;
    let done_at: Option<i64> = row.try_get("done_at")?;
    Ok(CallbackRow {
        queue: row.try_get("queue")?,
        caller: row.try_get("caller")?,
        priority: u8::try_from(priority)
            .map_err(|_| corrupt(format!("priority {priority} is out of range")))?,
        message: match message {
            0 => false,
            1 => true,
            other => return Err(corrupt(format!("message {other} is neither 0 nor 1"))),
        },
        recording: row.try_get("recording")?,
        requested_at: millis_to_time(TABLE, &tag, "requested_at", row.try_get("requested_at")?)?,
        status: row.try_get("status")?,
        agent: row.try_get("agent")?,
        done_at: done_at
            .map(|m| millis_to_time(TABLE, &tag, "done_at", m))
            .transpose()?,
        outcome: row.try_get("outcome")?,
        tag,
    })
}
