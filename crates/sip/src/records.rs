//! Where finished call records go: a channel the server drains into `hotline-store`'s writer, so
//! the SIP path never waits on a database.

use hotline_cdr::CallRecord;
use tokio::sync::mpsc;

#[derive(Clone)]
pub struct RecordSink {
    tx: mpsc::UnboundedSender<CallRecord>,
}

impl RecordSink {
    pub fn new() -> (Self, mpsc::UnboundedReceiver<CallRecord>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { tx }, rx)
    }

    pub fn submit(&self, rec: CallRecord) {
        if let Err(e) = self.tx.send(rec) {
            // The receiver only goes away at the very end of shutdown; say so rather than lose
            // the record silently.
            tracing::error!(record = ?e.0, "call record sink closed; record logged here instead");
        }
    }
}
