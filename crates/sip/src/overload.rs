//! Overload control: whether to refuse new INVITEs with an early 503.
//!
//! Refusing early (a stateless 503 with Retry-After before any transaction exists) costs a fraction
//! of serving a call, so under twice the sustainable load the server keeps completing calls at its
//! clean rate instead of collapsing into retransmissions.
//!
//! Two signals, either one refuses:
//! - [`Backlog`], per UDP socket: datagrams have been waiting in the socket without a break for
//!   longer than a target. This is the signal that matters under a flood: it reacts within tens of
//!   milliseconds, before the callers' retransmission timer (T1 = 500 ms) doubles the load.
//! - [`Overload`]: INVITE handler tasks alive, a memory bound. A handler lives until its
//!   transactions end, which for an answered call includes RFC 6026's 32 s Accepted state, so this
//!   count is roughly the call rate times 32 s and caps the sustained rate at `limit / 32 s`; it
//!   cannot say how busy the server is right now.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

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

    #[cfg(test)]
    pub fn inflight(&self) -> usize {
        self.inflight.load(Ordering::Relaxed)
    }
}

/// Counts one INVITE handler in flight until dropped.
pub(crate) struct InflightGuard(std::sync::Arc<Overload>);

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.0.inflight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How long a UDP socket may stay non-empty before new calls are refused.
///
/// Short bursts are normal: SIPp and the proxy share two cores, so the reader is descheduled for
/// a few milliseconds now and then and the socket fills meanwhile, then drains within a poll.
/// A queue that has not drained for this long is a standing queue: arrivals exceed what the
/// server completes. Measured on the 2-core bench (bench/README.md): 50 ms refused 5-8 % of the
/// calls at 3,800-4,000 calls/s that the server then completed cleanly with 150 ms; 150 ms keeps
/// the waiting well under the callers' 500 ms retransmission timer (T1), past which every late
/// datagram comes back twice.
pub(crate) const BACKLOG_TARGET: Duration = Duration::from_millis(150);

/// Standing-queue detector for one socket (the idea of CoDel, RFC 8289: a queue that never empties
/// over an interval is a standing queue, whatever its length).
///
/// The reader reports when it found the socket empty ([`Backlog::drained`]); while datagrams keep
/// arriving faster than they are handled it never is, and `now - last drained` bounds from above
/// how long the datagram at hand has waited. Under overload the cheap 503s let the reader catch
/// up, the socket drains, new calls are admitted again: admission follows capacity by itself,
/// with no rate to configure.
#[derive(Debug, Clone)]
pub(crate) struct Backlog {
    target: Duration,
    last_drained: Instant,
}

impl Backlog {
    pub fn new(target: Duration, now: Instant) -> Self {
        Self {
            target,
            last_drained: now,
        }
    }

    /// The socket had nothing to read at `now` (or the reader was idle until `now`).
    pub fn drained(&mut self, now: Instant) {
        if now > self.last_drained {
            self.last_drained = now;
        }
    }

    /// Whether the socket has stayed non-empty for longer than the target.
    pub fn is_standing(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.last_drained) > self.target
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_queue_that_drains_within_the_target_is_no_overload() {
        let t0 = Instant::now();
        let mut b = Backlog::new(ms(50), t0);
        // A reader that finds the socket empty every 30 ms never refuses.
        for i in 1..=10 {
            let now = t0 + ms(30 * i);
            assert!(!b.is_standing(now), "at {} ms", 30 * i);
            b.drained(now);
        }
    }

    #[test]
    fn a_queue_that_has_not_drained_for_longer_than_the_target_is_standing() {
        let t0 = Instant::now();
        let b = Backlog::new(ms(50), t0);
        assert!(!b.is_standing(t0 + ms(50)));
        assert!(b.is_standing(t0 + ms(51)));
    }

    #[test]
    fn draining_once_ends_the_overload_until_the_queue_stands_again() {
        let t0 = Instant::now();
        let mut b = Backlog::new(ms(50), t0);
        assert!(b.is_standing(t0 + ms(80)));
        b.drained(t0 + ms(90));
        assert!(!b.is_standing(t0 + ms(90)));
        assert!(!b.is_standing(t0 + ms(140)));
        assert!(b.is_standing(t0 + ms(141)));
    }

    #[test]
    fn a_drain_reported_late_never_moves_the_clock_back() {
        let t0 = Instant::now();
        let mut b = Backlog::new(ms(50), t0);
        b.drained(t0 + ms(100));
        b.drained(t0 + ms(40));
        assert!(!b.is_standing(t0 + ms(150)));
        assert!(b.is_standing(t0 + ms(151)));
    }

    #[test]
    fn an_instant_before_the_last_drain_is_not_standing() {
        let t0 = Instant::now();
        let b = Backlog::new(ms(50), t0 + ms(10));
        assert!(!b.is_standing(t0));
    }

    #[test]
    fn the_inflight_limit_counts_live_guards() {
        let o = Arc::new(Overload::new(2));
        let a = o.enter();
        assert!(!o.is_overloaded());
        let b = o.enter();
        assert!(o.is_overloaded());
        assert_eq!(o.inflight(), 2);
        drop(a);
        assert!(!o.is_overloaded());
        drop(b);
        assert_eq!(o.inflight(), 0);
    }
}
