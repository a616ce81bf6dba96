//! RTP/RTCP port pairs from a configured range (RFC 3550 §11: RTP on an even port, RTCP on the
//! next odd one).
//!
//! Ports are handed out round-robin rather than lowest-first, so a port released by one call is
//! not reused at once by the next: late packets of the old call (a phone that has not seen the
//! BYE yet) would otherwise land in a stranger's call. A port some other process holds is
//! skipped, not fatal: several hotlines (or tests) may share a range.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::net::UdpSocket;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PortError {
    #[error("RTP port range {min}-{max} holds no even/odd pair")]
    EmptyRange { min: u16, max: u16 },
    #[error("no free RTP port pair in {min}-{max} on {ip} ({in_use} in use by calls here)")]
    Exhausted {
        ip: IpAddr,
        min: u16,
        max: u16,
        in_use: usize,
    },
    #[error("cannot bind RTP on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

struct PoolState {
    /// Next even port to try.
    cursor: u16,
    in_use: std::collections::HashSet<u16>,
}

/// The pool; cheap to clone.
#[derive(Clone)]
pub struct PortPool {
    ip: IpAddr,
    min: u16,
    max: u16,
    state: Arc<Mutex<PoolState>>,
}

/// A bound RTP/RTCP pair; the ports go back to the pool when it is dropped.
pub struct PortPair {
    pub rtp: UdpSocket,
    pub rtcp: UdpSocket,
    port: u16,
    pool: PortPool,
}

impl PortPair {
    pub fn rtp_port(&self) -> u16 {
        self.port
    }

    pub fn local_ip(&self) -> IpAddr {
        self.pool.ip
    }
}

impl Drop for PortPair {
    fn drop(&mut self) {
        if let Ok(mut s) = self.pool.state.lock() {
            s.in_use.remove(&self.port);
        }
    }
}

impl PortPool {
    /// Ports `min..=max` on `ip` (both inclusive); `min` is rounded up to even.
    pub fn new(ip: IpAddr, min: u16, max: u16) -> Result<Self, PortError> {
        let first = min.saturating_add(min % 2);
        if first >= max {
            // The pair needs `first + 1 <= max`.
            return Err(PortError::EmptyRange { min, max });
        }
        Ok(Self {
            ip,
            min: first,
            max,
            state: Arc::new(Mutex::new(PoolState {
                cursor: first,
                in_use: Default::default(),
            })),
        })
    }

    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// The first RTP port (even).
    pub fn min(&self) -> u16 {
        self.min
    }

    pub fn max(&self) -> u16 {
        self.max
    }

    /// Pairs the range can hold.
    pub fn capacity(&self) -> usize {
        usize::from((self.max - self.min).div_ceil(2))
    }

    pub fn in_use(&self) -> usize {
        self.state.lock().map(|s| s.in_use.len()).unwrap_or(0)
    }

    /// Binds the next free pair. Must run inside a tokio runtime (the sockets register with it).
    pub fn allocate(&self) -> Result<PortPair, PortError> {
        let tries = self.capacity();
        for _ in 0..tries {
            let port = {
                let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
                let mut port = s.cursor;
                let mut guard = 0;
                while s.in_use.contains(&port) && guard < tries {
                    port = self.advance(port);
                    guard += 1;
                }
                if s.in_use.contains(&port) {
                    break;
                }
                s.cursor = self.advance(port);
                s.in_use.insert(port);
                port
            };
            match (bind(self.ip, port), bind(self.ip, port + 1)) {
                (Ok(rtp), Ok(rtcp)) => {
                    return Ok(PortPair {
                        rtp,
                        rtcp,
                        port,
                        pool: self.clone(),
                    });
                }
                _ => {
                    // Someone else holds it: give it back and try the next.
                    if let Ok(mut s) = self.state.lock() {
                        s.in_use.remove(&port);
                    }
                }
            }
        }
        Err(PortError::Exhausted {
            ip: self.ip,
            min: self.min,
            max: self.max,
            in_use: self.in_use(),
        })
    }

    fn advance(&self, port: u16) -> u16 {
        let next = port.saturating_add(2);
        if next >= self.max { self.min } else { next }
        // (`next >= max` also covers `next + 1 > max`: a pair must fit below or at `max`.)
    }
}

fn bind(ip: IpAddr, port: u16) -> Result<UdpSocket, PortError> {
    let addr = SocketAddr::new(ip, port);
    let sock =
        std::net::UdpSocket::bind(addr).map_err(|source| PortError::Bind { addr, source })?;
    sock.set_nonblocking(true)
        .map_err(|source| PortError::Bind { addr, source })?;
    UdpSocket::from_std(sock).map_err(|source| PortError::Bind { addr, source })
}
