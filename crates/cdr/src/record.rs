use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{CallKind, EndReason};

/// The record one INVITE dialog leaves: who called which number, which annex line it matched,
/// when it arrived, rang, was answered and ended, why it ended, and which agent took it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    /// Unique per call; chosen by whoever starts the builder (a UUID v4), so a retried write of
    /// the same record can be recognised.
    pub id: String,
    pub sip_call_id: String,
    /// User part of the From URI.
    pub caller: String,
    pub caller_display: Option<String>,
    /// User part of the Request-URI.
    pub dialed: String,
    pub kind: CallKind,
    /// The annex line the dialed number matched (T2-T6), its owning unit and its mode.
    pub line_number: Option<String>,
    pub line_unit: Option<String>,
    pub line_mode: Option<String>,
    pub arrived_at: DateTime<Utc>,
    pub ringing_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: DateTime<Utc>,
    pub end_reason: EndReason,
    /// The final SIP status the caller saw (200 for an answered call).
    pub sip_code: u16,
    /// The agent who answered; first-contact responsibility (A3) makes them own the record.
    pub agent: Option<String>,
    /// `ip:port` the INVITE came from.
    pub source: Option<String>,
    /// The IVR path the call took (node names and choices, `greeting > menu:2 > queue:default`).
    #[serde(default)]
    pub route: Option<String>,
    /// Where the call's recording is (a WAV path on the media host).
    #[serde(default)]
    pub recording: Option<String>,
}

impl CallRecord {
    pub fn is_answered(&self) -> bool {
        self.answered_at.is_some()
    }

    /// Talk time in whole seconds, from answer to end; 0 for a call never answered.
    pub fn duration_secs(&self) -> i64 {
        match self.answered_at {
            Some(answered) => whole_secs(answered, self.ended_at),
            None => 0,
        }
    }

    /// How long the caller waited, in whole seconds: from arrival to answer, or to the end when
    /// nobody answered (an abandoned call's wait is its whole life).
    pub fn wait_secs(&self) -> i64 {
        whole_secs(self.arrived_at, self.answered_at.unwrap_or(self.ended_at))
    }
}

/// Never negative: a clock step backwards between two events must not produce a negative wait.
fn whole_secs(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_seconds().max(0)
}

/// Collects one dialog's events as they happen; [`CallRecordBuilder::ended`] yields the record.
///
/// Events can race on the wire (a 180 after the 200, a 200 crossing a CANCEL), so each setter
/// keeps only what makes sense for the call's history rather than trusting call order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecordBuilder {
    id: String,
    sip_call_id: String,
    caller: String,
    caller_display: Option<String>,
    dialed: String,
    kind: CallKind,
    line_number: Option<String>,
    line_unit: Option<String>,
    line_mode: Option<String>,
    arrived_at: DateTime<Utc>,
    ringing_at: Option<DateTime<Utc>>,
    answered_at: Option<DateTime<Utc>>,
    agent: Option<String>,
    source: Option<String>,
    route: Option<String>,
    recording: Option<String>,
}

