//! The WebRTC-to-RTP bridge over real loopback sockets (issue 8's bench, second part): N
//! bridged legs, each a `Bridge` in this process between a Chromium-like str0m peer (the
//! browser) and a plain UDP socket sending RTP (the call), with 20 ms PCMU frames both ways.
//!
//!   cargo bench -p hotline-webrtc-rt --bench bridge -- --legs 200 --seconds 10
//!
//! The peers and the call-side sockets run in a child process (this binary again, with
//! `--role peers`; offers, answers and results cross its stdin/stdout as lines), so this
//! process's CPU (getrusage) is the bridges' alone, on a tokio runtime of 2 workers. Next to
//! the bridges, a few legs go through a plain UDP relay (recv/send, no WebRTC) on a thread of
//! its own whose CPU is taken out of the bridges' figure: the relay's one-way delays, measured
//! at the same time on the same loaded machine, are the baseline the bridge's are compared to.
//!
//! Every frame carries its sender's CLOCK_MONOTONIC time (system-wide on Linux) in its
//! payload, read by the receiver: call → bridge → browser and browser → bridge → call one-way
//! delays. Both ends of both ways are in the child, so the delays also include the str0m
//! peer's own work; that part is measured apart (datagram in to frame out; frame written to
//! SRTP sent).

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{LOCALHOST, Peer, chromium_like, parse_rtp, rtp_packet};
use hotline_webrtc_rt::{Bridge, BridgeConfig, BridgeEvent, G711};
use str0m::Event;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{sleep, sleep_until, timeout, timeout_at};

const FRAME: Duration = Duration::from_millis(20);
const FRAMES_PER_SEC: u32 = 50;
const PAYLOAD: usize = 160;
/// From `go` to the first frame of the first leg: every peer task has seen `go` by then.
const LEAD: Duration = Duration::from_millis(100);
/// After a leg's last frame: what is still in flight arrives.
const TAIL: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Copy)]
struct Opts {
    legs: usize,
    relays: usize,
    seconds: u64,
    warmup: u64,
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

impl Opts {
    fn parse() -> Opts {
        let legs = arg("--legs", 200) as usize;
        Opts {
            legs,
            // A tenth of the load through the relay: enough samples for its delays, little
            // extra load on the machine the bridges are measured on.
            relays: arg("--relays", legs.div_ceil(10).max(1) as u64) as usize,
            seconds: arg("--seconds", 10).max(1),
            warmup: arg("--warmup", 2),
        }
    }

    fn args(&self) -> Vec<String> {
        [
            ("--legs", self.legs as u64),
            ("--relays", self.relays as u64),
            ("--seconds", self.seconds),
            ("--warmup", self.warmup),
        ]
        .iter()
        .flat_map(|(k, v)| [k.to_string(), v.to_string()])
        .collect()
    }

    /// Frames each side of a leg sends, and the first one in the measured window (the ones
    /// before are the warm-up).
    fn frames(&self) -> (u32, u32) {
        let measured_from = self.warmup as u32 * FRAMES_PER_SEC;
        (
            measured_from + self.seconds as u32 * FRAMES_PER_SEC,
            measured_from,
        )
    }
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; both clocks exist on Linux.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The one clock both processes read for the frames' stamps.
fn mono_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

/// CPU time of the calling thread (the relay's, asked on its own thread).
fn thread_cpu_ns() -> u64 {
    clock_ns(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// CPU time of this process, user and system, all threads.
fn process_cpu_ns() -> u64 {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let ns = |tv: libc::timeval| tv.tv_sec as u64 * 1_000_000_000 + tv.tv_usec as u64 * 1000;
    ns(u.ru_utime) + ns(u.ru_stime)
}

/// The machine's busy CPU time so far, every CPU (/proc/stat, clock ticks).
fn machine_busy_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<u64> = stat
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("cpu "))
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: all but idle and iowait (guest time
    // is counted in user already).
    [0, 1, 2, 5, 6, 7]
        .iter()
        .map(|&i| v.get(i).copied().unwrap_or(0))
        .sum()
}

/// A process's CPU time so far (user + system, /proc/<pid>/stat, clock ticks).
fn pid_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command's closing parenthesis start at the state (field 3);
    // utime and stime are fields 14 and 15.
    let fields: Vec<u64> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    fields.get(10).copied().unwrap_or(0) + fields.get(11).copied().unwrap_or(0)
}

fn clock_tick_ns() -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    1_000_000_000 / if hz > 0 { hz as u64 } else { 100 }
}

/// A frame: which leg, which frame, and the sender's clock as the last thing before sending.
fn stamped(leg: u32, counter: u32) -> Vec<u8> {
    let mut p = vec![0xff; PAYLOAD];
    p[0..4].copy_from_slice(&leg.to_be_bytes());
    p[4..8].copy_from_slice(&counter.to_be_bytes());
    p[8..16].copy_from_slice(&mono_ns().to_be_bytes());
    p
}

struct Stamp {
    leg: u32,
    counter: u32,
    sent_ns: u64,
}

fn read_stamp(p: &[u8]) -> Option<Stamp> {
    if p.len() != PAYLOAD {
        return None;
    }
    Some(Stamp {
        leg: u32::from_be_bytes(p[0..4].try_into().ok()?),
        counter: u32::from_be_bytes(p[4..8].try_into().ok()?),
        sent_ns: u64::from_be_bytes(p[8..16].try_into().ok()?),
    })
}

/// SDP on one line of the pipe: its CR LF (and backslashes) escaped.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\r', "\\r")
        .replace('\n', "\\n")
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

fn main() {
    let opts = Opts::parse();
    let args: Vec<String> = std::env::args().collect();
    if args.windows(2).any(|w| w[0] == "--role" && w[1] == "peers") {
        peers_role(opts);
    } else {
        std::process::exit(parent(opts));
    }
}

// ---------------------------------------------------------------------------------------
// The child: the browsers' peers and the calls' sockets.

/// One direction of one leg (or of all of them, merged).
#[derive(Default)]
struct Way {
    /// Frames sent in the measured window.
    sent: u64,
    /// Which frames arrived, by counter (duplicates counted once).
    got: Vec<bool>,
    delays_ns: Vec<u64>,
    /// Datagrams that were not a frame of this leg in the expected shape.
    wrong: u64,
}

impl Way {
    fn new(frames: u32) -> Way {
        Way {
            got: vec![false; frames as usize],
            ..Way::default()
        }
    }

