use chrono::{DateTime, Utc};
use hotline_cdr::CallRecord;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

/// Whether an insert stored a new row or found the id already there (a retried spool entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    New,
    Duplicate,
}

/// The idempotent insert of one record, ready to run on a pool or inside a transaction.
fn insert_query(record: &CallRecord) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments> {
    sqlx::query(
        "INSERT INTO call_records (id, sip_call_id, caller, caller_display, dialed, kind, \
         line_number, line_unit, line_mode, arrived_at, ringing_at, answered_at, ended_at, \
         end_reason, sip_code, agent, source, route, recording) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(record.id.as_str())
    .bind(record.sip_call_id.as_str())
    .bind(record.caller.as_str())
    .bind(record.caller_display.as_deref())
    .bind(record.dialed.as_str())
    .bind(record.kind.as_str())
    .bind(record.line_number.as_deref())
    .bind(record.line_unit.as_deref())
    .bind(record.line_mode.as_deref())
    .bind(record.arrived_at.timestamp_millis())
    .bind(record.ringing_at.map(|t| t.timestamp_millis()))
    .bind(record.answered_at.map(|t| t.timestamp_millis()))
    .bind(record.ended_at.timestamp_millis())
    .bind(record.end_reason.as_str())
    .bind(i32::from(record.sip_code))
    .bind(record.agent.as_deref())
    .bind(record.source.as_deref())
    .bind(record.route.as_deref())
    .bind(record.recording.as_deref())
}

const COLUMNS: &str = "id, sip_call_id, caller, caller_display, dialed, kind, line_number, \
     line_unit, line_mode, arrived_at, ringing_at, answered_at, ended_at, end_reason, sip_code, \
     agent, source, route, recording";

impl Store {
    /// Idempotent by id: `ON CONFLICT DO NOTHING` (both SQLite and PostgreSQL) lets the spool
    /// replay a record that may already have reached the database before a crash.
    ///
    /// Times are stored in whole milliseconds; finer precision is dropped.
    pub async fn insert_call_record(&self, record: &CallRecord) -> Result<Inserted, StoreError> {
        let rows = insert_query(record)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(if rows == 0 {
            Inserted::Duplicate
        } else {
            Inserted::New
        })
    }

    /// Insert several records in one transaction: one commit (one disk sync) for the batch
    /// instead of one per record, which is what lets the writer keep up with thousands of calls
    /// a second. All or nothing: on an error none of the batch is stored. Returns how many were
    /// new (the rest were already there).
    pub async fn insert_call_records(&self, records: &[CallRecord]) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut new = 0;
        for record in records {
            new += insert_query(record)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(new)
    }

    pub async fn get_call_record(&self, id: &str) -> Result<Option<CallRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM call_records WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(record_from_row).transpose()
    }

    /// Newest arrivals first.
    pub async fn recent_call_records(&self, limit: u32) -> Result<Vec<CallRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM call_records ORDER BY arrived_at DESC, id DESC LIMIT $1"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(record_from_row).collect()
    }

    /// Call records that ended at or after `since` and became no work order, oldest end first
    /// (ties by id), at most `limit`: the scheduler's look for calls nobody wrote an order for
    /// (a missed call to call back, an agent who forgot). A range on `call_records_ended_at`,
    /// each candidate probed in the unique index on `work_orders.record`.
    pub async fn call_records_without_order(
        &self,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<CallRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM call_records r WHERE r.ended_at >= $1 \
             AND NOT EXISTS (SELECT 1 FROM work_orders o WHERE o.record = r.id) \
             ORDER BY r.ended_at, r.id LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(since.timestamp_millis())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(record_from_row).collect()
    }

    /// A caller's calls that arrived at or after `since`, newest first, at most `limit`, each
    /// with the number of the work order it became (if any): the desktop's repeat-caller
    /// history. A range on the `call_records_caller` index, each probed in the unique index
    /// on `work_orders.record`.
    pub async fn calls_from_caller(
        &self,
        caller: &str,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(CallRecord, Option<String>)>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS}, (SELECT o.no FROM work_orders o WHERE o.record = call_records.id) \
             AS order_no FROM call_records WHERE caller = $1 AND arrived_at >= $2 \
             ORDER BY arrived_at DESC, id DESC LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(caller)
            .bind(since.timestamp_millis())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let order: Option<String> = row.try_get("order_no")?;
                Ok((record_from_row(row)?, order))
            })
            .collect()
    }

    pub async fn count_call_records(&self) -> Result<i64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM call_records")
            .fetch_one(&self.pool)
            .await?;
        Ok(count)
    }
}

fn record_from_row(row: &AnyRow) -> Result<CallRecord, StoreError> {
    let id: String = row.try_get("id")?;
    let corrupt = |reason: String| StoreError::Corrupt {
        id: id.clone(),
        reason,
    };
    let time = |column: &str, millis: i64| {
        DateTime::<Utc>::from_timestamp_millis(millis)
            .ok_or_else(|| corrupt(format!("{column} {millis} is out of range")))
    };
    let optional_time = |column: &str| -> Result<Option<DateTime<Utc>>, StoreError> {
        let millis: Option<i64> = row.try_get(column)?;
        millis.map(|m| time(column, m)).transpose()
    };
    let kind: String = row.try_get("kind")?;
    let end_reason: String = row.try_get("end_reason")?;
    let sip_code: i32 = row.try_get("sip_code")?;
    Ok(CallRecord {
        sip_call_id: row.try_get("sip_call_id")?,
        caller: row.try_get("caller")?,
        caller_display: row.try_get("caller_display")?,
        dialed: row.try_get("dialed")?,
        kind: kind.parse().map_err(|e| corrupt(format!("{e}")))?,
        line_number: row.try_get("line_number")?,
        line_unit: row.try_get("line_unit")?,
        line_mode: row.try_get("line_mode")?,
        arrived_at: time("arrived_at", row.try_get("arrived_at")?)?,
        ringing_at: optional_time("ringing_at")?,
        answered_at: optional_time("answered_at")?,
        ended_at: time("ended_at", row.try_get("ended_at")?)?,
        end_reason: end_reason.parse().map_err(|e| corrupt(format!("{e}")))?,
        sip_code: u16::try_from(sip_code)
            .map_err(|_| corrupt(format!("sip_code {sip_code} is out of range")))?,
        agent: row.try_get("agent")?,
        source: row.try_get("source")?,
        route: row.try_get("route")?,
        recording: row.try_get("recording")?,
        id,
    })
}
