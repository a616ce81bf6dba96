//! The UDP socket rsipstack reads through: every datagram is screened by `hotline-wire` first, so
//! malformed messages get the RFC's answer (or are dropped) instead of vanishing in a liberal
//! parser, and new INVITEs are refused early with 503 when the server is overloaded.

use crate::overload::Overload;
use hotline_wire::{Kind, Limits, Verdict};
use rsipstack::platform::net::UdpSocket as StackUdpSocket;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tracing::{info, warn};

pub(crate) struct GuardedUdp {
    sock: tokio::net::UdpSocket,
    limits: Limits,
    overload: Arc<Overload>,
    retry_after: String,
    log: RefusalLog,
}

impl GuardedUdp {
    pub fn new(
        sock: tokio::net::UdpSocket,
        overload: Arc<Overload>,
        retry_after_secs: u32,
    ) -> Self {
        Self {
            sock,
            limits: Limits::default(),
            overload,
            retry_after: retry_after_secs.to_string(),
            log: RefusalLog::new(Duration::from_secs(1), 20),
        }
    }
}

#[async_trait::async_trait]
impl StackUdpSocket for GuardedUdp {
    async fn recv_from(&self, buf: &mut [u8]) -> rsipstack::Result<(usize, SocketAddr)> {
        let mut raw = vec![0u8; 65_536];
        loop {
            let (len, from) = self.sock.recv_from(&mut raw).await?;
            let datagram = &raw[..len];
            match hotline_wire::screen_datagram(datagram, &self.limits) {
                Verdict::Accept { bytes, head } => {
                    if let Kind::Request { method } = &head.kind {
                        if method == "INVITE" && !head.has_to_tag && self.overload.is_overloaded() {
                            metrics::counter!("hotline_sip_overload_rejected_total").increment(1);
                            if let Some(resp) = hotline_wire::stateless_response(
                                &bytes,
                                503,
                                "Service Unavailable",
                                &[("Retry-After", &self.retry_after)],
                            ) {
                                self.sock.send_to(&resp, from).await.ok();
                            }
                            continue;
                        }
                    }
                    // Requests a liberal stack would drop (folded or missing From tag) are
                    // normalised; the common case borrows and copies once, into `buf`.
                    let bytes = match head.kind {
                        Kind::Request { .. } => match hotline_wire::compat_rewrite(&bytes) {
                            std::borrow::Cow::Borrowed(_) => bytes,
                            std::borrow::Cow::Owned(v) => std::borrow::Cow::Owned(v),
                        },
                        Kind::Response { .. } => bytes,
                    };
                    if bytes.len() > buf.len() {
                        self.log
                            .refused(from, "datagram larger than the stack's buffer");
                        continue;
                    }
                    buf[..bytes.len()].copy_from_slice(&bytes);
                    return Ok((bytes.len(), from));
                }
                Verdict::Reply {
                    status,
                    response,
                    refusal,
                } => {
                    metrics::counter!("hotline_sip_refused_total", "status" => status.to_string())
                        .increment(1);
                    self.log.refused(from, &format!("{status}: {refusal:?}"));
                    self.sock.send_to(&response, from).await.ok();
                }
                Verdict::Drop(refusal) => {
                    metrics::counter!("hotline_sip_dropped_total").increment(1);
                    self.log.refused(from, &format!("dropped: {refusal:?}"));
                }
            }
        }
    }

    async fn send_to(&self, buf: &[u8], addr: SocketAddr) -> rsipstack::Result<usize> {
        Ok(self.sock.send_to(buf, addr).await?)
    }

    fn local_addr(&self) -> rsipstack::Result<SocketAddr> {
        Ok(self.sock.local_addr()?)
    }
}

/// Logs why datagrams were refused, at most `burst` lines per `window`, then one summary of how many
/// were suppressed: a flood of garbage must not fill the disk.
pub(crate) struct RefusalLog {
    window: Duration,
    burst: u64,
    state: std::sync::Mutex<(Instant, u64)>,
    suppressed: AtomicU64,
}

impl RefusalLog {
    pub fn new(window: Duration, burst: u64) -> Self {
        Self {
            window,
            burst,
            state: std::sync::Mutex::new((Instant::now(), 0)),
            suppressed: AtomicU64::new(0),
        }
    }

    pub fn refused(&self, from: SocketAddr, why: &str) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if now.duration_since(st.0) >= self.window {
            let n = self.suppressed.swap(0, Ordering::Relaxed);
            if n > 0 {
                warn!(
                    suppressed = n,
                    "refused SIP datagrams not logged in the last window"
                );
            }
            *st = (now, 0);
        }
        if st.1 < self.burst {
            st.1 += 1;
            info!(%from, why, "refused SIP datagram");
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
        }
    }
}