    /// A frame arrived at `now_ns`; whether it was one of this leg's.
    fn arrived(&mut self, leg: u32, payload: &[u8], now_ns: u64, measured_from: u32) -> bool {
        let Some(s) = read_stamp(payload) else {
            self.wrong += 1;
            return false;
        };
        if s.leg != leg || s.counter as usize >= self.got.len() {
            self.wrong += 1;
            return false;
        }
        let first = !std::mem::replace(&mut self.got[s.counter as usize], true);
        if first && s.counter >= measured_from {
            self.delays_ns.push(now_ns.saturating_sub(s.sent_ns));
        }
        true
    }

    fn delivered(&self, measured_from: u32) -> u64 {
        self.got[measured_from as usize..]
            .iter()
            .filter(|g| **g)
            .count() as u64
    }
}

/// What the child saw of one kind of leg (bridged or relayed).
#[derive(Default)]
struct Seen {
    legs: u64,
    connected: u64,
    c2b_sent: u64,
    c2b_delivered: u64,
    c2b_delays: Vec<u64>,
    b2c_sent: u64,
    b2c_delivered: u64,
    b2c_delays: Vec<u64>,
    wrong: u64,
    /// RTP towards the call whose sequence number was not the last one plus one.
    seq_jumps: u64,
    /// RTP towards the call in another SSRC than the leg's first, or not PT 0.
    bad_rtp: u64,
    peer_rx_ns: Vec<u64>,
    peer_tx_ns: Vec<u64>,
    peer_errors: u64,
    peer_disconnects: u64,
}

impl Seen {
    fn add(&mut self, l: LegSeen, measured_from: u32) {
        self.legs += 1;
        self.connected += u64::from(l.connected);
        self.c2b_sent += l.c2b.sent;
        self.c2b_delivered += l.c2b.delivered(measured_from);
        self.c2b_delays.extend(l.c2b.delays_ns);
        self.b2c_sent += l.b2c.sent;
        self.b2c_delivered += l.b2c.delivered(measured_from);
        self.b2c_delays.extend(l.b2c.delays_ns);
        self.wrong += l.c2b.wrong + l.b2c.wrong;
        self.seq_jumps += l.rtp.seq_jumps;
        self.bad_rtp += l.rtp.bad;
        self.peer_rx_ns.extend(l.peer_rx_ns);
        self.peer_tx_ns.extend(l.peer_tx_ns);
        self.peer_errors += l.peer_errors;
        self.peer_disconnects += l.peer_disconnects;
    }
}

/// The RTP stream one leg's call socket receives: one SSRC, PT 0, numbered up by one.
#[derive(Default)]
struct RtpCheck {
    ssrc: Option<u32>,
    last_seq: Option<u16>,
    seq_jumps: u64,
    bad: u64,
}

impl RtpCheck {
    /// The payload of a well-formed packet of the stream (anything else is counted).
    fn check<'a>(&mut self, d: &'a [u8]) -> Option<&'a [u8]> {
        let p = parse_rtp(d)?;
        if p.pt != 0 || *self.ssrc.get_or_insert(p.ssrc) != p.ssrc {
            self.bad += 1;
        }
        if self.last_seq.is_some_and(|s| s.wrapping_add(1) != p.seq) {
            self.seq_jumps += 1;
        }
        self.last_seq = Some(p.seq);
        d.get(12..)
    }
}

struct LegSeen {
    connected: bool,
    c2b: Way,
    b2c: Way,
    rtp: RtpCheck,
    peer_rx_ns: Vec<u64>,
    peer_tx_ns: Vec<u64>,
    peer_errors: u64,
    peer_disconnects: u64,
}

impl LegSeen {
    fn new(frames: u32) -> LegSeen {
        LegSeen {
            connected: false,
            c2b: Way::new(frames),
            b2c: Way::new(frames),
            rtp: RtpCheck::default(),
            peer_rx_ns: Vec::new(),
            peer_tx_ns: Vec::new(),
            peer_errors: 0,
            peer_disconnects: 0,
        }
    }
}

/// When leg `index` of `total` sends its frames: every 20 ms from its own phase, the legs
/// spread over the 20 ms so they do not all send at once, and one end `offset` after the
/// other.
#[derive(Clone, Copy)]
struct Schedule {
    first: Instant,
    frames: u32,
}

