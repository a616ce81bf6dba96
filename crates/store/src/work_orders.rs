//! Work orders as the store keeps them: the append-only events of each order (JSON text the
//! work-order service serialized) and a projection of the columns its listings filter on, plus
//! the per-day sequence of the readable order numbers. The store does not depend on
//! hotline-workorder and never parses an event beyond checking it is a JSON object: the service
//! replays the events into an order and hands over the projected columns with each append.
//!
//! Every write is one transaction, all or nothing. Appends use optimistic concurrency on the
//! order's `version` (its number of events): two services changing one order at once cannot
//! both win, and the loser learns it with [`StoreError::Conflict`] instead of overwriting.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::acd::millis_to_time;
use crate::{Inserted, Store, StoreError};

/// The projected state of one order, as the work-order service computed it from the events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRow {
    /// The readable number, like `YC20261125-000123`.
    pub no: String,
    /// The call record id the order came from; one order per call.
    pub record: String,
    /// The service's status name; the store only requires it to be non-empty.
    pub status: String,
    /// The unit handling the order, once dispatched.
    pub lead_unit: Option<String>,
    /// The current deadline, once there is one.
    pub due_at: Option<DateTime<Utc>>,
    /// Who answers for the order at the center (the agent who took the call).
    pub owner: Option<String>,
    /// Kept from the create: an append does not change it.
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The number of events, the last event's `seq`.
    pub version: u32,
}

/// One event of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub no: String,
    /// 1-based position in the order's history.
    pub seq: u32,
    pub at: DateTime<Utc>,
    /// The actor's id, copied out of the event for reading without parsing it.
    pub actor: String,
    /// The step's name (`drafted`, `dispatched`…), copied out of the event likewise.
    pub step: String,
    /// The event as the service serialized it: a JSON object, kept byte for byte.
    pub event_json: String,
}

const ORDER_COLUMNS: &str =
    "no, record, status, lead_unit, due_at, owner, created_at, updated_at, version";

const TABLE_ORDERS: &str = "work_orders";
const TABLE_EVENTS: &str = "work_order_events";

impl Store {
    /// The next number of `day`'s sequence: 1 for the day's first order, then 2, 3… One UPSERT
    /// with RETURNING (SQLite 3.35+, bundled with sqlx, and PostgreSQL), so the increment and
    /// the read are one atomic statement: concurrent callers, in this process or another, never
    /// get the same number. A number taken by a create that then fails is not given out again
    /// (a gap, never a duplicate).
    pub async fn next_order_seq(&self, day: NaiveDate) -> Result<u32, StoreError> {
        let day = day.format("%Y%m%d").to_string();
        let last: i32 = sqlx::query_scalar(
            "INSERT INTO work_order_numbers (day, last) VALUES ($1, 1) \
             ON CONFLICT (day) DO UPDATE SET last = work_order_numbers.last + 1 \
             RETURNING last",
        )
        .bind(day.as_str())
        .fetch_one(&self.pool)
        .await?;
        u32::try_from(last).map_err(|_| StoreError::CorruptRow {
            table: "work_order_numbers",
            key: day,
            reason: format!("last {last} is out of range"),
        })
    }

    /// Stores a new order (`row.version` must be 1) and its first event (`first.seq` 1, same
    /// number), in one transaction. Idempotent by call record: if an order for `row.record`
    /// exists, nothing is written and the result is [`Inserted::Duplicate`] (a retried create,
    /// or two agents creating from the same call); [`Store::order_by_record`] finds the
    /// existing one. A number already used by another call's order is an error (a
    /// [`StoreError::Database`] unique violation), not a duplicate: it means the numbering is
    /// broken and must not be hidden.
    pub async fn create_order(
        &self,
        row: &OrderRow,
        first: &EventRow,
    ) -> Result<Inserted, StoreError> {
        if row.version != 1 {
            return Err(StoreError::Invalid(format!(
                "a new work order {} must be at version 1, not {}",
                row.no, row.version
            )));
        }
        check_projection(row)?;
        check_event(first, &row.no, 1)?;
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "INSERT INTO work_orders ({ORDER_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (record) DO NOTHING"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(row.no.as_str())
            .bind(row.record.as_str())
            .bind(row.status.as_str())
            .bind(row.lead_unit.as_deref())
            .bind(row.due_at.map(|t| t.timestamp_millis()))
            .bind(row.owner.as_deref())
            .bind(row.created_at.timestamp_millis())
            .bind(row.updated_at.timestamp_millis())
            .bind(1_i32)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if rows == 0 {
            // Dropping `tx` rolls back; the insert that did nothing left nothing to undo anyway.
            return Ok(Inserted::Duplicate);
        }
        insert_event(&mut tx, first).await?;
        tx.commit().await?;
        Ok(Inserted::New)
    }

