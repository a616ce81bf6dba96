//! What the knowledge-base service answers when it cannot do what was asked.

use hotline_kb::{ImportError, StepError};
use hotline_kb_search::SearchError;
use hotline_store::StoreError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KbError {
    #[error("no knowledge-base entry `{0}`")]
    NotFound(String),
    /// The step is not possible now or the content is not acceptable; nothing was written.
    #[error("refused: {0}")]
    Step(StepError),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Invalid(String),
    /// A batch with bad rows: every one named, nothing imported.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// Others kept changing the entry while this step was applied; nothing was written.
    #[error("entry `{0}` changed concurrently too often; try again")]
    Busy(String),
    /// A stored row the service cannot read back (a bug or a hand edit); never hidden.
    #[error("entry `{id}` is unreadable: {reason}")]
    Corrupt { id: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("search index: {0}")]
    Search(#[from] SearchError),
}

impl From<StepError> for KbError {
    fn from(e: StepError) -> Self {
        match e {
            StepError::Forbidden(m) => KbError::Forbidden(m),
            e => KbError::Step(e),
        }
    }
}