impl Schedule {
    fn new(go: Instant, index: usize, total: usize, offset: Duration, frames: u32) -> Schedule {
        let phase = FRAME * index as u32 / total.max(1) as u32;
        Schedule {
            first: go + LEAD + phase + offset,
            frames,
        }
    }

    fn at(&self, i: u32) -> Instant {
        self.first + FRAME * i
    }

    fn end(&self) -> Instant {
        self.at(self.frames) + TAIL
    }
}

/// The common state of a child leg task: which leg, when it sends, what it has seen.
struct LegRun {
    leg: u32,
    index: usize,
    total: usize,
    offset: Duration,
    frames: u32,
    measured_from: u32,
    go: watch::Receiver<Option<Instant>>,
    schedule: Option<Schedule>,
    next: u32,
    seen: LegSeen,
}

impl LegRun {
    /// Sets the schedule once `go` is given; whether it is.
    fn started(&mut self) -> bool {
        if self.schedule.is_none()
            && let Some(go) = *self.go.borrow_and_update()
        {
            self.schedule = Some(Schedule::new(
                go,
                self.index,
                self.total,
                self.offset,
                self.frames,
            ));
        }
        self.schedule.is_some()
    }

    /// The next frame due by `now`, if any.
    fn due(&mut self, now: Instant) -> Option<(u32, bool)> {
        let s = self.schedule?;
        if self.next < s.frames && now >= s.at(self.next) {
            let i = self.next;
            self.next += 1;
            Some((i, i >= self.measured_from))
        } else {
            None
        }
    }

    /// When to wake for the next frame or the end; `None` before `go`.
    fn wake(&self) -> Option<Instant> {
        let s = self.schedule?;
        Some(if self.next < s.frames {
            s.at(self.next)
        } else {
            s.end()
        })
    }

    fn finished(&self, now: Instant) -> bool {
        self.schedule
            .is_some_and(|s| self.next >= s.frames && now >= s.end())
    }
}

// Each end of a leg is a task of its own, so one direction's frame is never read late
// because the task was busy with the other direction's.

/// The browser's end of a bridged leg: the str0m peer, writing a frame every 20 ms and
/// reading the call's.
async fn peer_side(mut run: LegRun, mut peer: Peer) -> LegSeen {
    let mut buf = vec![0u8; 2048];
    let (leg, measured_from) = (run.leg, run.measured_from);
    let mut pt = None;
    // When the datagram being handled arrived (for the peer's own receive time).
    let mut recv_ns: Option<u64> = None;
    let on_event = |e: Event, seen: &mut LegSeen, recv_ns: Option<u64>| match e {
        Event::Connected => seen.connected = true,
        Event::IceConnectionStateChange(str0m::IceConnectionState::Disconnected) => {
            seen.peer_disconnects += 1
        }
        Event::MediaData(d) => {
            let now = mono_ns();
            if seen.c2b.arrived(leg, &d.data, now, measured_from)
                && let Some(r) = recv_ns
            {
                seen.peer_rx_ns.push(now.saturating_sub(r));
            }
        }
        _ => {}
    };
    loop {
        let seen = &mut run.seen;
        let deadline = match peer.flush(|e| on_event(e, seen, recv_ns)).await {
            Ok(d) => d,
            Err(_) => {
                run.seen.peer_errors += 1;
                break;
            }
        };
        recv_ns = None;
        if run.finished(Instant::now()) {
            break;
        }
        let started = run.started();
        let wake = run.wake().map_or(deadline, |w| w.min(deadline));
        tokio::select! {
            r = peer.sock.recv_from(&mut buf) => {
                if let Ok((n, from)) = r {
                    recv_ns = Some(mono_ns());
                    if peer.receive(from, &buf[..n], Instant::now()).is_err() {
                        run.seen.peer_errors += 1;
                    }
                }
            }
            r = run.go.changed(), if !started => {
                if r.is_err() {
                    break;
                }
            }
            _ = sleep_until(wake.into()) => {
                let now = Instant::now();
                if peer.timeout(now).is_err() {
                    run.seen.peer_errors += 1;
                }
                let Some((i, measured)) = run.due(now) else {
                    continue;
                };
                if pt.is_none() {
                    pt = peer.pcmu();
                }
                let Some(pt) = pt else {
                    continue;
                };
                let frame = stamped(leg, i);
                let t0 = read_stamp(&frame).map_or(0, |s| s.sent_ns);
                if peer.write(pt, 160 * u64::from(i), &frame, Instant::now()).is_ok() {
                    // Flushed here so the SRTP leaves now: the peer's send time is from the
                    // stamp to that send.
                    let seen = &mut run.seen;
                    if peer.flush(|e| on_event(e, seen, None)).await.is_err() {
                        run.seen.peer_errors += 1;
                    }
                    if measured {
                        run.seen.b2c.sent += 1;
                        run.seen.peer_tx_ns.push(mono_ns().saturating_sub(t0));
                    }
                }
            }
        }
    }
    run.seen
}

