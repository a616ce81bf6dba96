//! One tokio task per call reads its leg sockets and commands and feeds them to its
//! [`CallMedia`]; the pacing clock's threads ([`crate::clock`]) run the session's timers. Both
//! send what the session says and report what it noticed, under the call's lock. A call is a
//! task, not a thread: a thousand calls are a thousand small futures on the runtime's workers
//! plus an entry in a clock thread's heap.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use hotline_media::Digit;
use hotline_media::session::{
    CallMedia, DtmfSource, EncodedAudio, LegConfig, LegId, LegStats, MediaConfig, MediaEvent,
    Micros, SeatMode, Transmit,
};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::clock::{Clock, Registration, Tick};

use crate::ports::PortPair;
use crate::prompts::PromptCache;
use crate::recorder::Recorder;
use crate::stats::STATS;

/// Microseconds since the first call of this process: the sessions' clock.
pub fn now_micros() -> Micros {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    epoch.elapsed().as_micros() as Micros
}

/// What the call logic hears from its media.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaNotice {
    Digit {
        digit: Digit,
        source: DtmfSource,
    },
    /// The playback started by [`CallMediaHandle::play`] that returned `id` finished. A stopped
    /// or replaced playback raises nothing, and the id tells a completion that crossed a newer
    /// play in the channel from the newer one's.
    PlaybackDone {
        id: u64,
    },
    RtpTimeout {
        leg: LegId,
    },
    /// The task ended; final counters per leg, and the recording if one was made.
    Ended {
        caller: LegStats,
        peer: Option<LegStats>,
        recording: Option<PathBuf>,
    },
}

enum Command {
    Play(u64, Vec<EncodedAudio>, bool),
    Stop,
    Inband(bool),
    Attach(Box<PortPair>, LegConfig, Option<PathBuf>),
    Detach,
    Update(LegId, Option<SocketAddr>, bool),
    /// Start (Some(path)) or end (None) a voice message from the caller.
    Message(Option<PathBuf>),
    /// A third party on `pair`: the call becomes a mixed conference.
    AttachSeat(Box<PortPair>, LegConfig),
    DetachSeat,
    ResumePeer,
    SeatMode(SeatMode),
}

/// Control of one call's media task. Dropping every handle ends the task.
#[derive(Clone)]
pub struct CallMediaHandle {
    tx: mpsc::UnboundedSender<Command>,
    next_play: Arc<std::sync::atomic::AtomicU64>,
    prompts: Arc<PromptCache>,
    codec: hotline_media::Codec,
    port: u16,
}

impl CallMediaHandle {
    /// Our RTP port on the caller's leg (for the SDP answer).
    pub fn caller_port(&self) -> u16 {
        self.port
    }

    /// Plays the named prompts in order; returns the id its [`MediaNotice::PlaybackDone`] will
    /// carry, and the names that could not be loaded. Those are skipped with a warning, so a
    /// broken file never leaves a caller waiting for a completion that does not come.
    pub fn play(&self, names: &[String], looping: bool) -> (u64, Vec<String>) {
        let id = self.next_play.fetch_add(1, Ordering::Relaxed) + 1;
        let mut items = Vec::with_capacity(names.len());
        let mut missing = Vec::new();
        for n in names {
            match self.prompts.get(n) {
                Ok(p) => items.push(p.for_codec(self.codec)),
                Err(e) => {
                    warn!(error = %e, "prompt skipped");
                    missing.push(n.clone());
                }
            }
        }
        self.tx.send(Command::Play(id, items, looping)).ok();
        (id, missing)
    }

    pub fn stop_playback(&self) {
        self.tx.send(Command::Stop).ok();
    }

    pub fn set_inband_dtmf(&self, on: bool) {
        self.tx.send(Command::Inband(on)).ok();
    }

    /// Bridges the caller with a peer leg on `pair`; records the call to `record` if given.
    pub fn attach_peer(&self, pair: PortPair, peer: LegConfig, record: Option<PathBuf>) {
        self.tx
            .send(Command::Attach(Box::new(pair), peer, record))
            .ok();
    }

    pub fn detach_peer(&self) {
        self.tx.send(Command::Detach).ok();
    }

