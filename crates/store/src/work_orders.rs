//! Work orders as the store keeps them: the append-only events of each order (JSON text the
//! work-order service serialized) and a projection of the columns its listings filter on, plus
//! the per-day sequence of the readable order numbers, the co-units of each order's dispatch and
//! each order's contribution to the assessment figures. The store does not depend on
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
use crate::outbox::{NewOutbox, check_outbox, insert_outbox};
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
    /// The service's request type name (`complaint`, `consultation`…), once the intake says.
    pub request_type: Option<String>,
    /// The co-units of the current dispatch (协办单位): they see the order as the lead unit
    /// does ([`OrderQuery::visible_to_unit`]). A set: stored and read back in byte order, each
    /// unit once (the dispatch event keeps the order the center named them in). None may be
    /// empty or the lead unit.
    pub co_units: Vec<String>,
    /// This order's own contribution to its lead unit's assessment figures, as the service
    /// counted it from the events; [`Store::order_kpis`] sums them over a period.
    pub counts: KpiCounts,
    /// When the scheduler must look at the order next (a reminder or notice falls due then),
    /// as the service computed it with the change; None: nothing will ever be due.
    /// [`Store::orders_to_check`] lists those due, so a pass reads only them.
    pub next_check_at: Option<DateTime<Utc>>,
}

/// One order's contribution to the D3 assessment figures, or (from [`Store::order_kpis`]) their
/// sum over a unit's orders: the numerators and denominators of hotline-workorder's `Kpis`,
/// under the same names. Stored per order as 32-bit integers: a count above `i32::MAX` for one
/// order is refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KpiCounts {
    pub dispatched: u64,
    pub signed: u64,
    pub signed_on_time: u64,
    pub returned: u64,
    pub return_requests: u64,
    pub returns_rejected: u64,
    pub replied: u64,
    pub replied_on_time: u64,
    pub reviewed: u64,
    pub called_back: u64,
    pub reached: u64,
    pub satisfied: u64,
    pub solved_known: u64,
    pub solved: u64,
    pub redone: u64,
    pub reminders: u64,
    pub notices: u64,
    pub criticisms: u64,
}

/// The columns of [`KpiCounts`], in the order of [`KpiCounts::to_array`]; a macro so that it can
/// be spliced into the `concat!` of the column lists.
macro_rules! kpi_columns {
    () => {
        "dispatched, signed, signed_on_time, returned, return_requests, returns_rejected, \
         replied, replied_on_time, reviewed, called_back, reached, satisfied, solved_known, \
         solved, redone, reminders, notices, criticisms"
    };
}

const KPI_COLUMNS: [&str; 18] = [
    "dispatched",
    "signed",
    "signed_on_time",
    "returned",
    "return_requests",
    "returns_rejected",
    "replied",
    "replied_on_time",
    "reviewed",
    "called_back",
    "reached",
    "satisfied",
    "solved_known",
    "solved",
    "redone",
    "reminders",
    "notices",
    "criticisms",
];

impl KpiCounts {
    /// The fields in the order of [`KPI_COLUMNS`].
    fn to_array(self) -> [u64; 18] {
        [
            self.dispatched,
            self.signed,
            self.signed_on_time,
            self.returned,
            self.return_requests,
            self.returns_rejected,
            self.replied,
            self.replied_on_time,
            self.reviewed,
            self.called_back,
            self.reached,
            self.satisfied,
            self.solved_known,
            self.solved,
            self.redone,
            self.reminders,
            self.notices,
            self.criticisms,
        ]
    }

    fn from_array(a: [u64; 18]) -> KpiCounts {
        let [
            dispatched,
            signed,
            signed_on_time,
            returned,
            return_requests,
            returns_rejected,
            replied,
            replied_on_time,
            reviewed,
            called_back,
            reached,
            satisfied,
            solved_known,
            solved,
            redone,
            reminders,
            notices,
            criticisms,
        ] = a;
        KpiCounts {
            dispatched,
            signed,
            signed_on_time,
            returned,
            return_requests,
            returns_rejected,
            replied,
            replied_on_time,
            reviewed,
            called_back,
            reached,
            satisfied,
            solved_known,
            solved,
            redone,
            reminders,
            notices,
            criticisms,
        }
    }
}

