//! Decision support's tables (issue 9): one row of facts per work order for the analysis
//! (`order_facts`), their counts per Beijing day, dimension and key (`order_fact_daily`, what the
//! dashboard reads), and the alerts of the warning rules (`insight_alerts`). The store does not
//! depend on hotline-insight: the service turns these rows into its `OrderFact`s (cutting the
//! words from `text`) and its alerts into [`AlertRow`]s, as the work-order service does with
//! [`OrderRow`](crate::OrderRow).
//!
//! The counts are kept exactly in step with the facts: every write of facts adjusts them in the
//! same transaction, from the rows it replaces (an order moved from one key to another is taken
//! off the old key and added to the new one). Writers are serialized by the one row of
//! `order_fact_writes`, which each write updates first, so two writers never both count from
//! the same old row. A dashboard reads ~31 rows per key for a month instead of the month's facts.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::acd::millis_to_time;
use crate::{Backend, LIST_LIMIT_MAX, Store, StoreError};

const TABLE_FACTS: &str = "order_facts";
const TABLE_DAILY: &str = "order_fact_daily";
const TABLE_ALERTS: &str = "insight_alerts";

/// Beijing time is UTC+8 all year (no summer time since 1991).
const BEIJING_MS: i64 = 8 * 3_600_000;

/// Facts per multi-row INSERT: 12 values each, well under the bound values a statement may
/// have (32 766 in SQLite, 65 535 in PostgreSQL).
const FACTS_PER_STATEMENT: usize = 1_000;
/// Order numbers per look-up of the rows a batch replaces.
const NOS_PER_LOOKUP: usize = 1_000;
/// Counts per statement adjusting `order_fact_daily`: 4 values each.
const COUNTS_PER_STATEMENT: usize = 1_000;

/// What the analysis knows of one work order (hotline-insight's `OrderFact` without its words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFactRow {
    /// The work order number.
    pub no: String,
    /// When the request was received (milliseconds are kept, finer is not).
    pub at: DateTime<Utc>,
    /// phone, web, wechat, app, letter…
    pub channel: String,
    /// consultation, help, complaint, report, suggestion, praise, other.
    pub request_type: String,
    /// The category path, parts separated by `/` (城乡建设/供暖/暖气不热).
    pub category: String,
    /// The county or district.
    pub area: String,
    /// Where it happened, as the agent wrote it.
    pub address: String,
    /// The lead unit, once dispatched; never `Some("")` (an order with no unit counts under
    /// the key "").
    pub unit: Option<String>,
    /// The annex line dialed (12345, 12319…).
    pub line: String,
    /// What the caller asked, as written.
    pub text: String,
}

impl OrderFactRow {
    /// The Beijing date the order was received on, which it is counted under.
    pub fn day(&self) -> NaiveDate {
        beijing_day(self.at)
    }

    /// The first part of the category path (the top of the tree).
    pub fn category1(&self) -> &str {
        self.category.split('/').next().unwrap_or_default()
    }

    /// The key the order is counted under in `dim` ("" for the unit of an order not yet
    /// dispatched).
    pub fn key(&self, dim: FactDimension) -> &str {
        match dim {
            FactDimension::Channel => &self.channel,
            FactDimension::RequestType => &self.request_type,
            FactDimension::Category1 => self.category1(),
            FactDimension::Category => &self.category,
            FactDimension::Area => &self.area,
            FactDimension::Unit => self.unit.as_deref().unwrap_or_default(),
            FactDimension::Line => &self.line,
        }
    }
}

/// A fact of the analysis (a synthetic month, a test's orders) as the store keeps it: the
/// words are not stored, they are cut again from the text when needed.
impl From<&hotline_insight::OrderFact> for OrderFactRow {
    fn from(f: &hotline_insight::OrderFact) -> Self {
        OrderFactRow {
            no: f.no.clone(),
            at: f.at,
            channel: f.channel.clone(),
            request_type: f.request_type.clone(),
            category: f.category.clone(),
            area: f.area.clone(),
            address: f.address.clone(),
            unit: f.unit.clone(),
            line: f.line.clone(),
            text: f.text.clone(),
        }
    }
}

impl OrderFactRow {
    /// The stored fact as the analysis takes it, with the words of its text.
    pub fn into_fact(self, words: Vec<String>) -> hotline_insight::OrderFact {
        hotline_insight::OrderFact {
            words,
            no: self.no,
            at: self.at,
            channel: self.channel,
            request_type: self.request_type,
            category: self.category,
            area: self.area,
            address: self.address,
            unit: self.unit,
            line: self.line,
            text: self.text,
        }
    }
}

