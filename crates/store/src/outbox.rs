//! Notifications (SMS to callers and unit staff, webhooks to other systems) sent after the fact,
//! at least once. A notification is written in the transaction of the change it announces
//! ([`Store::append_event_with`]) or on its own ([`Store::enqueue_outbox`]); a sender task reads
//! the due rows, sends them and marks each sent, or failed with a later retry time. A crash
//! between the send and the mark sends it again: receivers must take a repeat (at least once,
//! not exactly once).

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::acd::{millis_to_time, one_of};
use crate::{Store, StoreError};

const CHANNELS: [&str; 2] = ["sms", "webhook"];

const TABLE: &str = "outbox";

const COLUMNS: &str =
    "id, channel, target, order_no, body, created_at, attempts, next_at, sent_at, last_error";

/// A notification to queue. It is due at once (`next_at` = `created_at`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutbox {
    /// `sms` or `webhook`.
    pub channel: String,
    /// The phone number or the URL.
    pub target: String,
    /// The order it is about, if any.
    pub order_no: Option<String>,
    /// The text of the SMS, or the webhook's JSON body; the store does not read it.
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// A queued notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub channel: String,
    pub target: String,
    pub order_no: Option<String>,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// The failed attempts so far.
    pub attempts: u32,
    /// When it is (next) due; kept as it was once sent.
    pub next_at: DateTime<Utc>,
    /// When it was sent; None while it is still to send.
    pub sent_at: Option<DateTime<Utc>>,
    /// What the last failed attempt said.
    pub last_error: Option<String>,
}

impl Store {
    /// Queues `items` in one transaction (all or none: a bad channel anywhere stores nothing)
    /// and returns their ids, in order.
    pub async fn enqueue_outbox(&self, items: &[NewOutbox]) -> Result<Vec<i64>, StoreError> {
        check_outbox(items)?;
        let mut tx = self.pool.begin().await?;
        let ids = insert_outbox(&mut tx, items).await?;
        tx.commit().await?;
        Ok(ids)
    }

    /// The unsent notifications due at `now` (`next_at` at or before it), the longest due
    /// first (by `next_at`, then id), at most `limit`.
    pub async fn outbox_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM outbox WHERE sent_at IS NULL AND next_at <= $1 \
             ORDER BY next_at, id LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now.timestamp_millis())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(outbox_from_row).collect()
    }

    /// Marks notification `id` sent at `at`. False if it was already sent (the first time
    /// stays) or there is no such id.
    pub async fn outbox_sent(&self, id: i64, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let rows = sqlx::query("UPDATE outbox SET sent_at = $1 WHERE id = $2 AND sent_at IS NULL")
            .bind(at.timestamp_millis())
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(rows > 0)
    }

    /// Records a failed attempt at notification `id`: one more attempt, the error, and the next
    /// time to try (the caller's back-off). False if it was sent meanwhile or there is no such
    /// id; a sent notification is not made due again.
    pub async fn outbox_failed(
        &self,
        id: i64,
        error: &str,
        next_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let rows = sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_at = $2 \
             WHERE id = $3 AND sent_at IS NULL",
        )
        .bind(error)
        .bind(next_at.timestamp_millis())
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(rows > 0)
    }

    /// The latest notifications, sent or not, newest first (by id), at most `limit`: those
    /// about order `order_no`, or all of them.
    pub async fn outbox_items(
        &self,
        order_no: Option<&str>,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = self
            .newest_of_order("outbox", COLUMNS, order_no, limit)
            .await?;
        rows.iter().map(outbox_from_row).collect()
    }
}

/// What the schema would refuse, said before a transaction starts.
pub(crate) fn check_outbox(items: &[NewOutbox]) -> Result<(), StoreError> {
    for item in items {
        one_of("outbox channel", &item.channel, &CHANNELS)?;
        if item.target.is_empty() {
            return Err(StoreError::Invalid(format!(
                "an {} notification needs a target",
                item.channel
            )));
        }
    }
    Ok(())
}

/// Inserts `items` (already checked) in `tx`, one statement each, and returns their ids.
pub(crate) async fn insert_outbox(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    items: &[NewOutbox],
) -> Result<Vec<i64>, StoreError> {
    let mut ids = Vec::with_capacity(items.len());
    for item in items {
        let created = item.created_at.timestamp_millis();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO outbox (created_at, channel, target, order_no, body, next_at) \
             VALUES ($1, $2, $3, $4, $5, $1) RETURNING id",
        )
        .bind(created)
        .bind(item.channel.as_str())
        .bind(item.target.as_str())
        .bind(item.order_no.as_deref())
        .bind(item.body.as_str())
        .fetch_one(&mut **tx)
        .await?;
        ids.push(id);
    }
    Ok(ids)
}

fn outbox_from_row(row: &AnyRow) -> Result<OutboxRow, StoreError> {
    let id: i64 = row.try_get("id")?;
    let key = id.to_string();
    let attempts: i32 = row.try_get("attempts")?;
    let sent_at: Option<i64> = row.try_get("sent_at")?;
    Ok(OutboxRow {
        channel: row.try_get("channel")?,
        target: row.try_get("target")?,
        order_no: row.try_get("order_no")?,
        body: row.try_get("body")?,
        created_at: millis_to_time(TABLE, &key, "created_at", row.try_get("created_at")?)?,
        attempts: u32::try_from(attempts).map_err(|_| StoreError::CorruptRow {
            table: TABLE,
            key: key.clone(),
            reason: format!("attempts {attempts} is negative"),
        })?,
        next_at: millis_to_time(TABLE, &key, "next_at", row.try_get("next_at")?)?,
        sent_at: sent_at
            .map(|m| millis_to_time(TABLE, &key, "sent_at", m))
            .transpose()?,
        last_error: row.try_get("last_error")?,
        id,
    })
}
