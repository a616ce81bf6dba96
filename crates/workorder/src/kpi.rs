//! The assessment figures of D3, per lead unit and overall, from orders' states. Formulas (the
//! denominators are the orders the figure is about; a figure with an empty denominator is None):
//!
//! - on-time sign-for = signed within the return window (2 working days) / signed
//!   (the notice sets no separate sign-for limit: a unit decides within the window whether
//!   to take or return an order);
//! - return rate = orders with a return request / dispatched;
//! - rejected-return rate = returns rejected / return requests;
//! - on-time completion = replied by the deadline (extensions included) / replied;
//! - callback rate = called back at least once / reviewed replies (the 100 % target);
//! - satisfaction rate = satisfied or very satisfied / callbacks that reached the caller;
//! - solved rate = solved / orders whose solved flag is known;
//! - re-do rate = orders with a second round / reviewed replies;
//! - reminders, reminder notices and criticisms: counts over every round (a re-done order can
//!   be criticized once per round).

use crate::order::WorkOrder;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kpis {
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

fn rate(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

impl Kpis {
    /// Counts one order (only dispatched orders are a unit's).
    pub fn add(&mut self, o: &WorkOrder) {
        if o.lead.is_none() {
            return;
        }
        self.dispatched += 1;
        // Every round counts (a re-done order was signed and replied twice).
        self.signed += u64::from(o.signs);
        self.signed_on_time += u64::from(o.signs_on_time);
        if o.returns > 0 {
            self.returned += 1;
        }
        self.return_requests += u64::from(o.returns);
        self.returns_rejected += u64::from(o.rejected_returns);
        self.replied += u64::from(o.replies);
        self.replied_on_time += u64::from(o.replies_on_time);
        if o.review_passed {
            self.reviewed += 1;
            if o.callback_attempts > 0 {
                self.called_back += 1;
            }
            if o.round > 1 {
                self.redone += 1;
            }
        }
        if let Some(s) = o.satisfaction {
            self.reached += 1;
            self.satisfied += u64::from(s.is_satisfied());
        }
        if let Some(s) = o.solved {
            self.solved_known += 1;
            self.solved += u64::from(s);
        }
        self.reminders += u64::from(o.reminders);
        self.notices += u64::from(o.notices);
        self.criticisms += u64::from(o.criticisms);
    }

    /// One order's contribution: [`Kpis::default`] then [`Kpis::add`].
    pub fn from_order(o: &WorkOrder) -> Kpis {
        let mut k = Kpis::default();
        k.add(o);
        k
    }

    /// Adds another set of counts to this one (the figures are sums, so per-order or per-day
    /// counts merge into any total).
    pub fn merge(&mut self, other: &Kpis) {
        let Kpis {
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
        } = other;
        self.dispatched += dispatched;
        self.signed += signed;
        self.signed_on_time += signed_on_time;
        self.returned += returned;
        self.return_requests += return_requests;
        self.returns_rejected += returns_rejected;
        self.replied += replied;
        self.replied_on_time += replied_on_time;
        self.reviewed += reviewed;
        self.called_back += called_back;
        self.reached += reached;
        self.satisfied += satisfied;
        self.solved_known += solved_known;
        self.solved += solved;
        self.redone += redone;
        self.reminders += reminders;
        self.notices += notices;
        self.criticisms += criticisms;
    }

    pub fn on_time_sign_for(&self) -> Option<f64> {
        rate(self.signed_on_time, self.signed)
    }
    pub fn return_rate(&self) -> Option<f64> {
        rate(self.returned, self.dispatched)
    }
    pub fn rejected_return_rate(&self) -> Option<f64> {
        rate(self.returns_rejected, self.return_requests)
    }
    pub fn on_time_completion(&self) -> Option<f64> {
        rate(self.replied_on_time, self.replied)
    }
    pub fn callback_rate(&self) -> Option<f64> {
        rate(self.called_back, self.reviewed)
    }
    pub fn satisfaction_rate(&self) -> Option<f64> {
        rate(self.satisfied, self.reached)
    }
    pub fn solved_rate(&self) -> Option<f64> {
        rate(self.solved, self.solved_known)
    }
    pub fn redo_rate(&self) -> Option<f64> {
        rate(self.redone, self.reviewed)
    }

    /// Per lead unit (a reassigned order counts for the unit it ended with) and overall.
    pub fn by_unit<'a>(
        orders: impl IntoIterator<Item = &'a WorkOrder>,
    ) -> (BTreeMap<String, Kpis>, Kpis) {
        let mut per: BTreeMap<String, Kpis> = BTreeMap::new();
        let mut all = Kpis::default();
        for o in orders {
            if let Some(u) = &o.lead {
                per.entry(u.clone()).or_default().add(o);
                all.add(o);
            }
        }
        (per, all)
    }

    /// The report as CSV (UTF-8, one row per unit then `全部`), rates as percentages.
    pub fn csv(per: &BTreeMap<String, Kpis>, all: &Kpis) -> String {
        let pct = |r: Option<f64>| r.map(|v| format!("{:.1}", v * 100.0)).unwrap_or_default();
        let mut out = String::from(
            "unit,dispatched,on_time_sign_for_pct,return_rate_pct,rejected_return_rate_pct,\
             on_time_completion_pct,callback_rate_pct,satisfaction_rate_pct,solved_rate_pct,\
             redo_rate_pct,reminders,notices,criticisms\n",
        );
        for (unit, k) in per
            .iter()
            .map(|(u, k)| (u.as_str(), k))
            .chain([("全部", all)])
        {
            // Unit names never hold commas or quotes in the annex; quote anyway for safety.
            let unit = format!("\"{}\"", unit.replace('"', "\"\""));
            out.push_str(&format!(
                "{unit},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                k.dispatched,
                pct(k.on_time_sign_for()),
                pct(k.return_rate()),
                pct(k.rejected_return_rate()),
                pct(k.on_time_completion()),
                pct(k.callback_rate()),
                pct(k.satisfaction_rate()),
                pct(k.solved_rate()),
                pct(k.redo_rate()),
                k.reminders,
                k.notices,
                k.criticisms
            ));
        }
        out
    }
}