impl CallRecordBuilder {
    /// Starts the record when the INVITE arrives.
    pub fn arrived(
        id: impl Into<String>,
        sip_call_id: impl Into<String>,
        caller: impl Into<String>,
        dialed: impl Into<String>,
        kind: CallKind,
        now: DateTime<Utc>,
    ) -> Self {
        CallRecordBuilder {
            id: id.into(),
            sip_call_id: sip_call_id.into(),
            caller: caller.into(),
            caller_display: None,
            dialed: dialed.into(),
            kind,
            line_number: None,
            line_unit: None,
            line_mode: None,
            arrived_at: now,
            ringing_at: None,
            answered_at: None,
            agent: None,
            source: None,
            route: None,
            recording: None,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn arrived_at(&self) -> DateTime<Utc> {
        self.arrived_at
    }

    pub fn caller_display(&mut self, display: impl Into<String>) -> &mut Self {
        self.caller_display = Some(display.into());
        self
    }

    pub fn source(&mut self, source: impl Into<String>) -> &mut Self {
        self.source = Some(source.into());
        self
    }

    /// The IVR path so far (replaced as the call moves on).
    pub fn route(&mut self, route: impl Into<String>) -> &mut Self {
        self.route = Some(route.into());
        self
    }

    pub fn recording(&mut self, path: impl Into<String>) -> &mut Self {
        self.recording = Some(path.into());
        self
    }

    /// Records the annex line the dialed number matched.
    pub fn line(
        &mut self,
        number: impl Into<String>,
        unit: Option<String>,
        mode: impl Into<String>,
    ) -> &mut Self {
        self.line_number = Some(number.into());
        self.line_unit = unit;
        self.line_mode = Some(mode.into());
        self
    }

    /// The first provisional ringing response. Later ones (re-forks, a 180 arriving after the
    /// answer) do not move it: the caller started hearing ringback at the first.
    pub fn ringing(&mut self, now: DateTime<Utc>) -> &mut Self {
        if self.ringing_at.is_none() && self.answered_at.is_none() {
            self.ringing_at = Some(now);
        }
        self
    }

    /// The answer. With parallel forking several 200s can arrive; the first one won the call, so
    /// later ones neither change the time nor the agent.
    pub fn answered(&mut self, agent: Option<String>, now: DateTime<Utc>) -> &mut Self {
        if self.answered_at.is_none() {
            self.answered_at = Some(now);
            self.agent = agent;
        }
        self
    }

    /// Finishes the record.
    ///
    /// An answer or ringing stamped after the end (a 200 that crossed the caller's CANCEL) did
    /// not reach the caller, so it is dropped together with the agent it named.
    pub fn ended(self, reason: EndReason, sip_code: u16, now: DateTime<Utc>) -> CallRecord {
        let ended_at = now.max(self.arrived_at);
        let (answered_at, agent) = match self.answered_at {
            Some(at) if at <= ended_at => (Some(at), self.agent),
            _ => (None, None),
        };
        let ringing_at = self.ringing_at.filter(|at| *at <= ended_at);
        CallRecord {
            id: self.id,
            sip_call_id: self.sip_call_id,
            caller: self.caller,
            caller_display: self.caller_display,
            dialed: self.dialed,
            kind: self.kind,
            line_number: self.line_number,
            line_unit: self.line_unit,
            line_mode: self.line_mode,
            arrived_at: self.arrived_at,
            ringing_at,
            answered_at,
            ended_at,
            end_reason: reason,
            sip_code,
            agent,
            source: self.source,
            route: self.route,
            recording: self.recording,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0)
            .single()
            .expect("valid timestamp")
    }

    fn builder() -> CallRecordBuilder {
        CallRecordBuilder::arrived(
            "rec-1",
            "abc@10.0.0.1",
            "13800000000",
            "12345",
            CallKind::Hotline,
            t(0),
        )
    }

    #[test]
    fn answered_call_keeps_all_times() {
        let mut b = builder();
        b.caller_display("张三")
            .source("10.0.0.1:5060")
            .line("12369", Some("环保局".into()), "remote_seat")
            .ringing(t(2))
            .answered(Some("1001".into()), t(10));
        let r = b.ended(EndReason::CallerHangup, 200, t(70));
        assert_eq!(r.id, "rec-1");
        assert_eq!(r.caller_display.as_deref(), Some("张三"));
        assert_eq!(r.source.as_deref(), Some("10.0.0.1:5060"));
        assert_eq!(r.line_number.as_deref(), Some("12369"));
        assert_eq!(r.line_unit.as_deref(), Some("环保局"));
        assert_eq!(r.line_mode.as_deref(), Some("remote_seat"));
        assert_eq!(r.ringing_at, Some(t(2)));
        assert_eq!(r.answered_at, Some(t(10)));
        assert_eq!(r.ended_at, t(70));
        assert_eq!(r.agent.as_deref(), Some("1001"));
        assert_eq!(r.end_reason, EndReason::CallerHangup);
        assert_eq!(r.sip_code, 200);
        assert!(r.is_answered());
        assert_eq!(r.duration_secs(), 60);
        assert_eq!(r.wait_secs(), 10);
    }

    #[test]
    fn unanswered_call_waits_until_the_end_and_has_no_duration() {
        let mut b = builder();
        b.ringing(t(1));
        let r = b.ended(EndReason::Cancelled, 487, t(25));
        assert_eq!(r.answered_at, None);
        assert_eq!(r.agent, None);
        assert!(!r.is_answered());
        assert_eq!(r.duration_secs(), 0);
        assert_eq!(r.wait_secs(), 25);
    }

    #[test]
    fn answer_after_the_end_is_dropped_with_its_agent() {
        let mut b = builder();
        b.ringing(t(1)).answered(Some("1001".into()), t(31));
        let r = b.ended(EndReason::Cancelled, 487, t(30));
        assert_eq!(r.answered_at, None);
        assert_eq!(r.agent, None);
        assert_eq!(r.ringing_at, Some(t(1)));
        assert_eq!(r.duration_secs(), 0);
        assert_eq!(r.wait_secs(), 30);
    }

    #[test]
    fn ringing_after_the_end_is_dropped() {
        let mut b = builder();
        b.ringing(t(9));
        let r = b.ended(EndReason::Unavailable, 480, t(5));
        assert_eq!(r.ringing_at, None);
    }

    #[test]
    fn only_the_first_ringing_counts() {
        let mut b = builder();
        b.ringing(t(3)).ringing(t(5));
        let r = b.ended(EndReason::NoAnswer, 408, t(20));
        assert_eq!(r.ringing_at, Some(t(3)));
    }

    #[test]
    fn ringing_after_answer_is_ignored() {
        let mut b = builder();
        b.answered(Some("1001".into()), t(4)).ringing(t(6));
        let r = b.ended(EndReason::CalleeHangup, 200, t(20));
        assert_eq!(r.ringing_at, None);
        assert_eq!(r.answered_at, Some(t(4)));
    }

    #[test]
    fn first_answer_wins() {
        let mut b = builder();
        b.ringing(t(1))
            .answered(Some("1001".into()), t(4))
            .answered(Some("1002".into()), t(5));
        let r = b.ended(EndReason::CallerHangup, 200, t(20));
        assert_eq!(r.answered_at, Some(t(4)));
        assert_eq!(r.agent.as_deref(), Some("1001"));
    }

    #[test]
    fn end_before_arrival_is_clamped_to_arrival() {
        let r = builder().ended(EndReason::Failed, 500, t(-3));
        assert_eq!(r.ended_at, t(0));
        assert_eq!(r.wait_secs(), 0);
        assert_eq!(r.duration_secs(), 0);
    }

    #[test]
    fn seconds_are_whole_and_truncated() {
        let mut b = builder();
        b.answered(None, t(0) + Duration::milliseconds(2_900));
        let r = b.ended(
            EndReason::CallerHangup,
            200,
            t(0) + Duration::milliseconds(5_800),
        );
        assert_eq!(r.wait_secs(), 2);
        assert_eq!(r.duration_secs(), 2);
        assert_eq!(r.agent, None);
    }

    #[test]
    fn serde_json_round_trip_keeps_millisecond_times() {
        let mut b = CallRecordBuilder::arrived(
            "rec-2",
            "x@y",
            "alice",
            "2666110",
            CallKind::Hotline,
            t(0) + Duration::milliseconds(123),
        );
        b.line("2666110", None, "direct_merge")
            .ringing(t(1) + Duration::milliseconds(456))
            .answered(Some("1003".into()), t(2) + Duration::milliseconds(789));
        let r = b.ended(EndReason::CalleeHangup, 200, t(9));
        let line = serde_json::to_string(&r).expect("serialize");
        assert!(!line.contains('\n'), "one record must be one spool line");
        assert!(line.contains("\"end_reason\":\"callee_hangup\""));
        let back: CallRecord = serde_json::from_str(&line).expect("deserialize");
        assert_eq!(back, r);
    }
}
