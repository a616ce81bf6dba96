//! The WebRTC side of bridging (issue 8's bench, first part): N browser-like str0m peers, each
//! with its leg, over the simulated network of the tests; every 20 ms both ends send a G.711
//! frame. Measured: the real time spent inside the legs (one thread, so CPU), per call and per
//! frame, and a frame's delay from the browser's write to the leg handing it out beyond the
//! network's latency (simulated time: it includes the sending str0m peer's pacing, so it bounds
//! what the leg adds from above). The legs' handshakes (ICE, DTLS) are measured apart.
//!
//! `cargo bench -p hotline-webrtc --bench legs -- --legs 200 --seconds 10`

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{SERVER, World, accept, addr, browser, chromium_like};
use hotline_webrtc::{Leg, LegOutput};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let legs = arg("--legs", 200) as usize;
    let seconds = arg("--seconds", 10);
    let start = Instant::now();
    let mut worlds = Vec::with_capacity(legs);
    let setup = Instant::now();
    for _ in 0..legs {
        let (mut b, offer, pending) = browser(start, chromium_like());
        let (leg, answer) = Leg::answer(&offer, addr(SERVER), start).expect("answer");
        accept(&mut b, pending, &answer);
        let mut w = World::new(start, b, leg);
        w.measure = true;
        assert!(
            w.run_until(Duration::from_secs(5), World::connected),
            "connects"
        );
        worlds.push(w);
    }
    let setup_wall = setup.elapsed();
    let handshake: Duration = worlds.iter().map(|w| w.leg_busy).sum();
    for w in &mut worlds {
        w.leg_busy = Duration::ZERO;
        w.leg_out.clear();
        w.leg_out_at.clear();
    }

    let frames = seconds * 50;
    let frame = vec![0x7f_u8; 160];
    let pts: Vec<_> = worlds.iter_mut().map(|w| w.browser_pcmu()).collect();
    // Every world's clock starts the media at its own connect time plus a common offset.
    let t0: Vec<Instant> = worlds
        .iter()
        .map(|w| w.now + Duration::from_millis(20))
        .collect();
    let mut sent_at: Vec<Vec<Instant>> = vec![Vec::with_capacity(frames as usize); legs];
    let run = Instant::now();
    for i in 0..frames {
        for (k, w) in worlds.iter_mut().enumerate() {
            let at = t0[k] + Duration::from_millis(20 * i);
            w.run_until(at.saturating_duration_since(w.now), |_| false);
            sent_at[k].push(w.now);
            w.send_frames(pts[k], 160 * i, &frame, &frame);
        }
    }
    for w in worlds.iter_mut() {
        w.run_until(Duration::from_millis(200), |_| false);
    }
    let run_wall = run.elapsed();

    let busy: Duration = worlds.iter().map(|w| w.leg_busy).sum();
    let mut delays_ms = Vec::new();
    let mut received = 0_u64;
    for (k, w) in worlds.iter().enumerate() {
        let mut n = 0;
        for (o, at) in w.leg_out.iter().zip(&w.leg_out_at) {
            if let LegOutput::Audio { .. } = o {
                if let Some(sent) = sent_at[k].get(n) {
                    let d = at
                        .saturating_duration_since(*sent)
                        .saturating_sub(common::LATENCY);
                    delays_ms.push(d.as_secs_f64() * 1000.0);
                }
                n += 1;
            }
        }
        received += n as u64;
    }
    let per_call = busy.as_secs_f64() / legs as f64 / seconds as f64 * 100.0;
    let per_frame_us = busy.as_secs_f64() * 1e6 / (received.max(1) as f64 * 2.0);
    println!("hotline-webrtc legs bench: {legs} legs, {seconds} s of audio each way (20 ms G.711)");
    println!();
    println!("| measure | value |");
    println!("| --- | ---: |");
    println!(
        "| handshake (ICE-lite + DTLS-SRTP), leg CPU per leg | {:.2} ms |",
        handshake.as_secs_f64() * 1000.0 / legs as f64
    );
    println!(
        "| setup wall time, both ends, all legs | {:.2} s |",
        setup_wall.as_secs_f64()
    );
    println!("| media: leg CPU per call | {per_call:.3} % of one core |");
    println!(
        "| media: leg CPU for all {legs} calls | {:.1} % of one core |",
        per_call * legs as f64
    );
    println!("| media: leg CPU per frame (one in + one out) | {per_frame_us:.1} µs |");
    println!(
        "| frames handed out by the legs | {received} of {} |",
        frames * legs as u64
    );
    println!(
        "| frame delay, browser write to leg output beyond the network (simulated clock; includes the sending peer's pacer), p50 / p99 / max | {:.2} / {:.2} / {:.2} ms |",
        percentile(&mut delays_ms, 0.5),
        percentile(&mut delays_ms, 0.99),
        percentile(&mut delays_ms, 1.0)
    );
    println!(
        "| run wall time, both ends | {:.2} s |",
        run_wall.as_secs_f64()
    );
}
