//! What the service answers when it cannot do what was asked.

use hotline_store::StoreError;
use hotline_workorder::StepError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    #[error("no work order `{0}`")]
    NotFound(String),
    /// The step is not possible now (wrong status, too late, a required field missing): the
    /// order is unchanged.
    #[error("refused: {0}")]
    Step(StepError),
    /// The caller's role may not do this.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Unauthorized(String),
    /// Bad input that is not a step of the lifecycle.
    #[error("{0}")]
    Invalid(String),
    /// Others kept changing the order while this step was being applied; nothing was written.
    #[error("work order `{0}` changed concurrently too often; try again")]
    Busy(String),
    /// An order's stored events no longer replay (a bug or a changed rule); never hidden.
    #[error("work order `{no}` does not replay at event {index}: {error}")]
    Corrupt {
        no: String,
        index: usize,
        error: StepError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<StepError> for ServiceError {
    fn from(e: StepError) -> Self {
        match e {
            StepError::Forbidden { .. } => ServiceError::Forbidden(e.to_string()),
            e => ServiceError::Step(e),
        }
    }
}
