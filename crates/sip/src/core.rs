//! State shared by every request handler: the endpoint, configuration, registrar, open records.

use crate::config::SipConfig;
use crate::msg;
use crate::open_calls::OpenCalls;
use crate::records::RecordSink;
use hotline_cdr::{CallKind, CallRecordBuilder, EndReason};
use rsipstack::sip::{Request, SipMessage};
use rsipstack::transaction::endpoint::EndpointInner;
use rsipstack::transport::{SipAddr, SipConnection};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;
use tracing::debug;

/// Our branches start with the RFC 3261 magic cookie and a marker, so our own Vias are recognised
/// for loop detection.
pub(crate) const BRANCH_PREFIX: &str = "z9hG4bK-hl-";

/// Why a next hop could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NextHopError {
    BadUri,
    Unresolvable,
}

/// A place to send a forked request: the contact URI (the new Request-URI) and where to send it
/// (the address the registration came from, which is right behind NAT).
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub uri: String,
    pub dest: SipAddr,
}

pub(crate) struct Core {
    pub endpoint: Arc<EndpointInner>,
    pub cfg: SipConfig,
    pub registrar: Mutex<hotline_registrar::Registrar>,
    pub auth: Mutex<hotline_registrar::Authenticator>,
    /// Our UDP address as peers must reach it (Via, Record-Route, Contact).
    pub advertised: SipAddr,
    pub records: RecordSink,
    /// Answered proxied calls by Call-ID, waiting for the BYE that ends them.
    proxied: Mutex<OpenCalls>,
    /// B2BUA calls in progress, so shutdown can hang them up.
    pub calls: Mutex<HashMap<String, CancellationToken>>,
    next_id: AtomicU64,
    /// Calls in the IVR path by record id: how the API reaches a call in progress.
    pub controls:
        Mutex<HashMap<String, tokio::sync::mpsc::UnboundedSender<crate::anchored::CallControl>>>,
    /// The ACD, set once at start when configured.
    pub acd: std::sync::OnceLock<crate::acd::AcdHandle>,
    /// A random prefix so record ids from different runs never collide.
    id_prefix: String,
}

impl Core {
    pub fn new(
        endpoint: Arc<EndpointInner>,
        cfg: SipConfig,
        registrar: hotline_registrar::Registrar,
        auth: hotline_registrar::Authenticator,
        advertised: SipAddr,
        records: RecordSink,
        id_prefix: String,
    ) -> Self {
        Self {
            endpoint,
            cfg,
            registrar: Mutex::new(registrar),
            auth: Mutex::new(auth),
            advertised,
            records,
            proxied: Mutex::new(OpenCalls::default()),
            calls: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            acd: std::sync::OnceLock::new(),
            controls: Mutex::new(HashMap::new()),
            id_prefix,
        }
    }

    pub fn record_route(&self) -> String {
        format!("<sip:{};lr>", self.advertised.addr)
    }

    pub fn contact_uri(&self) -> String {
        format!("sip:hotline@{}", self.advertised.addr)
    }