    /// Records what the caller says to `path` (a voice message; no peer needed) until
    /// [`CallMediaHandle::end_message`] or the end of the call.
    pub fn record_message(&self, path: PathBuf) {
        self.tx.send(Command::Message(Some(path))).ok();
    }

    /// Brings a third party on `pair` into the call (三方通话): everyone hears the others.
    pub fn attach_seat(&self, pair: PortPair, seat: LegConfig) {
        self.tx.send(Command::AttachSeat(Box::new(pair), seat)).ok();
    }

    pub fn detach_seat(&self) {
        self.tx.send(Command::DetachSeat).ok();
    }

    /// How the third party takes part (a supervisor listening, whispering, barging in).
    pub fn set_seat_mode(&self, mode: SeatMode) {
        self.tx.send(Command::SeatMode(mode)).ok();
    }

    /// The caller hears the peer again after a prompt or hold music.
    pub fn resume_peer(&self) {
        self.tx.send(Command::ResumePeer).ok();
    }

    pub fn end_message(&self) {
        self.tx.send(Command::Message(None)).ok();
    }

    /// A re-INVITE changed a leg's address or hold state.
    pub fn update_leg(&self, leg: LegId, remote: Option<SocketAddr>, hold: bool) {
        self.tx.send(Command::Update(leg, remote, hold)).ok();
    }
}

/// Starts the media task of a call whose caller leg is bound to `pair`.
pub fn spawn_call(
    pair: PortPair,
    caller: LegConfig,
    cfg: MediaConfig,
    prompts: Arc<PromptCache>,
    notices: mpsc::UnboundedSender<MediaNotice>,
) -> CallMediaHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    let handle = CallMediaHandle {
        tx,
        next_play: Arc::new(std::sync::atomic::AtomicU64::new(0)),
        prompts,
        codec: caller.codec,
        port: pair.rtp_port(),
    };
    let now = now_micros();
    let mut cfg = cfg;
    if cfg.unix_micros_at_start == 0 {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        cfg.unix_micros_at_start = unix.saturating_sub(now);
    }
    let media = CallMedia::new(caller, cfg, now);
    STATS.calls_active.fetch_add(1, Ordering::Relaxed);
    STATS.calls_total.fetch_add(1, Ordering::Relaxed);
    let shared = Arc::new_cyclic(|weak: &std::sync::Weak<CallShared>| {
        let tick: std::sync::Weak<dyn Tick> = weak.clone();
        CallShared {
            core: Mutex::new(CallCore {
                media,
                peer: None,
                seat: None,
                recorder: None,
                recording_path: None,
                playing: 0,
            }),
            caller: Arc::new(pair),
            notices,
            reg: Clock::global().register(tick),
        }
    });
    {
        let mut core = shared.lock();
        shared.settle(&mut core);
    }
    tokio::spawn(run(shared, rx));
    handle
}

/// What the call's task and the clock share, behind the call's lock.
struct CallCore {
    media: CallMedia,
    peer: Option<Arc<PortPair>>,
    seat: Option<Arc<PortPair>>,
    recorder: Option<Recorder>,
    recording_path: Option<PathBuf>,
    /// The play whose completion the session will report next.
    playing: u64,
}

struct CallShared {
    core: Mutex<CallCore>,
    caller: Arc<PortPair>,
    notices: mpsc::UnboundedSender<MediaNotice>,
    reg: Registration,
}

