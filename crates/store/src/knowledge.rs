//! The knowledge base as the store keeps it: each entry's summary row (what the listings filter
//! on), every version of it, and the links of entries to the work orders they answered (直办).
//! The store does not depend on hotline-kb: the knowledge-base service runs the workflow there
//! and hands over plain rows, names and dates, as the work-order service does with
//! [`OrderRow`](crate::OrderRow). The store checks what the rows themselves must hold (the
//! summary is the newest version's, the version in force exists, the versions are gapless and
//! all of the entry's unit) and nothing of the workflow's rules.
//!
//! Writes use optimistic concurrency on the entry's `rev` (its number of writes): two editors
//! saving one entry at once cannot both win, and the loser learns it from [`KbSaved::Conflict`].

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::acd::{day_text, millis_to_time};
use crate::{AuditRow, LIST_LIMIT_MAX, Store, StoreError};

const TABLE_ENTRIES: &str = "kb_entries";
const TABLE_VERSIONS: &str = "kb_versions";
const TABLE_LINKS: &str = "kb_links";

/// One knowledge-base entry: the summary the listings filter on, kept in step with its versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KbEntryRow {
    /// Chosen by the caller (`KB-000123`, a uuid).
    pub id: String,
    /// The issuing unit (承办单位), the only unit that may edit the entry; every version's.
    pub unit: String,
    /// The optimistic-concurrency token: the number of writes so far (1 after the create).
    /// Given by the store: the value in a row to save is not used.
    pub rev: i64,
    /// The newest version's state name (`draft`, `in_review`, `published`…), the caller's
    /// vocabulary; the store requires it to be the newest version's and non-empty.
    pub state: String,
    /// The `n` of the version in force, if any.
    pub published: Option<u32>,
    /// The newest version's, for listings.
    pub kind: String,
    pub category: String,
    pub title: String,
    /// How many orders the entry was linked to as their answer, counted by [`Store::kb_link`];
    /// the value in a row to save is not used.
    pub hits: i64,
    /// Kept from the create: a later save does not change it.
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One version of an entry, as hotline-kb's `Version` with its `Entry` flattened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KbVersionRow {
    pub entry_id: String,
    /// 1-based, gapless per entry.
    pub n: u32,
    /// The state name, the caller's vocabulary.
    pub state: String,
    pub kind: String,
    /// The category path, like `城乡建设/供暖`.
    pub category: String,
    pub title: String,
    pub body: String,
    pub unit: String,
    pub keywords: Vec<String>,
    /// The Beijing dates the version is in force, both inclusive; open-ended when None.
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    pub author: String,
    pub changed_at: DateTime<Utc>,
    /// The reviewer's (or retirer's) note.
    pub note: Option<String>,
}

/// What [`Store::kb_save`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KbSaved {
    /// Written; the entry is now at `rev`.
    Saved { rev: i64 },
    /// Nothing written: the stored rev is not the one the change was computed from (another
    /// save got there first, or there is no such entry), or a create named an id that exists.
    /// The caller reloads and retries.
    Conflict,
}

/// What [`Store::kb_list`] selects: every filter that is set must hold (AND). The default
/// filters nothing but has `limit` 0, which lists nothing: a caller always says its page size.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KbQuery {
    pub unit: Option<String>,
    /// The summary's state (the newest version's).
    pub state: Option<String>,
    pub kind: Option<String>,
    /// A category and everything under it: `城乡建设` matches `城乡建设` and `城乡建设/供暖`,
    /// not `城乡建设局`. A trailing `/` is ignored; an empty prefix matches every category.
    pub category_prefix: Option<String>,
    /// The keyset cursor: only entries with an id after this one (the last of the previous page).
    pub after_id: Option<String>,
    /// At most this many rows, capped at [`LIST_LIMIT_MAX`].
    pub limit: u32,
}

