//! Registrar and INVITE-authentication glue: header values in, `hotline-registrar` decisions out.

use crate::core::Core;
use crate::msg;
use hotline_registrar::{AuthOutcome, RegisterError, RegisterRequest};
use rsipstack::sip::{Header, Request, StatusCode};
use rsipstack::transaction::transaction::Transaction;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

fn source_of(tx: &Transaction) -> Option<(SocketAddr, &'static str)> {
    let conn = tx.connection.as_ref()?;
    let addr = conn.get_remote_addr()?.get_socketaddr().ok()?;
    let transport = if conn.is_reliable() { "tcp" } else { "udp" };
    Some((addr, transport))
}

async fn reply(tx: &mut Transaction, status: u16, reason: Option<&str>, headers: Vec<Header>) {
    let mut resp = tx
        .endpoint_inner
        .make_response(&tx.original, StatusCode::from(status), None);
    resp.headers.extend(headers);
    if let Some(r) = reason {
        resp.headers
            .push(msg::warning(&tx.endpoint_inner.user_agent, r));
    }
    msg::ensure_to_tag(&mut resp);
    tx.respond(resp).await.ok();
}

fn challenge(core: &Core, proxy: bool, stale: bool) -> Vec<Header> {
    let values = core
        .auth
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .challenge(Instant::now(), stale);
    values
        .into_iter()
        .map(|v| {
            if proxy {
                Header::ProxyAuthenticate(v.into())
            } else {
                Header::WwwAuthenticate(v.into())
            }
        })
        .collect()
}

/// Verify `header` (an Authorization or Proxy-Authorization value) for `method`.
fn verify(core: &Core, method: &str, header: &str) -> AuthOutcome {
    let now = Instant::now();
    core.auth.lock().unwrap_or_else(|e| e.into_inner()).verify(
        method,
        header,
        &core.cfg.credentials,
        now,
    )
}

/// What an authentication outcome means on the wire: Ok(user) or (status, reason, stale).
fn judge(outcome: AuthOutcome) -> Result<String, (u16, &'static str, bool)> {
    match outcome {
        AuthOutcome::Authenticated { user } => Ok(user),
        AuthOutcome::Stale => Err((401, "Unauthorized (nonce expired)", true)),
        AuthOutcome::Replay => Err((401, "Unauthorized (nonce count replayed)", false)),
        AuthOutcome::UnsupportedScheme => Err((401, "Unauthorized", false)),
        AuthOutcome::RealmMismatch => Err((401, "Unauthorized (wrong realm)", false)),
        AuthOutcome::WrongPassword { .. } | AuthOutcome::UnknownUser { .. } => {
            Err((403, "Forbidden (bad credentials)", false))
        }
        AuthOutcome::Malformed(_) => Err((400, "Bad Request (malformed credentials)", false)),
        _ => Err((403, "Forbidden", false)),
    }
}

