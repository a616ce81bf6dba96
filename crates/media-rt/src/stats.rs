//! Process-wide media counters, read by the server's /metrics and by the benchmark. Atomics,
//! not a metrics registry call per packet: at 100,000 packets a second the registry's hashing
//! would cost more than the packet.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct MediaStats {
    pub calls_active: AtomicU64,
    pub calls_total: AtomicU64,
    pub packets_sent: AtomicU64,
    pub packets_received: AtomicU64,
    pub send_errors: AtomicU64,
    /// Packets that left more than 5 ms after they were due (the pacing target).
    pub sent_late_5ms: AtomicU64,
    /// Worst lateness seen, microseconds.
    pub max_lateness_us: AtomicU64,
    pub rtp_timeouts: AtomicU64,
    pub recordings: AtomicU64,
}

/// Late beyond this counts in `sent_late_5ms`.
pub const LATE_MICROS: u64 = 5_000;

pub static STATS: MediaStats = MediaStats {
    calls_active: AtomicU64::new(0),
    calls_total: AtomicU64::new(0),
    packets_sent: AtomicU64::new(0),
    packets_received: AtomicU64::new(0),
    send_errors: AtomicU64::new(0),
    sent_late_5ms: AtomicU64::new(0),
    max_lateness_us: AtomicU64::new(0),
    rtp_timeouts: AtomicU64::new(0),
    recordings: AtomicU64::new(0),
};

impl MediaStats {
    pub(crate) fn sent(&self, lateness_us: u64) {
        self.packets_sent.fetch_add(1, Ordering::Relaxed);
        if lateness_us > LATE_MICROS {
            self.sent_late_5ms.fetch_add(1, Ordering::Relaxed);
        }
        self.max_lateness_us
            .fetch_max(lateness_us, Ordering::Relaxed);
    }

    /// A snapshot as (name, value) pairs for exporters.
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        vec![
            ("calls_active", g(&self.calls_active)),
            ("calls_total", g(&self.calls_total)),
            ("packets_sent", g(&self.packets_sent)),
            ("packets_received", g(&self.packets_received)),
            ("send_errors", g(&self.send_errors)),
            ("sent_late_5ms", g(&self.sent_late_5ms)),
            ("max_lateness_us", g(&self.max_lateness_us)),
            ("rtp_timeouts", g(&self.rtp_timeouts)),
            ("recordings", g(&self.recordings)),
        ]
    }
}
