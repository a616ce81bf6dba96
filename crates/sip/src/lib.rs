//! The async SIP shell on rsipstack (the only crate that names it): transports, the registrar's
//! glue, the stateful proxy, the hotline's B2BUA entry point and overload control.
//!
//! Decisions are made by the pure crates (`hotline-wire` screens datagrams, `hotline-registrar`
//! authenticates and keeps bindings, `hotline-routing` routes and forks); this crate moves messages
//! between them and the network.

mod acd;
mod anchored;
mod b2bua;
mod browser;
mod caller_leg;
mod config;
mod core;
mod dispatch;
mod feature;
mod guard;
mod msg;
mod open_calls;
mod overload;
mod proxy;
mod records;
mod register;

pub use acd::{
    AcdApiError, AcdHandle, AcdSetup, AcdStore, AgentOp, CallbackItem, Restored, Snapshot,
    StoreFailure,
};
pub use browser::{Phone, PhoneError, PhoneEvent, Phones, Ringing};
pub use config::{AgentInfo, LineInfo, MediaSetup, NumberPlan, SipConfig};
pub use records::RecordSink;

use crate::core::Core;
use overload::Overload;
use rsipstack::EndpointBuilder;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::transaction::endpoint::EndpointOption;
use rsipstack::transport::tcp_listener::TcpListenerConnection;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{SipAddr, TransportLayer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::info;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SipError {
    #[error("cannot listen on {addr} ({proto}): {source}")]
    Bind {
        addr: SocketAddr,
        proto: &'static str,
        source: std::io::Error,
    },
    #[error("no UDP listen address configured")]
    NoUdp,
    #[error("SIP stack: {0}")]
    Stack(String),
    #[error(transparent)]
    Acd(#[from] hotline_acd::AcdError),
}

/// How a supervisor takes part in a call they monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonitorMode {
    /// 监听: hears the citizen and the agent, heard by nobody.
    Listen,
    /// 密语: heard by the agent only.
    Whisper,
    /// 强插: heard by both.
    Barge,
}

impl MonitorMode {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "listen" => Some(MonitorMode::Listen),
            "whisper" => Some(MonitorMode::Whisper),
            "barge" => Some(MonitorMode::Barge),
            _ => None,
        }
    }
}

impl From<MonitorMode> for hotline_media::session::SeatMode {
    fn from(m: MonitorMode) -> Self {
        match m {
            MonitorMode::Listen => hotline_media::session::SeatMode::Listen,
            MonitorMode::Whisper => hotline_media::session::SeatMode::Whisper,
            MonitorMode::Barge => hotline_media::session::SeatMode::Talk,
        }
    }
}

/// A handle on the calls in progress.
#[derive(Clone)]
pub struct Calls {
    core: std::sync::Weak<Core>,
}

/// Why a call could not be controlled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallControlError {
    #[error("no call {0} in progress")]
    NoCall(String),
    #[error("{0}")]
    Refused(String),
}

impl Calls {
    /// One-key emergency transfer of call `record` to the trunk of `number`; waits for the
    /// trunk's answer (or failure) and returns the number the caller is now with.
    /// With `stay` the trunk joins as a third party and the agent stays to brief the
    /// dispatcher (and leaves by hanging up).
    pub async fn emergency_transfer(
        &self,
        record: &str,
        number: &str,
        stay: bool,
    ) -> Result<String, CallControlError> {
        self.control(record, |reply| anchored::CallControl::Emergency {
            number: number.to_string(),
            stay,
            reply,
        })
        .await
    }

    /// Blind transfer of call `record` to `to` (an agent id, an annex number or a SIP URI);
    /// the caller stays with the agent until the target answers (and if it does not).
    pub async fn blind_transfer(&self, record: &str, to: &str) -> Result<String, CallControlError> {
        self.control(record, |reply| anchored::CallControl::Transfer {
            to: to.to_string(),
            reply,
        })
        .await
    }

    /// A supervisor monitors call `record` from `phone` (rung, then mixed in as `mode`);
    /// returns the phone's number once it joined.
    pub async fn monitor(
        &self,
        record: &str,
        phone: &str,
        mode: MonitorMode,
    ) -> Result<String, CallControlError> {
        self.control(record, |reply| anchored::CallControl::Monitor {
            phone: phone.to_string(),
            mode: mode.into(),
            reply,
        })
        .await
    }

    /// The monitoring supervisor switches to `mode`.
    pub async fn monitor_mode(
        &self,
        record: &str,
        mode: MonitorMode,
    ) -> Result<String, CallControlError> {
        self.control(record, |reply| anchored::CallControl::MonitorMode {
            mode: mode.into(),
            reply,
        })
        .await
    }

    /// Puts call `record` on hold (music for the caller) or resumes it.
    pub async fn hold(&self, record: &str, on: bool) -> Result<String, CallControlError> {
        self.control(record, |reply| anchored::CallControl::Hold { on, reply })
            .await
    }

