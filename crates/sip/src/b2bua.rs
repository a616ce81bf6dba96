//! The signalling-only hotline entry, a back-to-back user agent that passes the caller's SDP
//! through: the caller's dialog on one side, a leg to every registered contact of the entry
//! group's agents (or to an emergency line's trunk) on the other; the first to answer is
//! bridged, the other legs are CANCELled. Emergency numbers always take this path (T5: it needs
//! no media engine, no IVR, no database); other calls take it when the IVR is disabled.

use crate::config::LineInfo;
use crate::core::Core;
use crate::msg;
use hotline_cdr::{CallKind, EndReason};
use hotline_routing::{ForkAction, ForkState};
use rsipstack::dialog::dialog::{DialogState, TerminatedReason};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::{Header, Response, StatusCode};
use rsipstack::transaction::transaction::Transaction;
use std::sync::Arc;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

enum Ev {
    Caller(DialogState),
    Leg(usize, DialogState),
    LegDone(usize, Option<Response>),
    RingTimeout,
    Shutdown,
}

struct Leg {
    agent: String,
    dialog: InviteDialog,
}

pub(crate) async fn hotline_entry(
    core: Arc<Core>,
    dialogs: Arc<DialogLayer>,
    mut s: Transaction,
    line: Option<LineInfo>,
    mut setup: Option<crate::overload::InflightGuard>,
) {
    let original = s.original.clone();
    let mut record = core.new_record(&original, CallKind::Hotline, s.connection.as_ref());
    if let Some(l) = &line {
        record.line(l.number.clone(), l.unit.clone(), l.mode.clone());
    }
    s.send_trying().await.ok();

    let mut targets = Vec::new();
    let trunk = line.as_ref().and_then(|l| l.trunk.clone());
    if let Some(trunk) = trunk {
        // An emergency number dialed into the engine goes straight to its trunk (T5): no IVR,
        // no queue, nothing that depends on the database or the web side.
        match core.destination_for(&trunk, &trunk).await {
            Ok(dest) => targets.push((
                trunk.clone(),
                crate::core::Target {
                    uri: trunk.clone(),
                    dest,
                },
            )),
            Err(e) => {
                warn!(%trunk, ?e, "emergency trunk unreachable");
                let w = msg::warning("hotline", &format!("emergency trunk {trunk} unreachable"));
                s.reply_with(StatusCode::ServiceUnavailable, vec![w], None)
                    .await
                    .ok();
                core.finish_record(record, EndReason::Unavailable, 503);
                return;
            }
        }
    }
    let ring_group = targets.is_empty();
    for a in core
        .cfg
        .agents
        .iter()
        .filter(|a| ring_group && a.groups.iter().any(|g| *g == core.cfg.entry_group))
    {
        for t in core.targets_for_user(&a.id) {
            targets.push((a.id.clone(), t));
        }
    }
    if targets.is_empty() {
        info!(
            call_id = msg::call_id(&original),
            "no agent of the entry group is registered"
        );
        let retry = Header::RetryAfter(core.cfg.retry_after_secs.to_string().into());
        s.reply_with(StatusCode::TemporarilyUnavailable, vec![retry], None)
            .await
            .ok();
        core.finish_record(record, EndReason::Unavailable, 480);
        return;
    }

    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<Ev>();
    let Some(caller) = crate::caller_leg::start(&core, &dialogs, s, &ev_tx, Ev::Caller).await
    else {
        core.finish_record(record, EndReason::Failed, 500);
        return;
    };
    let caller_id = caller.id();
    let contact = rsipstack::sip::Uri::try_from(core.contact_uri().as_str()).ok();

    let from = msg::from_value(&original);
    let caller_user = msg::uri_user(from).unwrap_or("anonymous").to_string();
    let content_type =
        msg::header_value(original.headers.iter(), "Content-Type").map(str::to_string);
    let mut legs: Vec<Leg> = Vec::new();
    for (agent, t) in targets {
        let (Ok(callee), Ok(caller_uri), Some(contact)) = (
            rsipstack::sip::Uri::try_from(t.uri.as_str()),
            rsipstack::sip::Uri::try_from(
                format!("sip:{caller_user}@{}", core.cfg.domain).as_str(),
            ),
            contact.clone(),
        ) else {
            continue;
        };
        let mut headers = Vec::new();
        if let Some(l) = &line {
            // The agent's phone and desktop show which line the citizen dialed.
            headers.push(Header::Other("X-Hotline-Line".into(), l.number.clone()));
        }
        let opt = InviteOption {
            caller_display_name: msg::display_name(from),
            caller: caller_uri,
            callee,
            destination: Some(t.dest.clone()),
            content_type: content_type.clone(),
            offer: (!original.body.is_empty()).then(|| original.body.clone()),
            contact,
            headers: Some(headers),
            ..Default::default()
        };
        let (leg_tx, mut leg_rx) = dialogs.new_dialog_state_channel();
        match dialogs.do_invite_async(opt, leg_tx) {
            Ok((dialog, handle)) => {
                let i = legs.len();
                legs.push(Leg { agent, dialog });
                let ev = ev_tx.clone();
                tokio::spawn(async move {
                    while let Some(st) = leg_rx.recv().await {
                        if ev.send(Ev::Leg(i, st)).is_err() {
                            break;
                        }
                    }
                });
                let ev = ev_tx.clone();
                tokio::spawn(async move {
                    let resp = match handle.await {
                        Ok(Ok((_, resp))) => resp,
                        _ => None,
                    };
                    ev.send(Ev::LegDone(i, resp)).ok();
                });
            }
            Err(e) => warn!(error = %e, agent = %agent, "cannot call agent"),
        }
    }
    if legs.is_empty() {
        caller
            .reject(Some(StatusCode::TemporarilyUnavailable), None)
            .ok();
        core.finish_record(record, EndReason::Unavailable, 480);
        dialogs.remove_dialog(&caller_id);
        return;
    }
    {
        let ev = ev_tx.clone();
        let t = core.cfg.ring_timeout;
        tokio::spawn(async move {
            tokio::time::sleep(t).await;
            ev.send(Ev::RingTimeout).ok();
        });
        let token = tokio_util::sync::CancellationToken::new();
        core.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(record.id().to_string(), token.clone());
        let ev = ev_tx.clone();
        tokio::spawn(async move {
            token.cancelled().await;
            ev.send(Ev::Shutdown).ok();
        });
    }
    drop(ev_tx);

    let record_id = record.id().to_string();
    let mut fork = ForkState::new(legs.len());
    let mut done = vec![false; legs.len()];
    let mut winner: Option<usize> = None;
    let mut rang = false;
    let mut timed_out = false;
    let mut outcome: Option<(EndReason, u16)> = None;
    while let Some(ev) = ev_rx.recv().await {
        let actions = match ev {
            Ev::Caller(DialogState::Terminated(_, reason)) => {
                if let Some(w) = winner {
                    legs[w].dialog.hangup().await.ok();
                    outcome.get_or_insert((EndReason::CallerHangup, 200));
                } else {
                    hang_up_open(&legs, &done, None).await;
                    let code = if matches!(reason, TerminatedReason::UacCancel) {
                        487
                    } else {
                        408
                    };
                    outcome.get_or_insert((EndReason::Cancelled, code));
                }
                break;
            }
            Ev::Caller(
                DialogState::Updated(_, req, handle) | DialogState::Info(_, req, handle),
            ) => {
                // Hold/resume (re-INVITE, UPDATE) and SIP INFO DTMF go on to the agent.
                relay_in_dialog(winner.map(|w| legs[w].dialog.clone()), req, handle);
                vec![]
            }
            Ev::Caller(_) => vec![],
            Ev::Leg(i, DialogState::Early(_, resp)) => {
                let code = msg::response_code(&resp);
                if code >= 180 && !rang && winner.is_none() {
                    rang = true;
                    record.ringing(chrono::Utc::now());
                    caller.ringing(None, None).ok();
                }
                debug!(leg = i, code, "leg early");
                fork.on_provisional(i, code)
            }
            Ev::Leg(i, DialogState::Terminated(_, reason)) if Some(i) == winner => {
                if matches!(reason, TerminatedReason::UasBye) {
                    caller.bye().await.ok();
                    outcome.get_or_insert((EndReason::CalleeHangup, 200));
                    break;
                }
                vec![]
            }
            Ev::Leg(
                i,
                DialogState::Updated(_, req, handle) | DialogState::Info(_, req, handle),
            ) => {
                let to = (Some(i) == winner).then(|| caller.clone());
                relay_in_dialog(to, req, handle);
                vec![]
            }
            Ev::Leg(..) => vec![],
            Ev::LegDone(i, resp) => {
                done[i] = true;
                let code = resp.as_ref().map(msg::response_code).unwrap_or(408);
                let actions = fork.on_final(i, code);
                if (200..300).contains(&code) && winner.is_none() {
                    winner = Some(i);
                    record.answered(Some(legs[i].agent.clone()), chrono::Utc::now());
                    let body = resp
                        .as_ref()
                        .map(|r| r.body.clone())
                        .filter(|b| !b.is_empty());
                    let ct = resp
                        .as_ref()
                        .and_then(|r| msg::header_value(r.headers.iter(), "Content-Type"))
                        .map(|v| vec![Header::ContentType(v.to_string().into())]);
                    if let Err(e) = caller.accept(ct, body) {
                        warn!(error = %e, "caller went away before the answer");
                        legs[i].dialog.hangup().await.ok();
                        outcome = Some((EndReason::Failed, 500));
                        break;
                    }
                    info!(record = %record_id, agent = %legs[i].agent, "bridged");
                    // First answer wins: every other leg is released, ringing or silent.
                    hang_up_open(&legs, &done, Some(i)).await;
                } else if (200..300).contains(&code) {
                    // A second agent answered after the winner: release it at once.
                    legs[i].dialog.hangup().await.ok();
                }
                actions
            }
            Ev::RingTimeout => {
                if winner.is_some() {
                    continue;
                }
                timed_out = true;
                hang_up_open(&legs, &done, None).await;
                fork.cancel_all()
            }
            Ev::Shutdown => {
                if let Some(w) = winner {
                    legs[w].dialog.hangup().await.ok();
                    caller.bye().await.ok();
                    outcome = Some((EndReason::Shutdown, 200));
                } else {
                    hang_up_open(&legs, &done, None).await;
                    caller
                        .reject(Some(StatusCode::ServiceUnavailable), None)
                        .ok();
                    outcome = Some((EndReason::Shutdown, 503));
                }
                break;
            }
        };
        if winner.is_some() {
            // Bridged: the setup is over (the call itself is not "in flight").
            setup.take();
        }
        for a in actions {
            if let ForkAction::Final { status, .. } = a {
                // Every agent leg failed (or the ring timer gave up on them).
                let status = if timed_out { 480 } else { status };
                caller.reject(Some(StatusCode::from(status)), None).ok();
                let reason = if timed_out {
                    EndReason::NoAnswer
                } else {
                    EndReason::Unavailable
                };
                outcome = Some((reason, status));
            }
        }
        if outcome.is_some() {
            break;
        }
    }
    let (reason, code) = outcome.unwrap_or((EndReason::Failed, 500));
    core.calls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&record_id);
    core.finish_record(record, reason, code);
    dialogs.remove_dialog(&caller_id);
    for l in &legs {
        dialogs.remove_dialog(&l.dialog.id());
    }
}

