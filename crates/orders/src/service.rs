//! Orders over the store: drafts from call records, steps, the scheduler's pass, the KPIs.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use hotline_calendar::{Calendar, Override, beijing_date};
use hotline_cdr::CallRecord;
use hotline_store::{
    CalendarOverrideRow, EventRow, Inserted, NewOutbox, OrderRow, Store, StoreError,
};
use hotline_workorder::{
    Actor, Event, EventKind, Kpis, OrderNumber, Role, Rules, Status, WorkOrder, due_steps,
    notification,
};
use tracing::{info, warn};

use crate::error::ServiceError;
use crate::projection::{kpis_from_counts, projection};

/// How often a step is retried when others changed the order meanwhile.
const CONFLICT_RETRIES: usize = 8;
/// Orders the scheduler reads per page, and pages per pass at most.
const SCAN_PAGE: u32 = 500;
const MAX_PAGES: usize = 1000;

/// The statuses in which an order is with a unit (its deadline runs).
pub fn open_statuses() -> Vec<&'static str> {
    [Status::Dispatched, Status::Handling, Status::ReturnPending]
        .into_iter()
        .map(hotline_workorder::status_name)
        .collect()
}

/// What the service is configured with.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Order numbers' letters (`YC`).
    pub number_prefix: String,
    pub rules: Rules,
    /// SMS numbers per unit; a unit without any gets its notices as `unit:<name>` (the
    /// gateway or the log reader routes those).
    pub unit_sms: HashMap<String, Vec<String>>,
    /// False: no SMS rows are queued at all (`workorders.sms = "off"`).
    pub sms: bool,
    /// Every notification is also POSTed to each of these.
    pub webhooks: Vec<String>,
    /// Units an order may be dispatched to; empty: any name.
    pub units: BTreeSet<String>,
}

/// An order as stored: its row, its events and the state they replay to.
#[derive(Debug, Clone)]
pub struct StoredOrder {
    pub row: OrderRow,
    pub events: Vec<Event>,
    pub order: WorkOrder,
}

/// The outcome of drafting an order from a call record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drafted {
    pub no: String,
    /// False: the call already had its order (a retry, the catch-up scan).
    pub new: bool,
}

/// What one scheduler pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduleReport {
    pub orders_checked: u32,
    pub reminders: u32,
    pub notices: u32,
    pub criticisms: u32,
    pub notifications: u32,
    /// The earliest moment something is due next among the orders checked.
    pub next: Option<DateTime<Utc>>,
}

#[derive(Clone)]
pub struct OrderService {
    store: Store,
    settings: Arc<Settings>,
    /// The shipped calendar; the effective one adds the admin overrides from the database.
    base: Arc<Calendar>,
    calendar: Arc<RwLock<Arc<Calendar>>>,
}

