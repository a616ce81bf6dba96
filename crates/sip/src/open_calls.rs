//! Answered proxied calls waiting for the BYE that ends their record. The proxy is not a party to
//! them, so a lost BYE would keep a record open forever: old ones are given up as timeouts.

use hotline_cdr::{CallRecordBuilder, EndReason};
use std::collections::HashMap;

#[derive(Default)]
pub(crate) struct OpenCalls {
    by_call_id: HashMap<String, (String, CallRecordBuilder)>,
}

impl OpenCalls {
    /// Keep an answered call's record; `caller` is the From user, to tell who hangs up.
    pub fn open(&mut self, call_id: String, caller: String, b: CallRecordBuilder) {
        self.by_call_id.insert(call_id, (caller, b));
    }

    /// A BYE from `from_user` passed: the record and who ended the call.
    pub fn close(
        &mut self,
        call_id: &str,
        from_user: Option<&str>,
    ) -> Option<(CallRecordBuilder, EndReason)> {
        let (caller, b) = self.by_call_id.remove(call_id)?;
        let reason = if from_user == Some(caller.as_str()) {
            EndReason::CallerHangup
        } else {
            EndReason::CalleeHangup
        };
        Some((b, reason))
    }

    /// Records open longer than `max_age` at `now`, removed.
    pub fn take_stale(
        &mut self,
        now: chrono::DateTime<chrono::Utc>,
        max_age: chrono::Duration,
    ) -> Vec<CallRecordBuilder> {
        let ids: Vec<String> = self
            .by_call_id
            .iter()
            .filter(|(_, (_, b))| now - b.arrived_at() > max_age)
            .map(|(k, _)| k.clone())
            .collect();
        ids.into_iter()
            .filter_map(|k| self.by_call_id.remove(&k))
            .map(|(_, b)| b)
            .collect()
    }

    pub fn take_all(&mut self) -> Vec<CallRecordBuilder> {
        self.by_call_id.drain().map(|(_, (_, b))| b).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};
    use hotline_cdr::CallKind;

    fn rec(id: &str, at: chrono::DateTime<Utc>) -> CallRecordBuilder {
        CallRecordBuilder::arrived(id, id, "13800138000", "1001", CallKind::AgentToAgent, at)
    }

    #[test]
    fn who_hung_up_and_stale_calls() {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap();
        let mut open = OpenCalls::default();
        open.open("a".into(), "13800138000".into(), rec("a", t0));
        open.open(
            "b".into(),
            "13800138000".into(),
            rec("b", t0 + Duration::hours(7)),
        );
        open.open("c".into(), "13800138000".into(), rec("c", t0));
        let (_, why) = open.close("a", Some("13800138000")).unwrap();
        assert_eq!(why, EndReason::CallerHangup);
        assert!(open.close("a", Some("x")).is_none(), "closed once");
        let stale = open.take_stale(
            t0 + Duration::hours(8) + Duration::seconds(1),
            Duration::hours(8),
        );
        assert_eq!(
            stale.iter().map(|b| b.id().to_string()).collect::<Vec<_>>(),
            vec!["c"]
        );
        let (_, why) = open.close("b", Some("1001")).unwrap();
        assert_eq!(why, EndReason::CalleeHangup);
        assert!(open.take_all().is_empty());
    }
}