pub(crate) async fn handle(core: &Core, mut tx: Transaction) {
    let req: Request = tx.original.clone();
    let to = msg::to_value(&req);
    let to_uri = msg::inner_uri(to);
    if !(to_uri.starts_with("sip:") || to_uri.starts_with("sips:")) {
        // RFC 4475 unksm2: the AOR must be a SIP URI.
        reply(
            &mut tx,
            400,
            Some("Bad Request (To is not a SIP address-of-record)"),
            vec![],
        )
        .await;
        return;
    }
    let Some(aor) = msg::uri_user(to).map(str::to_string) else {
        reply(
            &mut tx,
            404,
            Some("Not Found (no user in the address-of-record)"),
            vec![],
        )
        .await;
        return;
    };
    let Some(auth) = msg::header_value(req.headers.iter(), "Authorization") else {
        reply(&mut tx, 401, None, challenge(core, false, false)).await;
        return;
    };
    match judge(verify(core, "REGISTER", auth)) {
        Ok(user) if user == aor => {}
        Ok(user) => {
            warn!(
                user,
                aor, "REGISTER for another user's address-of-record refused"
            );
            reply(
                &mut tx,
                403,
                Some("Forbidden (credentials do not match the address-of-record)"),
                vec![],
            )
            .await;
            return;
        }
        Err((401, reason, stale)) => {
            reply(&mut tx, 401, Some(reason), challenge(core, false, stale)).await;
            return;
        }
        Err((status, reason, _)) => {
            info!(aor, status, "REGISTER refused");
            reply(&mut tx, status, Some(reason), vec![]).await;
            return;
        }
    }
    let Some((source, transport)) = source_of(&tx) else {
        reply(&mut tx, 500, None, vec![]).await;
        return;
    };
    let contacts: Vec<&str> = req
        .headers
        .iter()
        .filter(|h| matches!(h, Header::Contact(_)))
        .map(|h| h.value())
        .collect();
    let result = {
        let mut reg = core.registrar.lock().unwrap_or_else(|e| e.into_inner());
        let before = reg.lookup(&aor, Instant::now()).len();
        let r = reg.register(
            RegisterRequest {
                aor: &aor,
                call_id: msg::call_id(&req),
                cseq: msg::cseq_num(&req),
                contacts: &contacts,
                expires: msg::header_value(req.headers.iter(), "Expires"),
                source,
                transport,
                user_agent: msg::header_value(req.headers.iter(), "User-Agent"),
            },
            Instant::now(),
        );
        (r, before)
    };
    let (result, before) = result;
    if let (Ok(ok), Some(acd)) = (&result, core.acd.get()) {
        // The ACD follows the phone: a first registration may log the agent in, the last
        // binding removed logs them out.
        match (before, ok.bindings.len()) {
            (0, n) if n > 0 => acd.registered(&aor),
            (b, 0) if b > 0 => acd.unregistered(&aor),
            _ => {}
        }
    }
    match result {
        Ok(ok) => {
            let mut headers: Vec<Header> = ok
                .bindings
                .iter()
                .map(|b| {
                    Header::Contact(format!("<{}>;expires={}", b.uri, b.expires_in_secs).into())
                })
                .collect();
            headers.push(Header::Other(
                "Date".into(),
                chrono::Utc::now()
                    .format("%a, %d %b %Y %H:%M:%S GMT")
                    .to_string(),
            ));
            metrics::counter!("hotline_registrations_total").increment(1);
            reply(&mut tx, 200, None, headers).await;
        }
        Err(RegisterError::IntervalTooBrief { min }) => {
            reply(
                &mut tx,
                423,
                None,
                vec![Header::MinExpires(min.to_string().into())],
            )
            .await;
        }
        Err(RegisterError::TooManyContacts { .. }) => {
            reply(&mut tx, 403, Some("Forbidden (too many contacts)"), vec![]).await;
        }
        Err(e) => {
            let reason = format!("Bad Request ({e})");
            reply(&mut tx, 400, Some(&reason), vec![]).await;
        }
    }
}

/// Enforce `invite_auth` for an initial INVITE; false when a response was sent instead.
pub(crate) async fn authorize_invite(core: &Core, tx: &mut Transaction) -> bool {
    let Some((source, _)) = source_of(tx) else {
        return true;
    };
    if !core
        .cfg
        .invite_auth
        .requires_auth(&core.cfg.trusted, source.ip())
    {
        return true;
    }
    let req = tx.original.clone();
    let Some(auth) = msg::header_value(req.headers.iter(), "Proxy-Authorization") else {
        reply(tx, 407, None, challenge(core, true, false)).await;
        return false;
    };
    let method = req.method.to_string();
    match judge(verify(core, &method, auth)) {
        Ok(user) => {
            // An authenticated caller may only call as itself.
            if msg::uri_user(msg::from_value(&req)) == Some(user.as_str()) {
                return true;
            }
            reply(
                tx,
                403,
                Some("Forbidden (From does not match the credentials)"),
                vec![],
            )
            .await;
            false
        }
        Err((401, reason, stale)) => {
            reply(tx, 407, Some(reason), challenge(core, true, stale)).await;
            false
        }
        Err((status, reason, _)) => {
            reply(tx, status, Some(reason), vec![]).await;
            false
        }
    }
}

/// No hotline call lasts this long; a proxied call's record still open then lost its BYE.
const MAX_PROXIED_CALL_HOURS: i64 = 8;

/// Remove expired bindings, used-up nonces and stale proxied-call records once a second.
pub(crate) async fn expiry_loop(core: std::sync::Arc<Core>, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = Instant::now();
        let (expired, total) = {
            let mut reg = core.registrar.lock().unwrap_or_else(|e| e.into_inner());
            let e = reg.expire(now);
            (e, reg.len())
        };
        for (aor, _) in &expired {
            info!(aor, "registration expired");
            let left = core
                .registrar
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .lookup(aor, now)
                .len();
            if left == 0
                && let Some(acd) = core.acd.get()
            {
                acd.unregistered(aor);
            }
        }
        core.auth
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .prune(now);
        // A proxied call longer than this has lost its BYE (a phone crashed mid-call).
        core.close_stale_proxied(
            chrono::Utc::now(),
            chrono::Duration::hours(MAX_PROXIED_CALL_HOURS),
        );
        metrics::gauge!("hotline_registrations").set(total as f64);
    }
}
