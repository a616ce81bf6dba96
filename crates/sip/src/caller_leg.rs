//! The caller's side of a call the hotline answers as a user agent (the B2BUA and the anchored
//! IVR entry): its server dialog, the task that drives its INVITE transaction, and its state
//! changes forwarded into the call's own event channel.

use rsipstack::dialog::dialog::DialogState;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::StatusCode;
use rsipstack::transaction::transaction::Transaction;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::core::Core;

/// Creates the caller's dialog for `s` and starts its tasks; each dialog state reaches `events`
/// as `wrap(state)`. On failure the INVITE is answered 500 here and `None` returned.
pub(crate) async fn start<E: Send + 'static>(
    core: &Core,
    dialogs: &DialogLayer,
    mut s: Transaction,
    events: &mpsc::UnboundedSender<E>,
    wrap: fn(DialogState) -> E,
) -> Option<InviteDialog> {
    let (state_tx, mut state_rx) = dialogs.new_dialog_state_channel();
    let contact = rsipstack::sip::Uri::try_from(core.contact_uri().as_str()).ok();
    let caller = match dialogs.get_or_create_server_invite(&s, state_tx, None, contact) {
        Ok(d) => d,
        Err(e) => {
            warn!(error = %e, "cannot create the caller's dialog");
            s.reply(StatusCode::ServerInternalError).await.ok();
            return None;
        }
    };
    let mut d = caller.clone();
    tokio::spawn(async move {
        if let Err(e) = d.handle(&mut s).await {
            debug!(error = %e, "caller transaction ended");
        }
    });
    let events = events.clone();
    tokio::spawn(async move {
        while let Some(st) = state_rx.recv().await {
            if events.send(wrap(st)).is_err() {
                break;
            }
        }
    });
    Some(caller)
}