/// The browser's end of a relayed leg: a plain socket (no WebRTC) doing what the peer does.
async fn plain_side(mut run: LegRun, sock: UdpSocket, relay: SocketAddr) -> LegSeen {
    let mut buf = vec![0u8; 2048];
    let (leg, measured_from) = (run.leg, run.measured_from);
    let ssrc = 0x6000_0000 | leg;
    run.seen.connected = true;
    loop {
        let now = Instant::now();
        if run.finished(now) {
            break;
        }
        let started = run.started();
        let wake = run.wake().unwrap_or(now + Duration::from_secs(3600));
        tokio::select! {
            r = sock.recv_from(&mut buf) => {
                if let Ok((n, _)) = r {
                    let now = mono_ns();
                    match buf.get(12..n) {
                        Some(payload) => {
                            run.seen.c2b.arrived(leg, payload, now, measured_from);
                        }
                        None => run.seen.c2b.wrong += 1,
                    }
                }
            }
            r = run.go.changed(), if !started => {
                if r.is_err() {
                    break;
                }
            }
            _ = sleep_until(wake.into()) => {
                if let Some((i, measured)) = run.due(Instant::now()) {
                    let b = rtp_packet(i == 0, 0, i as u16, 160 * i, ssrc, &stamped(leg, i));
                    if sock.send_to(&b, relay).await.is_ok() && measured {
                        run.seen.b2c.sent += 1;
                    }
                }
            }
        }
    }
    run.seen
}

/// The call's end of a leg (bridged or relayed): RTP in PT 0 every 20 ms to `to`, and the
/// RTP that comes back checked and read.
async fn call_side(mut run: LegRun, sock: UdpSocket, to: SocketAddr) -> LegSeen {
    let mut buf = vec![0u8; 2048];
    let (leg, measured_from) = (run.leg, run.measured_from);
    let ssrc = 0x4000_0000 | leg;
    loop {
        let now = Instant::now();
        if run.finished(now) {
            break;
        }
        let started = run.started();
        let wake = run.wake().unwrap_or(now + Duration::from_secs(3600));
        tokio::select! {
            r = sock.recv_from(&mut buf) => {
                if let Ok((n, _)) = r {
                    let now = mono_ns();
                    match run.seen.rtp.check(&buf[..n]) {
                        Some(payload) => {
                            run.seen.b2c.arrived(leg, payload, now, measured_from);
                        }
                        None => run.seen.b2c.wrong += 1,
                    }
                }
            }
            r = run.go.changed(), if !started => {
                if r.is_err() {
                    break;
                }
            }
            _ = sleep_until(wake.into()) => {
                if let Some((i, measured)) = run.due(Instant::now()) {
                    let c = rtp_packet(i == 0, 0, i as u16, 160 * i, ssrc, &stamped(leg, i));
                    if sock.send_to(&c, to).await.is_ok() && measured {
                        run.seen.c2b.sent += 1;
                    }
                }
            }
        }
    }
    run.seen
}

/// Both ends of a leg, as one leg's figures.
async fn leg(
    browser: impl Future<Output = LegSeen> + Send + 'static,
    call: impl Future<Output = LegSeen> + Send + 'static,
) -> LegSeen {
    let (b, c) = (tokio::spawn(browser), tokio::spawn(call));
    let (mut b, c) = match (b.await, c.await) {
        (Ok(b), Ok(c)) => (b, c),
        _ => panic!("a leg's task failed"),
    };
    b.c2b.sent += c.c2b.sent;
    b.b2c = Way {
        sent: b.b2c.sent,
        ..c.b2c
    };
    b.rtp = c.rtp;
    b
}

/// A line to the parent.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").expect("the parent reads our stdout");
    out.flush().expect("the parent reads our stdout");
}

fn field<T: std::str::FromStr>(f: Option<&str>, what: &str) -> T {
    f.and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad {what} from the parent"))
}