    /// Three-party call: rings the remote seat of `who` (an annex number such as 12369, or a
    /// unit's name) and mixes it into call `record` when it answers; returns its number.
    pub async fn bring_in_seat(&self, record: &str, who: &str) -> Result<String, CallControlError> {
        self.control(record, |reply| anchored::CallControl::Seat {
            who: who.to_string(),
            reply,
        })
        .await
    }

    async fn control(
        &self,
        record: &str,
        make: impl FnOnce(tokio::sync::oneshot::Sender<Result<String, String>>) -> anchored::CallControl,
    ) -> Result<String, CallControlError> {
        let tx = self
            .core
            .upgrade()
            .and_then(|c| {
                c.controls
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(record)
                    .cloned()
            })
            .ok_or_else(|| CallControlError::NoCall(record.to_string()))?;
        let (reply, rx) = tokio::sync::oneshot::channel();
        tx.send(make(reply))
            .map_err(|_| CallControlError::NoCall(record.to_string()))?;
        match rx.await {
            Ok(Ok(n)) => Ok(n),
            Ok(Err(why)) => Err(CallControlError::Refused(why)),
            Err(_) => Err(CallControlError::NoCall(record.to_string())),
        }
    }
}

/// A running SIP service.
pub struct SipServer {
    core: Arc<Core>,
    phones: Phones,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    udp_addrs: Vec<SocketAddr>,
    tcp_addrs: Vec<SocketAddr>,
}