/// What [`Store::list_orders`] selects: every filter that is set must hold (AND). The default
/// filters nothing but has `limit` 0, which lists nothing: a caller always says its page size.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderQuery {
    /// Any of these statuses; empty: any status.
    pub statuses: Vec<String>,
    /// The orders a unit sees: it is their lead unit or one of their co-units.
    pub visible_to_unit: Option<String>,
    /// The orders a unit leads (co-units not included).
    pub lead_unit: Option<String>,
    pub owner: Option<String>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_to: Option<DateTime<Utc>>,
    /// The keyset cursor: only orders strictly older than this `(created_at, no)`, the last row
    /// of the previous page. Unlike an offset, rows created meanwhile neither repeat nor shift
    /// the next page.
    pub before: Option<(DateTime<Utc>, String)>,
    /// At most this many rows, capped at [`LIST_LIMIT_MAX`].
    pub limit: u32,
}

/// The largest page [`Store::list_orders`] returns.
pub const LIST_LIMIT_MAX: u32 = 500;

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

const ORDER_COLUMNS: &str = concat!(
    "no, record, status, lead_unit, due_at, owner, created_at, updated_at, version, \
     request_type, next_check_at, ",
    kpi_columns!()
);

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

    /// Stores a new order (`row.version` must be 1), its co-units and its first event
    /// (`first.seq` 1, same number), in one transaction. Idempotent by call record: if an order
    /// for `row.record` exists, nothing is written and the result is [`Inserted::Duplicate`] (a
    /// retried create, or two agents creating from the same call); [`Store::order_by_record`]
    /// finds the existing one. A number already used by another call's order is an error (a
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
        let counts = check_projection(row)?;
        let co_units = co_unit_set(row)?;
        check_event(first, &row.no, 1)?;
        let mut tx = self.pool.begin().await?;
        let values = placeholders(1, 11 + KPI_COLUMNS.len());
        let sql = format!(
            "INSERT INTO work_orders ({ORDER_COLUMNS}) VALUES ({values}) \
             ON CONFLICT (record) DO NOTHING"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(row.no.as_str())
            .bind(row.record.as_str())
            .bind(row.status.as_str())
            .bind(row.lead_unit.as_deref())
            .bind(row.due_at.map(|t| t.timestamp_millis()))
            .bind(row.owner.as_deref())
            .bind(row.created_at.timestamp_millis())
            .bind(row.updated_at.timestamp_millis())
            .bind(1_i32)
            .bind(row.request_type.as_deref())
            .bind(row.next_check_at.map(|t| t.timestamp_millis()));
        for count in counts {
            query = query.bind(count);
        }
        let rows = query.execute(&mut *tx).await?.rows_affected();
        if rows == 0 {
            // Dropping `tx` rolls back; the insert that did nothing left nothing to undo anyway.
            return Ok(Inserted::Duplicate);
        }
        replace_co_units(
            &mut tx,
            &row.no,
            row.created_at.timestamp_millis(),
            &co_units,
        )
        .await?;
        insert_event(&mut tx, first).await?;
        tx.commit().await?;
        Ok(Inserted::New)
    }

    /// Appends `event` (seq `expected_version + 1`) and replaces the projection with
    /// `projection`'s (status, lead unit, deadline, owner, `updated_at`, request type, co-units,
    /// counts; `version` must be `expected_version + 1`; `record` and `created_at` stay as
    /// created), in one transaction, only if the stored order is still at `expected_version`.
    /// Otherwise [`StoreError::Conflict`] with the version found (0: no such order) and nothing
    /// is written: the caller computed its change from a state that is no longer current.
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
        self.append_event_with(projection, event, expected_version, &[])
            .await
    }

    /// [`Store::append_event`] that also queues `outbox`'s notifications in the same
    /// transaction: a reminder event and its SMS are stored together or not at all, so a
    /// notification is never sent for a change that was lost (a conflict, a crash) nor a change
    /// kept without its notification. The outbox rows are checked before anything is written.
    pub async fn append_event_with(
        &self,
        projection: &OrderRow,
        event: &EventRow,
        expected_version: u32,
        outbox: &[NewOutbox],
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
        let counts = check_projection(projection)?;
        let co_units = co_unit_set(projection)?;
        check_event(event, no, next)?;
        check_outbox(outbox)?;
        let mut tx = self.pool.begin().await?;
        // status = $1 … next_check_at = $8, then the counts from $9; the key after them.
        let kpi_sets = KPI_COLUMNS
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} = ${}", 9 + i))
            .collect::<Vec<_>>()
            .join(", ");
        let key_at = 9 + KPI_COLUMNS.len();
        // RETURNING the created time the co-unit rows copy: the projection's is not used.
        let sql = format!(
            "UPDATE work_orders SET status = $1, lead_unit = $2, due_at = $3, owner = $4, \
             updated_at = $5, version = $6, request_type = $7, next_check_at = $8, {kpi_sets} \
             WHERE no = ${key_at} AND version = ${} RETURNING created_at",
            key_at + 1
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(projection.status.as_str())
            .bind(projection.lead_unit.as_deref())
            .bind(projection.due_at.map(|t| t.timestamp_millis()))
            .bind(projection.owner.as_deref())
            .bind(projection.updated_at.timestamp_millis())
            .bind(to_i32(no, "version", next)?)
            .bind(projection.request_type.as_deref())
            .bind(projection.next_check_at.map(|t| t.timestamp_millis()));
        for count in counts {
            query = query.bind(count);
        }
        let updated = query
            .bind(no)
            .bind(to_i32(no, "expected version", expected_version)?)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(updated) = updated else {
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
        };
        let created_at: i64 = updated.try_get("created_at")?;
        replace_co_units(&mut tx, no, created_at, &co_units).await?;
        insert_event(&mut tx, event).await?;
        insert_outbox(&mut tx, outbox).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The numbers of the orders whose `next_check_at` has come (at or before `now`), earliest
    /// first, at most `limit`: what a scheduler pass reads.
    pub async fn orders_to_check(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT no FROM work_orders WHERE next_check_at IS NOT NULL AND next_check_at <= $1 \
             ORDER BY next_check_at, no LIMIT $2",
        )
        .bind(now.timestamp_millis())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Sets an order's `next_check_at` without an event (the scheduler found nothing due, the
    /// calendar having changed), only if it is still at `version`; false if it was not.
    pub async fn set_next_check(
        &self,
        no: &str,
        version: u32,
        at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE work_orders SET next_check_at = $1 WHERE no = $2 AND version = $3")
                .bind(at.map(|t| t.timestamp_millis()))
                .bind(no)
                .bind(to_i32(no, "version", version)?)
                .execute(&self.pool)
                .await?
                .rows_affected();
        Ok(done == 1)
    }

    /// Marks the orders in `statuses` for a check at `at`: all of them (after a calendar change
    /// moved their deadlines), or with `only_unchecked` those that have no `next_check_at` (orders
    /// from before the column existed). The number marked.
    pub async fn mark_for_check(
        &self,
        statuses: &[&str],
        at: DateTime<Utc>,
        only_unchecked: bool,
    ) -> Result<u64, StoreError> {
        if statuses.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "UPDATE work_orders SET next_check_at = $1 WHERE status IN ({}){}",
            placeholders(2, statuses.len()),
            if only_unchecked {
                " AND next_check_at IS NULL"
            } else {
                ""
            }
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(at.timestamp_millis());
        for st in statuses {
            q = q.bind(*st);
        }
        Ok(q.execute(&self.pool).await?.rows_affected())
    }

    pub async fn order(&self, no: &str) -> Result<Option<OrderRow>, StoreError> {
        let sql = with_co_units(
            &format!("SELECT {ORDER_COLUMNS} FROM work_orders WHERE no = $1"),
            "o.no",
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(no)
            .fetch_all(&self.pool)
            .await?;
        Ok(orders_from_rows(&rows)?.pop())
    }

    /// The order made from call record `record`, if any (one per call).
    pub async fn order_by_record(&self, record: &str) -> Result<Option<OrderRow>, StoreError> {
        let sql = with_co_units(
            &format!("SELECT {ORDER_COLUMNS} FROM work_orders WHERE record = $1"),
            "o.no",
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(record)
            .fetch_all(&self.pool)
            .await?;
        Ok(orders_from_rows(&rows)?.pop())
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
    /// caller names the open statuses: which ones count as open is the service's rule. Only the
    /// orders the unit leads: the deadline is the lead unit's (co-units answer to it, not to
    /// the center); the rows carry their co-units all the same.
    pub async fn unit_orders_due(
        &self,
        unit: &str,
        open_statuses: &[&str],
        due_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OrderRow>, StoreError> {
        if open_statuses.is_empty() || limit == 0 {
            // `IN ()` is not SQL; and no status is open, so nothing is due.
            return Ok(Vec::new());
        }
        let statuses = placeholders(3, open_statuses.len());
        let limit_at = 3 + open_statuses.len();
        let sql = with_co_units(
            &format!(
                "SELECT {ORDER_COLUMNS} FROM work_orders \
                 WHERE lead_unit = $1 AND due_at < $2 AND status IN ({statuses}) \
                 ORDER BY due_at, no LIMIT ${limit_at}"
            ),
            "o.due_at, o.no",
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(unit)
            .bind(due_before.timestamp_millis());
        for status in open_statuses {
            query = query.bind(*status);
        }
        let rows = query.bind(i64::from(limit)).fetch_all(&self.pool).await?;
        orders_from_rows(&rows)
    }

    /// Orders matching `q`, newest first (`created_at` then number, both descending), at most
    /// `q.limit` capped at [`LIST_LIMIT_MAX`]; the next page is the query again with `before`
    /// set to the last row's `(created_at, no)`.
    ///
    /// The visibility to a unit is a UNION of the unit's lead orders and its co-unit orders,
    /// each already cut to one page, rather than one `lead_unit = $u OR EXISTS (…)`: each half
    /// then reads its own index range in the listing's order (`work_orders_unit_created`,
    /// `work_order_co_units_unit_created`) and stops after a page, where the OR would make both
    /// backends walk every order newest first until a page of the unit's turned up.
    pub async fn list_orders(&self, q: &OrderQuery) -> Result<Vec<OrderRow>, StoreError> {
        let limit = q.limit.min(LIST_LIMIT_MAX);
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Every value once; the halves below use the same placeholders (both dialects accept
        // `$n` more than once).
        let mut args = Args::default();
        let statuses =
            (!q.statuses.is_empty()).then(|| args.texts(q.statuses.iter().map(String::as_str)));
        let lead_unit = q.lead_unit.as_deref().map(|u| args.text(u));
        let owner = q.owner.as_deref().map(|o| args.text(o));
        let from = q.created_from.map(|t| args.int(t.timestamp_millis()));
        let to = q.created_to.map(|t| args.int(t.timestamp_millis()));
        let before = q
            .before
            .as_ref()
            .map(|(t, no)| (args.int(t.timestamp_millis()), args.text(no)));
        let visible = q.visible_to_unit.as_deref().map(|u| args.text(u));
        let limit_at = args.int(i64::from(limit));
        // The conditions, with `o` the prefix of the order's columns and `t` that of the
        // (created_at, no) the page is ordered by.
        let conditions = |o: &str, t: &str| {
            let mut c = Vec::new();
            if let Some(s) = &statuses {
                c.push(format!("{o}status IN ({s})"));
            }
            if let Some(u) = &lead_unit {
                c.push(format!("{o}lead_unit = {u}"));
            }
            if let Some(x) = &owner {
                c.push(format!("{o}owner = {x}"));
            }
            if let Some(x) = &from {
                c.push(format!("{t}created_at >= {x}"));
            }
            if let Some(x) = &to {
                c.push(format!("{t}created_at < {x}"));
            }
            if let Some((at, no)) = &before {
                c.push(format!("({t}created_at, {t}no) < ({at}, {no})"));
            }
            c
        };
        let where_clause = |c: Vec<String>| {
            if c.is_empty() {
                String::new()
            } else {
                format!(" WHERE {}", c.join(" AND "))
            }
        };
        let inner = match &visible {
            None => format!(
                "SELECT {ORDER_COLUMNS} FROM work_orders{} \
                 ORDER BY created_at DESC, no DESC LIMIT {limit_at}",
                where_clause(conditions("", ""))
            ),
            Some(unit) => {
                let mut lead = conditions("", "");
                lead.push(format!("lead_unit = {unit}"));
                let lead = format!(
                    "SELECT {ORDER_COLUMNS} FROM work_orders{} \
                     ORDER BY created_at DESC, no DESC LIMIT {limit_at}",
                    where_clause(lead)
                );
                // Walked in the co-unit rows' order, the order's own columns filtered on the
                // way: the walk stops after a page.
                let mut co = conditions("w.", "c.");
                co.insert(0, format!("c.unit = {unit}"));
                let columns = ORDER_COLUMNS
                    .split(", ")
                    .map(|c| format!("w.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let co = format!(
                    "SELECT {columns} FROM work_order_co_units c \
                     JOIN work_orders w ON w.no = c.no{} \
                     ORDER BY c.created_at DESC, c.no DESC LIMIT {limit_at}",
                    where_clause(co)
                );
                // Each half in a subquery: SQLite allows no ORDER BY or LIMIT on the members of
                // a compound SELECT. UNION, not UNION ALL: an order is listed once even if it
                // were both (create and append refuse that).
                format!(
                    "SELECT * FROM (SELECT * FROM ({lead}) lead_half \
                     UNION SELECT * FROM ({co}) co_half) visible \
                     ORDER BY created_at DESC, no DESC LIMIT {limit_at}"
                )
            }
        };
        let sql = with_co_units(&inner, "o.created_at DESC, o.no DESC");
        let rows = args
            .bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)))
            .fetch_all(&self.pool)
            .await?;
        orders_from_rows(&rows)
    }

    /// The assessment counts of the orders created in `[from, to)` (a month, a quarter) and
    /// dispatched, summed per lead unit (the unit an order ended with, as in hotline-workorder's
    /// `Kpis::by_unit`), by unit in byte order. Units without such orders are not listed. The
    /// center's total is the sum of the rows; the caller adds it up.
    pub async fn order_kpis(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(String, KpiCounts)>, StoreError> {
        let sums = KPI_COLUMNS
            .iter()
            .map(|c| format!("SUM({c}) AS {c}"))
            .collect::<Vec<_>>()
            .join(", ");
        // SUM of an INTEGER column is a BIGINT in PostgreSQL, an integer in SQLite: i64 both.
        let sql = format!(
            "SELECT lead_unit, {sums} FROM work_orders \
             WHERE created_at >= $1 AND created_at < $2 AND lead_unit IS NOT NULL \
             GROUP BY lead_unit ORDER BY lead_unit"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(from.timestamp_millis())
            .bind(to.timestamp_millis())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let unit: String = row.try_get("lead_unit")?;
                let mut sums = [0_u64; 18];
                for (sum, column) in sums.iter_mut().zip(KPI_COLUMNS) {
                    let value: i64 = row.try_get(column)?;
                    *sum = u64::try_from(value).map_err(|_| StoreError::CorruptRow {
                        table: TABLE_ORDERS,
                        key: unit.clone(),
                        reason: format!("the sum of {column} is {value}"),
                    })?;
                }
                Ok((unit, KpiCounts::from_array(sums)))
            })
            .collect()
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

/// Makes order `no`'s co-unit rows `units` (a sorted set), each with the order's `created_at`:
/// deletes the others and inserts the missing ones. Most appends keep the dispatch's co-units,
/// and then this writes nothing.
async fn replace_co_units(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    no: &str,
    created_at: i64,
    units: &[&str],
) -> Result<(), StoreError> {
    let mut sql = String::from("DELETE FROM work_order_co_units WHERE no = $1");
    if !units.is_empty() {
        sql.push_str(&format!(
            " AND unit NOT IN ({})",
            placeholders(2, units.len())
        ));
    }
    let mut delete = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(no);
    for unit in units {
        delete = delete.bind(*unit);
    }
    delete.execute(&mut **tx).await?;
    if units.is_empty() {
        return Ok(());
    }
    // ($1, $2, $3), ($1, $2, $4)…: the number and the time once, then each unit.
    let values = (0..units.len())
        .map(|i| format!("($1, $2, ${})", i + 3))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO work_order_co_units (no, created_at, unit) VALUES {values} \
         ON CONFLICT (unit, no) DO NOTHING"
    );
    let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(no)
        .bind(created_at);
    for unit in units {
        insert = insert.bind(*unit);
    }
    insert.execute(&mut **tx).await?;
    Ok(())
}

/// `query` (the order columns, in its own order) with each order's co-units joined in: one
/// statement, so the co-units are read from the same snapshot as the orders (two statements
/// would need a REPEATABLE READ transaction on PostgreSQL to agree). An order comes out as one
/// row per co-unit (one with `co_unit` NULL if it has none), consecutive, sorted by
/// `order_by` (columns of `o`) then unit; [`orders_from_rows`] folds them back. The inner query
/// keeps its own LIMIT, so a page is a page of orders, not of joined rows.
fn with_co_units(query: &str, order_by: &str) -> String {
    format!(
        "SELECT o.*, c.unit AS co_unit FROM ({query}) o \
         LEFT JOIN work_order_co_units c ON c.no = o.no \
         ORDER BY {order_by}, c.unit"
    )
}

/// The values of a query built piece by piece, each piece naming its placeholder as it adds
/// its value.
#[derive(Default)]
struct Args {
    values: Vec<Arg>,
}

enum Arg {
    Int(i64),
    Text(String),
}

impl Args {
    fn push(&mut self, arg: Arg) -> String {
        self.values.push(arg);
        format!("${}", self.values.len())
    }

    fn int(&mut self, value: i64) -> String {
        self.push(Arg::Int(value))
    }

    fn text(&mut self, value: &str) -> String {
        self.push(Arg::Text(value.to_owned()))
    }

    /// `$a, $b, …` for a list (an `IN`); the caller makes sure it is not empty.
    fn texts<'a>(&mut self, values: impl IntoIterator<Item = &'a str>) -> String {
        values
            .into_iter()
            .map(|v| self.text(v))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn bind_all(
        self,
        mut query: sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments> {
        for value in self.values {
            query = match value {
                Arg::Int(v) => query.bind(v),
                Arg::Text(v) => query.bind(v),
            };
        }
        query
    }
}

/// `$start, $start+1, …` for `n` bound values.
fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks what the schema would refuse, and returns the counts as the INTEGER columns take them.
fn check_projection(row: &OrderRow) -> Result<[i32; 18], StoreError> {
    if row.status.is_empty() {
        return Err(StoreError::Invalid(format!(
            "work order {}: the status is empty",
            row.no
        )));
    }
    let mut counts = [0_i32; 18];
    for ((count, value), column) in counts
        .iter_mut()
        .zip(row.counts.to_array())
        .zip(KPI_COLUMNS)
    {
        *count = i32::try_from(value).map_err(|_| {
            StoreError::Invalid(format!(
                "work order {}: {column} {value} is too large for one order",
                row.no
            ))
        })?;
    }
    Ok(counts)
}

/// The co-units as stored: sorted (byte order, as they are read back), each once. An empty name
/// or the lead unit among them is refused, as hotline-workorder's dispatch refuses it.
fn co_unit_set(row: &OrderRow) -> Result<Vec<&str>, StoreError> {
    let mut units: Vec<&str> = row.co_units.iter().map(String::as_str).collect();
    units.sort_unstable();
    units.dedup();
    if units.first() == Some(&"") {
        return Err(StoreError::Invalid(format!(
            "work order {}: a co-unit has no name",
            row.no
        )));
    }
    if let Some(lead) = row.lead_unit.as_deref()
        && units.contains(&lead)
    {
        return Err(StoreError::Invalid(format!(
            "work order {}: {lead} cannot be lead and co-unit",
            row.no
        )));
    }
    Ok(units)
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

/// Folds the rows of a [`with_co_units`] query back into orders, in their order.
fn orders_from_rows(rows: &[AnyRow]) -> Result<Vec<OrderRow>, StoreError> {
    let mut orders: Vec<OrderRow> = Vec::new();
    for row in rows {
        let no: String = row.try_get("no")?;
        let co_unit: Option<String> = row.try_get("co_unit")?;
        match orders.last_mut() {
            Some(order) if order.no == no => order.co_units.extend(co_unit),
            _ => {
                let mut order = order_from_row(row, no)?;
                order.co_units.extend(co_unit);
                orders.push(order);
            }
        }
    }
    Ok(orders)
}

fn order_from_row(row: &AnyRow, no: String) -> Result<OrderRow, StoreError> {
    let due_at: Option<i64> = row.try_get("due_at")?;
    let mut counts = [0_u64; 18];
    for (count, column) in counts.iter_mut().zip(KPI_COLUMNS) {
        let value: i32 = row.try_get(column)?;
        *count = u64::try_from(value).map_err(|_| StoreError::CorruptRow {
            table: TABLE_ORDERS,
            key: no.clone(),
            reason: format!("{column} {value} is negative"),
        })?;
    }
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
        request_type: row.try_get("request_type")?,
        next_check_at: row
            .try_get::<Option<i64>, _>("next_check_at")?
            .map(|m| millis_to_time(TABLE_ORDERS, &no, "next_check_at", m))
            .transpose()?,
        co_units: Vec::new(),
        counts: KpiCounts::from_array(counts),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kpi_column_lists_agree() {
        let listed: Vec<&str> = kpi_columns!().split(',').map(str::trim).collect();
        assert_eq!(listed, KPI_COLUMNS);
        assert!(ORDER_COLUMNS.ends_with(kpi_columns!()));
    }

    #[test]
    fn kpi_counts_array_round_trips() {
        let counts = KpiCounts::from_array(std::array::from_fn(|i| i as u64 + 1));
        assert_eq!(counts.dispatched, 1);
        assert_eq!(counts.criticisms, 18);
        assert_eq!(KpiCounts::from_array(counts.to_array()), counts);
    }
}