fn peers_role(opts: Opts) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // The parent's lines; at its end (done, or gone) this process ends, so a failed parent
    // leaves no peers behind.
    let (line_tx, mut lines) = mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if line_tx.send(line).is_err() {
                break;
            }
        }
        std::process::exit(0);
    });
    rt.block_on(async move {
        let (frames, measured_from) = opts.frames();
        let total = opts.legs + opts.relays;
        let mut peers = Vec::with_capacity(opts.legs);
        for k in 0..opts.legs {
            let (peer, offer) = Peer::offer(chromium_like()).await.expect("a peer");
            let call = UdpSocket::bind(SocketAddr::new(LOCALHOST, 0))
                .await
                .expect("a call socket");
            let at = call.local_addr().expect("call address");
            say(&format!("leg {k} {at} {}", escape(&offer)));
            peers.push(Some((peer, call)));
        }
        let mut relays = Vec::with_capacity(opts.relays);
        for j in 0..opts.relays {
            let bind = || UdpSocket::bind(SocketAddr::new(LOCALHOST, 0));
            let browser = bind().await.expect("a socket");
            let call = bind().await.expect("a socket");
            let (b, c) = (browser.local_addr().unwrap(), call.local_addr().unwrap());
            say(&format!("relay {j} {b} {c}"));
            relays.push(Some((browser, call)));
        }
        say("offers-done");

        let (go_tx, go_rx) = watch::channel(None::<Instant>);
        // The call's end sends half a frame after the browser's: one leg's two directions
        // are independent, as in a real call, rather than both at the same instant at the
        // one task that bridges (or relays) both.
        let run = |leg: u32, index: usize, call_end: bool| LegRun {
            leg,
            index,
            total,
            offset: if call_end { FRAME / 2 } else { Duration::ZERO },
            frames,
            measured_from,
            go: go_rx.clone(),
            schedule: None,
            next: 0,
            seen: LegSeen::new(frames),
        };
        let mut bridged = Vec::new();
        let mut relayed = Vec::new();
        while let Some(line) = lines.recv().await {
            let mut f = line.splitn(4, ' ');
            match f.next() {
                Some("answer") => {
                    let k: usize = field(f.next(), "leg");
                    let rtp: SocketAddr = field(f.next(), "RTP address");
                    let answer = unescape(f.next().unwrap_or(""));
                    let (mut peer, call) = peers[k].take().expect("one answer per leg");
                    peer.accept(&answer)
                        .expect("the peer accepts the bridge's answer");
                    let (leg_id, index) = (k as u32, k);
                    bridged.push(tokio::spawn(leg(
                        peer_side(run(leg_id, index, false), peer),
                        call_side(run(leg_id, index, true), call, rtp),
                    )));
                }
                Some("relay") => {
                    let j: usize = field(f.next(), "relay");
                    let to_call: SocketAddr = field(f.next(), "relay address");
                    let to_browser: SocketAddr = field(f.next(), "relay address");
                    let (browser, call) = relays[j].take().expect("one relay each");
                    let leg_id = 100_000 + j as u32;
                    let index = opts.legs + j;
                    relayed.push(tokio::spawn(leg(
                        plain_side(run(leg_id, index, false), browser, to_browser),
                        call_side(run(leg_id, index, true), call, to_call),
                    )));
                }
                Some("go") => {
                    go_tx.send(Some(Instant::now())).ok();
                    break;
                }
                _ => panic!("unexpected line from the parent: {line}"),
            }
        }
        let limit = Instant::now() + LEAD + FRAME * (frames + 1) + TAIL + Duration::from_secs(10);
        let mut b = Seen::default();
        for h in bridged {
            if let Ok(Ok(l)) = timeout_at(limit.into(), h).await {
                b.add(l, measured_from);
            }
        }
        let mut r = Seen::default();
        for h in relayed {
            if let Ok(Ok(l)) = timeout_at(limit.into(), h).await {
                r.add(l, measured_from);
            }
        }
        for (name, s) in [("bridge", &mut b), ("relay", &mut r)] {
            say(&format!(
                "count {name} {} {} {} {} {} {} {} {} {} {} {}",
                s.legs,
                s.connected,
                s.c2b_delivered,
                s.c2b_sent,
                s.b2c_delivered,
                s.b2c_sent,
                s.wrong,
                s.seq_jumps,
                s.bad_rtp,
                s.peer_errors,
                s.peer_disconnects
            ));
            say(&format!("dist c2b_{name} {}", summary(&mut s.c2b_delays)));
            say(&format!("dist b2c_{name} {}", summary(&mut s.b2c_delays)));
        }
        say(&format!("dist peer_rx {}", summary(&mut b.peer_rx_ns)));
        say(&format!("dist peer_tx {}", summary(&mut b.peer_tx_ns)));
        say("done");
        // The parent closes our stdin next, which ends this process; bounded all the same.
        sleep(Duration::from_secs(30)).await;
    });
}

