//! The stateful proxy (RFC 3261 §16): forking an initial request to a user's registered contacts,
//! and loose-routing in-dialog requests of the calls it Record-Routed.

use crate::core::{Core, NextHopError, Target};
use crate::msg;
use crate::overload::InflightGuard;
use hotline_cdr::{CallKind, EndReason};
use hotline_routing::{ForkAction, ForkState, LoopInputs};
use rsipstack::sip::{Header, Method, Request, Response, SipMessage, StatusCode};
use rsipstack::transaction::key::{TransactionKey, TransactionRole};
use rsipstack::transaction::transaction::{Transaction, TransactionEvent};
use rsipstack::transport::SipAddr;
use std::sync::Arc;
use tokio::sync::mpsc;
use tracing::{debug, warn};

impl Event {
    fn name(&self) -> &'static str {
        match self {
            Event::Upstream(_) => "upstream",
            Event::UpstreamGone => "upstream-gone",
            Event::Branch(..) => "branch",
            Event::BranchGone(_) => "branch-gone",
            Event::RingTimeout => "ring-timeout",
        }
    }
}

enum Event {
    Upstream(SipMessage),
    UpstreamGone,
    Branch(usize, Response),
    BranchGone(usize),
    RingTimeout,
}

/// Build the copy of `req` that goes to `target`: new Request-URI, one hop less, our Record-Route
/// (initial requests only) and our Via with a loop-detecting branch.
pub(crate) fn forward_copy(
    core: &Core,
    req: &Request,
    uri: &str,
    record_route: bool,
) -> Option<Request> {
    let mut out = req.clone();
    out.uri = rsipstack::sip::Uri::try_from(uri).ok()?;
    let mf = msg::max_forwards(req).unwrap_or(70).saturating_sub(1);
    out.headers.retain(|h| !matches!(h, Header::MaxForwards(_)));
    out.headers.push(Header::MaxForwards(mf.into()));
    if record_route {
        // Our Record-Route goes on top of the existing ones (§16.6 item 4), and below the Vias so
        // header rows of one name stay together (some phones and SIPp copy Vias as a block).
        let mut headers: Vec<Header> = out.headers.iter().cloned().collect();
        let at = headers
            .iter()
            .position(|h| matches!(h, Header::RecordRoute(_)))
            .or_else(|| {
                headers
                    .iter()
                    .rposition(|h| matches!(h, Header::Via(_)))
                    .map(|i| i + 1)
            })
            .unwrap_or(0);
        headers.insert(at, Header::RecordRoute(core.record_route().into()));
        out.headers = headers.into();
    }
    let token = loop_token_for(req, uri);
    out.headers.push_front(Header::Via(core.via(&token).into()));
    Some(out)
}

/// The loop token of `req` as it goes (or went) to `request_uri`.
fn loop_token_for(req: &Request, request_uri: &str) -> String {
    hotline_routing::loop_token(&LoopInputs {
        request_uri,
        call_id: msg::call_id(req),
        from_tag: msg::tag_of(msg::from_value(req)).unwrap_or(""),
        to_tag: msg::to_tag(req).unwrap_or(""),
        cseq: msg::cseq_num(req),
        route: &msg::routes(req).join(","),
        proxy_require: msg::header_value(req.headers.iter(), "Proxy-Require").unwrap_or(""),
    })
}

/// Whether `req` came back to us unchanged (482): one of our Vias carries the token it would get now.
pub(crate) fn is_loop(req: &Request) -> bool {
    let ours: Vec<&str> = req
        .headers
        .iter()
        .filter_map(|h| match h {
            Header::Via(v) => Some(v.value()),
            _ => None,
        })
        .flat_map(|v| v.split(','))
        .filter_map(|v| v.split("branch=").nth(1))
        .filter_map(|b| b.strip_prefix(crate::core::BRANCH_PREFIX))
        .collect();
    if ours.is_empty() {
        return false;
    }
    let token = loop_token_for(req, &req.uri.to_string());
    ours.iter().any(|b| b.starts_with(&token))
}

/// Strip our Via from a response before relaying it upstream (§16.7 item 3). Only the first Via
/// *value* goes: a phone may send all Vias comma-joined in one header line.
fn strip_top_via(mut resp: Response) -> Response {
    let Some(pos) = resp
        .headers
        .iter()
        .position(|h| matches!(h, Header::Via(_)))
    else {
        return resp;
    };
    let value = resp
        .headers
        .iter()
        .nth(pos)
        .map(|h| h.value().to_string())
        .unwrap_or_default();
    let rest: Vec<String> = msg::split_commas(&value).into_iter().skip(1).collect();
    let mut i = 0;
    resp.headers.retain(|_| {
        i += 1;
        i - 1 != pos
    });
    if !rest.is_empty() {
        // Keep the remaining Vias first among the Vias, where they were.
        let mut headers: Vec<Header> = resp.headers.iter().cloned().collect();
        headers.insert(pos, Header::Via(rest.join(", ").into()));
        resp.headers = headers.into();
    }
    resp
}

