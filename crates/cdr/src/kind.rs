use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What sort of call a record describes; reports and work orders split on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    /// A citizen calling 12345 or one of the merged or remote-seat annex lines.
    Hotline,
    /// One agent calling another (consultation, internal).
    AgentToAgent,
    /// A call to or a transfer towards 110/119/120/122/12122.
    Emergency,
    Other,
}

impl CallKind {
    pub const ALL: [CallKind; 4] = [
        CallKind::Hotline,
        CallKind::AgentToAgent,
        CallKind::Emergency,
        CallKind::Other,
    ];

    /// Stable name: it is what the database and the spool store, so it must never change.
    pub fn as_str(self) -> &'static str {
        match self {
            CallKind::Hotline => "hotline",
            CallKind::AgentToAgent => "agent_to_agent",
            CallKind::Emergency => "emergency",
            CallKind::Other => "other",
        }
    }
}

impl fmt::Display for CallKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown call kind {0:?}")]
#[non_exhaustive]
pub struct UnknownCallKind(pub String);

impl FromStr for CallKind {
    type Err = UnknownCallKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CallKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownCallKind(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for kind in CallKind::ALL {
            assert_eq!(kind.as_str().parse::<CallKind>(), Ok(kind));
            let json = serde_json::to_string(&kind).expect("serialize");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
    }

    #[test]
    fn unknown_name_is_an_error() {
        assert_eq!(
            "Hotline".parse::<CallKind>(),
            Err(UnknownCallKind("Hotline".into()))
        );
    }
}
