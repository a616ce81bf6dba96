//! The columns the store filters on, computed from an order's state.

use chrono::{DateTime, Utc};
use hotline_calendar::Calendar;
use hotline_store::{KpiCounts, OrderRow};
use hotline_workorder::{Kpis, Rules, WorkOrder, due_steps, status_name};

/// The store's row for `order` at `version` events, changed at `updated_at`.
pub fn projection(
    no: &str,
    order: &WorkOrder,
    version: u32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    rules: &Rules,
    cal: &Calendar,
) -> OrderRow {
    let k = Kpis::from_order(order);
    OrderRow {
        no: no.to_string(),
        record: order.record.clone(),
        status: status_name(order.status).to_string(),
        lead_unit: order.lead.clone(),
        due_at: order.due_at,
        owner: order.owner.clone(),
        created_at,
        updated_at,
        version,
        request_type: order
            .intake
            .as_ref()
            .map(|i| serde_json::to_value(i.request_type))
            .and_then(Result::ok)
            .and_then(|v| v.as_str().map(str::to_string)),
        co_units: order.co.clone(),
        next_check_at: next_check(order, updated_at, rules, cal),
        counts: KpiCounts {
            dispatched: k.dispatched,
            signed: k.signed,
            signed_on_time: k.signed_on_time,
            returned: k.returned,
            return_requests: k.return_requests,
            returns_rejected: k.returns_rejected,
            replied: k.replied,
            replied_on_time: k.replied_on_time,
            reviewed: k.reviewed,
            called_back: k.called_back,
            reached: k.reached,
            satisfied: k.satisfied,
            solved_known: k.solved_known,
            solved: k.solved,
            redone: k.redone,
            reminders: k.reminders,
            notices: k.notices,
            criticisms: k.criticisms,
        },
    }
}

/// The KPI sums the store computed, as the pure crate's figures.
pub fn kpis_from_counts(c: &KpiCounts) -> Kpis {
    Kpis {
        dispatched: c.dispatched,
        signed: c.signed,
        signed_on_time: c.signed_on_time,
        returned: c.returned,
        return_requests: c.return_requests,
        returns_rejected: c.returns_rejected,
        replied: c.replied,
        replied_on_time: c.replied_on_time,
        reviewed: c.reviewed,
        called_back: c.called_back,
        reached: c.reached,
        satisfied: c.satisfied,
        solved_known: c.solved_known,
        solved: c.solved,
        redone: c.redone,
        reminders: c.reminders,
        notices: c.notices,
        criticisms: c.criticisms,
    }
}

/// When the scheduler must look at `order` next, seen at `at`: at once if a step is due, else
/// when the next one falls due. A deadline the calendar does not cover yet (next year's data
/// not shipped) is looked at again a day later rather than forgotten.
pub fn next_check(
    order: &WorkOrder,
    at: DateTime<Utc>,
    rules: &Rules,
    cal: &Calendar,
) -> Option<DateTime<Utc>> {
    match due_steps(order, at, rules, cal) {
        Ok(s) if !s.steps.is_empty() => Some(at),
        Ok(s) => s.next,
        Err(_) => Some(at + chrono::Duration::days(1)),
    }
}
