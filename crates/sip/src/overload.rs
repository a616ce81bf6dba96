//! Overload control: how many INVITE transactions are in flight, and whether to refuse new ones.
//!
//! Refusing early (a stateless 503 with Retry-After before any transaction exists) costs a fraction
//! of serving a call, so under twice the sustainable load the server keeps completing calls at its
//! clean rate instead of collapsing into retransmissions.

use std::sync::atomic::{AtomicUsize, Ordering};

pub(crate) struct Overload {
    inflight: AtomicUsize,
    limit: usize,
}

impl Overload {
    pub fn new(limit: usize) -> Self {
        Self {
            inflight: AtomicUsize::new(0),
            limit,
        }
    }

    pub fn is_overloaded(&self) -> bool {
        self.inflight.load(Ordering::Relaxed) >= self.limit
    }

    pub fn enter(self: &std::sync::Arc<Self>) -> InflightGuard {
        self.inflight.fetch_add(1, Ordering::Relaxed);
        InflightGuard(self.clone())
    }

    pub fn inflight(&self) -> usize {
        self.inflight.load(Ordering::Relaxed)
    }
}

/// Counts one call setup in flight until dropped.
pub(crate) struct InflightGuard(std::sync::Arc<Overload>);

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.0.inflight.fetch_sub(1, Ordering::Relaxed);
    }
}