impl SipServer {
    /// Bind the configured transports and start serving.
    pub async fn start(mut cfg: SipConfig, records: RecordSink) -> Result<Self, SipError> {
        let cancel = CancellationToken::new();
        let overload = Arc::new(Overload::new(cfg.max_inflight));
        let transport = TransportLayer::new(cancel.child_token());
        let mut udp_addrs = Vec::new();
        for addr in &cfg.udp {
            let sock = bind_udp(*addr).map_err(|source| SipError::Bind {
                addr: *addr,
                proto: "udp",
                source,
            })?;
            let local = sock.local_addr().map_err(|source| SipError::Bind {
                addr: *addr,
                proto: "udp",
                source,
            })?;
            // One reader task per socket. Two readers on the same socket (measured 2026-11-25,
            // bench/README.md) raised the clean rate from 4,000 to 5,000 calls/s but moved the
            // queue from the socket into the stack's tasks, where the backlog detector cannot see
            // it: at 6,000 calls/s and under 2x overload the server then collapsed into
            // retransmissions instead of shedding with 503. Kept at one until the detector can
            // see the stack's own queues.
            let sock = Arc::new(sock);
            for _ in 0..udp_readers() {
                let guarded =
                    guard::GuardedUdp::new(sock.clone(), overload.clone(), cfg.retry_after_secs);
                let conn =
                    UdpConnection::from_socket(Arc::new(guarded), None, Some(cancel.child_token()))
                        .await
                        .map_err(|e| SipError::Stack(e.to_string()))?;
                transport.add_transport(conn.into());
            }
            udp_addrs.push(local);
        }
        let Some(first_udp) = udp_addrs.first().copied() else {
            return Err(SipError::NoUdp);
        };
        let mut tcp_addrs = Vec::new();
        for addr in &cfg.tcp {
            // Bind once ourselves so a port in use is reported here, with the address, and so
            // port 0 resolves to the real port before rsipstack takes the socket.
            let probe = std::net::TcpListener::bind(addr).map_err(|source| SipError::Bind {
                addr: *addr,
                proto: "tcp",
                source,
            })?;
            let local = probe.local_addr().map_err(|source| SipError::Bind {
                addr: *addr,
                proto: "tcp",
                source,
            })?;
            drop(probe);
            let listener = TcpListenerConnection::new(local, None)
                .await
                .map_err(|e| SipError::Stack(e.to_string()))?;
            transport.add_transport(listener.into());
            tcp_addrs.push(local);
        }

        // From here on the addresses are the bound ones (a configured port 0 becomes the real
        // port), so "is this request for us" compares with what peers actually reach.
        cfg.udp = udp_addrs.clone();
        cfg.tcp = tcp_addrs.clone();
        // Call-IDs we generate for B2BUA legs end with our host, as RFC 3261 §8.1.1.4 suggests.
        let opt = EndpointOption {
            callid_suffix: Some(cfg.domain.clone()),
            ..EndpointOption::default()
        };
        let endpoint = EndpointBuilder::new()
            .with_user_agent(&cfg.user_agent)
            .with_transport_layer(transport)
            .with_cancel_token(cancel.child_token())
            .with_option(opt)
            .build();
        let incoming = endpoint
            .incoming_transactions()
            .map_err(|e| SipError::Stack(e.to_string()))?;
        let inner = endpoint.inner.clone();
        let dialogs = Arc::new(DialogLayer::new(inner.clone()));

        let mut secret = [0u8; 32];
        rand_fill(&mut secret);
        let mut auth_cfg = hotline_registrar::AuthConfig::new(cfg.realm.clone());
        auth_cfg.nonce_ttl = cfg.nonce_ttl;
        if !cfg.digest_algorithms.is_empty() {
            auth_cfg.algorithms = cfg.digest_algorithms.clone();
        }
        let auth = hotline_registrar::Authenticator::with_config(
            auth_cfg,
            std::time::Instant::now(),
            secret,
        );
        let registrar = hotline_registrar::Registrar::new(cfg.registrar.clone());
        let advertised = SipAddr::from(first_udp);
        let (records_sink, id_prefix) = (
            records,
            format!(
                "{:08x}",
                u32::from_le_bytes([secret[0], secret[1], secret[2], secret[3]])
            ),
        );
        let core = Arc::new(Core::new(
            inner.clone(),
            cfg,
            registrar,
            auth,
            advertised,
            records_sink,
            id_prefix,
        ));

        if let Some(setup) = core.cfg.acd.clone() {
            let handle = acd::start(setup, Arc::downgrade(&core), cancel.child_token())?;
            let _ = core.acd.set(handle);
        }
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(async move { endpoint.serve().await }));
        tasks.push(tokio::spawn(dispatch::run(
            core.clone(),
            dialogs,
            incoming,
            overload.clone(),
        )));
        tasks.push(tokio::spawn(register::expiry_loop(
            core.clone(),
            cancel.child_token(),
        )));
        // rsipstack binds its TCP listeners inside the serve task: wait until each accepts, so
        // "ready" means ready (a client connecting at once was refused otherwise).
        for addr in &tcp_addrs {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
            while tokio::net::TcpStream::connect(addr).await.is_err() {
                if tokio::time::Instant::now() > deadline {
                    return Err(SipError::Stack(format!(
                        "TCP listener on {addr} did not start"
                    )));
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        // The browser phones' gateway listens beside our first UDP address, so the INVITEs
        // that ring a page travel the same path as those to a desk phone.
        let phones = Phones::new(
            browser::Gateway::start(&core, first_udp.ip(), cancel.child_token()).await?,
        );
        info!(udp = ?udp_addrs, tcp = ?tcp_addrs, "SIP service started");
        Ok(Self {
            core,
            phones,
            cancel,
            tasks,
            udp_addrs,
            tcp_addrs,
        })
    }

    /// Control of calls in progress (the API's one-key emergency transfer).
    pub fn calls(&self) -> Calls {
        Calls {
            core: Arc::downgrade(&self.core),
        }
    }

    /// The ACD, when the configuration has one.
    /// The agents' browser phones (the desktop's WebRTC softphone).
    pub fn phones(&self) -> Phones {
        self.phones.clone()
    }

    pub fn acd(&self) -> Option<AcdHandle> {
        self.core.acd.get().cloned()
    }

    pub fn udp_addrs(&self) -> &[SocketAddr] {
        &self.udp_addrs
    }

    pub fn tcp_addrs(&self) -> &[SocketAddr] {
        &self.tcp_addrs
    }

    /// Graceful stop: hang up every B2BUA call (BYE to both sides, or 503 to unanswered callers),
    /// wait for them to finish (at most `grace`), close the open proxied records, stop listening.
    pub async fn shutdown(self, grace: Duration) {
        let tokens: Vec<CancellationToken> = self
            .core
            .calls
            .lock()
            .map(|c| c.values().cloned().collect())
            .unwrap_or_default();
        info!(calls = tokens.len(), "hanging up calls in progress");
        for t in &tokens {
            t.cancel();
        }
        let deadline = tokio::time::Instant::now() + grace;
        while tokio::time::Instant::now() < deadline
            && self
                .core
                .calls
                .lock()
                .map(|c| !c.is_empty())
                .unwrap_or(false)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Let the BYEs' transactions reach the wire before the transports close.
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.core.close_all_proxied();
        if let Some(acd) = self.core.acd.get() {
            acd.close().await;
        }
        self.cancel.cancel();
        for t in self.tasks {
            t.abort();
        }
    }
}

/// Kernel buffer per direction of a UDP socket. The default (~208 KiB, about a hundred SIP
/// datagrams) overflowed at 4,000 calls/s whenever the reader was descheduled for a few
/// milliseconds: every drop is a 500 ms retransmission. The kernel caps this at
/// net.core.rmem_max/wmem_max (a smaller cap is not an error).
const UDP_BUFFER_BYTES: usize = 4 << 20;

/// How many tasks read each UDP socket: one per core the runtime may use, at most 8.
fn udp_readers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8)
}

fn bind_udp(addr: SocketAddr) -> std::io::Result<tokio::net::UdpSocket> {
    let domain = socket2::Domain::for_address(addr);
    let sock = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))?;
    // Best effort: a host that refuses a larger buffer still gets a working socket.
    if let Err(e) = sock.set_recv_buffer_size(UDP_BUFFER_BYTES) {
        tracing::warn!(%addr, error = %e, "cannot enlarge the UDP receive buffer");
    }
    if let Err(e) = sock.set_send_buffer_size(UDP_BUFFER_BYTES) {
        tracing::warn!(%addr, error = %e, "cannot enlarge the UDP send buffer");
    }
    sock.bind(&addr.into())?;
    sock.set_nonblocking(true)?;
    tokio::net::UdpSocket::from_std(sock.into())
}

fn rand_fill(buf: &mut [u8]) {
    use rand::RngCore;
    rand::rng().fill_bytes(buf);
}