impl OrderService {
    pub fn new(store: Store, settings: Settings, base: Calendar) -> Self {
        let base = Arc::new(base);
        OrderService {
            store,
            settings: Arc::new(settings),
            calendar: Arc::new(RwLock::new(base.clone())),
            base,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The calendar in force: the shipped data plus the admin overrides last loaded.
    pub fn calendar(&self) -> Arc<Calendar> {
        self.calendar
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Reads the admin overrides from the database into the calendar in force.
    pub async fn reload_calendar(&self) -> Result<(), ServiceError> {
        let rows = self.store.calendar_overrides().await?;
        let overrides = rows
            .into_iter()
            .map(|r| Override {
                date: r.date,
                working: r.working,
                reason: r.note,
            })
            .collect();
        let cal = (*self.base)
            .clone()
            .with_overrides(overrides)
            .map_err(|e| ServiceError::Invalid(format!("calendar override: {e}")))?;
        *self.calendar.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(cal);
        Ok(())
    }

    /// Sets an admin override for `date` (today or later in Beijing: a past day would change
    /// the limits steps were already checked against) and puts it in force.
    pub async fn set_calendar_override(
        &self,
        row: CalendarOverrideRow,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        self.check_override_date(row.date, now)?;
        if row.note.trim().is_empty() {
            return Err(ServiceError::Invalid(
                "an override says why (`note`)".into(),
            ));
        }
        // Refused before it is stored if the calendar does not cover the year.
        (*self.base)
            .clone()
            .with_overrides(vec![Override {
                date: row.date,
                working: row.working,
                reason: row.note.clone(),
            }])
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        self.store.put_calendar_override(&row).await?;
        self.reload_calendar().await?;
        // Deadlines may have moved: every open order is looked at again.
        self.store
            .mark_for_check(&open_statuses(), now, false)
            .await?;
        Ok(())
    }

    pub async fn delete_calendar_override(
        &self,
        date: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<bool, ServiceError> {
        self.check_override_date(date, now)?;
        let gone = self.store.delete_calendar_override(date).await?;
        self.reload_calendar().await?;
        self.store
            .mark_for_check(&open_statuses(), now, false)
            .await?;
        Ok(gone)
    }

    fn check_override_date(&self, date: NaiveDate, now: DateTime<Utc>) -> Result<(), ServiceError> {
        let today = beijing_date(now).ok_or_else(|| ServiceError::Invalid("bad time".into()))?;
        if date < today {
            return Err(ServiceError::Invalid(format!(
                "{date} is in the past (today is {today} in Beijing): steps were already checked against it"
            )));
        }
        Ok(())
    }

    /// The order of a finished call: owned by the agent who answered it (首接责任制), or on
    /// the missed-call callback list (漏接回拨) when nobody did. Idempotent by record.
    pub async fn draft(&self, rec: &CallRecord) -> Result<Drafted, ServiceError> {
        if let Some(row) = self.store.order_by_record(&rec.id).await? {
            return Ok(Drafted {
                no: row.no,
                new: false,
            });
        }
        let agent = if rec.is_answered() {
            rec.agent.clone()
        } else {
            None
        };
        let event = Event {
            at: rec.ended_at,
            actor: Actor {
                id: agent.clone().unwrap_or_else(|| "system".into()),
                role: if agent.is_some() {
                    Role::Agent
                } else {
                    Role::System
                },
            },
            kind: EventKind::Drafted {
                record: rec.id.clone(),
                agent,
                caller: rec.caller.clone(),
                line: rec.line_number.clone(),
            },
        };
        let order = WorkOrder::from_draft(&event)?;
        let day = beijing_date(rec.arrived_at)
            .ok_or_else(|| ServiceError::Invalid("call time out of range".into()))?;
        let seq = self.store.next_order_seq(day).await?;
        let no = OrderNumber::new(&self.settings.number_prefix, day, seq).to_string();
        let row = projection(
            &no,
            &order,
            1,
            rec.arrived_at,
            rec.ended_at,
            &self.settings.rules,
            &self.calendar(),
        );
        let first = event_row(&no, 1, &event)?;
        match self.store.create_order(&row, &first).await? {
            Inserted::New => Ok(Drafted { no, new: true }),
            Inserted::Duplicate => {
                // Another task drafted the same call between the look-up and the insert.
                let row = self.store.order_by_record(&rec.id).await?.ok_or_else(|| {
                    ServiceError::Invalid(format!("the order of call {} vanished", rec.id))
                })?;
                Ok(Drafted {
                    no: row.no,
                    new: false,
                })
            }
        }
    }

    /// Drafts the orders of call records (ended since `since`) that have none: those spooled
    /// while the database was down, or whose draft failed. The number drafted.
    pub async fn catch_up(&self, since: DateTime<Utc>) -> Result<u32, ServiceError> {
        let mut drafted = 0;
        loop {
            let records = self.store.call_records_without_order(since, 200).await?;
            if records.is_empty() {
                return Ok(drafted);
            }
            for r in &records {
                if self.draft(r).await?.new {
                    drafted += 1;
                }
            }
        }
    }

    /// An order, its events and its replayed state.
    pub async fn load(&self, no: &str) -> Result<StoredOrder, ServiceError> {
        let row = self
            .store
            .order(no)
            .await?
            .ok_or_else(|| ServiceError::NotFound(no.to_string()))?;
        let rows = self.store.order_events(no).await?;
        let mut events = Vec::with_capacity(rows.len());
        for r in &rows {
            let e: Event =
                serde_json::from_str(&r.event_json).map_err(|e| StoreError::CorruptRow {
                    table: "work_order_events",
                    key: format!("{no}#{}", r.seq),
                    reason: e.to_string(),
                })?;
            events.push(e);
        }
        let order = WorkOrder::replay(&events, &self.settings.rules, &self.calendar()).map_err(
            |(index, error)| ServiceError::Corrupt {
                no: no.to_string(),
                index,
                error,
            },
        )?;
        Ok(StoredOrder { row, events, order })
    }

    /// Applies one step by `actor` at `now`: refused with the reason and nothing written, or
    /// appended. A concurrent change to the order makes it re-check on the fresh state.
    pub async fn step(
        &self,
        no: &str,
        actor: Actor,
        kind: EventKind,
        now: DateTime<Utc>,
    ) -> Result<StoredOrder, ServiceError> {
        if let EventKind::Dispatched { lead, co, .. } | EventKind::Reassigned { lead, co, .. } =
            &kind
        {
            self.check_units(lead, co)?;
        }
        if let EventKind::Merged { into } = &kind {
            if into == no {
                return Err(ServiceError::Invalid(
                    "an order cannot merge into itself".into(),
                ));
            }
            if self.store.order(into).await?.is_none() {
                return Err(ServiceError::Invalid(format!(
                    "no master order `{into}` to merge into"
                )));
            }
        }
        let event = Event {
            at: now,
            actor,
            kind,
        };
        self.append(no, event, |_, _| Vec::new()).await
    }

    fn check_units(&self, lead: &str, co: &[String]) -> Result<(), ServiceError> {
        if self.settings.units.is_empty() {
            return Ok(());
        }
        for u in std::iter::once(lead).chain(co.iter().map(String::as_str)) {
            if !self.settings.units.contains(u) {
                return Err(ServiceError::Invalid(format!(
                    "`{u}` is not a known handling unit"
                )));
            }
        }
        Ok(())
    }

    /// Loads, applies `event`, and appends it with the notifications `outbox` makes of the
    /// new state, retrying on a concurrent change.
    async fn append(
        &self,
        no: &str,
        event: Event,
        mut outbox: impl FnMut(&WorkOrder, &Event) -> Vec<NewOutbox>,
    ) -> Result<StoredOrder, ServiceError> {
        for _ in 0..CONFLICT_RETRIES {
            let mut current = self.load(no).await?;
            // A unit acts only on orders it leads or co-handles; any other is, to it, not there
            // (a refusal would tell it the order exists).
            if let Some(unit) = event.actor.role.unit()
                && !current.order.visible_to_unit(unit)
            {
                return Err(ServiceError::NotFound(no.to_string()));
            }
            let mut event = event.clone();
            // A step never predates the order's history (clock skew between servers).
            if let Some(last) = current.events.last()
                && event.at < last.at
            {
                event.at = last.at;
            }
            let cal = self.calendar();
            current.order.apply(&event, &self.settings.rules, &cal)?;
            let version = current.row.version + 1;
            let row = projection(
                no,
                &current.order,
                version,
                current.row.created_at,
                event.at,
                &self.settings.rules,
                &cal,
            );
            let ev_row = event_row(no, version, &event)?;
            let notes = outbox(&current.order, &event);
            match self
                .store
                .append_event_with(&row, &ev_row, current.row.version, &notes)
                .await
            {
                Ok(()) => {
                    self.keep_fact(no, &current.order, current.row.created_at, &event)
                        .await;
                    current.row = row;
                    current.events.push(event);
                    return Ok(current);
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Busy(no.to_string()))
    }

    /// Keeps the order's analysis facts (issue 9: the dashboard's counts, hot topics and
    /// warnings) in step after a step that changes what they say: the intake, a dispatch or
    /// reassignment, a merge. Derived data, like the knowledge base's index: a failure is
    /// logged and the next such step writes it again; the step itself stands.
    async fn keep_fact(
        &self,
        no: &str,
        order: &WorkOrder,
        created_at: DateTime<Utc>,
        event: &Event,
    ) {
        if !matches!(
            event.kind,
            EventKind::IntakeFilled(_)
                | EventKind::Dispatched { .. }
                | EventKind::Reassigned { .. }
        ) {
            return;
        }
        let Some(fact) = fact_of(no, order, created_at) else {
            return;
        };
        if let Err(e) = self.store.upsert_order_fact(&fact).await {
            warn!(order = %no, error = %e, "analysis facts not written");
        }
    }

    /// One pass of the scheduler at `now`: every order whose check time has come (the store
    /// keeps it with each change: when its next reminder, notice or criticism falls due) gets
    /// the steps that are due, each with its SMS and webhook notifications in the same
    /// transaction. Orders with nothing due are not read at all.
    pub async fn schedule(&self, now: DateTime<Utc>) -> Result<ScheduleReport, ServiceError> {
        let mut report = ScheduleReport::default();
        // Every order listed leaves the list (a step moves its check time past `now`, or
        // set_next_check does); the bound only guards against one that keeps failing.
        for _ in 0..MAX_PAGES {
            let page = self.store.orders_to_check(now, SCAN_PAGE).await?;
            let full = page.len() as u32 == SCAN_PAGE;
            let mut progress = false;
            for no in &page {
                report.orders_checked += 1;
                match self.schedule_one(no, now, &mut report).await {
                    Ok(()) => progress = true,
                    Err(e) => {
                        // One bad order must not stop the others' reminders: it is looked at
                        // again in an hour.
                        warn!(order = %no, error = %e, "scheduler: order skipped");
                        if let Ok(o) = self.store.order(no).await
                            && let Some(o) = o
                        {
                            let _ = self
                                .store
                                .set_next_check(no, o.version, Some(now + Duration::hours(1)))
                                .await;
                        }
                    }
                }
            }
            if !full || !progress {
                break;
            }
        }
        if report.reminders + report.notices + report.criticisms > 0 {
            info!(
                reminders = report.reminders,
                notices = report.notices,
                criticisms = report.criticisms,
                "scheduler pass"
            );
        }
        Ok(report)
    }

    /// Marks the open orders that have no check time (from before the scheduler kept one) for
    /// the next pass; run at start.
    pub async fn mark_unchecked(&self, now: DateTime<Utc>) -> Result<u64, ServiceError> {
        Ok(self
            .store
            .mark_for_check(&open_statuses(), now, true)
            .await?)
    }

    async fn schedule_one(
        &self,
        no: &str,
        now: DateTime<Utc>,
        report: &mut ScheduleReport,
    ) -> Result<(), ServiceError> {
        // Each step re-reads the order: applying one changes what the next rule sees.
        for _ in 0..4 {
            let current = self.load(no).await?;
            let cal = self.calendar();
            let due = due_steps(&current.order, now, &self.settings.rules, &cal)?;
            let Some(kind) = due.steps.into_iter().next() else {
                // Nothing due after all (the calendar moved the deadline): the next time.
                self.store
                    .set_next_check(no, current.row.version, due.next)
                    .await?;
                report.next = min_time(report.next, due.next);
                return Ok(());
            };
            match &kind {
                EventKind::Reminded { notice: false } => report.reminders += 1,
                EventKind::Reminded { notice: true } => report.notices += 1,
                EventKind::CriticismFlagged => report.criticisms += 1,
                _ => {}
            }
            let event = Event {
                at: now,
                actor: Actor {
                    id: "scheduler".into(),
                    role: Role::System,
                },
                kind,
            };
            let mut queued = 0;
            self.append(no, event, |order, ev| {
                let rows = self.notifications(no, order, ev);
                queued = rows.len() as u32;
                rows
            })
            .await?;
            report.notifications += queued;
        }
        Ok(())
    }

    /// The outbox rows for a system step: one SMS per number of the unit, one POST per
    /// webhook.
    fn notifications(&self, no: &str, order: &WorkOrder, ev: &Event) -> Vec<NewOutbox> {
        let Some(n) = notification(order, no, &ev.kind) else {
            return Vec::new();
        };
        let mut rows = Vec::new();
        if self.settings.sms {
            let numbers = self.settings.unit_sms.get(&n.unit);
            let targets: Vec<String> = match numbers {
                Some(list) if !list.is_empty() => list.clone(),
                _ => vec![format!("unit:{}", n.unit)],
            };
            for t in targets {
                rows.push(NewOutbox {
                    channel: "sms".into(),
                    target: t,
                    order_no: Some(no.to_string()),
                    body: n.text.clone(),
                    created_at: ev.at,
                });
            }
        }
        let body = serde_json::json!({
            "kind": n.kind,
            "order": no,
            "unit": n.unit,
            "due_at": n.due_at,
            "step": ev.kind.name(),
            "at": ev.at,
            "text": n.text,
        })
        .to_string();
        for url in &self.settings.webhooks {
            rows.push(NewOutbox {
                channel: "webhook".into(),
                target: url.clone(),
                order_no: Some(no.to_string()),
                body: body.clone(),
                created_at: ev.at,
            });
        }
        rows
    }

    /// The D3 figures of the orders received in `[from, to)`: per lead unit, and the center's
    /// total.
    pub async fn kpis(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<(BTreeMap<String, Kpis>, Kpis), ServiceError> {
        if to <= from {
            return Err(ServiceError::Invalid(format!(
                "the period is empty: `to` ({to}) is not after `from` ({from})"
            )));
        }
        let mut per = BTreeMap::new();
        let mut all = Kpis::default();
        for (unit, counts) in self.store.order_kpis(from, to).await? {
            let k = kpis_from_counts(&counts);
            all.merge(&k);
            per.insert(unit, k);
        }
        Ok((per, all))
    }
}

fn min_time(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn event_row(no: &str, seq: u32, e: &Event) -> Result<EventRow, ServiceError> {
    Ok(EventRow {
        no: no.to_string(),
        seq,
        at: e.at,
        actor: e.actor.id.clone(),
        step: e.kind.name().to_string(),
        event_json: serde_json::to_string(e)
            .map_err(|err| ServiceError::Invalid(format!("event does not serialize: {err}")))?,
    })
}

/// What the analysis knows of an order, once its intake says what it is about. Orders come
/// from calls, so the channel is the phone.
pub fn fact_of(
    no: &str,
    order: &WorkOrder,
    created_at: DateTime<Utc>,
) -> Option<hotline_store::OrderFactRow> {
    let i = order.intake.as_ref()?;
    let request_type = serde_json::to_value(i.request_type)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "other".into());
    Some(hotline_store::OrderFactRow {
        no: no.to_string(),
        at: order.received_at.unwrap_or(created_at),
        channel: "phone".into(),
        request_type,
        category: i.category.clone(),
        area: i.area.clone(),
        address: i.address.clone(),
        unit: order.lead.clone().filter(|u| !u.is_empty()),
        line: order.line.clone().unwrap_or_else(|| "12345".into()),
        text: i.content.clone(),
    })
}