fn respond_upstream(
    s_sender: &rsipstack::transaction::transaction::TransactionEventSender,
    resp: Response,
) {
    if s_sender.send(TransactionEvent::Respond(resp)).is_err() {
        debug!("server transaction gone; response not relayed");
    }
}

/// Fork an initial INVITE (or other initial request) to `targets`; first 2xx wins.
/// The call a forked initial INVITE starts: its kind and the user called, for the record.
pub(crate) struct NewCall {
    pub kind: CallKind,
    pub callee: String,
}

/// Forward a request statefully to `targets` (one for a loose-routed re-INVITE, every contact of a
/// user for an initial request); first 2xx wins. `call` is set for an initial INVITE: it gets our
/// Record-Route and a call record.
pub(crate) async fn fork(
    core: Arc<Core>,
    s: Transaction,
    targets: Vec<Target>,
    call: Option<NewCall>,
    mut setup: Option<InflightGuard>,
) {
    let original = s.original.clone();
    let is_invite = original.method == Method::Invite;
    let s_sender = s.tu_sender.clone();
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<Event>();
    let initial = call.is_some();
    let callee = call.as_ref().map(|c| c.callee.clone()).unwrap_or_default();
    let mut record = call
        .filter(|_| is_invite)
        .map(|c| core.new_record(&original, c.kind, s.connection.as_ref()));

    // The server transaction is driven by its own task: receive() is not cancel-safe, so it must
    // never sit in a select!. It hands CANCEL and the 2xx ACK to us and carries our responses.
    {
        let ev_tx = ev_tx.clone();
        let mut s = s;
        tokio::spawn(async move {
            while let Some(m) = s.receive().await {
                if ev_tx.send(Event::Upstream(m)).is_err() {
                    break;
                }
            }
            ev_tx.send(Event::UpstreamGone).ok();
        });
    }

    let mut branches: Vec<(Request, SipAddr)> = Vec::new();
    for t in &targets {
        let Some(req) = forward_copy(&core, &original, &t.uri, initial) else {
            warn!(uri = %t.uri, "unusable contact skipped");
            continue;
        };
        branches.push((req, t.dest.clone()));
    }
    if branches.is_empty() {
        let resp = core
            .endpoint
            .make_response(&original, StatusCode::TemporarilyUnavailable, None);
        respond_upstream(&s_sender, resp);
        if let Some(r) = record.take() {
            core.finish_record(r, EndReason::Unavailable, 480);
        }
        return;
    }
    for (i, (req, dest)) in branches.iter().enumerate() {
        let Ok(key) = TransactionKey::from_request(req, TransactionRole::Client) else {
            continue;
        };
        let mut c = Transaction::new_client(key, req.clone(), core.endpoint.clone(), None);
        c.destination = Some(dest.clone());
        let ev_tx = ev_tx.clone();
        tokio::spawn(async move {
            if let Err(e) = c.send().await {
                debug!(error = %e, "branch send failed");
            }
            while let Some(m) = c.receive().await {
                if let SipMessage::Response(r) = m {
                    ev_tx.send(Event::Branch(i, r)).ok();
                }
            }
            ev_tx.send(Event::BranchGone(i)).ok();
        });
    }
    if is_invite && initial {
        let ev_tx = ev_tx.clone();
        let t = core.cfg.ring_timeout;
        tokio::spawn(async move {
            tokio::time::sleep(t).await;
            ev_tx.send(Event::RingTimeout).ok();
        });
    }
    drop(ev_tx);

    let mut fork = ForkState::new(branches.len());
    let mut winner_dest: Option<(usize, SipAddr)> = None;
    let mut gone = vec![false; branches.len()];
    let mut final_sent = false;
    let mut upstream_alive = true;
    let mut timed_out = false;
    let mut caller_cancelled = false;
    let mut ack_relayed = false;
    while let Some(ev) = ev_rx.recv().await {
        debug!(event = ev.name(), "fork event");
        let actions = match ev {
            Event::Upstream(SipMessage::Request(r)) if r.method == Method::Cancel => {
                caller_cancelled = true;
                fork.cancel_all()
            }
            Event::Upstream(SipMessage::Request(r)) if r.method == Method::Ack => {
                // The ACK of the 2xx we relayed: end to end, so forward it statelessly.
                if let Some((i, dest)) = &winner_dest {
                    let uri = r.uri.to_string();
                    if let Some(ack) = forward_copy(&core, &r, &uri, false) {
                        core.send_stateless(ack.into(), dest).await;
                    }
                    debug!(branch = i, "ACK relayed");
                    ack_relayed = true;
                }
                vec![]
            }
            Event::Upstream(_) => vec![],
            Event::UpstreamGone => {
                upstream_alive = false;
                vec![]
            }
            Event::RingTimeout => {
                timed_out = !fork.is_finished() && !caller_cancelled;
                fork.cancel_all()
            }
            Event::Branch(i, resp) => {
                let code = msg::response_code(&resp);
                let actions = if code < 200 {
                    if code >= 180
                        && let Some(rec) = record.as_mut()
                    {
                        rec.ringing(chrono::Utc::now());
                    }
                    fork.on_provisional(i, code)
                } else {
                    fork.on_final(i, code)
                };
                let mut rest = Vec::new();
                for a in actions {
                    match a {
                        ForkAction::Forward { branch } if branch == i => {
                            if (200..300).contains(&code) && winner_dest.is_none() {
                                winner_dest = Some((i, branches[i].1.clone()));
                                if let Some(mut rec) = record.take() {
                                    rec.answered(Some(callee.clone()), chrono::Utc::now());
                                    // Open from the answer on, so the BYE that ends the call
                                    // finds it however soon it comes.
                                    let caller = msg::uri_user(msg::from_value(&original))
                                        .unwrap_or("")
                                        .to_string();
                                    core.open_proxied(
                                        msg::call_id(&original).to_string(),
                                        caller,
                                        rec,
                                    );
                                }
                            }
                            if code >= 200 {
                                final_sent = true;
                            }
                            respond_upstream(&s_sender, strip_top_via(resp.clone()));
                        }
                        ForkAction::Final {
                            status,
                            branch: Some(b),
                        } if b == i => {
                            final_sent = true;
                            let up = if status == code {
                                resp.clone()
                            } else {
                                with_status(resp.clone(), status)
                            };
                            respond_upstream(&s_sender, strip_top_via(up));
                            if let Some(rec) = record.take() {
                                core.finish_record(rec, reason_for(status, timed_out), status);
                            }
                        }
                        other => rest.push(other),
                    }
                }
                rest
            }
            Event::BranchGone(i) => {
                gone[i] = true;
                let a = fork.on_timeout(i);
                if gone.iter().all(|g| *g) && !upstream_alive {
                    // Everything downstream and upstream has ended.
                    process(
                        &core,
                        &original,
                        &branches,
                        &s_sender,
                        a,
                        &mut final_sent,
                        &mut record,
                        timed_out,
                    )
                    .await;
                    break;
                }
                a
            }
        };
        process(
            &core,
            &original,
            &branches,
            &s_sender,
            actions,
            &mut final_sent,
            &mut record,
            timed_out,
        )
        .await;
        if final_sent {
            // The call is set up (or refused): it no longer counts as in flight.
            setup.take();
        }
        // Done once the caller has its final answer and, for a 2xx, the ACK has gone on (or the
        // caller's transaction ended without one). The transactions finish their RFC 6026 timers
        // on their own; this task and its copies of the request need not live 32 s more per call.
        let answered_and_acked = winner_dest.is_none() || ack_relayed || !upstream_alive;
        if (final_sent && answered_and_acked) || (gone.iter().all(|g| *g) && !upstream_alive) {
            break;
        }
    }
    if let Some(rec) = record.take() {
        // Neither answered nor failed upstream (the transactions died under us).
        core.finish_record(rec, EndReason::Failed, 500);
    }
}