/// What the facts are counted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FactDimension {
    Channel,
    RequestType,
    /// The top level of the category tree.
    Category1,
    /// The whole category path.
    Category,
    Area,
    /// The lead unit; orders not yet dispatched count under "".
    Unit,
    Line,
}

impl FactDimension {
    pub const ALL: [FactDimension; 7] = [
        FactDimension::Channel,
        FactDimension::RequestType,
        FactDimension::Category1,
        FactDimension::Category,
        FactDimension::Area,
        FactDimension::Unit,
        FactDimension::Line,
    ];

    /// Its column in `order_facts`, and its `dim` in `order_fact_daily`.
    pub fn name(self) -> &'static str {
        match self {
            FactDimension::Channel => "channel",
            FactDimension::RequestType => "request_type",
            FactDimension::Category1 => "category1",
            FactDimension::Category => "category",
            FactDimension::Area => "area",
            FactDimension::Unit => "unit",
            FactDimension::Line => "line",
        }
    }
}

/// One alert of the warning rules, as hotline-insight's alert book keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRow {
    /// The rule and its key (`spike:停水:水电:2026-01-20`): one cause, one alert.
    pub cause: String,
    pub rule: String,
    /// `sensitive`, `repeat` or `spike` (hotline-insight's names; the store requires only one).
    pub kind: String,
    /// `notice`, `warning` or `critical` (likewise).
    pub level: String,
    /// The line sent to the recipients.
    pub title: String,
    /// The orders that raised it, oldest first.
    pub orders: Vec<String>,
    /// `open`, `acknowledged` or `closed`.
    pub state: String,
    /// Who acknowledged or closed it, and their note.
    pub by_user: Option<String>,
    pub note: Option<String>,
    /// How many times it was pushed to its recipients.
    pub pushes: u32,
    /// When the cause was first found: kept from the first save, whatever later saves say.
    pub first_at: DateTime<Utc>,
    /// When it was last saved (pushed again, acknowledged, closed).
    pub last_at: DateTime<Utc>,
}

const ALERT_STATES: [&str; 3] = ["open", "acknowledged", "closed"];

const FACT_COLUMNS: &str =
    "no, at, day, channel, request_type, category, category1, area, address, unit, line, text";
const FACT_COLUMN_COUNT: usize = 12;
const FACT_READ_COLUMNS: &str =
    "no, at, channel, request_type, category, area, address, unit, line, text";
const ALERT_COLUMNS: &str = "cause, rule, kind, level, title, orders, state, by_user, note, \
     pushes, first_at, last_at";

/// What the counts hold of one stored fact: its day and its key in each dimension.
#[derive(Debug, PartialEq, Eq)]
struct Counted {
    day: i32,
    keys: [String; 7],
}

impl Counted {
    fn of(row: &OrderFactRow) -> Counted {
        Counted {
            day: day_number(row.day()),
            keys: FactDimension::ALL.map(|d| row.key(d).to_owned()),
        }
    }
}

impl Store {
    /// Stores the facts of one order, replacing those stored under its number, and adjusts the
    /// counts by day and dimension in the same transaction.
    pub async fn upsert_order_fact(&self, row: &OrderFactRow) -> Result<(), StoreError> {
        self.upsert_order_facts(std::slice::from_ref(row)).await
    }

