//! Every new server transaction lands here: screened for what only a UAS/proxy can judge, routed by
//! `hotline-routing`, and handed to the registrar, the proxy or the B2BUA.

use crate::core::Core;
use crate::overload::{InflightGuard, Overload};
use crate::{anchored, b2bua, feature, msg, proxy, register};
use hotline_cdr::{CallKind, EndReason};
use hotline_routing::{Decision, RequestFacts, RoutingContext, TargetKind, decide};
use rsipstack::dialog::dialog::Dialog;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::sip::{Header, Method, StatusCode};
use rsipstack::transaction::TransactionReceiver;
use rsipstack::transaction::transaction::Transaction;
use std::sync::Arc;
use tracing::debug;

/// Methods we serve as a UAS (Allow header of 405/501 and OPTIONS).
pub(crate) const ALLOW: &str =
    "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE, PRACK, REFER, NOTIFY, MESSAGE";

pub(crate) async fn run(
    core: Arc<Core>,
    dialogs: Arc<DialogLayer>,
    mut incoming: TransactionReceiver,
    overload: Arc<Overload>,
) {
    while let Some(tx) = incoming.recv().await {
        let core = core.clone();
        let dialogs = dialogs.clone();
        // An INVITE counts as in flight until its final response (the handlers drop the guard
        // then), not for the 32 s its transaction lingers afterwards.
        let guard = (tx.original.method == Method::Invite).then(|| overload.enter());
        tokio::spawn(handle(core, dialogs, tx, guard));
    }
}

struct Ctx<'a>(&'a Core);

impl RoutingContext for Ctx<'_> {
    fn target(&self, user: &str) -> TargetKind {
        if self.0.cfg.numbers.line(user).is_some() {
            return TargetKind::Hotline;
        }
        if self.0.cfg.agents.iter().any(|a| a.id == user) {
            let now = std::time::Instant::now();
            let registered = !self
                .0
                .registrar
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .lookup(user, now)
                .is_empty();
            return TargetKind::Agent { registered };
        }
        TargetKind::Unknown
    }
}

async fn handle(
    core: Arc<Core>,
    dialogs: Arc<DialogLayer>,
    mut tx: Transaction,
    setup: Option<InflightGuard>,
) {
    // Loose routing (§16.4): a top Route naming us is ours to remove before anything else.
    let routes = msg::routes(&tx.original);
    let routed_via_us = routes.first().is_some_and(|r| {
        rsipstack::sip::Uri::try_from(msg::inner_uri(r)).is_ok_and(|u| core.uri_is_local(&u))
    });
    if routed_via_us {
        pop_first_route(&mut tx.original);
    }
    let has_foreign_route = !msg::routes(&tx.original).is_empty();
    let method = tx.original.method.to_string();
    let ruri_user = tx.original.uri.user().map(str::to_string);
    let facts = RequestFacts {
        method: &method,
        ruri_user: ruri_user.as_deref(),
        ruri_is_local: core.uri_is_local(&tx.original.uri),
        has_foreign_route,
        routed_via_us,
        in_dialog: msg::to_tag(&tx.original).is_some(),
        max_forwards: msg::max_forwards(&tx.original),
    };
    if tx.original.method == Method::Invite
        && !facts.in_dialog
        && let Some(number) = feature::emergency_code(&core, ruri_user.as_deref())
    {
        if !register::authorize_invite(&core, &mut tx).await {
            return;
        }
        feature::emergency(core, dialogs, tx, number).await;
        return;
    }
    let decision = decide(&facts, &Ctx(&core));
    debug!(?decision, method = %method, "routing");
    if !matches!(
        decision,
        Decision::Register | Decision::Options | Decision::Reply { .. }
    ) && proxy::is_loop(&tx.original)
    {
        tx.reply(StatusCode::LoopDetected).await.ok();
        return;
    }
    match decision {
        Decision::Register => register::handle(&core, tx).await,
        Decision::Options => {
            if let Some(status) = uas_checks(&tx) {
                reply_uas_error(&mut tx, status).await;
                return;
            }
            let headers = vec![
                Header::Allow(ALLOW.to_string().into()),
                Header::Other("Accept".into(), "application/sdp".into()),
                Header::Supported("path".to_string().into()),
            ];
            tx.reply_with(StatusCode::OK, headers, None).await.ok();
        }
        Decision::Reply { status, reason } => {
            let mut resp =
                core.endpoint
                    .make_response(&tx.original, StatusCode::from(status), None);
            resp.headers.push(msg::warning(&core.cfg.domain, reason));
            if tx.original.method != Method::Ack {
                msg::ensure_to_tag(&mut resp);
                tx.respond(resp).await.ok();
            }
            if tx.original.method == Method::Invite && !facts.in_dialog {
                // A call that was refused is still a call: the citizen dialed and got nothing.
                let kind = match ruri_user.as_deref().map(|u| Ctx(&core).target(u)) {
                    Some(TargetKind::Agent { .. }) => CallKind::AgentToAgent,
                    _ => CallKind::Other,
                };
                let rec = core.new_record(&tx.original, kind, tx.connection.as_ref());
                // 480 here means the agent called is not registered (not that it did not answer).
                let reason = if status == 480 {
                    EndReason::Unavailable
                } else {
                    proxy::reason_for(status, false)
                };
                core.finish_record(rec, reason, status);
            }
        }
        Decision::LooseRoute => proxy::loose_route(core, tx).await,
        Decision::LocalDialog => match dialogs.match_dialog(&tx) {
            Some(Dialog::Invite(mut d)) => {
                d.handle(&mut tx).await.ok();
            }
            _ => {
                if tx.original.method != Method::Ack {
                    tx.reply(StatusCode::CallTransactionDoesNotExist).await.ok();
                }
            }
        },
        Decision::ProxyToUser(user) => {
            if !register::authorize_invite(&core, &mut tx).await {
                return;
            }
            let targets = core.targets_for_user(&user);
            let call = proxy::NewCall {
                kind: CallKind::AgentToAgent,
                callee: user,
            };
            proxy::fork(core, tx, targets, Some(call), setup).await;
        }
        Decision::Hotline(number) => {
            if let Some(status) = uas_checks(&tx) {
                reply_uas_error(&mut tx, status).await;
                return;
            }
            if !register::authorize_invite(&core, &mut tx).await {
                return;
            }
            let line = core.cfg.numbers.line(&number);
            let emergency = line.as_ref().is_some_and(|l| l.trunk.is_some());
            match core.cfg.media.clone() {
                Some(media) if !emergency => {
                    anchored::entry(core, dialogs, tx, line, media, setup).await;
                }
                _ => b2bua::hotline_entry(core, dialogs, tx, line, setup).await,
            }
        }
    }
}