/// One entry linked as (one of) an order's answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KbLinkRow {
    pub order_no: String,
    pub entry_id: String,
    /// The version the agent read.
    pub version: u32,
    pub agent: String,
    pub at: DateTime<Utc>,
}

/// The knowledge base's share of the answered calls of a period ([`Store::kb_kpis`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KbKpiCounts {
    /// Orders of answered calls (an owner is set).
    pub orders: u64,
    /// Of those, answered on the spot (an event of the service's on-the-spot step).
    pub answered_on_spot: u64,
    /// Of those, with at least one knowledge-base link.
    pub kb_linked: u64,
    /// Of those, both: answered on the spot from the knowledge base.
    pub kb_answered: u64,
}

const ENTRY_COLUMNS: &str =
    "id, unit, rev, state, published, kind, category, title, hits, created_at, updated_at";

const VERSION_COLUMNS: &str = "entry_id, n, state, kind, category, title, body, unit, keywords, \
     valid_from, valid_to, author, changed_at, note";

type Tx = sqlx::Transaction<'static, sqlx::Any>;

impl Store {
    /// Writes the entry's summary and upserts `versions` (by `(entry_id, n)`) in one
    /// transaction, only if the stored rev is `expected_rev` (0: a create, which inserts and is
    /// a conflict if the id exists). The entry is then at `expected_rev + 1` (`entry.rev` and
    /// `entry.hits` are not used); `created_at` stays as created. `audit`, if given, is
    /// appended to the audit log in the same transaction. On [`KbSaved::Conflict`] or an error
    /// nothing is written.
    ///
    /// After the versions are written the summary must agree with them, or the save is refused
    /// with [`StoreError::Invalid`] and rolled back: the entry has versions 1..=k without gaps,
    /// all of its unit; its state, kind, category and title are version k's; `published` names
    /// one of them.
    ///
    /// The guarded write of the entry comes first: it takes the row's write lock (PostgreSQL)
    /// or the database's (SQLite), so a concurrent save with the same expectation waits, then
    /// finds the rev moved and changes nothing.
    pub async fn kb_save(
        &self,
        entry: &KbEntryRow,
        versions: &[KbVersionRow],
        expected_rev: i64,
        audit: Option<&AuditRow>,
    ) -> Result<KbSaved, StoreError> {
        if expected_rev < 0 {
            return Err(StoreError::Invalid(format!(
                "knowledge-base entry {}: rev {expected_rev} is negative",
                entry.id
            )));
        }
        let rev = expected_rev.checked_add(1).ok_or_else(|| {
            StoreError::Invalid(format!(
                "knowledge-base entry {}: rev {expected_rev} is full",
                entry.id
            ))
        })?;
        let checked = check_entry(entry, versions, expected_rev == 0)?;
        if let Some(row) = audit {
            check_audit(row)?;
        }
        let mut tx = self.pool.begin().await?;
        let written = if expected_rev == 0 {
            insert_entry(&mut tx, entry, &checked).await?
        } else {
            let sql = "UPDATE kb_entries SET unit = $1, rev = $2, state = $3, published = $4, \
                       kind = $5, category = $6, title = $7, updated_at = $8 \
                       WHERE id = $9 AND rev = $10";
            sqlx::query(sql)
                .bind(entry.unit.as_str())
                .bind(rev)
                .bind(entry.state.as_str())
                .bind(checked.published)
                .bind(entry.kind.as_str())
                .bind(entry.category.as_str())
                .bind(entry.title.as_str())
                .bind(entry.updated_at.timestamp_millis())
                .bind(entry.id.as_str())
                .bind(expected_rev)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1
        };
        if !written {
            // Dropping `tx` rolls back; the statement that matched nothing changed nothing.
            return Ok(KbSaved::Conflict);
        }
        upsert_versions(&mut tx, versions).await?;
        check_in_step(&mut tx, entry, checked.published).await?;
        if let Some(row) = audit {
            insert_audit(&mut tx, row).await?;
        }
        tx.commit().await?;
        Ok(KbSaved::Saved { rev })
    }

