//! The service: steps with optimistic concurrency, the index kept in step, import and export,
//! search and suggestions, answers linked to orders, the KPIs.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use hotline_kb::{Actor, Entry, Format, KbRole, Step, Version, apply, parse_for, published};
use hotline_kb_search::{Doc, Hit, Query, RebuildStats, SearchIndex};
use hotline_store::{AuditRow, KbEntryRow, KbLinkRow, KbQuery, KbSaved, Store};
use hotline_workorder::{Actor as OrderActor, Role};
use serde::Serialize;

use crate::error::KbError;
use crate::rows::{entry_row, version, version_row};

/// How often a step is tried again on fresh versions when another write got there first.
const ATTEMPTS: usize = 5;
/// The page the index rebuild reads the published versions in.
const PAGE: u32 = 500;
/// The work-order step that closes an order answered during the call (直办).
const ON_SPOT_STEP: &str = "answered_on_spot";

/// An entry as stored: every version, the write count and the hits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredEntry {
    pub id: String,
    pub unit: String,
    pub rev: i64,
    pub hits: i64,
    pub versions: Vec<Version>,
}

impl StoredEntry {
    /// The version in force, if any (its validity dates aside).
    pub fn published(&self) -> Option<&Version> {
        published(&self.versions)
    }
}

/// The knowledge base's share of the center's work (the direct-answer rate, A4).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KbKpis {
    /// Orders of answered calls created in the period.
    pub orders: u64,
    /// Of those, closed during the call (直办).
    pub answered_on_spot: u64,
    /// `answered_on_spot / orders`.
    pub direct_answer_rate: Option<f64>,
    /// Orders with a knowledge-base entry marked as their answer.
    pub kb_linked: u64,
    /// Orders closed during the call with an entry as the answer.
    pub kb_answered: u64,
    /// `kb_answered / answered_on_spot`: how much of the direct answering the knowledge
    /// base carries.
    pub kb_share_of_direct: Option<f64>,
    /// The entries marked most often as the answer in the period.
    pub top_entries: Vec<TopEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopEntry {
    pub id: String,
    pub title: String,
    pub hits: u64,
}

fn rate(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

pub struct KbService {
    store: Store,
    index: Arc<SearchIndex>,
    /// Saves and their index updates one at a time, so the fingerprint the index records is
    /// always that of a store state whose published versions the index holds (knowledge-base
    /// writes are rare: a few a day per unit).
    writes: tokio::sync::Mutex<()>,
}

/// Runs a blocking index call off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, hotline_kb_search::SearchError> + Send + 'static,
) -> Result<T, KbError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| KbError::Invalid(format!("the index task failed: {e}")))?
        .map_err(KbError::from)
}

fn new_id() -> String {
    format!("KB-{:010X}", rand::random::<u64>() >> 24)
}

fn doc(id: &str, v: &Version) -> Doc {
    Doc {
        id: id.to_string(),
        version: v.n,
        entry: v.entry.clone(),
    }
}