/// Checks a UAS makes that a proxy must not (RFC 3261 §8.2.2–8.2.3; RFC 4475 bext01, invut, sdp01).
fn uas_checks(tx: &Transaction) -> Option<(u16, Option<(String, String)>)> {
    let req = &tx.original;
    if let Some(req_tags) = msg::header_value(req.headers.iter(), "Require") {
        let unsupported: Vec<&str> = req_tags
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty() && *t != "path")
            .collect();
        if !unsupported.is_empty() {
            return Some((420, Some(("Unsupported".into(), unsupported.join(", ")))));
        }
    }
    if !req.body.is_empty() {
        let ct = msg::header_value(req.headers.iter(), "Content-Type").unwrap_or("");
        let mime = ct.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/sdp")
            && !mime.to_ascii_lowercase().starts_with("multipart/")
        {
            return Some((415, Some(("Accept".into(), "application/sdp".into()))));
        }
    }
    if req.method == Method::Invite
        && let Some(accept) = msg::header_value(req.headers.iter(), "Accept")
    {
        let ok = accept
            .split(',')
            .map(|a| {
                a.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .any(|a| a == "application/sdp" || a == "application/*" || a == "*/*");
        if !ok {
            return Some((
                406,
                Some((
                    "Warning".into(),
                    "399 hotline \"only application/sdp bodies are sent\"".into(),
                )),
            ));
        }
    }
    None
}

async fn reply_uas_error(tx: &mut Transaction, (status, header): (u16, Option<(String, String)>)) {
    let headers = header
        .map(|(n, v)| vec![Header::Other(n, v)])
        .unwrap_or_default();
    tx.reply_with(StatusCode::from(status), headers, None)
        .await
        .ok();
}

fn pop_first_route(req: &mut rsipstack::sip::Request) {
    // A Route header may carry several comma-separated entries: remove only the first entry.
    let Some(pos) = req
        .headers
        .iter()
        .position(|h| matches!(h, Header::Route(_)))
    else {
        return;
    };
    let value = req
        .headers
        .iter()
        .nth(pos)
        .map(|h| h.value().to_string())
        .unwrap_or_default();
    let rest = msg::split_commas(&value);
    let mut kept = Vec::new();
    let mut i = 0;
    req.headers.retain(|_| {
        let here = i;
        i += 1;
        if here == pos {
            kept = rest.iter().skip(1).cloned().collect::<Vec<_>>();
            return false;
        }
        true
    });
    if !kept.is_empty() {
        req.headers
            .push_front(Header::Route(kept.join(", ").into()));
    }
}