fn with_status(mut resp: Response, status: u16) -> Response {
    resp.status_code = StatusCode::from(status);
    resp
}

/// The end reason a final status means (`timed_out`: our ring timer, not the callee, ended it).
pub(crate) fn reason_for(status: u16, timed_out: bool) -> EndReason {
    match status {
        487 if timed_out => EndReason::NoAnswer,
        487 => EndReason::Cancelled,
        408 | 480 => EndReason::NoAnswer,
        486 | 600 => EndReason::Busy,
        404 | 604 => EndReason::NotFound,
        401 | 407 => EndReason::Unauthorized,
        403 | 603 => EndReason::Rejected,
        503 => EndReason::Unavailable,
        _ => EndReason::Failed,
    }
}

#[allow(clippy::too_many_arguments)]
async fn process(
    core: &Arc<Core>,
    original: &Request,
    branches: &[(Request, SipAddr)],
    s_sender: &rsipstack::transaction::transaction::TransactionEventSender,
    actions: Vec<ForkAction>,
    final_sent: &mut bool,
    record: &mut Option<hotline_cdr::CallRecordBuilder>,
    timed_out: bool,
) {
    for a in actions {
        match a {
            ForkAction::Cancel { branch } => {
                send_cancel(core, &branches[branch].0, &branches[branch].1).await
            }
            ForkAction::Final {
                status,
                branch: None,
            }
            | ForkAction::Final {
                status,
                branch: Some(_),
            } if !*final_sent => {
                // No branch response to relay (every branch timed out): answer ourselves.
                *final_sent = true;
                let resp = core
                    .endpoint
                    .make_response(original, StatusCode::from(status), None);
                respond_upstream(s_sender, resp);
                if let Some(rec) = record.take() {
                    core.finish_record(rec, reason_for(status, timed_out), status);
                }
            }
            _ => {}
        }
    }
}

