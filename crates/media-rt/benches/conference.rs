//! Concurrent three-party calls (issue 5's target: 300 on 2 cores with no late or lost
//! packets): the media engine as the hotline runs it — one task per call, the pacing clock,
//! the mixer — with RTP flowing into all three legs of every conference from a load
//! generator in a second process (so its CPU is not counted), over loopback.
//!
//!   cargo bench -p hotline-media-rt --bench conference -- [--conferences 300] [--secs 20]
//!
//! Reported: CPU of the engine's process (user + system over the measured window) in % of one
//! core, per conference; resident memory per conference; packets sent late (> 5 ms after
//! due) and lost (sent by one side and not received by the other).

use hotline_media::sdp::Codec;
use hotline_media::session::{LegConfig, MediaConfig};
use hotline_media_rt::{PortPool, PromptCache, STATS, spawn_call};
use std::io::{BufRead, Write};
use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn cpu_secs() -> f64 {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn leg(ssrc: u32) -> LegConfig {
    LegConfig {
        // Learnt from the generator's first packet (symmetric RTP).
        remote: None,
        codec: Codec::Pcmu,
        pt: 0,
        te_pt: Some(101),
        ssrc,
        initial_seq: ssrc as u16,
        initial_ts: ssrc,
        latch: true,
    }
}

/// The load generator (child process): reads the engine's RTP ports on stdin, sends one 20 ms
/// PCMU packet to each every 20 ms for `secs`, counts what comes back, prints
/// `sent received`.
fn generator(secs: u64) {
    let stdin = std::io::stdin();
    let mut socks = Vec::new();
    for line in stdin.lock().lines().map_while(Result::ok) {
        if line == "go" {
            break;
        }
        let port: u16 = line.trim().parse().expect("a port");
        let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
        s.connect(("127.0.0.1", port)).expect("connect");
        s.set_nonblocking(true).expect("nonblocking");
        socks.push(s);
    }
    // A 440 Hz tone, the same frame every time (the mixer does the same work either way).
    let payload: Vec<u8> = (0..160)
        .map(|i| {
            let x = (2.0 * std::f64::consts::PI * 440.0 * f64::from(i) / 8000.0).sin();
            hotline_media::g711::linear_to_ulaw((x * 8000.0) as i16)
        })
        .collect();
    let mut sent = 0u64;
    // Per leg: packets received and the sequence span (RFC 3550 A.3 style loss).
    let mut got: Vec<(u64, Option<(u16, u16)>)> = vec![(0, None); socks.len()];
    let mut buf = [0u8; 2048];
    let count = |i: usize, n: usize, buf: &[u8], got: &mut Vec<(u64, Option<(u16, u16)>)>| {
        if n > 12 && buf[1] & 0x7f == 0 {
            let seq = u16::from_be_bytes([buf[2], buf[3]]);
            let g = &mut got[i];
            g.0 += 1;
            g.1 = Some(match g.1 {
                None => (seq, seq),
                Some((first, last)) => {
                    // Later in the stream (mod 2^16) moves the end.
                    if seq.wrapping_sub(last) < 0x8000 {
                        (first, seq)
                    } else {
                        (first, last)
                    }
                }
            });
        }
    };
    let start = Instant::now();
    let mut tick = 0u64;
    while start.elapsed() < Duration::from_secs(secs) {
        for (i, s) in socks.iter().enumerate() {
            let mut pkt = Vec::with_capacity(172);
            hotline_media::RtpHeader {
                marker: false,
                pt: 0,
                seq: tick as u16,
                ts: (tick * 160) as u32,
                ssrc: 0x5000_0000 + i as u32,
            }
            .write_packet(&payload, &mut pkt);
            if s.send(&pkt).is_ok() {
                sent += 1;
            }
            while let Ok(n) = s.recv(&mut buf) {
                count(i, n, &buf, &mut got);
            }
        }
        tick += 1;
        let next = start + Duration::from_millis(20 * tick);
        if let Some(d) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
    }
    // What is still in flight.
    std::thread::sleep(Duration::from_millis(100));
    for (i, s) in socks.iter().enumerate() {
        while let Ok(n) = s.recv(&mut buf) {
            count(i, n, &buf, &mut got);
        }
    }
    let received: u64 = got.iter().map(|g| g.0).sum();
    let expected: u64 = got
        .iter()
        .filter_map(|g| g.1.map(|(a, b)| u64::from(b.wrapping_sub(a)) + 1))
        .sum();
    let silent = got.iter().filter(|g| g.0 == 0).count();
    println!("{sent} {received} {expected} {silent}");
}

fn main() {
    if std::env::args().any(|a| a == "--generator") {
        generator(arg("--secs", 20) + arg("--warmup", 3));
        return;
    }
    let n = arg("--conferences", 300) as usize;
    let secs = arg("--secs", 20);
    let warmup = arg("--warmup", 3);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let pool = PortPool::new("127.0.0.1".parse().unwrap(), 30000, 39999).expect("ports");
        let prompts = std::sync::Arc::new(PromptCache::new(Default::default(), None, None));
        let rss0 = rss_kib();
        let mut handles = Vec::new();
        let mut ports = Vec::new();
        for i in 0..n {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            tokio::spawn(async move { while rx.recv().await.is_some() {} });
            let caller = pool.allocate().expect("caller pair");
            let agent = pool.allocate().expect("agent pair");
            let seat = pool.allocate().expect("seat pair");
            ports.extend([caller.rtp_port(), agent.rtp_port(), seat.rtp_port()]);
            let base = (i as u32) * 3 + 1;
            let h = spawn_call(
                caller,
                leg(base),
                MediaConfig {
                    rtp_timeout: 120_000_000,
                    ..MediaConfig::default()
                },
                prompts.clone(),
                tx,
            );
            h.attach_peer(agent, leg(base + 1), None);
            h.attach_seat(seat, leg(base + 2));
            handles.push(h);
        }
        let mut child = Command::new(std::env::current_exe().expect("exe"))
            .args(["--generator", "--secs", &secs.to_string(), "--warmup", &warmup.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("generator");
        {
            let mut stdin = child.stdin.take().expect("stdin");
            for p in &ports {
                writeln!(stdin, "{p}").unwrap();
            }
            writeln!(stdin, "go").unwrap();
        }
        tokio::time::sleep(Duration::from_secs(warmup)).await;
        let (cpu0, t0) = (cpu_secs(), Instant::now());
        let sent0 = STATS.packets_sent.load(Ordering::Relaxed);
        let late0 = STATS.sent_late_5ms.load(Ordering::Relaxed);
        let recv0 = STATS.packets_received.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(secs)).await;
        let (cpu1, wall) = (cpu_secs(), t0.elapsed().as_secs_f64());
        let sent = STATS.packets_sent.load(Ordering::Relaxed) - sent0;
        let late = STATS.sent_late_5ms.load(Ordering::Relaxed) - late0;
        let recv = STATS.packets_received.load(Ordering::Relaxed) - recv0;
        let rss1 = rss_kib();
        let out = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .unwrap()
            .expect("generator output");
        let engine_recv_total = STATS.packets_received.load(Ordering::Relaxed);
        let text = String::from_utf8_lossy(&out.stdout);
        let mut it = text.split_whitespace().map(|x| x.parse::<u64>().unwrap_or(0));
        let (gen_sent, gen_recv) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
        let (gen_expected, silent_legs) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
        let cpu_pct = (cpu1 - cpu0) / wall * 100.0;
        println!("hotline-media-rt conference bench: {n} three-party calls, {secs} s measured");
        println!("  engine CPU            {cpu_pct:.1} % of one core ({:.3} % per conference)", cpu_pct / n as f64);
        println!("  RSS                   {} KiB for the calls ({:.1} KiB per conference)", rss1.saturating_sub(rss0), rss1.saturating_sub(rss0) as f64 / n as f64);
        println!("  sent by the engine    {sent} packets ({:.0}/s; expected {}/s)", sent as f64 / wall, n * 3 * 50);
        println!("  received              {recv} packets ({:.0}/s)", recv as f64 / wall);
        println!("  sent > 5 ms late      {late} ({:.4} %)", late as f64 * 100.0 / sent.max(1) as f64);
        // Loss both ways over the whole run (in flight at the end: at most a packet per leg).
        let lost_in = gen_sent.saturating_sub(engine_recv_total);
        let lost_out = gen_expected.saturating_sub(gen_recv);
        println!("  lost generator→engine {lost_in} of {gen_sent}");
        println!("  lost engine→generator {lost_out} of {gen_expected} (sequence gaps per leg); legs that got nothing: {silent_legs}");
        drop(handles);
    });
}