    /// Stores the facts of many orders (the catch-up, a bulk load) in one transaction, each
    /// replacing the one stored under its number (of two rows with one number, the later one
    /// counts), with the counts adjusted for all of them. A row with no number, a unit
    /// `Some("")` or a Beijing day outside the years 1000–9999 is [`StoreError::Invalid`] and
    /// nothing is written.
    ///
    /// Multi-row statements of up to a thousand rows: a look-up of the stored rows being
    /// replaced (their day and keys), the INSERT … ON CONFLICT of the facts, then the counts'
    /// changes netted over the whole batch (a batch of a day's orders changes a few hundred
    /// counts): an upsert of those going up, an UPDATE of those going down and a DELETE of
    /// those that reached 0. A count to lower that is missing or would go below 0 means the
    /// counts were out of step with the facts (changed by hand): [`StoreError::CorruptRow`],
    /// nothing written, and [`Store::rebuild_order_fact_counts`] repairs them.
    pub async fn upsert_order_facts(&self, rows: &[OrderFactRow]) -> Result<(), StoreError> {
        for row in rows {
            check_fact(row)?;
        }
        // The last row of each number wins; one statement may not touch a row twice.
        let mut last: HashMap<&str, usize> = HashMap::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            last.insert(row.no.as_str(), i);
        }
        let rows: Vec<&OrderFactRow> = rows
            .iter()
            .enumerate()
            .filter(|(i, row)| last[row.no.as_str()] == *i)
            .map(|(_, row)| row)
            .collect();
        if rows.is_empty() {
            return Ok(());
        }
        let backend = self.backend();
        let mut tx = self.pool.begin().await?;
        // First a write: it waits for any other writer of facts (the row's lock in PostgreSQL,
        // the database's in SQLite) so the rows read next are the ones this write replaces.
        sqlx::query("UPDATE order_fact_writes SET writes = writes + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await?;

        let mut stored: HashMap<String, Counted> = HashMap::new();
        for chunk in rows.chunks(NOS_PER_LOOKUP) {
            let sql = format!(
                "SELECT no, day, channel, request_type, category1, category, area, unit, line \
                 FROM order_facts WHERE no IN ({})",
                marks(backend, 1, chunk.len())
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for row in chunk {
                q = q.bind(row.no.as_str());
            }
            for r in q.fetch_all(&mut *tx).await? {
                let no: String = r.try_get("no")?;
                let unit: Option<String> = r.try_get("unit")?;
                let counted = Counted {
                    day: r.try_get("day")?,
                    keys: [
                        r.try_get("channel")?,
                        r.try_get("request_type")?,
                        r.try_get("category1")?,
                        r.try_get("category")?,
                        r.try_get("area")?,
                        unit.unwrap_or_default(),
                        r.try_get("line")?,
                    ],
                };
                stored.insert(no, counted);
            }
        }

        // (dimension, day, key) → change, netted over the batch.
        let mut changes: BTreeMap<(usize, i32, String), i64> = BTreeMap::new();
        for row in &rows {
            let new = Counted::of(row);
            let old = stored.remove(row.no.as_str());
            if old.as_ref() == Some(&new) {
                continue;
            }
            if let Some(old) = old {
                for (d, key) in old.keys.into_iter().enumerate() {
                    *changes.entry((d, old.day, key)).or_default() -= 1;
                }
            }
            for (d, key) in new.keys.into_iter().enumerate() {
                *changes.entry((d, new.day, key)).or_default() += 1;
            }
        }
        changes.retain(|_, n| *n != 0);

        for chunk in rows.chunks(FACTS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO order_facts ({FACT_COLUMNS}) VALUES {} \
                 ON CONFLICT (no) DO UPDATE SET at = excluded.at, day = excluded.day, \
                 channel = excluded.channel, request_type = excluded.request_type, \
                 category = excluded.category, category1 = excluded.category1, \
                 area = excluded.area, address = excluded.address, unit = excluded.unit, \
                 line = excluded.line, text = excluded.text",
                tuples(backend, chunk.len(), FACT_COLUMN_COUNT)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for row in chunk {
                q = q
                    .bind(row.no.as_str())
                    .bind(row.at.timestamp_millis())
                    .bind(day_number(row.day()))
                    .bind(row.channel.as_str())
                    .bind(row.request_type.as_str())
                    .bind(row.category.as_str())
                    .bind(row.category1())
                    .bind(row.area.as_str())
                    .bind(row.address.as_str())
                    .bind(row.unit.as_deref())
                    .bind(row.line.as_str())
                    .bind(row.text.as_str());
            }
            q.execute(&mut *tx).await?;
        }

        // Counts going up: inserted or added to. Counts going down must be there: updated
        // (an INSERT … ON CONFLICT would check its negative row against the CHECK first).
        let (raised, lowered): (Vec<_>, Vec<_>) = changes.into_iter().partition(|(_, n)| *n > 0);
        for chunk in raised.chunks(COUNTS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO order_fact_daily (dim, day, key, count) VALUES {} \
                 ON CONFLICT (dim, day, key) DO UPDATE \
                 SET count = order_fact_daily.count + excluded.count",
                tuples(backend, chunk.len(), 4)
            );
            bind_changes(sqlx::query(sqlx::AssertSqlSafe(sql)), chunk, true)?
                .execute(&mut *tx)
                .await?;
        }
        for chunk in lowered.chunks(COUNTS_PER_STATEMENT) {
            // VALUES' columns are column1… in both dialects. A count taken below 0 fails the
            // CHECK; one missing is not updated: either way the counts were out of step with
            // the facts, and rebuild_order_fact_counts puts them back.
            let sql = format!(
                "UPDATE order_fact_daily SET count = order_fact_daily.count + v.column4 \
                 FROM (VALUES {}) AS v \
                 WHERE order_fact_daily.dim = v.column1 AND order_fact_daily.day = v.column2 \
                 AND order_fact_daily.key = v.column3",
                tuples(backend, chunk.len(), 4)
            );
            let updated = bind_changes(sqlx::query(sqlx::AssertSqlSafe(sql)), chunk, true)?
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if updated != chunk.len() as u64 {
                return Err(StoreError::CorruptRow {
                    table: TABLE_DAILY,
                    key: String::new(),
                    reason: format!(
                        "{} of {} counts to lower are missing: the counts are out of step \
                         with order_facts (rebuild_order_fact_counts)",
                        chunk.len() as u64 - updated,
                        chunk.len()
                    ),
                });
            }
            // Only a count that went down can have reached 0.
            let sql = format!(
                "DELETE FROM order_fact_daily WHERE count = 0 AND (dim, day, key) IN (VALUES {})",
                tuples(backend, chunk.len(), 3)
            );
            bind_changes(sqlx::query(sqlx::AssertSqlSafe(sql)), chunk, false)?
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The counts by day and dimension recomputed from the facts, replacing what was there, in
    /// one transaction (a repair: writes through the store keep them in step).
    pub async fn rebuild_order_fact_counts(&self) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE order_fact_writes SET writes = writes + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM order_fact_daily")
            .execute(&mut *tx)
            .await?;
        for dim in FactDimension::ALL {
            let column = match dim {
                FactDimension::Unit => "COALESCE(unit, '')",
                other => other.name(),
            };
            let sql = format!(
                "INSERT INTO order_fact_daily (dim, day, key, count) \
                 SELECT '{}', day, {column}, COUNT(*) FROM order_facts GROUP BY day, {column}",
                dim.name()
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// How many writes of facts there have been: a dashboard's figures computed while it stays
    /// the same are still current.
    pub async fn order_fact_writes(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT writes FROM order_fact_writes WHERE id = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// The facts stored for order `no`.
    pub async fn order_fact(&self, no: &str) -> Result<Option<OrderFactRow>, StoreError> {
        let sql = format!("SELECT {FACT_READ_COLUMNS} FROM order_facts WHERE no = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(no)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(fact_from_row).transpose()
    }

    /// The facts of the orders received in `[from, to)`, oldest first (ties by number): what
    /// the hot-topic run of a period loads.
    pub async fn order_facts_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<OrderFactRow>, StoreError> {
        let sql = format!(
            "SELECT {FACT_READ_COLUMNS} FROM order_facts WHERE at >= $1 AND at < $2 \
             ORDER BY at, no"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(from.timestamp_millis())
            .bind(to.timestamp_millis())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(fact_from_row).collect()
    }

    /// The orders received on the Beijing days `from_day` to `to_day` (both included), counted
    /// by `dim`: `(key, count)`, the biggest first, ties by key (byte order). Keys with no
    /// orders are not listed. Read from the daily counts, not the facts.
    pub async fn count_by(
        &self,
        dim: FactDimension,
        from_day: NaiveDate,
        to_day: NaiveDate,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT key, SUM(count) AS n FROM order_fact_daily \
             WHERE dim = $1 AND day >= $2 AND day <= $3 \
             GROUP BY key ORDER BY n DESC, key",
        )
        .bind(dim.name())
        .bind(day_number(from_day))
        .bind(day_number(to_day))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("key")?, r.try_get("n")?)))
            .collect()
    }

    /// The orders of each Beijing day from `from_day` to `to_day` (both included), oldest day
    /// first, every day listed (0 when there were none): a trend. With a filter, only the
    /// orders whose `dim` is the key ("" for the unit: not yet dispatched).
    pub async fn count_by_day(
        &self,
        from_day: NaiveDate,
        to_day: NaiveDate,
        filter: Option<(FactDimension, &str)>,
    ) -> Result<Vec<(NaiveDate, i64)>, StoreError> {
        // Every order has one channel: a day's total is the sum of its channels' counts.
        let (dim, key) = match filter {
            Some((dim, key)) => (dim, Some(key)),
            None => (FactDimension::Channel, None),
        };
        let sql = format!(
            "SELECT day, SUM(count) AS n FROM order_fact_daily \
             WHERE dim = $1 AND day >= $2 AND day <= $3{} GROUP BY day",
            if key.is_some() { " AND key = $4" } else { "" }
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(dim.name())
            .bind(day_number(from_day))
            .bind(day_number(to_day));
        if let Some(key) = key {
            q = q.bind(key);
        }
        let mut counts: HashMap<NaiveDate, i64> = HashMap::new();
        for r in q.fetch_all(&self.pool).await? {
            let day: i32 = r.try_get("day")?;
            let key = format!("{}:{day}", dim.name());
            counts.insert(day_from_number(TABLE_DAILY, &key, day)?, r.try_get("n")?);
        }
        Ok(from_day
            .iter_days()
            .take_while(|d| *d <= to_day)
            .map(|d| (d, counts.get(&d).copied().unwrap_or(0)))
            .collect())
    }

    /// Drill-down: the numbers of the orders received on the Beijing days `from_day` to
    /// `to_day` (both included) whose `dim` is `key` ("" for the unit: not yet dispatched),
    /// newest first (ties by number, descending), at most `limit` capped at
    /// [`LIST_LIMIT_MAX`]. The next page is the same call with `before` the last number of
    /// this one (a keyset: orders added meanwhile neither repeat nor shift a page); a number
    /// with no facts gives an empty page.
    pub async fn fact_orders(
        &self,
        dim: FactDimension,
        key: &str,
        from_day: NaiveDate,
        to_day: NaiveDate,
        limit: u32,
        before: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        let limit = limit.min(LIST_LIMIT_MAX);
        if limit == 0 || to_day < from_day {
            return Ok(Vec::new());
        }
        let from = beijing_midnight_ms(from_day);
        // at <= last: the last millisecond of to_day, or the cursor's own time.
        let mut last = to_day
            .succ_opt()
            .map_or(i64::MAX, |d| beijing_midnight_ms(d) - 1);
        let mut cursor = None;
        if let Some(before) = before {
            // Looked up first, so that both planners see a plain range of at (SQLite would
            // scan from the end of the period and filter by a bound it is given as a subquery).
            let at: Option<i64> = sqlx::query_scalar("SELECT at FROM order_facts WHERE no = $1")
                .bind(before)
                .fetch_optional(&self.pool)
                .await?;
            let Some(at) = at else {
                return Ok(Vec::new());
            };
            last = last.min(at);
            cursor = Some((at, before));
        }
        let no_unit = dim == FactDimension::Unit && key.is_empty();
        let mut args = 0;
        let mut arg = || {
            args += 1;
            format!("${args}")
        };
        let mut sql = format!(
            "SELECT no FROM order_facts WHERE {} AND at >= {} AND at <= {}",
            if no_unit {
                "unit IS NULL".to_owned()
            } else {
                format!("{} = {}", dim.name(), arg())
            },
            arg(),
            arg()
        );
        if cursor.is_some() {
            sql.push_str(&format!(" AND (at, no) < ({}, {})", arg(), arg()));
        }
        sql.push_str(&format!(" ORDER BY at DESC, no DESC LIMIT {}", arg()));
        let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
        if !no_unit {
            q = q.bind(key);
        }
        q = q.bind(from).bind(last);
        if let Some((at, no)) = cursor {
            q = q.bind(at).bind(no);
        }
        Ok(q.bind(i64::from(limit)).fetch_all(&self.pool).await?)
    }

    /// Stores an alert by its cause: a new cause is inserted; a known one takes everything of
    /// `row` but `first_at`, which stays as first stored. The row as stored is returned. An
    /// empty cause, kind or level, a state other than `open`, `acknowledged` or `closed` or
    /// pushes beyond `i32::MAX` are [`StoreError::Invalid`] and nothing is written.
    pub async fn save_alert(&self, row: &AlertRow) -> Result<AlertRow, StoreError> {
        let invalid = |what: String| {
            Err(StoreError::Invalid(format!(
                "alert {:?}: {what}",
                row.cause
            )))
        };
        if row.cause.is_empty() {
            return invalid("no cause".into());
        }
        if row.kind.is_empty() || row.level.is_empty() {
            return invalid("no kind or level".into());
        }
        if !ALERT_STATES.contains(&row.state.as_str()) {
            return invalid(format!(
                "state {:?} is not one of {}",
                row.state,
                ALERT_STATES.join(", ")
            ));
        }
        let Ok(pushes) = i32::try_from(row.pushes) else {
            return invalid(format!("{} pushes", row.pushes));
        };
        let orders = serde_json::to_string(&row.orders)
            .map_err(|e| StoreError::Invalid(format!("alert {:?}: orders: {e}", row.cause)))?;
        let sql = format!(
            "INSERT INTO insight_alerts ({ALERT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (cause) DO UPDATE SET rule = excluded.rule, kind = excluded.kind, \
             level = excluded.level, title = excluded.title, orders = excluded.orders, \
             state = excluded.state, by_user = excluded.by_user, note = excluded.note, \
             pushes = excluded.pushes, last_at = excluded.last_at \
             RETURNING {ALERT_COLUMNS}"
        );
        let stored = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(row.cause.as_str())
            .bind(row.rule.as_str())
            .bind(row.kind.as_str())
            .bind(row.level.as_str())
            .bind(row.title.as_str())
            .bind(orders)
            .bind(row.state.as_str())
            .bind(row.by_user.as_deref())
            .bind(row.note.as_deref())
            .bind(pushes)
            .bind(row.first_at.timestamp_millis())
            .bind(row.last_at.timestamp_millis())
            .fetch_one(&self.pool)
            .await?;
        alert_from_row(&stored)
    }

    /// The alert of `cause`, if any.
    pub async fn alert(&self, cause: &str) -> Result<Option<AlertRow>, StoreError> {
        let sql = format!("SELECT {ALERT_COLUMNS} FROM insight_alerts WHERE cause = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(cause)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(alert_from_row).transpose()
    }

    /// The alerts, newest first (by `last_at`, ties by cause descending), at most `limit`
    /// capped at [`LIST_LIMIT_MAX`]; with `open_only` only those not closed (open or
    /// acknowledged).
    pub async fn alerts(&self, open_only: bool, limit: u32) -> Result<Vec<AlertRow>, StoreError> {
        let limit = limit.min(LIST_LIMIT_MAX);
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM insight_alerts{} \
             ORDER BY last_at DESC, cause DESC LIMIT $1",
            if open_only {
                " WHERE state <> 'closed'"
            } else {
                ""
            }
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(alert_from_row).collect()
    }
}

type Change = ((usize, i32, String), i64);

/// Binds `(dim, day, key)` of each change, and with `with_count` its change.
fn bind_changes<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    changes: &'q [Change],
    with_count: bool,
) -> Result<sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>, StoreError> {
    for ((d, day, key), n) in changes {
        q = q
            .bind(FactDimension::ALL[*d].name())
            .bind(*day)
            .bind(key.as_str());
        if with_count {
            let n = i32::try_from(*n).map_err(|_| {
                StoreError::Invalid(format!("a batch of facts changes one count by {n}"))
            })?;
            q = q.bind(n);
        }
    }
    Ok(q)
}

/// What the facts table would refuse, or the counts could not place.
fn check_fact(row: &OrderFactRow) -> Result<(), StoreError> {
    if row.no.is_empty() {
        return Err(StoreError::Invalid(
            "order facts with no order number".into(),
        ));
    }
    if row.unit.as_deref() == Some("") {
        return Err(StoreError::Invalid(format!(
            "order facts {}: the unit is empty (None is an order not yet dispatched)",
            row.no
        )));
    }
    let year = row
        .at
        .checked_add_signed(Duration::milliseconds(BEIJING_MS))
        .map(|t| t.year());
    if !matches!(year, Some(1000..=9999)) {
        return Err(StoreError::Invalid(format!(
            "order facts {}: received at {} is outside the years 1000 to 9999",
            row.no, row.at
        )));
    }
    Ok(())
}

/// The Beijing date of an instant (checked by [`check_fact`] for stored facts).
fn beijing_day(at: DateTime<Utc>) -> NaiveDate {
    at.checked_add_signed(Duration::milliseconds(BEIJING_MS))
        .unwrap_or(at)
        .date_naive()
}

/// yyyymmdd, the facts' and the counts' `day`.
fn day_number(day: NaiveDate) -> i32 {
    day.year() * 10_000 + day.month() as i32 * 100 + day.day() as i32
}

fn day_from_number(table: &'static str, key: &str, n: i32) -> Result<NaiveDate, StoreError> {
    NaiveDate::from_ymd_opt(n / 10_000, (n / 100 % 100) as u32, (n % 100) as u32).ok_or_else(|| {
        StoreError::CorruptRow {
            table,
            key: key.to_owned(),
            reason: format!("day {n} is not a date"),
        }
    })
}

/// 00:00 of a Beijing date, in milliseconds since the epoch.
fn beijing_midnight_ms(day: NaiveDate) -> i64 {
    day.and_time(NaiveTime::MIN).and_utc().timestamp_millis() - BEIJING_MS
}

/// `$start, …` (PostgreSQL) or `?, …` (SQLite) for `n` values.
fn marks(backend: Backend, start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| match backend {
            Backend::Sqlite => "?".to_owned(),
            Backend::Postgres => format!("${i}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($1, $2), ($3, $4)…` for PostgreSQL, `(?, ?), (?, ?)…` for SQLite: sqlx's SQLite driver
/// looks each numbered parameter up by walking SQLite's list of parameter names, which makes a
/// statement of thousands of `$n` quadratic; anonymous ones bind in order.
fn tuples(backend: Backend, rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", marks(backend, r * columns + 1, columns)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn fact_from_row(row: &AnyRow) -> Result<OrderFactRow, StoreError> {
    let no: String = row.try_get("no")?;
    Ok(OrderFactRow {
        at: millis_to_time(TABLE_FACTS, &no, "at", row.try_get("at")?)?,
        channel: row.try_get("channel")?,
        request_type: row.try_get("request_type")?,
        category: row.try_get("category")?,
        area: row.try_get("area")?,
        address: row.try_get("address")?,
        unit: row.try_get("unit")?,
        line: row.try_get("line")?,
        text: row.try_get("text")?,
        no,
    })
}

fn alert_from_row(row: &AnyRow) -> Result<AlertRow, StoreError> {
    let cause: String = row.try_get("cause")?;
    let corrupt = |reason: String| StoreError::CorruptRow {
        table: TABLE_ALERTS,
        key: cause.clone(),
        reason,
    };
    let orders: String = row.try_get("orders")?;
    let orders: Vec<String> = serde_json::from_str(&orders)
        .map_err(|e| corrupt(format!("orders are not a JSON array of strings: {e}")))?;
    let pushes: i32 = row.try_get("pushes")?;
    let pushes = u32::try_from(pushes).map_err(|_| corrupt(format!("pushes {pushes}")))?;
    Ok(AlertRow {
        rule: row.try_get("rule")?,
        kind: row.try_get("kind")?,
        level: row.try_get("level")?,
        title: row.try_get("title")?,
        orders,
        state: row.try_get("state")?,
        by_user: row.try_get("by_user")?,
        note: row.try_get("note")?,
        pushes,
        first_at: millis_to_time(TABLE_ALERTS, &cause, "first_at", row.try_get("first_at")?)?,
        last_at: millis_to_time(TABLE_ALERTS, &cause, "last_at", row.try_get("last_at")?)?,
        cause,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_days_and_their_numbers() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(beijing_day(at("2026-01-31T15:59:59.999Z")), d(2026, 1, 31));
        assert_eq!(beijing_day(at("2026-01-31T16:00:00Z")), d(2026, 2, 1));
        assert_eq!(beijing_day(at("2025-12-31T23:30:00Z")), d(2026, 1, 1));
        assert_eq!(day_number(d(2026, 2, 1)), 20260201);
        assert_eq!(
            day_from_number(TABLE_DAILY, "", 20261231).unwrap(),
            d(2026, 12, 31)
        );
        assert!(day_from_number(TABLE_DAILY, "", 20260230).is_err());
        assert_eq!(
            beijing_midnight_ms(d(2026, 2, 1)),
            at("2026-01-31T16:00:00Z").timestamp_millis()
        );
    }

    #[test]
    fn placeholders_per_backend() {
        assert_eq!(tuples(Backend::Postgres, 2, 2), "($1, $2), ($3, $4)");
        assert_eq!(tuples(Backend::Sqlite, 2, 2), "(?, ?), (?, ?)");
        assert_eq!(marks(Backend::Postgres, 3, 2), "$3, $4");
    }
}