/// Release every agent leg still open except `keep`: CANCEL while ringing, BYE if it answered.
async fn hang_up_open(legs: &[Leg], done: &[bool], keep: Option<usize>) {
    for (i, l) in legs.iter().enumerate() {
        if !done[i] && Some(i) != keep {
            l.dialog.hangup().await.ok();
        }
    }
}

/// Send an in-dialog request received on one side (re-INVITE, UPDATE, INFO) to the other side and
/// answer it with what that side answered, body and all. Before the call is bridged there is no
/// other side yet: 491 Request Pending tells the sender to try again (RFC 3261 §14.2).
pub(crate) fn relay_in_dialog(
    to: Option<InviteDialog>,
    req: rsipstack::sip::Request,
    handle: rsipstack::dialog::dialog::TransactionHandle,
) {
    tokio::spawn(async move {
        let Some(to) = to else {
            handle.reply(StatusCode::RequestPending).await.ok();
            return;
        };
        let ct = msg::header_value(req.headers.iter(), "Content-Type")
            .map(|v| vec![Header::ContentType(v.to_string().into())]);
        let body = (!req.body.is_empty()).then(|| req.body.clone());
        let result = match req.method {
            rsipstack::sip::Method::Invite => to.reinvite(ct, body).await,
            rsipstack::sip::Method::Update => to.update(ct, body).await,
            _ => to.info(ct, body).await,
        };
        match result {
            Ok(Some(resp)) => {
                let ct = msg::header_value(resp.headers.iter(), "Content-Type")
                    .map(|v| vec![Header::ContentType(v.to_string().into())]);
                let body = (!resp.body.is_empty()).then(|| resp.body.clone());
                handle
                    .respond(resp.status_code.clone(), ct, body)
                    .await
                    .ok();
            }
            Ok(None) => {
                handle.reply(StatusCode::RequestPending).await.ok();
            }
            Err(e) => {
                debug!(error = %e, "in-dialog relay failed");
                handle.reply(StatusCode::ServerInternalError).await.ok();
            }
        }
    });
}