impl KbService {
    pub fn new(store: Store, index: SearchIndex) -> KbService {
        KbService {
            store,
            index: Arc::new(index),
            writes: tokio::sync::Mutex::new(()),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Rebuilds the index when it does not hold what the store has (missing, stale after a
    /// crash between a save and its index update, or written by another process); None when
    /// it was current.
    pub async fn sync_index(&self) -> Result<Option<RebuildStats>, KbError> {
        let fp = self.store.kb_fingerprint().await?;
        if self.index.fingerprint().as_deref() == Some(fp.as_str()) {
            return Ok(None);
        }
        self.rebuild_index().await.map(Some)
    }

    /// Replaces the whole index with the store's published versions.
    pub async fn rebuild_index(&self) -> Result<RebuildStats, KbError> {
        let _w = self.writes.lock().await;
        let fp = self.store.kb_fingerprint().await?;
        // Read whole before indexing: a database error half-way must not commit half an
        // index (the rebuild replaces everything at once).
        let docs: Vec<Doc> = self
            .in_force()
            .await?
            .iter()
            .map(|(id, v)| doc(id, v))
            .collect();
        let index = self.index.clone();
        let stats = blocking(move || index.rebuild(docs, &fp)).await?;
        tracing::info!(entries = self.index.len(), "knowledge-base index rebuilt");
        Ok(stats)
    }

    /// The entry with every version, as `actor` may see it: its own unit and the maintenance
    /// team see every version; anyone else only the version in force (an entry with none is
    /// not found for them).
    pub async fn entry(&self, id: &str, actor: &Actor) -> Result<StoredEntry, KbError> {
        let mut e = self.load(id).await?;
        let full = match &actor.role {
            KbRole::Maintainer => true,
            KbRole::UnitEditor(u) => *u == e.unit,
            _ => false,
        };
        if !full {
            let p = e
                .published()
                .cloned()
                .ok_or_else(|| KbError::NotFound(id.into()))?;
            e.versions = vec![p];
        }
        Ok(e)
    }

    async fn load(&self, id: &str) -> Result<StoredEntry, KbError> {
        let row = self
            .store
            .kb_entry(id)
            .await?
            .ok_or_else(|| KbError::NotFound(id.into()))?;
        let versions = self
            .store
            .kb_versions(id)
            .await?
            .into_iter()
            .map(version)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StoredEntry {
            id: row.id,
            unit: row.unit,
            rev: row.rev,
            hits: row.hits,
            versions,
        })
    }

    /// The listing: summaries, filtered; a reader (or another unit) sees only entries that
    /// have a version in force.
    pub async fn list(&self, q: &KbQuery, actor: &Actor) -> Result<Vec<KbEntryRow>, KbError> {
        let rows = self.store.kb_list(q).await?;
        Ok(rows
            .into_iter()
            .filter(|r| match &actor.role {
                KbRole::Maintainer => true,
                KbRole::UnitEditor(u) if *u == r.unit => true,
                _ => r.published.is_some(),
            })
            .collect())
    }

    /// A new entry, as a draft of `actor`'s.
    pub async fn create(
        &self,
        actor: &Actor,
        entry: Entry,
        now: DateTime<Utc>,
    ) -> Result<StoredEntry, KbError> {
        let versions = apply(&[], actor, &Step::Draft { entry }, now)?;
        let id = new_id();
        match self.save(&id, None, &versions, actor, "draft", now).await? {
            KbSaved::Saved { rev } => Ok(StoredEntry {
                unit: versions[0].entry.unit.clone(),
                id,
                rev,
                hits: 0,
                versions,
            }),
            // A random 40-bit id met an existing one: vanishingly rare, and nothing written.
            _ => Err(KbError::Busy(id)),
        }
    }

    /// A step on an existing entry, retried on fresh versions if another write got there first.
    pub async fn step(
        &self,
        id: &str,
        actor: &Actor,
        step: &Step,
        now: DateTime<Utc>,
    ) -> Result<StoredEntry, KbError> {
        for _ in 0..ATTEMPTS {
            let before = self.load(id).await?;
            let after = apply(&before.versions, actor, step, now)?;
            match self
                .save(id, Some(&before), &after, actor, step.name(), now)
                .await?
            {
                KbSaved::Saved { rev } => {
                    return Ok(StoredEntry {
                        rev,
                        versions: after,
                        ..before
                    });
                }
                _ => continue,
            }
        }
        Err(KbError::Busy(id.into()))
    }

    /// Saves the versions that changed, with an audit row, then brings the entry's document
    /// in the index in step (the version in force, or none).
    async fn save(
        &self,
        id: &str,
        before: Option<&StoredEntry>,
        after: &[Version],
        actor: &Actor,
        step: &str,
        now: DateTime<Utc>,
    ) -> Result<KbSaved, KbError> {
        let changed: Vec<_> = after
            .iter()
            .filter(|v| before.is_none_or(|b| b.versions.get(v.n as usize - 1) != Some(*v)))
            .map(|v| version_row(id, v))
            .collect();
        let row = entry_row(id, after).ok_or_else(|| KbError::Invalid("no version".into()))?;
        let audit = AuditRow {
            id: 0,
            at: now,
            user_id: actor.id.clone(),
            action: format!("kb.{step}"),
            order_no: None,
            detail: serde_json::json!({ "entry": id }).to_string(),
        };
        let _w = self.writes.lock().await;
        let expected = before.map_or(0, |b| b.rev);
        let saved = self
            .store
            .kb_save(&row, &changed, expected, Some(&audit))
            .await?;
        if let KbSaved::Saved { .. } = saved {
            let fp = self.store.kb_fingerprint().await?;
            let index = self.index.clone();
            let id = id.to_string();
            let doc = published(after).map(|v| doc(&id, v));
            blocking(move || match doc {
                Some(d) => index.upsert(d, &fp),
                None => index.remove(&id, &fp),
            })
            .await?;
        }
        Ok(saved)
    }

    /// A batch from a file: every row checked (with the importer's right to its unit), then
    /// written in one transaction: by the maintenance team as published, by a unit's editor
    /// as submitted for review. Returns the new entries' ids, in the file's order.
    pub async fn import(
        &self,
        actor: &Actor,
        format: Format,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, KbError> {
        let entries = parse_for(actor, format, text)?;
        let mut steps = vec![Step::Submit];
        if actor.role == KbRole::Maintainer {
            steps.push(Step::Approve);
        }
        let mut batch = Vec::with_capacity(entries.len());
        for entry in entries {
            let mut versions = apply(&[], actor, &Step::Draft { entry }, now)?;
            for s in &steps {
                versions = apply(&versions, actor, s, now)?;
            }
            let id = new_id();
            let row = entry_row(&id, &versions).ok_or_else(|| KbError::Invalid("empty".into()))?;
            let rows = versions.iter().map(|v| version_row(&id, v)).collect();
            batch.push((row, rows));
        }
        let ids: Vec<String> = batch.iter().map(|(r, _)| r.id.clone()).collect();
        let audit = AuditRow {
            id: 0,
            at: now,
            user_id: actor.id.clone(),
            action: "kb.import".into(),
            order_no: None,
            detail: serde_json::json!({ "entries": ids.len() }).to_string(),
        };
        self.store.kb_import(&batch, Some(&audit)).await?;
        if actor.role == KbRole::Maintainer {
            // Many documents at once: one rebuild, not a commit per entry.
            self.rebuild_index().await?;
        }
        Ok(ids)
    }

    /// The versions in force, for an export (the import's formats read them back).
    pub async fn export(&self, unit: Option<&str>) -> Result<Vec<Entry>, KbError> {
        Ok(self
            .in_force()
            .await?
            .into_iter()
            .map(|(_, v)| v.entry)
            .filter(|e| unit.is_none_or(|u| u == e.unit))
            .collect())
    }

    /// Every entry's version in force, by entry id, read page by page.
    async fn in_force(&self) -> Result<Vec<(String, Version)>, KbError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.store.kb_published(after.as_deref(), PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.entry_id.clone());
            let full = page.len() as u32 == PAGE;
            for r in page {
                let id = r.entry_id.clone();
                out.push((id, version(r)?));
            }
            if !full {
                break;
            }
        }
        Ok(out)
    }

    /// A search of the versions in force. The index is local: it answers while the database
    /// is away.
    pub async fn search(&self, q: Query) -> Result<Vec<Hit>, KbError> {
        let index = self.index.clone();
        blocking(move || index.search(&q)).await
    }

    /// Suggestions for the agent from what is typed into the order: the entries in force on
    /// `day` that best match, each with the words that made it match.
    pub async fn suggest(
        &self,
        text: &str,
        day: NaiveDate,
        limit: usize,
    ) -> Result<Vec<Hit>, KbError> {
        self.search(Query::suggest(text, day, limit)).await
    }

    /// Marks an entry as (one of) an order's answer (直办): the center's staff only, the
    /// order must exist, the entry must have a version in force (the one linked). True when
    /// new; marking it again changes nothing and counts no second hit.
    pub async fn link(
        &self,
        order_no: &str,
        entry_id: &str,
        by: &OrderActor,
        now: DateTime<Utc>,
    ) -> Result<bool, KbError> {
        if !matches!(by.role, Role::Agent | Role::Supervisor | Role::Admin) {
            return Err(KbError::Forbidden(
                "only the center's staff mark an entry as an order's answer".into(),
            ));
        }
        if self.store.order(order_no).await?.is_none() {
            return Err(KbError::Invalid(format!("no work order `{order_no}`")));
        }
        let entry = self.load(entry_id).await?;
        let Some(v) = entry.published() else {
            return Err(KbError::Invalid(format!(
                "entry `{entry_id}` has no version in force to answer with"
            )));
        };
        Ok(self
            .store
            .kb_link(&KbLinkRow {
                order_no: order_no.to_string(),
                entry_id: entry_id.to_string(),
                version: v.n,
                agent: by.id.clone(),
                at: now,
            })
            .await?)
    }

    pub async fn links_of_order(&self, order_no: &str) -> Result<Vec<KbLinkRow>, KbError> {
        Ok(self.store.kb_links_of_order(order_no).await?)
    }

    /// The direct-answer rate and the most used entries over orders created in `[from, to)`.
    pub async fn kpis(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        top: u32,
    ) -> Result<KbKpis, KbError> {
        let c = self.store.kb_kpis(from, to, ON_SPOT_STEP).await?;
        let top_entries = self
            .store
            .kb_top_hits(from, to, top)
            .await?
            .into_iter()
            .map(|(id, title, hits)| TopEntry { id, title, hits })
            .collect();
        Ok(KbKpis {
            orders: c.orders,
            answered_on_spot: c.answered_on_spot,
            direct_answer_rate: rate(c.answered_on_spot, c.orders),
            kb_linked: c.kb_linked,
            kb_answered: c.kb_answered,
            kb_share_of_direct: rate(c.kb_answered, c.answered_on_spot),
            top_entries,
        })
    }
}