impl CallShared {
    fn lock(&self) -> std::sync::MutexGuard<'_, CallCore> {
        self.core.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// After any input: send what the session produced, report its events, and tell the
    /// clock when it is next due. Runs under the call's lock, on the task or the clock.
    fn settle(&self, core: &mut CallCore) {
        while let Some(t) = core.media.poll_transmit() {
            let pair: &PortPair = match t.leg {
                LegId::Caller => &self.caller,
                LegId::Peer => match core.peer.as_deref() {
                    Some(p) => p,
                    None => continue,
                },
                LegId::Seat => match core.seat.as_deref() {
                    Some(p) => p,
                    None => continue,
                },
            };
            if t.rtcp {
                // Reports are not paced media: no lateness, and a failed one is just skipped.
                pair.rtcp.try_send_to(&t.data, t.dest).ok();
            } else {
                send(&pair.rtp, &t);
            }
        }
        while let Some(ev) = core.media.poll_event() {
            match ev {
                MediaEvent::Record { caller, heard } => {
                    if let Some(r) = core.recorder.as_mut()
                        && let Err(e) = r.write(&caller, &heard)
                    {
                        warn!(error = %e, "recording stopped");
                        core.recorder = None;
                    }
                }
                MediaEvent::Digit {
                    digit,
                    source,
                    leg: LegId::Caller,
                } => {
                    self.notices.send(MediaNotice::Digit { digit, source }).ok();
                }
                MediaEvent::Digit { .. } => {}
                MediaEvent::PlaybackDone => {
                    self.notices
                        .send(MediaNotice::PlaybackDone { id: core.playing })
                        .ok();
                }
                MediaEvent::RtpTimeout { leg } => {
                    STATS.rtp_timeouts.fetch_add(1, Ordering::Relaxed);
                    self.notices.send(MediaNotice::RtpTimeout { leg }).ok();
                }
                MediaEvent::Latched { leg, addr } => debug!(?leg, %addr, "RTP latched"),
            }
        }
        self.reg.schedule(core.media.poll_timeout());
    }

    fn on_rtp(&self, leg: LegId, from: SocketAddr, data: &[u8]) {
        STATS.packets_received.fetch_add(1, Ordering::Relaxed);
        let mut core = self.lock();
        core.media.handle_rtp(leg, from, data, now_micros());
        self.settle(&mut core);
    }

    fn on_rtcp(&self, leg: LegId, from: SocketAddr, data: &[u8]) {
        let mut core = self.lock();
        core.media.handle_rtcp(leg, from, data, now_micros());
        self.settle(&mut core);
    }

    fn on_command(&self, cmd: Command) {
        let mut core = self.lock();
        let now = now_micros();
        match cmd {
            Command::Play(id, items, looping) => {
                core.playing = id;
                core.media.play(items, looping, now);
            }
            Command::Stop => core.media.stop_playback(),
            Command::Inband(on) => core.media.set_inband_dtmf(on, now),
            Command::Attach(pair, cfg, record) => {
                core.media.attach_peer(cfg, now);
                core.peer = Some(Arc::from(pair));
                if let Some(path) = record {
                    match Recorder::create(&path) {
                        Ok(r) => {
                            STATS.recordings.fetch_add(1, Ordering::Relaxed);
                            core.recording_path = Some(path);
                            core.recorder = Some(r);
                        }
                        Err(e) => warn!(error = %e, "call not recorded"),
                    }
                }
            }
            Command::Detach => {
                core.media.detach_peer();
                core.peer = None;
            }
            Command::Update(leg, remote, hold) => core.media.update_leg(leg, remote, hold, now),
            Command::Message(Some(path)) => match Recorder::create(&path) {
                Ok(r) => {
                    STATS.recordings.fetch_add(1, Ordering::Relaxed);
                    core.recording_path = Some(path);
                    core.recorder = Some(r);
                    core.media.record_message(true, now);
                }
                Err(e) => warn!(error = %e, "voice message not recorded"),
            },
            Command::AttachSeat(pair, cfg) => {
                core.media.attach_seat(cfg, now);
                core.seat = Some(Arc::from(pair));
            }
            Command::DetachSeat => {
                core.media.detach_seat();
                core.seat = None;
            }
            Command::ResumePeer => core.media.resume_peer(now),
            Command::SeatMode(mode) => {
                core.media.set_seat_mode(mode);
            }
            Command::Message(None) => {
                core.media.record_message(false, now);
                if let Some(r) = core.recorder.take()
                    && let Err(e) = r.finish()
                {
                    warn!(error = %e, "voice message not finished");
                }
            }
        }
        self.settle(&mut core);
    }
}

impl Tick for CallShared {
    fn try_tick(&self, now: Micros) -> bool {
        let mut core = match self.core.try_lock() {
            Ok(c) => c,
            Err(std::sync::TryLockError::WouldBlock) => return false,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
        };
        core.media.handle_timeout(now);
        self.settle(&mut core);
        true
    }
}

