//! The admin's changes to the working-day calendar: a date made a working day (a makeup
//! Saturday) or a day off, on top of the built-in calendar the work-order service computes
//! deadlines with. The store keeps them; the service merges them into its calendar.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;

use crate::acd::{day_text, millis_to_time};
use crate::{Store, StoreError};

const TABLE: &str = "calendar_overrides";

/// One date's override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarOverrideRow {
    /// The Beijing calendar date.
    pub date: NaiveDate,
    /// Whether the date is a working day.
    pub working: bool,
    /// Why (the State Council notice, a local decision).
    pub note: String,
    /// Who set it.
    pub set_by: String,
    pub set_at: DateTime<Utc>,
}

impl Store {
    /// Sets the override of `row.date`, replacing one already there.
    pub async fn put_calendar_override(&self, row: &CalendarOverrideRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO calendar_overrides (date, working, note, set_by, set_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (date) DO UPDATE SET working = excluded.working, note = excluded.note, \
             set_by = excluded.set_by, set_at = excluded.set_at",
        )
        .bind(day_text(row.date))
        .bind(i32::from(row.working))
        .bind(row.note.as_str())
        .bind(row.set_by.as_str())
        .bind(row.set_at.timestamp_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes the override of `date` (the built-in calendar applies again). False if there was
    /// none.
    pub async fn delete_calendar_override(&self, date: NaiveDate) -> Result<bool, StoreError> {
        let rows = sqlx::query("DELETE FROM calendar_overrides WHERE date = $1")
            .bind(day_text(date))
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(rows > 0)
    }

    /// Every override, by date.
    pub async fn calendar_overrides(&self) -> Result<Vec<CalendarOverrideRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT date, working, note, set_by, set_at FROM calendar_overrides ORDER BY date",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let text: String = row.try_get("date")?;
                let corrupt = |reason: String| StoreError::CorruptRow {
                    table: TABLE,
                    key: text.clone(),
                    reason,
                };
                let date = NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                    .map_err(|e| corrupt(format!("the date is not YYYY-MM-DD: {e}")))?;
                let working: i32 = row.try_get("working")?;
                let working = match working {
                    0 => false,
                    1 => true,
                    other => return Err(corrupt(format!("working {other} is neither 0 nor 1"))),
                };
                Ok(CalendarOverrideRow {
                    date,
                    working,
                    note: row.try_get("note")?,
                    set_by: row.try_get("set_by")?,
                    set_at: millis_to_time(TABLE, &text, "set_at", row.try_get("set_at")?)?,
                })
            })
            .collect()
    }
}