    pub fn via(&self, token: &str) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        format!(
            "SIP/2.0/UDP {};branch={BRANCH_PREFIX}{token}-{n:x};rport",
            self.advertised.addr
        )
    }

    /// Whether a host[:port] names us.
    pub fn is_local_host(&self, host: &str, port: Option<u16>) -> bool {
        let port_ok = |p: Option<u16>| {
            p.is_none_or(|p| {
                self.cfg
                    .udp
                    .iter()
                    .chain(self.cfg.tcp.iter())
                    .any(|a| a.port() == p)
            })
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.eq_ignore_ascii_case(&self.cfg.domain)
            || self
                .cfg
                .aliases
                .iter()
                .any(|a| a.eq_ignore_ascii_case(host))
        {
            return port_ok(port);
        }
        self.cfg.udp.iter().chain(self.cfg.tcp.iter()).any(|a| {
            let ip_match = a.ip().to_string() == host
                || (a.ip().is_unspecified() && host.parse::<std::net::IpAddr>().is_ok());
            ip_match && port.is_none_or(|p| p == a.port())
        })
    }

    pub fn uri_is_local(&self, uri: &rsipstack::sip::Uri) -> bool {
        let hp = &uri.host_with_port;
        self.is_local_host(
            &hp.host.to_string(),
            hp.port.as_ref().map(|p| u16::from(*p)),
        )
    }

    pub fn new_id(&self) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n:08x}", self.id_prefix)
    }

    pub fn new_record(
        &self,
        req: &Request,
        kind: CallKind,
        conn: Option<&SipConnection>,
    ) -> CallRecordBuilder {
        let from = msg::from_value(req);
        let caller = msg::uri_user(from).unwrap_or("anonymous");
        let dialed = req.uri.user().unwrap_or("");
        let mut b = CallRecordBuilder::arrived(
            self.new_id(),
            msg::call_id(req),
            caller,
            dialed,
            kind,
            chrono::Utc::now(),
        );
        if let Some(name) = msg::display_name(from) {
            b.caller_display(name);
        }
        if let Some(addr) = conn.and_then(|c| c.get_remote_addr()) {
            b.source(addr.addr.to_string());
        }
        b
    }

    pub fn finish_record(&self, b: CallRecordBuilder, reason: EndReason, code: u16) {
        let rec = b.ended(reason, code, chrono::Utc::now());
        metrics::counter!("hotline_call_records_total", "end_reason" => reason.as_str())
            .increment(1);
        self.records.submit(rec);
    }

    /// Keep an answered proxied call's record until its BYE.
    pub fn open_proxied(&self, call_id: String, caller: String, b: CallRecordBuilder) {
        self.proxied
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .open(call_id, caller, b);
    }

    /// A BYE passed through: the proxied call with this Call-ID has ended.
    pub fn close_proxied(&self, call_id: &str, from: &str) {
        let closed = self
            .proxied
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .close(call_id, msg::uri_user(from));
        if let Some((b, reason)) = closed {
            self.finish_record(b, reason, 200);
        }
    }

    /// Give up proxied calls open longer than `max_age` (their BYE was lost): `Timeout`.
    pub fn close_stale_proxied(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        max_age: chrono::Duration,
    ) {
        let stale = self
            .proxied
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take_stale(now, max_age);
        for b in stale {
            self.finish_record(b, EndReason::Timeout, 200);
        }
    }

    /// Close every open record (shutdown): the calls themselves are end to end and may go on.
    pub fn close_all_proxied(&self) {
        let all = self
            .proxied
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take_all();
        for b in all {
            self.finish_record(b, EndReason::Shutdown, 200);
        }
    }

    /// Registered targets of a user, in registrar order.
    pub fn targets_for_user(&self, user: &str) -> Vec<Target> {
        let now = std::time::Instant::now();
        let reg = self.registrar.lock().unwrap_or_else(|e| e.into_inner());
        reg.lookup(user, now)
            .into_iter()
            .map(|b| {
                let transport = if b.transport().eq_ignore_ascii_case("tcp") {
                    rsipstack::sip::Transport::Tcp
                } else {
                    rsipstack::sip::Transport::Udp
                };
                let dest = SipAddr {
                    r#type: Some(transport),
                    addr: nat_aware_destination(b.uri(), b.source()).into(),
                };
                Target {
                    uri: b.uri().to_string(),
                    dest,
                }
            })
            .collect()
    }

    /// Where to send a request whose next hop is `next` (a Route URI or the Request-URI): to a
    /// registered phone's NAT source when it is one of our bindings, else to the URI's host,
    /// resolved here with a bound so an unresolvable name is answered at once instead of holding a
    /// transaction until Timer B.
    pub async fn destination_for(&self, next: &str, ruri: &str) -> Result<SipAddr, NextHopError> {
        if let Some(user) = msg::uri_user(&format!("<{ruri}>"))
            && next == ruri
            && let Some(t) = self
                .targets_for_user(user)
                .into_iter()
                .find(|t| t.uri == ruri)
        {
            return Ok(t.dest);
        }
        let uri = rsipstack::sip::Uri::try_from(next).map_err(|_| NextHopError::BadUri)?;
        let mut addr = SipAddr::try_from(&uri).map_err(|_| NextHopError::BadUri)?;
        if let rsipstack::sip::Host::Domain(name) = &addr.addr.host {
            let port = addr
                .addr
                .port
                .as_ref()
                .map(|p| u16::from(*p))
                .unwrap_or(5060);
            let lookup = tokio::net::lookup_host((name.to_string(), port));
            let resolved = tokio::time::timeout(std::time::Duration::from_secs(2), lookup)
                .await
                .ok()
                .and_then(Result::ok)
                .and_then(|mut it| it.next())
                .ok_or(NextHopError::Unresolvable)?;
            addr.addr = resolved.into();
        }
        Ok(addr)
    }

    /// Send without a transaction (ACK for 2xx, §16.7 ACK forwarding).
    pub async fn send_stateless(&self, m: SipMessage, dest: &SipAddr) {
        match self.endpoint.transport_layer.lookup(dest, None).await {
            Ok((conn, addr)) => {
                if let Err(e) = conn.send(m, Some(&addr)).await {
                    debug!(error = %e, "stateless send failed");
                }
            }
            Err(e) => debug!(error = %e, "no route for stateless send"),
        }
    }
}

/// Where to reach a registered contact. A phone behind NAT registers a private address that differs
/// from the address its REGISTER came from: then only the source reaches it (what Kamailio's
/// nathelper does with `fix_nated_register`). When the contact's IP is the source's IP there is no
/// NAT on the path, and a different port is a deliberate third-party registration (a softphone
/// registering for the line it answers on), so the contact itself is used.
pub(crate) fn nat_aware_destination(
    contact: &str,
    source: std::net::SocketAddr,
) -> std::net::SocketAddr {
    let Ok(uri) = rsipstack::sip::Uri::try_from(contact) else {
        return source;
    };
    let host = uri.host_with_port.host.to_string();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) if ip == source.ip() => {
            let port = uri
                .host_with_port
                .port
                .as_ref()
                .map(|p| u16::from(*p))
                .unwrap_or(5060);
            std::net::SocketAddr::new(ip, port)
        }
        _ => source,
    }
}

#[cfg(test)]
mod tests {
    use super::nat_aware_destination;

    #[test]
    fn nat_rules() {
        let src: std::net::SocketAddr = "127.0.0.1:5061".parse().unwrap();
        assert_eq!(
            nat_aware_destination("sip:1001@127.0.0.1:5080;transport=UDP", src),
            "127.0.0.1:5080".parse().unwrap()
        );
        assert_eq!(
            nat_aware_destination("sip:1001@127.0.0.1", src),
            "127.0.0.1:5060".parse().unwrap()
        );
        let natted: std::net::SocketAddr = "203.0.113.7:40123".parse().unwrap();
        assert_eq!(
            nat_aware_destination("sip:1001@192.168.1.20:5060", natted),
            natted
        );
        assert_eq!(
            nat_aware_destination("sip:1001@phone.example.com", natted),
            natted
        );
    }
}