/// `count p50 p99 max` of nanosecond samples, in µs.
fn summary(v: &mut [u64]) -> String {
    v.sort_unstable();
    let q = |p: f64| {
        if v.is_empty() {
            0.0
        } else {
            v[((v.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
        }
    };
    format!("{} {:.1} {:.1} {:.1}", v.len(), q(0.5), q(0.99), q(1.0))
}

// ---------------------------------------------------------------------------------------
// The parent: the bridges, the relay, the measuring.

enum RelayCmd {
    Add {
        to_call: std::net::UdpSocket,
        to_browser: std::net::UdpSocket,
        call: SocketAddr,
        browser: SocketAddr,
    },
    /// The relay thread's CPU time so far.
    Cpu(oneshot::Sender<u64>),
}

/// The baseline's relay: a thread of its own (so its CPU can be told from the bridges'),
/// forwarding each datagram as it comes, no WebRTC.
fn relay_thread() -> (mpsc::UnboundedSender<RelayCmd>, std::thread::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let h = std::thread::Builder::new()
        .name("relay".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("relay runtime");
            rt.block_on(async move {
                while let Some(cmd) = rx.recv().await {
                    match cmd {
                        RelayCmd::Add {
                            to_call,
                            to_browser,
                            call,
                            browser,
                        } => {
                            let a = UdpSocket::from_std(to_call).expect("relay socket");
                            let b = UdpSocket::from_std(to_browser).expect("relay socket");
                            tokio::spawn(forward(a, b, call, browser));
                        }
                        // Answered on the relay thread, whose CPU clock it reads.
                        RelayCmd::Cpu(reply) => {
                            reply.send(thread_cpu_ns()).ok();
                        }
                    }
                }
            });
        })
        .expect("relay thread");
    (tx, h)
}

/// Datagrams from the call's side go to the browser and back: recv, send, nothing else.
async fn forward(a: UdpSocket, b: UdpSocket, call: SocketAddr, browser: SocketAddr) {
    let mut ab = vec![0u8; 2048];
    let mut bb = vec![0u8; 2048];
    loop {
        tokio::select! {
            r = a.recv_from(&mut ab) => if let Ok((n, _)) = r {
                let _ = b.send_to(&ab[..n], browser).await;
            },
            r = b.recv_from(&mut bb) => if let Ok((n, _)) = r {
                let _ = a.send_to(&bb[..n], call).await;
            },
        }
    }
}

async fn relay_cpu(relay: &mpsc::UnboundedSender<RelayCmd>) -> u64 {
    let (tx, rx) = oneshot::channel();
    relay.send(RelayCmd::Cpu(tx)).ok();
    timeout(Duration::from_secs(5), rx)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or(0)
}

/// The child process, ended when this is dropped whatever happened.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

struct Closed {
    /// The leg dropped by itself during the run.
    dropped: bool,
    /// After `close`, its event stream ended within 2 s.
    ended: bool,
    after: Duration,
}

/// Owns one bridge: reports its connect, waits for the hang-up, closes it.
async fn watch_bridge(
    mut bridge: Bridge,
    started: Instant,
    connected: mpsc::UnboundedSender<Option<Duration>>,
    mut close: watch::Receiver<bool>,
    closed: mpsc::UnboundedSender<Closed>,
) {
    let c = match timeout(Duration::from_secs(20), bridge.next_event()).await {
        Ok(Some(BridgeEvent::Connected)) => Some(started.elapsed()),
        _ => None,
    };
    connected.send(c).ok();
    let mut dropped = false;
    loop {
        tokio::select! {
            e = bridge.next_event(), if !dropped => {
                if matches!(e, None | Some(BridgeEvent::Disconnected)) {
                    dropped = true;
                }
            }
            r = close.changed() => {
                if r.is_err() || *close.borrow() {
                    break;
                }
            }
        }
    }
    let t = Instant::now();
    bridge.close();
    let ended = dropped
        || timeout(Duration::from_secs(2), async {
            while let Some(e) = bridge.next_event().await {
                if e == BridgeEvent::Disconnected {
                    break;
                }
            }
        })
        .await
        .is_ok();
    closed
        .send(Closed {
            dropped,
            ended,
            after: t.elapsed(),
        })
        .ok();
}

#[derive(Default)]
struct Report {
    /// Over the measured window: the machine's busy CPU time, the child's, ours.
    machine_busy_ns: u64,
    child_cpu_ns: u64,
    own_cpu_ns: u64,
    /// The 1-minute load average when the window ends.
    loadavg: String,
    started: usize,
    handshakes: Vec<u64>,
    setup_wall: Duration,
    setup_cpu_ns: u64,
    cpu_ns: u64,
    relay_cpu_ns: u64,
    wall: Duration,
    lines: Vec<String>,
    closed: Vec<Closed>,
}

async fn run_parent(
    opts: Opts,
    mut lines: mpsc::UnboundedReceiver<String>,
    to_child: std::sync::mpsc::Sender<String>,
    relay: mpsc::UnboundedSender<RelayCmd>,
    child_pid: u32,
) -> Result<Report, String> {
    let say = |l: String| {
        to_child
            .send(l)
            .map_err(|_| "the peers' stdin is gone".to_string())
    };
    let mut next_line = async |limit: Duration| -> Result<String, String> {
        match timeout(limit, lines.recv()).await {
            Ok(Some(l)) => Ok(l),
            Ok(None) => Err("the peers' process ended".into()),
            Err(_) => Err(format!("no line from the peers in {limit:?}")),
        }
    };
    let cfg = BridgeConfig {
        ice_ip: LOCALHOST,
        rtp_ip: LOCALHOST,
    };
    let (conn_tx, mut conn_rx) = mpsc::unbounded_channel();
    let (close_tx, close_rx) = watch::channel(false);
    let (closed_tx, mut closed_rx) = mpsc::unbounded_channel();
    let mut r = Report::default();
    let cpu0 = process_cpu_ns();
    let t0 = Instant::now();
    loop {
        let line = next_line(Duration::from_secs(60)).await?;
        let mut f = line.splitn(4, ' ');
        let bad = || format!("bad line from the peers: {line:.80}");
        match f.next() {
            Some("leg") => {
                let k = f.next().ok_or_else(bad)?;
                let call: SocketAddr = f.next().and_then(|a| a.parse().ok()).ok_or_else(bad)?;
                let offer = unescape(f.next().ok_or_else(bad)?);
                let started = Instant::now();
                let bridge = Bridge::start(&offer, G711::Pcmu, cfg, Some(call))
                    .await
                    .map_err(|e| format!("leg {k}: {e}"))?;
                say(format!(
                    "answer {k} {} {}",
                    bridge.rtp_local(),
                    escape(bridge.answer_sdp())
                ))?;
                tokio::spawn(watch_bridge(
                    bridge,
                    started,
                    conn_tx.clone(),
                    close_rx.clone(),
                    closed_tx.clone(),
                ));
                r.started += 1;
            }
            Some("relay") => {
                let j = f.next().ok_or_else(bad)?;
                let browser: SocketAddr = f.next().and_then(|a| a.parse().ok()).ok_or_else(bad)?;
                let call: SocketAddr = f.next().and_then(|a| a.parse().ok()).ok_or_else(bad)?;
                let bind = || -> Result<std::net::UdpSocket, String> {
                    let s = std::net::UdpSocket::bind((LOCALHOST, 0)).map_err(|e| e.to_string())?;
                    s.set_nonblocking(true).map_err(|e| e.to_string())?;
                    Ok(s)
                };
                let (to_call, to_browser) = (bind()?, bind()?);
                let (a, b) = (
                    to_call.local_addr().map_err(|e| e.to_string())?,
                    to_browser.local_addr().map_err(|e| e.to_string())?,
                );
                relay
                    .send(RelayCmd::Add {
                        to_call,
                        to_browser,
                        call,
                        browser,
                    })
                    .map_err(|_| "the relay thread is gone")?;
                say(format!("relay {j} {a} {b}"))?;
            }
            Some("offers-done") => break,
            _ => return Err(bad()),
        }
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut answered = 0;
    while answered < r.started {
        match timeout_at(deadline.into(), conn_rx.recv()).await {
            Ok(Some(c)) => {
                answered += 1;
                if let Some(d) = c {
                    r.handshakes.push(d.as_nanos() as u64);
                }
            }
            _ => break,
        }
    }
    r.setup_wall = t0.elapsed();
    r.setup_cpu_ns = process_cpu_ns() - cpu0;

    say("go".into())?;
    sleep(LEAD + Duration::from_secs(opts.warmup)).await;
    let (m0, c0) = (machine_busy_ticks(), pid_ticks(child_pid));
    let (cpu0, relay0, t0) = (process_cpu_ns(), relay_cpu(&relay).await, Instant::now());
    sleep(Duration::from_secs(opts.seconds)).await;
    let (cpu1, relay1) = (process_cpu_ns(), relay_cpu(&relay).await);
    let (m1, c1) = (machine_busy_ticks(), pid_ticks(child_pid));
    let tick = clock_tick_ns();
    r.machine_busy_ns = (m1 - m0) * tick;
    r.child_cpu_ns = (c1 - c0) * tick;
    r.own_cpu_ns = cpu1 - cpu0;
    r.loadavg = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default();
    r.wall = t0.elapsed();
    r.relay_cpu_ns = relay1.saturating_sub(relay0);
    r.cpu_ns = (cpu1 - cpu0).saturating_sub(r.relay_cpu_ns);

    loop {
        let line = next_line(TAIL + Duration::from_secs(20)).await?;
        if line == "done" {
            break;
        }
        r.lines.push(line);
    }
    close_tx.send(true).ok();
    let deadline = Instant::now() + Duration::from_secs(5);
    while r.closed.len() < r.started {
        match timeout_at(deadline.into(), closed_rx.recv()).await {
            Ok(Some(c)) => r.closed.push(c),
            _ => break,
        }
    }
    Ok(r)
}

fn parent(opts: Opts) -> i32 {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (relay, relay_handle) = relay_thread();
    let child = Command::new(std::env::current_exe().expect("this bench's binary"))
        .args(["--role", "peers"])
        .args(opts.args())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the peers' process");
    let mut child = ChildGuard(child);
    let stdout = child.0.stdout.take().expect("child stdout");
    let (line_tx, lines) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line_tx.send(line).is_err() {
                break;
            }
        }
    });
    // Writes go through a thread so a full pipe never blocks a runtime worker; dropping the
    // sender closes the child's stdin, which ends it.
    let mut stdin = child.0.stdin.take().expect("child stdin");
    let (to_child, from_parent) = std::sync::mpsc::channel::<String>();
    let writer = std::thread::spawn(move || {
        for line in from_parent {
            if writeln!(stdin, "{line}")
                .and_then(|_| stdin.flush())
                .is_err()
            {
                break;
            }
        }
    });
    let child_pid = child.0.id();
    let result = rt.block_on(run_parent(opts, lines, to_child, relay, child_pid));
    writer.join().ok();
    // Closed stdin ends the child; give it a moment, then the guard kills what is left.
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end && matches!(child.0.try_wait(), Ok(None)) {
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(child);
    drop(rt);
    relay_handle.join().ok();
    match result {
        Ok(r) => {
            print_report(&opts, r);
            0
        }
        Err(e) => {
            eprintln!("bridge bench failed: {e}");
            1
        }
    }
}

fn pct(v: &mut [u64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable();
    v[((v.len() - 1) as f64 * p).round() as usize] as f64
}

/// A `count` line of the child: frames as (delivered, sent).
struct Counts {
    peers_connected: f64,
    c2b: (f64, f64),
    b2c: (f64, f64),
    wrong: f64,
    seq_jumps: f64,
    bad_rtp: f64,
    peer_errors: f64,
    peer_disconnects: f64,
}

fn print_report(opts: &Opts, mut r: Report) {
    let find = |key: &str| -> Vec<f64> {
        r.lines
            .iter()
            .find_map(|l| {
                let rest = l.strip_prefix(key)?.strip_prefix(' ')?;
                Some(
                    rest.split_whitespace()
                        .filter_map(|x| x.parse().ok())
                        .collect(),
                )
            })
            .unwrap_or_default()
    };
    // The fields of a `count` line, in the order the child writes them.
    let count = |kind: &str| {
        let mut v = find(&format!("count {kind}"));
        v.resize(11, 0.0);
        Counts {
            peers_connected: v[1],
            c2b: (v[2], v[3]),
            b2c: (v[4], v[5]),
            wrong: v[6],
            seq_jumps: v[7],
            bad_rtp: v[8],
            peer_errors: v[9],
            peer_disconnects: v[10],
        }
    };
    let dist = |name: &str| {
        let mut v = find(&format!("dist {name}"));
        v.resize(4, 0.0);
        v
    };
    let (b, rl) = (count("bridge"), count("relay"));
    let n = opts.legs as f64;
    let secs = r.wall.as_secs_f64();
    let cpu_pct = r.cpu_ns as f64 / 1e9 / secs * 100.0;
    let frames_both = (b.c2b.0 + b.b2c.0).max(1.0);
    println!(
        "hotline-webrtc-rt bridge bench: {} bridged legs (+{} through a plain relay, the \
         baseline), {} s measured after {} s of warm-up, 20 ms PCMU both ways, 127.0.0.1",
        opts.legs, opts.relays, opts.seconds, opts.warmup
    );
    println!();
    println!("| measure | value |");
    println!("| --- | ---: |");
    println!(
        "| legs connected, bridges / peers | {} / {} of {} |",
        r.handshakes.len(),
        b.peers_connected,
        r.started
    );
    println!(
        "| handshake, Bridge::start to Connected (all legs set up at once), p50 / p99 / max | {:.1} / {:.1} / {:.1} ms |",
        pct(&mut r.handshakes, 0.5) / 1e6,
        pct(&mut r.handshakes, 0.99) / 1e6,
        pct(&mut r.handshakes, 1.0) / 1e6
    );
    println!(
        "| set-up: wall time for all legs / bridge-process CPU per leg | {:.2} s / {:.2} ms |",
        r.setup_wall.as_secs_f64(),
        r.setup_cpu_ns as f64 / 1e6 / n
    );
    println!(
        "| bridge CPU, all {} calls | {cpu_pct:.1} % of one core |",
        opts.legs
    );
    println!(
        "| bridge CPU per bridged call | {:.3} % of one core |",
        cpu_pct / n
    );
    println!(
        "| bridge CPU per frame (either way) | {:.1} µs |",
        r.cpu_ns as f64 / 1e3 / frames_both
    );
    println!(
        "| relay CPU per relayed call (baseline, apart) | {:.3} % of one core |",
        r.relay_cpu_ns as f64 / 1e9 / secs * 100.0 / opts.relays.max(1) as f64
    );
    println!(
        "| frames call→browser, bridge / relay (delivered of sent) | {} of {} / {} of {} |",
        b.c2b.0, b.c2b.1, rl.c2b.0, rl.c2b.1
    );
    println!(
        "| frames browser→call, bridge / relay (delivered of sent) | {} of {} / {} of {} |",
        b.b2c.0, b.b2c.1, rl.b2c.0, rl.b2c.1
    );
    let row = |label: &str, bridge: &[f64], relay: &[f64]| {
        println!(
            "| {label}: bridge p50 / p99 / max | {:.0} / {:.0} / {:.0} µs |",
            bridge[1], bridge[2], bridge[3]
        );
        println!(
            "| {label}: relay p50 / p99 / max | {:.0} / {:.0} / {:.0} µs |",
            relay[1], relay[2], relay[3]
        );
        println!(
            "| {label}: added by bridging (bridge − relay) p50 / p99 | {:.0} / {:.0} µs |",
            bridge[1] - relay[1],
            bridge[2] - relay[2]
        );
    };
    row(
        "one-way call→browser",
        &dist("c2b_bridge"),
        &dist("c2b_relay"),
    );
    row(
        "one-way browser→call",
        &dist("b2c_bridge"),
        &dist("b2c_relay"),
    );
    let (rx, tx) = (dist("peer_rx"), dist("peer_tx"));
    println!(
        "| in those: the str0m peer's own receive (datagram in → frame out) p50 / p99 | {:.0} / {:.0} µs |",
        rx[1], rx[2]
    );
    println!(
        "| in those: the str0m peer's own send (frame stamped → SRTP sent) p50 / p99 | {:.0} / {:.0} µs |",
        tx[1], tx[2]
    );
    println!(
        "| anomalies: foreign or malformed frames / RTP seq jumps / wrong SSRC or PT (bridge) | {} / {} / {} |",
        b.wrong, b.seq_jumps, b.bad_rtp
    );
    println!(
        "| peers: errors / ICE disconnects; bridges dropped during the run | {} / {} ; {} |",
        b.peer_errors,
        b.peer_disconnects,
        r.closed.iter().filter(|c| c.dropped).count()
    );
    let mut after: Vec<u64> = r.closed.iter().map(|c| c.after.as_nanos() as u64).collect();
    println!(
        "| close(): event stream ended within 2 s / p50 after close | {} of {} / {:.2} ms |",
        r.closed.iter().filter(|c| c.ended).count(),
        r.started,
        pct(&mut after, 0.5) / 1e6
    );
    let core = |ns: u64| ns as f64 / 1e9 / secs * 100.0;
    println!(
        "| peers' process CPU (not counted) | {:.1} % of one core |",
        core(r.child_cpu_ns)
    );
    // /proc/stat samples at clock ticks and reads some 5-10 % low in this VM, so what other
    // processes took is only told roughly: busy well above the bench's own is others.
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "| machine over the window ({cpus} CPUs = {} %): busy (/proc/stat) / the two bench processes / load average at the end | {:.0} % / {:.0} % / {} |",
        cpus * 100,
        core(r.machine_busy_ns),
        core(r.own_cpu_ns + r.child_cpu_ns),
        r.loadavg
    );
}