    /// Appends `event` (seq `expected_version + 1`) and replaces the projected columns with
    /// `projection`'s (status, lead unit, deadline, owner, `updated_at`; `version` must be
    /// `expected_version + 1`; `record` and `created_at` stay as created), in one transaction,
    /// only if the stored order is still at `expected_version`. Otherwise
    /// [`StoreError::Conflict`] with the version found (0: no such order) and nothing is
    /// written: the caller computed its change from a state that is no longer current.
    ///
    /// The guarded UPDATE comes first: it takes the row's write lock (PostgreSQL) or the
    /// database's (SQLite), so a concurrent append with the same expectation waits, then finds
    /// the version moved and changes nothing.
    pub async fn append_event(
        &self,
        projection: &OrderRow,
        event: &EventRow,
        expected_version: u32,
    ) -> Result<(), StoreError> {
        let no = projection.no.as_str();
        if expected_version == 0 {
            return Err(StoreError::Invalid(format!(
                "work order {no}: an append needs the version it was computed from (the first \
                 event is written by create_order)"
            )));
        }
        let next = expected_version.checked_add(1).ok_or_else(|| {
            StoreError::Invalid(format!(
                "work order {no}: version {expected_version} is full"
            ))
        })?;
        if projection.version != next {
            return Err(StoreError::Invalid(format!(
                "work order {no}: the projection after the append must be at version {next}, \
                 not {}",
                projection.version
            )));
        }
        check_projection(projection)?;
        check_event(event, no, next)?;
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "UPDATE work_orders SET status = $1, lead_unit = $2, due_at = $3, owner = $4, \
             updated_at = $5, version = $6 WHERE no = $7 AND version = $8",
        )
        .bind(projection.status.as_str())
        .bind(projection.lead_unit.as_deref())
        .bind(projection.due_at.map(|t| t.timestamp_millis()))
        .bind(projection.owner.as_deref())
        .bind(projection.updated_at.timestamp_millis())
        .bind(to_i32(no, "version", next)?)
        .bind(no)
        .bind(to_i32(no, "expected version", expected_version)?)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if rows == 0 {
            let found: Option<i32> =
                sqlx::query_scalar("SELECT version FROM work_orders WHERE no = $1")
                    .bind(no)
                    .fetch_optional(&mut *tx)
                    .await?;
            let found = found
                .map(|v| version_from(TABLE_ORDERS, no, "version", v))
                .transpose()?
                .unwrap_or(0);
            // Dropping `tx` rolls back (nothing was changed).
            return Err(StoreError::Conflict {
                no: no.to_owned(),
                expected: expected_version,
                found,
            });
        }
        insert_event(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn order(&self, no: &str) -> Result<Option<OrderRow>, StoreError> {
        let sql = format!("SELECT {ORDER_COLUMNS} FROM work_orders WHERE no = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(no)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(order_from_row).transpose()
    }

    /// The order made from call record `record`, if any (one per call).
    pub async fn order_by_record(&self, record: &str) -> Result<Option<OrderRow>, StoreError> {
        let sql = format!("SELECT {ORDER_COLUMNS} FROM work_orders WHERE record = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(record)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(order_from_row).transpose()
    }

    /// Every event of order `no`, in order (by `seq`), ready to replay; empty for an unknown
    /// number.
    pub async fn order_events(&self, no: &str) -> Result<Vec<EventRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT no, seq, at, actor, step, event FROM work_order_events \
             WHERE no = $1 ORDER BY seq",
        )
        .bind(no)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// A unit's orders in one of `open_statuses` whose deadline is before `due_before`, soonest
    /// first (ties by number), at most `limit`. Orders without a deadline are not listed. The
    /// caller names the open statuses: which ones count as open is the service's rule.
    pub async fn unit_orders_due(
        &self,
        unit: &str,
        open_statuses: &[&str],
        due_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OrderRow>, StoreError> {
        if open_statuses.is_empty() {
            // `IN ()` is not SQL; and no status is open, so nothing is due.
            return Ok(Vec::new());
        }
        let statuses = placeholders(3, open_statuses.len());
        let limit_at = 3 + open_statuses.len();
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM work_orders \
             WHERE lead_unit = $1 AND due_at < $2 AND status IN ({statuses}) \
             ORDER BY due_at, no LIMIT ${limit_at}"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(unit)
            .bind(due_before.timestamp_millis());
        for status in open_statuses {
            query = query.bind(*status);
        }
        let rows = query.bind(i64::from(limit)).fetch_all(&self.pool).await?;
        rows.iter().map(order_from_row).collect()
    }

    /// `(lead unit, count)` of the orders in one of `open_statuses` whose deadline has passed
    /// (before `now`; due exactly at `now` is not late yet), by unit (byte order on both
    /// backends). Orders not yet dispatched (no lead unit) are the center's own and not listed.
    pub async fn overdue_by_unit(
        &self,
        open_statuses: &[&str],
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        if open_statuses.is_empty() {
            return Ok(Vec::new());
        }
        let statuses = placeholders(2, open_statuses.len());
        let sql = format!(
            "SELECT lead_unit, COUNT(*) AS overdue FROM work_orders \
             WHERE due_at < $1 AND status IN ({statuses}) AND lead_unit IS NOT NULL \
             GROUP BY lead_unit ORDER BY lead_unit"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now.timestamp_millis());
        for status in open_statuses {
            query = query.bind(*status);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let unit: String = row.try_get("lead_unit")?;
                let count: i64 = row.try_get("overdue")?;
                let count = u64::try_from(count).map_err(|_| StoreError::CorruptRow {
                    table: TABLE_ORDERS,
                    key: unit.clone(),
                    reason: format!("count {count} is negative"),
                })?;
                Ok((unit, count))
            })
            .collect()
    }
}

async fn insert_event(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    event: &EventRow,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO work_order_events (no, seq, at, actor, step, event) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(event.no.as_str())
    .bind(to_i32(&event.no, "seq", event.seq)?)
    .bind(event.at.timestamp_millis())
    .bind(event.actor.as_str())
    .bind(event.step.as_str())
    .bind(event.event_json.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// `$start, $start+1, …` for `n` bound values.
fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_projection(row: &OrderRow) -> Result<(), StoreError> {
    if row.status.is_empty() {
        return Err(StoreError::Invalid(format!(
            "work order {}: the status is empty",
            row.no
        )));
    }
    Ok(())
}

/// An event must belong to the order it is written with, sit at the next position, name its
/// step and be a JSON object: what the service will read back and replay.
fn check_event(event: &EventRow, no: &str, seq: u32) -> Result<(), StoreError> {
    if event.no != no {
        return Err(StoreError::Invalid(format!(
            "an event of work order {:?} cannot be written to {no:?}",
            event.no
        )));
    }
    if event.seq != seq {
        return Err(StoreError::Invalid(format!(
            "work order {no}: the event must be number {seq}, not {}",
            event.seq
        )));
    }
    if event.step.is_empty() {
        return Err(StoreError::Invalid(format!(
            "work order {no}: event {seq} names no step"
        )));
    }
    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&event.event_json)
        .map(drop)
        .map_err(|e| {
            StoreError::Invalid(format!(
                "work order {no}: event {seq} is not a JSON object: {e}"
            ))
        })
}

/// Versions and sequence numbers are INTEGER (32-bit in PostgreSQL).
fn to_i32(no: &str, what: &str, value: u32) -> Result<i32, StoreError> {
    i32::try_from(value)
        .map_err(|_| StoreError::Invalid(format!("work order {no}: {what} {value} is too large")))
}

fn version_from(table: &'static str, key: &str, column: &str, v: i32) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| StoreError::CorruptRow {
        table,
        key: key.to_owned(),
        reason: format!("{column} {v} is out of range"),
    })
}

fn order_from_row(row: &AnyRow) -> Result<OrderRow, StoreError> {
    let no: String = row.try_get("no")?;
    let due_at: Option<i64> = row.try_get("due_at")?;
    Ok(OrderRow {
        record: row.try_get("record")?,
        status: row.try_get("status")?,
        lead_unit: row.try_get("lead_unit")?,
        due_at: due_at
            .map(|m| millis_to_time(TABLE_ORDERS, &no, "due_at", m))
            .transpose()?,
        owner: row.try_get("owner")?,
        created_at: millis_to_time(TABLE_ORDERS, &no, "created_at", row.try_get("created_at")?)?,
        updated_at: millis_to_time(TABLE_ORDERS, &no, "updated_at", row.try_get("updated_at")?)?,
        version: version_from(TABLE_ORDERS, &no, "version", row.try_get("version")?)?,
        no,
    })
}

fn event_from_row(row: &AnyRow) -> Result<EventRow, StoreError> {
    let no: String = row.try_get("no")?;
    let seq: i32 = row.try_get("seq")?;
    let key = format!("{no} #{seq}");
    Ok(EventRow {
        seq: version_from(TABLE_EVENTS, &key, "seq", seq)?,
        at: millis_to_time(TABLE_EVENTS, &key, "at", row.try_get("at")?)?,
        actor: row.try_get("actor")?,
        step: row.try_get("step")?,
        event_json: row.try_get("event")?,
        no,
    })
}