    /// Creates every entry of `entries` with its versions, all or nothing, in one transaction
    /// (each as [`Store::kb_save`] with rev 0 would), and `audit` with them if given. The
    /// number of entries created. An id that exists already (or twice in the batch) fails the
    /// whole batch with [`StoreError::Exists`] naming it; a bad row with
    /// [`StoreError::Invalid`] naming it; either way nothing is written.
    pub async fn kb_import(
        &self,
        entries: &[(KbEntryRow, Vec<KbVersionRow>)],
        audit: Option<&AuditRow>,
    ) -> Result<u64, StoreError> {
        // Every row is checked before the transaction starts: a batch with a bad row in it
        // never takes the write lock.
        let checked = entries
            .iter()
            .map(|(entry, versions)| check_entry(entry, versions, true))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(row) = audit {
            check_audit(row)?;
        }
        let mut tx = self.pool.begin().await?;
        for ((entry, versions), checked) in entries.iter().zip(&checked) {
            if !insert_entry(&mut tx, entry, checked).await? {
                return Err(StoreError::Exists {
                    table: TABLE_ENTRIES,
                    key: entry.id.clone(),
                });
            }
            upsert_versions(&mut tx, versions).await?;
            check_in_step(&mut tx, entry, checked.published).await?;
        }
        if let Some(row) = audit {
            insert_audit(&mut tx, row).await?;
        }
        tx.commit().await?;
        Ok(entries.len() as u64)
    }

    pub async fn kb_entry(&self, id: &str) -> Result<Option<KbEntryRow>, StoreError> {
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM kb_entries WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(entry_from_row).transpose()
    }

    /// Every version of entry `id`, by `n`; empty for an unknown id.
    pub async fn kb_versions(&self, id: &str) -> Result<Vec<KbVersionRow>, StoreError> {
        let sql =
            format!("SELECT {VERSION_COLUMNS} FROM kb_versions WHERE entry_id = $1 ORDER BY n");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(version_from_row).collect()
    }

