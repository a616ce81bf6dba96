//! The UDP socket rsipstack reads through: every datagram is screened by `hotline-wire` first, so
//! malformed messages get the RFC's answer (or are dropped) instead of vanishing in a liberal
//! parser, and new INVITEs are refused early with 503 when the server is overloaded.

use crate::overload::{BACKLOG_TARGET, Backlog, Overload};
use hotline_wire::{Kind, Limits, Verdict};
use rsipstack::platform::net::UdpSocket as StackUdpSocket;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// The largest UDP payload: a datagram is read whole, then screened, then copied into the stack's
/// (smaller) buffer, so an oversized one is refused by us rather than truncated by the kernel.
const MAX_DATAGRAM: usize = 65_536;

pub(crate) struct GuardedUdp {
    sock: Arc<tokio::net::UdpSocket>,
    limits: Limits,
    overload: Arc<Overload>,
    retry_after: String,
    log: RefusalLog,
    reader: std::sync::Mutex<Reader>,
}

/// What only the reading loop touches. A lock, not a field, because rsipstack's socket trait reads
/// through `&self`; it is never held across an await, and only the one reader takes it.
struct Reader {
    /// Reused for every datagram instead of allocating and zeroing 64 KiB per read (about 1 % of
    /// the server's CPU at 3,000 calls/s, in the reader task that every datagram waits for).
    scratch: Box<[u8]>,
    backlog: Backlog,
}

/// What to do with one datagram once the scratch buffer is released.
enum Step {
    /// `len` bytes from `from` are in the stack's buffer.
    Deliver(usize, SocketAddr),
    /// Answer statelessly and read on.
    Answer(Vec<u8>, SocketAddr),
    /// Dropped or refused without an answer; read on.
    Skip,
    /// The socket is empty.
    Empty,
}

impl GuardedUdp {
    pub fn new(
        sock: Arc<tokio::net::UdpSocket>,
        overload: Arc<Overload>,
        retry_after_secs: u32,
    ) -> Self {
        Self {
            sock,
            limits: Limits::default(),
            overload,
            retry_after: retry_after_secs.to_string(),
            log: RefusalLog::new(Duration::from_secs(1), 20),
            reader: std::sync::Mutex::new(Reader {
                scratch: vec![0u8; MAX_DATAGRAM].into_boxed_slice(),
                backlog: Backlog::new(BACKLOG_TARGET, Instant::now()),
            }),
        }
    }

    /// Screen one datagram and, when accepted, copy it into the stack's buffer.
    fn screen(&self, datagram: &[u8], from: SocketAddr, backlog: &Backlog, buf: &mut [u8]) -> Step {
        match hotline_wire::screen_datagram(datagram, &self.limits) {
            Verdict::Accept { bytes, head } => {
                if let Kind::Request { method } = &head.kind
                    && method == "INVITE"
                    && !head.has_to_tag
                    && (backlog.is_standing(Instant::now()) || self.overload.is_overloaded())
                {
                    metrics::counter!("hotline_sip_overload_rejected_total").increment(1);
                    return match hotline_wire::stateless_response(
                        &bytes,
                        503,
                        "Service Unavailable",
                        &[("Retry-After", &self.retry_after)],
                    ) {
                        Some(resp) => Step::Answer(resp, from),
                        None => Step::Skip,
                    };
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
                    return Step::Skip;
                }
                buf[..bytes.len()].copy_from_slice(&bytes);
                Step::Deliver(bytes.len(), from)
            }
            Verdict::Reply {
                status,
                response,
                refusal,
            } => {
                metrics::counter!("hotline_sip_refused_total", "status" => status.to_string())
                    .increment(1);
                self.log.refused(from, &format!("{status}: {refusal:?}"));
                Step::Answer(response, from)
            }
            Verdict::Drop(refusal) => {
                metrics::counter!("hotline_sip_dropped_total").increment(1);
                self.log.refused(from, &format!("dropped: {refusal:?}"));
                Step::Skip
            }
        }
    }
}

#[async_trait::async_trait]
impl StackUdpSocket for GuardedUdp {
    async fn recv_from(&self, buf: &mut [u8]) -> rsipstack::Result<(usize, SocketAddr)> {
        loop {
            let step = {
                let mut reader = self.reader.lock().unwrap_or_else(|e| e.into_inner());
                let Reader { scratch, backlog } = &mut *reader;
                match self.sock.try_recv_from(scratch) {
                    Ok((len, from)) => self.screen(&scratch[..len], from, backlog, buf),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Step::Empty,
                    Err(e) => return Err(e.into()),
                }
            };
            match step {
                Step::Deliver(len, from) => {
                    // try_recv_from spends no cooperative budget: without this a flood would
                    // keep the reader on its worker and starve the tasks it feeds.
                    tokio::task::coop::consume_budget().await;
                    return Ok((len, from));
                }
                Step::Answer(resp, to) => {
                    self.sock.send_to(&resp, to).await.ok();
                    tokio::task::coop::consume_budget().await;
                }
                Step::Skip => tokio::task::coop::consume_budget().await,
                Step::Empty => {
                    self.sock.readable().await?;
                    // Empty until now: whatever is queued arrived while we waited.
                    self.reader
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .backlog
                        .drained(Instant::now());
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
