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
    /// Packets by send lateness: at most 1, 2, 5, 10, 20 ms, and more.
    pub lateness: [AtomicU64; 6],
}

/// Upper bounds of [`MediaStats::lateness`] buckets, microseconds (the last is open).
pub const LATENESS_BOUNDS_US: [u64; 5] = [1_000, 2_000, 5_000, 10_000, 20_000];

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
    lateness: [
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
    ],
};

impl MediaStats {
    pub(crate) fn sent(&self, lateness_us: u64) {
        self.packets_sent.fetch_add(1, Ordering::Relaxed);
        if lateness_us > LATE_MICROS {
            self.sent_late_5ms.fetch_add(1, Ordering::Relaxed);
        }
        self.max_lateness_us
            .fetch_max(lateness_us, Ordering::Relaxed);
        let bucket = LATENESS_BOUNDS_US
            .iter()
            .position(|&b| lateness_us <= b)
            .unwrap_or(LATENESS_BOUNDS_US.len());
        self.lateness[bucket].fetch_add(1, Ordering::Relaxed);
    }

    /// Cumulative lateness counts (`le` bound in ms, count), Prometheus-histogram style.
    pub fn lateness_histogram(&self) -> Vec<(String, u64)> {
        let mut total = 0;
        let mut out = Vec::new();
        for (i, c) in self.lateness.iter().enumerate() {
            total += c.load(Ordering::Relaxed);
            let le = LATENESS_BOUNDS_US
                .get(i)
                .map(|b| format!("{}", *b as f64 / 1_000_000.0))
                .unwrap_or_else(|| "+Inf".into());
            out.push((le, total));
        }
        out
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
