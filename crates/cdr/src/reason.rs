use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a call ended. The SIP code in the record carries the protocol detail; this is the
/// business meaning reports group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The caller sent BYE after the answer.
    CallerHangup,
    /// The agent (callee) sent BYE after the answer.
    CalleeHangup,
    /// The caller sent CANCEL before the answer.
    Cancelled,
    /// The callee declined (603 or a 4xx/6xx that is not one of the specific reasons below).
    Rejected,
    /// Rang until the no-answer timer fired.
    NoAnswer,
    Busy,
    NotFound,
    Unauthorized,
    /// No agent could take the call.
    Unavailable,
    Failed,
    /// A transaction or session timer expired.
    Timeout,
    /// The server was stopping.
    Shutdown,
    /// Refused to protect the server (503 under load).
    Overload,
    Forbidden,
    Other,
    /// The caller hung up in the IVR or while queued, before anyone answered (the missed-call
    /// callback list, 漏接回拨, is made of these).
    Abandoned,
    /// The IVR finished the call itself: a guidance message, a retired number, a goodbye.
    IvrCompleted,
    /// A leg stopped sending RTP (a phone that vanished without BYE).
    RtpTimeout,
    /// Waited in the queue for the longest time allowed; nobody answered.
    QueueTimeout,
}

impl EndReason {
    pub const ALL: [EndReason; 19] = [
        EndReason::CallerHangup,
        EndReason::CalleeHangup,
        EndReason::Cancelled,
        EndReason::Rejected,
        EndReason::NoAnswer,
        EndReason::Busy,
        EndReason::NotFound,
        EndReason::Unauthorized,
        EndReason::Unavailable,
        EndReason::Failed,
        EndReason::Timeout,
        EndReason::Shutdown,
        EndReason::Overload,
        EndReason::Forbidden,
        EndReason::Other,
        EndReason::Abandoned,
        EndReason::IvrCompleted,
        EndReason::RtpTimeout,
        EndReason::QueueTimeout,
    ];

    /// Stable name: it is what the database and the spool store, so it must never change.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::CallerHangup => "caller_hangup",
            EndReason::CalleeHangup => "callee_hangup",
            EndReason::Cancelled => "cancelled",
            EndReason::Rejected => "rejected",
            EndReason::NoAnswer => "no_answer",
            EndReason::Busy => "busy",
            EndReason::NotFound => "not_found",
            EndReason::Unauthorized => "unauthorized",
            EndReason::Unavailable => "unavailable",
            EndReason::Failed => "failed",
            EndReason::Timeout => "timeout",
            EndReason::Shutdown => "shutdown",
            EndReason::Overload => "overload",
            EndReason::Forbidden => "forbidden",
            EndReason::Other => "other",
            EndReason::Abandoned => "abandoned",
            EndReason::IvrCompleted => "ivr_completed",
            EndReason::RtpTimeout => "rtp_timeout",
            EndReason::QueueTimeout => "queue_timeout",
        }
    }
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown end reason {0:?}")]
#[non_exhaustive]
pub struct UnknownEndReason(pub String);

impl FromStr for EndReason {
    type Err = UnknownEndReason;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EndReason::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownEndReason(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for reason in EndReason::ALL {
            assert_eq!(reason.as_str().parse::<EndReason>(), Ok(reason));
            let json = serde_json::to_string(&reason).expect("serialize");
            assert_eq!(json, format!("\"{}\"", reason.as_str()));
        }
    }

    #[test]
    fn names_are_distinct() {
        let names: HashSet<_> = EndReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), EndReason::ALL.len());
    }

    #[test]
    fn unknown_name_is_an_error() {
        assert_eq!(
            "hangup".parse::<EndReason>(),
            Err(UnknownEndReason("hangup".into()))
        );
    }
}
