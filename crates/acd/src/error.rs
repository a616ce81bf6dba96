//! What the engine refuses, with the reason (the HTTP API turns these into 4xx answers).

use crate::CallId;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AcdError {
    #[error("ACD configuration: {0}")]
    Config(String),
    #[error("no queue `{0}`")]
    NoQueue(String),
    #[error("no agent `{0}`")]
    NoAgent(String),
    #[error("no call {0} in the ACD")]
    NoCall(CallId),
    #[error("call {call} is not offered to agent `{agent}`")]
    NotOffered { call: CallId, agent: String },
    #[error("call {0} was already answered by another agent")]
    AlreadyAnswered(CallId),
    #[error("agent `{agent}` cannot do that while {state}")]
    BadState { agent: String, state: String },
    #[error("call {call} cannot do that while {state}")]
    BadCallState { call: CallId, state: String },
    #[error("a not-ready reason is needed")]
    NoReason,
}