async fn recv_on(sock: Option<&UdpSocket>, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
    match sock {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

async fn run(shared: Arc<CallShared>, mut rx: mpsc::UnboundedReceiver<Command>) {
    let caller = shared.caller.clone();
    let mut cbuf = vec![0u8; 2048];
    let mut pbuf = vec![0u8; 2048];
    let mut rtcp_buf = vec![0u8; 1500];
    let mut peer_rtcp_buf = vec![0u8; 1500];
    // Only this task's commands attach or detach the peer: a local copy, refreshed after each
    // command, saves taking the call's lock on every packet just to read it.
    let mut peer: Option<Arc<PortPair>> = None;
    let mut seat: Option<Arc<PortPair>> = None;
    let mut sbuf = vec![0u8; 2048];
    let mut seat_rtcp_buf = vec![0u8; 1500];
    loop {
        tokio::select! {
            r = caller.rtp.recv_from(&mut cbuf) => {
                if let Ok((n, from)) = r {
                    shared.on_rtp(LegId::Caller, from, &cbuf[..n]);
                    // Drain what else is queued without another trip through the reactor.
                    while let Ok((n, from)) = caller.rtp.try_recv_from(&mut cbuf) {
                        shared.on_rtp(LegId::Caller, from, &cbuf[..n]);
                    }
                }
            }
            r = recv_on(peer.as_deref().map(|p| &p.rtp), &mut pbuf) => {
                if let (Ok((n, from)), Some(p)) = (r, peer.as_deref()) {
                    shared.on_rtp(LegId::Peer, from, &pbuf[..n]);
                    while let Ok((n, from)) = p.rtp.try_recv_from(&mut pbuf) {
                        shared.on_rtp(LegId::Peer, from, &pbuf[..n]);
                    }
                }
            }
            r = caller.rtcp.recv_from(&mut rtcp_buf) => {
                if let Ok((n, from)) = r {
                    shared.on_rtcp(LegId::Caller, from, &rtcp_buf[..n]);
                }
            }
            r = recv_on(peer.as_deref().map(|p| &p.rtcp), &mut peer_rtcp_buf) => {
                if let Ok((n, from)) = r {
                    shared.on_rtcp(LegId::Peer, from, &peer_rtcp_buf[..n]);
                }
            }
            r = recv_on(seat.as_deref().map(|p| &p.rtp), &mut sbuf) => {
                if let (Ok((n, from)), Some(p)) = (r, seat.as_deref()) {
                    shared.on_rtp(LegId::Seat, from, &sbuf[..n]);
                    while let Ok((n, from)) = p.rtp.try_recv_from(&mut sbuf) {
                        shared.on_rtp(LegId::Seat, from, &sbuf[..n]);
                    }
                }
            }
            r = recv_on(seat.as_deref().map(|p| &p.rtcp), &mut seat_rtcp_buf) => {
                if let Ok((n, from)) = r {
                    shared.on_rtcp(LegId::Seat, from, &seat_rtcp_buf[..n]);
                }
            }
            cmd = rx.recv() => {
                let Some(cmd) = cmd else { break };
                shared.on_command(cmd);
                let core = shared.lock();
                peer = core.peer.clone();
                seat = core.seat.clone();
            }
        }
    }
    let (caller_stats, peer_stats, recording) = {
        let mut core = shared.lock();
        if let Some(r) = core.recorder.take()
            && let Err(e) = r.finish()
        {
            warn!(error = %e, "recording not finalized");
        }
        // No more ticks: the clock drops the call once it sees the deadline gone.
        shared.reg.schedule(Micros::MAX);
        (
            core.media.stats(LegId::Caller).unwrap_or_default(),
            core.media.stats(LegId::Peer),
            core.recording_path.take(),
        )
    };
    STATS.calls_active.fetch_sub(1, Ordering::Relaxed);
    shared
        .notices
        .send(MediaNotice::Ended {
            caller: caller_stats,
            peer: peer_stats,
            recording,
        })
        .ok();
}

/// Sends one paced packet without waiting: a full socket buffer (which loopback and a LAN
/// rarely see) loses this packet rather than delaying every packet behind it.
fn send(sock: &UdpSocket, t: &Transmit) {
    match sock.try_send_to(&t.data, t.dest) {
        Ok(_) => STATS.sent(now_micros().saturating_sub(t.due)),
        Err(e) => {
            STATS.send_errors.fetch_add(1, Ordering::Relaxed);
            debug!(error = %e, dest = %t.dest, "RTP send failed");
        }
    }
}