/// CANCEL a branch (§9.1): same Request-URI, Call-ID, From, To, CSeq number and top Via as the
/// INVITE, as its own non-INVITE client transaction so it is retransmitted over UDP.
async fn send_cancel(core: &Arc<Core>, invite: &Request, dest: &SipAddr) {
    let mut cancel = invite.clone();
    cancel.method = Method::Cancel;
    cancel.body.clear();
    cancel.headers.retain(|h| {
        matches!(
            h,
            Header::Via(_)
                | Header::From(_)
                | Header::To(_)
                | Header::CallId(_)
                | Header::Route(_)
                | Header::MaxForwards(_)
        )
    });
    let mut top_via_kept = false;
    cancel.headers.retain(|h| {
        if matches!(h, Header::Via(_)) {
            let keep = !top_via_kept;
            top_via_kept = true;
            return keep;
        }
        true
    });
    cancel.headers.push(Header::CSeq(
        format!("{} CANCEL", msg::cseq_num(invite)).into(),
    ));
    cancel.headers.push(Header::ContentLength(0u32.into()));
    let Ok(key) = TransactionKey::from_request(&cancel, TransactionRole::Client) else {
        return;
    };
    let mut tx = Transaction::new_client(key, cancel, core.endpoint.clone(), None);
    tx.destination = Some(dest.clone());
    tokio::spawn(async move {
        if tx.send().await.is_ok() {
            while let Some(m) = tx.receive().await {
                if matches!(m, SipMessage::Response(ref r) if msg::response_code(r) >= 200) {
                    break;
                }
            }
        }
    });
}

/// Forward an in-dialog (or pre-routed) request along its route set: our Route is already removed.
pub(crate) async fn loose_route(core: Arc<Core>, mut s: Transaction) {
    let req = s.original.clone();
    if req.method == Method::Bye {
        core.close_proxied(msg::call_id(&req), msg::from_value(&req));
    }
    let next = msg::routes(&req)
        .first()
        .map(|r| msg::inner_uri(r).to_string())
        .unwrap_or_else(|| req.uri.to_string());
    let uri = req.uri.to_string();
    let dest = match core.destination_for(&next, &uri).await {
        Ok(d) => d,
        Err(NextHopError::BadUri) => {
            s.reply(StatusCode::BadRequest).await.ok();
            return;
        }
        Err(NextHopError::Unresolvable) => {
            // What Kamailio and OpenSIPS answer: the next hop's name does not resolve.
            let status = StatusCode::try_from((478u16, "Unresolvable Destination"))
                .unwrap_or(StatusCode::from(478));
            let resp = core.endpoint.make_response(&s.original, status, None);
            s.respond(resp).await.ok();
            return;
        }
    };
    if req.method == Method::Invite {
        // A re-INVITE is an INVITE transaction like any: CANCEL, provisional responses and the
        // end-to-end ACK of its 2xx are handled as for the initial one.
        fork(core, s, vec![Target { uri, dest }], None, None).await;
        return;
    }
    let Some(fwd) = forward_copy(&core, &req, &uri, false) else {
        s.reply(StatusCode::BadRequest).await.ok();
        return;
    };
    if req.method == Method::Ack {
        core.send_stateless(fwd.into(), &dest).await;
        return;
    }
    let Ok(key) = TransactionKey::from_request(&fwd, TransactionRole::Client) else {
        s.reply(StatusCode::BadRequest).await.ok();
        return;
    };
    let mut c = Transaction::new_client(key, fwd, core.endpoint.clone(), None);
    c.destination = Some(dest);
    if c.send().await.is_err() {
        s.reply(StatusCode::ServiceUnavailable).await.ok();
        return;
    }
    let mut answered = false;
    while let Some(m) = c.receive().await {
        if let SipMessage::Response(r) = m {
            let code = msg::response_code(&r);
            if code == 100 {
                continue;
            }
            s.respond(strip_top_via(r)).await.ok();
            if code >= 200 {
                answered = true;
                if req.method != Method::Invite {
                    break;
                }
            }
        }
    }
    if !answered {
        s.reply(StatusCode::RequestTimeout).await.ok();
    }
}