    /// Entries matching `q`, by id ascending (byte order on both backends), at most `q.limit`
    /// capped at [`LIST_LIMIT_MAX`]; the next page is the query again with `after_id` set to
    /// the last row's id.
    pub async fn kb_list(&self, q: &KbQuery) -> Result<Vec<KbEntryRow>, StoreError> {
        let limit = q.limit.min(LIST_LIMIT_MAX);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut conditions = Vec::new();
        let mut values: Vec<String> = Vec::new();
        let mut bind = |value: String| {
            values.push(value);
            format!("${}", values.len())
        };
        if let Some(unit) = &q.unit {
            conditions.push(format!("unit = {}", bind(unit.clone())));
        }
        if let Some(state) = &q.state {
            conditions.push(format!("state = {}", bind(state.clone())));
        }
        if let Some(kind) = &q.kind {
            conditions.push(format!("kind = {}", bind(kind.clone())));
        }
        if let Some(prefix) = q.category_prefix.as_deref() {
            let prefix = prefix.trim_end_matches('/');
            if !prefix.is_empty() {
                // The category itself, or one under it: the byte range of "prefix/…", which
                // ends just before "prefix0" ('0' follows '/'). A range, not LIKE: no wildcard
                // in a category can widen it, and it reads as one index range.
                let exact = bind(prefix.to_owned());
                let from = bind(format!("{prefix}/"));
                let to = bind(format!("{prefix}0"));
                conditions.push(format!(
                    "(category = {exact} OR (category >= {from} AND category < {to}))"
                ));
            }
        }
        if let Some(after) = &q.after_id {
            conditions.push(format!("id > {}", bind(after.clone())));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM kb_entries{filter} ORDER BY id LIMIT ${}",
            values.len() + 1
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for value in values {
            query = query.bind(value);
        }
        let rows = query.bind(i64::from(limit)).fetch_all(&self.pool).await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// The version in force of each entry that has one, by entry id, after `after_id`, at most
    /// `limit` (capped at [`LIST_LIMIT_MAX`]): the pages the search index is (re)built from.
    pub async fn kb_published(
        &self,
        after_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<KbVersionRow>, StoreError> {
        let limit = limit.min(LIST_LIMIT_MAX);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let columns = VERSION_COLUMNS
            .split(", ")
            .map(|c| format!("v.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        // The empty string sorts before every id (ids are non-empty): no cursor is "after ''".
        let sql = format!(
            "SELECT {columns} FROM kb_entries e \
             JOIN kb_versions v ON v.entry_id = e.id AND v.n = e.published \
             WHERE e.published IS NOT NULL AND e.id > $1 ORDER BY e.id LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after_id.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(version_from_row).collect()
    }

    /// `"{entries}-{sum of their revs}"`: every save raises one rev and every import adds
    /// entries, and nothing lowers either, so the value differs after every write of an entry.
    /// The search index keeps the fingerprint it was built at to know when it is stale. A link
    /// does not change it: the hits are not what the index searches.
    pub async fn kb_fingerprint(&self) -> Result<String, StoreError> {
        // SUM of a BIGINT is a NUMERIC in PostgreSQL, which the Any driver does not read.
        let row = sqlx::query(
            "SELECT COUNT(*) AS entries, CAST(COALESCE(SUM(rev), 0) AS BIGINT) AS revs \
             FROM kb_entries",
        )
        .fetch_one(&self.pool)
        .await?;
        let entries: i64 = row.try_get("entries")?;
        let revs: i64 = row.try_get("revs")?;
        Ok(format!("{entries}-{revs}"))
    }

    /// Links entry `link.entry_id` (version `link.version`) as (one of) the answers of order
    /// `link.order_no`. Idempotent per order and entry: true when the link is new, and only
    /// then the entry's `hits` grows by one, in the same transaction; false when it was there
    /// (the stored link keeps its first version, agent and time). An unknown entry or version
    /// is [`StoreError::Invalid`] and writes nothing.
    pub async fn kb_link(&self, link: &KbLinkRow) -> Result<bool, StoreError> {
        if link.order_no.is_empty() {
            return Err(StoreError::Invalid(format!(
                "a link of knowledge-base entry {} names no order",
                link.entry_id
            )));
        }
        let version = to_i32(&link.entry_id, "version", link.version)?;
        let mut tx = self.pool.begin().await?;
        // The insert first, selecting the version it links to: it writes nothing for an
        // unknown version (instead of failing on the foreign key), and a write is the first
        // statement of the transaction, so SQLite takes its write lock at once rather than
        // upgrading a read (which fails at once when another write came in between).
        let inserted = sqlx::query(
            "INSERT INTO kb_links (order_no, entry_id, version, agent, at) \
             SELECT $1, entry_id, n, $2, $3 FROM kb_versions WHERE entry_id = $4 AND n = $5 \
             ON CONFLICT (order_no, entry_id) DO NOTHING",
        )
        .bind(link.order_no.as_str())
        .bind(link.agent.as_str())
        .bind(link.at.timestamp_millis())
        .bind(link.entry_id.as_str())
        .bind(version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            sqlx::query("UPDATE kb_entries SET hits = hits + 1 WHERE id = $1")
                .bind(link.entry_id.as_str())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(true);
        }
        let known: Option<i32> =
            sqlx::query_scalar("SELECT n FROM kb_versions WHERE entry_id = $1 AND n = $2")
                .bind(link.entry_id.as_str())
                .bind(version)
                .fetch_optional(&mut *tx)
                .await?;
        if known.is_none() {
            return Err(StoreError::Invalid(format!(
                "order {}: there is no knowledge-base entry {} version {} to link",
                link.order_no, link.entry_id, link.version
            )));
        }
        Ok(false)
    }

    /// The entries linked to order `order_no`, in the order they were linked (then by id).
    pub async fn kb_links_of_order(&self, order_no: &str) -> Result<Vec<KbLinkRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT order_no, entry_id, version, agent, at FROM kb_links \
             WHERE order_no = $1 ORDER BY at, entry_id",
        )
        .bind(order_no)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let order_no: String = row.try_get("order_no")?;
                let entry_id: String = row.try_get("entry_id")?;
                let key = format!("{order_no} {entry_id}");
                let version: i32 = row.try_get("version")?;
                Ok(KbLinkRow {
                    version: to_u32(TABLE_LINKS, &key, "version", version)?,
                    agent: row.try_get("agent")?,
                    at: millis_to_time(TABLE_LINKS, &key, "at", row.try_get("at")?)?,
                    order_no,
                    entry_id,
                })
            })
            .collect()
    }

    /// `(entry id, title, links in the period)` of the entries linked most in `[from, to)`,
    /// most first, ties by id, at most `limit` (capped at [`LIST_LIMIT_MAX`]). The title is
    /// the entry's current one.
    pub async fn kb_top_hits(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(String, String, u64)>, StoreError> {
        let limit = limit.min(LIST_LIMIT_MAX);
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Counted from the (at, entry_id) index alone, then joined for the titles of the few.
        let rows = sqlx::query(
            "SELECT t.entry_id, e.title, t.links FROM \
             (SELECT entry_id, COUNT(*) AS links FROM kb_links WHERE at >= $1 AND at < $2 \
              GROUP BY entry_id) t \
             JOIN kb_entries e ON e.id = t.entry_id \
             ORDER BY t.links DESC, t.entry_id LIMIT $3",
        )
        .bind(from.timestamp_millis())
        .bind(to.timestamp_millis())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("entry_id")?;
                let links: i64 = row.try_get("links")?;
                let links = count(TABLE_LINKS, &id, "links", links)?;
                Ok((id, row.try_get("title")?, links))
            })
            .collect()
    }

    /// Over the work orders created in `[from, to)` whose owner is set (the answered calls):
    /// how many, how many of them have an event of step `on_spot_step` (the service names its
    /// on-the-spot step), how many have a knowledge-base link, and how many both.
    pub async fn kb_kpis(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        on_spot_step: &str,
    ) -> Result<KbKpiCounts, StoreError> {
        // One flag pair per order, then summed. Each EXISTS reads one order's few rows through
        // a primary key: work_order_events' (no, seq), kb_links' (order_no, entry_id). SUM of
        // an INTEGER is a BIGINT in PostgreSQL, an integer in SQLite; NULL over no rows.
        let row = sqlx::query(
            "SELECT COUNT(*) AS orders, COALESCE(SUM(on_spot), 0) AS on_spot, \
             COALESCE(SUM(linked), 0) AS linked, COALESCE(SUM(on_spot * linked), 0) AS both_ \
             FROM (SELECT \
               CASE WHEN EXISTS (SELECT 1 FROM work_order_events ev \
                                 WHERE ev.no = w.no AND ev.step = $3) THEN 1 ELSE 0 END AS on_spot, \
               CASE WHEN EXISTS (SELECT 1 FROM kb_links l WHERE l.order_no = w.no) \
                    THEN 1 ELSE 0 END AS linked \
             FROM work_orders w \
             WHERE w.created_at >= $1 AND w.created_at < $2 AND w.owner IS NOT NULL) flags",
        )
        .bind(from.timestamp_millis())
        .bind(to.timestamp_millis())
        .bind(on_spot_step)
        .fetch_one(&self.pool)
        .await?;
        const KEY: &str = "kb_kpis";
        let get = |column: &str| -> Result<u64, StoreError> {
            count("work_orders", KEY, column, row.try_get(column)?)
        };
        Ok(KbKpiCounts {
            orders: get("orders")?,
            answered_on_spot: get("on_spot")?,
            kb_linked: get("linked")?,
            kb_answered: get("both_")?,
        })
    }
}

/// What [`check_entry`] found, as the columns take it.
struct Checked {
    published: Option<i32>,
}

/// Checks what the schema would refuse, and what the rows must hold among themselves before
/// they are written: the versions are the entry's, of its unit, each `n` once.
fn check_entry(
    entry: &KbEntryRow,
    versions: &[KbVersionRow],
    create: bool,
) -> Result<Checked, StoreError> {
    let id = entry.id.as_str();
    let invalid = |what: String| StoreError::Invalid(format!("knowledge-base entry {id}: {what}"));
    if id.is_empty() {
        return Err(StoreError::Invalid(
            "a knowledge-base entry needs an id".into(),
        ));
    }
    for (column, value) in [
        ("unit", &entry.unit),
        ("state", &entry.state),
        ("kind", &entry.kind),
        ("category", &entry.category),
    ] {
        if value.is_empty() {
            return Err(invalid(format!("the {column} is empty")));
        }
    }
    if create && versions.is_empty() {
        return Err(invalid("a new entry needs its first version".into()));
    }
    let published = entry
        .published
        .map(|n| to_i32(id, "published", n))
        .transpose()?;
    if published == Some(0) {
        return Err(invalid(
            "published names version 0 (versions are 1-based)".into(),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for v in versions {
        let n = v.n;
        if v.entry_id != id {
            return Err(invalid(format!(
                "version {n} belongs to entry {:?}",
                v.entry_id
            )));
        }
        if n == 0 {
            return Err(invalid("versions are 1-based, not 0".into()));
        }
        to_i32(id, "n", n)?;
        if !seen.insert(n) {
            return Err(invalid(format!("version {n} is given twice")));
        }
        if v.unit != entry.unit {
            return Err(invalid(format!(
                "version {n} is of {}, the entry of {}",
                v.unit, entry.unit
            )));
        }
        for (column, value) in [
            ("state", &v.state),
            ("kind", &v.kind),
            ("category", &v.category),
        ] {
            if value.is_empty() {
                return Err(invalid(format!("version {n}: the {column} is empty")));
            }
        }
        for day in [v.valid_from, v.valid_to].into_iter().flatten() {
            // YYYY-MM-DD is ten characters only for years 0 to 9999 (the column's CHECK).
            if !(0..=9999).contains(&day.year()) {
                return Err(invalid(format!(
                    "version {n}: the date {day} is out of range"
                )));
            }
        }
        if let (Some(from), Some(to)) = (v.valid_from, v.valid_to)
            && to < from
        {
            return Err(invalid(format!(
                "version {n}: valid_to {to} is before valid_from {from}"
            )));
        }
    }
    Ok(Checked { published })
}

/// The audit log refuses an entry without an action, as [`Store::audit`] does.
fn check_audit(row: &AuditRow) -> Result<(), StoreError> {
    if row.action.is_empty() {
        return Err(StoreError::Invalid(format!(
            "an audit entry of {} names no action",
            row.user_id
        )));
    }
    Ok(())
}

/// [`Store::audit`]'s insert, inside the caller's transaction.
async fn insert_audit(tx: &mut Tx, row: &AuditRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (at, user_id, action, order_no, detail) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(row.at.timestamp_millis())
    .bind(row.user_id.as_str())
    .bind(row.action.as_str())
    .bind(row.order_no.as_deref())
    .bind(row.detail.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Inserts a new entry at rev 1 with no hits; false (nothing written) if the id exists.
async fn insert_entry(
    tx: &mut Tx,
    entry: &KbEntryRow,
    checked: &Checked,
) -> Result<bool, StoreError> {
    let sql = format!(
        "INSERT INTO kb_entries ({ENTRY_COLUMNS}) \
         VALUES ($1, $2, 1, $3, $4, $5, $6, $7, 0, $8, $9) ON CONFLICT (id) DO NOTHING"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(entry.id.as_str())
        .bind(entry.unit.as_str())
        .bind(entry.state.as_str())
        .bind(checked.published)
        .bind(entry.kind.as_str())
        .bind(entry.category.as_str())
        .bind(entry.title.as_str())
        .bind(entry.created_at.timestamp_millis())
        .bind(entry.updated_at.timestamp_millis())
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(rows == 1)
}

/// Writes each version, replacing the one stored with the same `(entry_id, n)`.
async fn upsert_versions(tx: &mut Tx, versions: &[KbVersionRow]) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO kb_versions ({VERSION_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (entry_id, n) DO UPDATE SET state = excluded.state, kind = excluded.kind, \
         category = excluded.category, title = excluded.title, body = excluded.body, \
         unit = excluded.unit, keywords = excluded.keywords, valid_from = excluded.valid_from, \
         valid_to = excluded.valid_to, author = excluded.author, \
         changed_at = excluded.changed_at, note = excluded.note"
    );
    for v in versions {
        let keywords = serde_json::to_string(&v.keywords).map_err(|e| {
            StoreError::Invalid(format!(
                "knowledge-base entry {} version {}: keywords: {e}",
                v.entry_id, v.n
            ))
        })?;
        sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(v.entry_id.as_str())
            .bind(to_i32(&v.entry_id, "n", v.n)?)
            .bind(v.state.as_str())
            .bind(v.kind.as_str())
            .bind(v.category.as_str())
            .bind(v.title.as_str())
            .bind(v.body.as_str())
            .bind(v.unit.as_str())
            .bind(keywords)
            .bind(v.valid_from.map(day_text))
            .bind(v.valid_to.map(day_text))
            .bind(v.author.as_str())
            .bind(v.changed_at.timestamp_millis())
            .bind(v.note.as_deref())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// After a save's writes, inside its transaction: the entry's versions are 1..=k without gaps
/// and all of its unit, the summary is version k's, and `published` names one of them.
/// Otherwise [`StoreError::Invalid`]; the caller's `?` drops the transaction, which rolls back.
async fn check_in_step(
    tx: &mut Tx,
    entry: &KbEntryRow,
    published: Option<i32>,
) -> Result<(), StoreError> {
    let id = entry.id.as_str();
    let invalid = |what: String| StoreError::Invalid(format!("knowledge-base entry {id}: {what}"));
    // COUNT is a BIGINT on PostgreSQL, MAX of an INTEGER an INTEGER; the CASE counts the
    // versions of another unit (stored before, when the entry's unit was another).
    let row = sqlx::query(
        "SELECT COUNT(*) AS versions, MAX(n) AS newest, \
         COALESCE(SUM(CASE WHEN unit = $2 THEN 0 ELSE 1 END), 0) AS other_unit \
         FROM kb_versions WHERE entry_id = $1",
    )
    .bind(id)
    .bind(entry.unit.as_str())
    .fetch_one(&mut **tx)
    .await?;
    let versions: i64 = row.try_get("versions")?;
    let newest: Option<i32> = row.try_get("newest")?;
    let other_unit: i64 = row.try_get("other_unit")?;
    let Some(newest) = newest else {
        return Err(invalid("it has no version".into()));
    };
    if i64::from(newest) != versions {
        return Err(invalid(format!(
            "its versions have gaps: {versions} of them, the newest is {newest}"
        )));
    }
    if other_unit != 0 {
        return Err(invalid(format!(
            "{other_unit} of its versions are not of {}",
            entry.unit
        )));
    }
    let row = sqlx::query(
        "SELECT state, kind, category, title FROM kb_versions WHERE entry_id = $1 AND n = $2",
    )
    .bind(id)
    .bind(newest)
    .fetch_one(&mut **tx)
    .await?;
    for (column, summary) in [
        ("state", &entry.state),
        ("kind", &entry.kind),
        ("category", &entry.category),
        ("title", &entry.title),
    ] {
        let newest_value: String = row.try_get(column)?;
        if &newest_value != summary {
            return Err(invalid(format!(
                "its {column} {summary:?} is not that of its newest version {newest}, \
                 {newest_value:?}"
            )));
        }
    }
    if let Some(n) = published
        && n > newest
    {
        return Err(invalid(format!(
            "published names version {n}, the newest is {newest}"
        )));
    }
    Ok(())
}

fn entry_from_row(row: &AnyRow) -> Result<KbEntryRow, StoreError> {
    let id: String = row.try_get("id")?;
    let published: Option<i32> = row.try_get("published")?;
    Ok(KbEntryRow {
        unit: row.try_get("unit")?,
        rev: row.try_get("rev")?,
        state: row.try_get("state")?,
        published: published
            .map(|n| to_u32(TABLE_ENTRIES, &id, "published", n))
            .transpose()?,
        kind: row.try_get("kind")?,
        category: row.try_get("category")?,
        title: row.try_get("title")?,
        hits: row.try_get("hits")?,
        created_at: millis_to_time(TABLE_ENTRIES, &id, "created_at", row.try_get("created_at")?)?,
        updated_at: millis_to_time(TABLE_ENTRIES, &id, "updated_at", row.try_get("updated_at")?)?,
        id,
    })
}

fn version_from_row(row: &AnyRow) -> Result<KbVersionRow, StoreError> {
    let entry_id: String = row.try_get("entry_id")?;
    let n: i32 = row.try_get("n")?;
    let key = format!("{entry_id} #{n}");
    let corrupt = |reason: String| StoreError::CorruptRow {
        table: TABLE_VERSIONS,
        key: key.clone(),
        reason,
    };
    let keywords: String = row.try_get("keywords")?;
    let keywords: Vec<String> = serde_json::from_str(&keywords)
        .map_err(|e| corrupt(format!("keywords are not a JSON array of strings: {e}")))?;
    let day = |column: &str| -> Result<Option<NaiveDate>, StoreError> {
        let text: Option<String> = row.try_get(column)?;
        text.map(|t| {
            NaiveDate::parse_from_str(&t, "%Y-%m-%d")
                .map_err(|e| corrupt(format!("{column} {t:?} is not YYYY-MM-DD: {e}")))
        })
        .transpose()
    };
    Ok(KbVersionRow {
        n: to_u32(TABLE_VERSIONS, &key, "n", n)?,
        state: row.try_get("state")?,
        kind: row.try_get("kind")?,
        category: row.try_get("category")?,
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        unit: row.try_get("unit")?,
        keywords,
        valid_from: day("valid_from")?,
        valid_to: day("valid_to")?,
        author: row.try_get("author")?,
        changed_at: millis_to_time(
            TABLE_VERSIONS,
            &key,
            "changed_at",
            row.try_get("changed_at")?,
        )?,
        note: row.try_get("note")?,
        entry_id,
    })
}

/// Version numbers are INTEGER (32-bit in PostgreSQL).
fn to_i32(id: &str, what: &str, value: u32) -> Result<i32, StoreError> {
    i32::try_from(value).map_err(|_| {
        StoreError::Invalid(format!(
            "knowledge-base entry {id}: {what} {value} is too large"
        ))
    })
}

fn to_u32(table: &'static str, key: &str, column: &str, value: i32) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::CorruptRow {
        table,
        key: key.to_owned(),
        reason: format!("{column} {value} is out of range"),
    })
}

fn count(table: &'static str, key: &str, column: &str, value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::CorruptRow {
        table,
        key: key.to_owned(),
        reason: format!("{column} {value} is negative"),
    })
}
