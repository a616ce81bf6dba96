//! One tokio task per call drives its [`CallMedia`]: it reads the leg sockets, sleeps until the
//! session's next timeout, sends what the session says and reports what it noticed. A call is
//! a task, not a thread: a thousand calls are a thousand small futures on the runtime's workers.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use hotline_media::Digit;
use hotline_media::session::{
    CallMedia, DtmfSource, EncodedAudio, LegConfig, LegId, LegStats, MediaConfig, MediaEvent,
    Micros, Transmit,
};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tracing::{debug, warn};

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
    tokio::spawn(run(media, pair, rx, notices));
    handle
}

async fn recv_on(sock: Option<&UdpSocket>, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
    match sock {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

async fn run(
    mut media: CallMedia,
    caller: PortPair,
    mut rx: mpsc::UnboundedReceiver<Command>,
    notices: mpsc::UnboundedSender<MediaNotice>,
) {
    let mut peer: Option<Box<PortPair>> = None;
    let mut recorder: Option<Recorder> = None;
    let mut recording_path: Option<PathBuf> = None;
    // The play whose completion the session will report next.
    let mut playing: u64 = 0;
    let mut cbuf = vec![0u8; 2048];
    let mut pbuf = vec![0u8; 2048];
    let mut rtcp_buf = vec![0u8; 1500];
    let mut peer_rtcp_buf = vec![0u8; 1500];
    let base = Instant::now();
    let base_micros = now_micros();
    let at = |m: Micros| -> tokio::time::Instant {
        let d = Duration::from_micros(m.saturating_sub(base_micros).min(3_600_000_000));
        tokio::time::Instant::from_std(base + d)
    };
    let sleep = tokio::time::sleep_until(at(media.poll_timeout()));
    tokio::pin!(sleep);
    let mut armed = media.poll_timeout();
    loop {
        tokio::select! {
            r = caller.rtp.recv_from(&mut cbuf) => {
                if let Ok((n, from)) = r {
                    STATS.packets_received.fetch_add(1, Ordering::Relaxed);
                    media.handle_rtp(LegId::Caller, from, &cbuf[..n], now_micros());
                    // Drain what else is queued without another trip through the reactor.
                    while let Ok((n, from)) = caller.rtp.try_recv_from(&mut cbuf) {
                        STATS.packets_received.fetch_add(1, Ordering::Relaxed);
                        media.handle_rtp(LegId::Caller, from, &cbuf[..n], now_micros());
                    }
                }
            }
            r = recv_on(peer.as_deref().map(|p| &p.rtp), &mut pbuf) => {
                if let (Ok((n, from)), Some(p)) = (r, peer.as_deref()) {
                    STATS.packets_received.fetch_add(1, Ordering::Relaxed);
                    media.handle_rtp(LegId::Peer, from, &pbuf[..n], now_micros());
                    while let Ok((n, from)) = p.rtp.try_recv_from(&mut pbuf) {
                        STATS.packets_received.fetch_add(1, Ordering::Relaxed);
                        media.handle_rtp(LegId::Peer, from, &pbuf[..n], now_micros());
                    }
                }
            }
            r = caller.rtcp.recv_from(&mut rtcp_buf) => {
                if let Ok((n, from)) = r {
                    media.handle_rtcp(LegId::Caller, from, &rtcp_buf[..n], now_micros());
                }
            }
            r = recv_on(peer.as_deref().map(|p| &p.rtcp), &mut peer_rtcp_buf) => {
                if let Ok((n, from)) = r {
                    media.handle_rtcp(LegId::Peer, from, &peer_rtcp_buf[..n], now_micros());
                }
            }
            cmd = rx.recv() => {
                let Some(cmd) = cmd else { break };
                let now = now_micros();
                match cmd {
                    Command::Play(id, items, looping) => {
                        playing = id;
                        media.play(items, looping, now);
                    }
                    Command::Stop => media.stop_playback(),
                    Command::Inband(on) => media.set_inband_dtmf(on, now),
                    Command::Attach(pair, cfg, record) => {
                        media.attach_peer(cfg, now);
                        peer = Some(pair);
                        if let Some(path) = record {
                            match Recorder::create(&path) {
                                Ok(r) => {
                                    STATS.recordings.fetch_add(1, Ordering::Relaxed);
                                    recording_path = Some(path);
                                    recorder = Some(r);
                                }
                                Err(e) => warn!(error = %e, "call not recorded"),
                            }
                        }
                    }
                    Command::Detach => {
                        media.detach_peer();
                        peer = None;
                    }
                    Command::Update(leg, remote, hold) => media.update_leg(leg, remote, hold, now),
                }
            }
            _ = &mut sleep => {
                media.handle_timeout(now_micros());
            }
        }
        flush(&mut media, &caller, peer.as_deref()).await;
        while let Some(ev) = media.poll_event() {
            match ev {
                MediaEvent::Record { caller, heard } => {
                    if let Some(r) = recorder.as_mut()
                        && let Err(e) = r.write(&caller, &heard)
                    {
                        warn!(error = %e, "recording stopped");
                        recorder = None;
                    }
                }
                MediaEvent::Digit {
                    digit,
                    source,
                    leg: LegId::Caller,
                } => {
                    notices.send(MediaNotice::Digit { digit, source }).ok();
                }
                MediaEvent::Digit { .. } => {}
                MediaEvent::PlaybackDone => {
                    notices.send(MediaNotice::PlaybackDone { id: playing }).ok();
                }
                MediaEvent::RtpTimeout { leg } => {
                    STATS.rtp_timeouts.fetch_add(1, Ordering::Relaxed);
                    notices.send(MediaNotice::RtpTimeout { leg }).ok();
                }
                MediaEvent::Latched { leg, addr } => debug!(?leg, %addr, "RTP latched"),
            }
        }
        let next = media.poll_timeout();
        if next != armed {
            armed = next;
            sleep.as_mut().reset(at(next));
        }
    }
    if let Some(r) = recorder.take()
        && let Err(e) = r.finish()
    {
        warn!(error = %e, "recording not finalized");
    }
    STATS.calls_active.fetch_sub(1, Ordering::Relaxed);
    notices
        .send(MediaNotice::Ended {
            caller: media.stats(LegId::Caller).unwrap_or_default(),
            peer: media.stats(LegId::Peer),
            recording: recording_path,
        })
        .ok();
}

async fn flush(media: &mut CallMedia, caller: &PortPair, peer: Option<&PortPair>) {
    while let Some(t) = media.poll_transmit() {
        let pair = match t.leg {
            LegId::Caller => caller,
            LegId::Peer => match peer {
                Some(p) => p,
                None => continue,
            },
        };
        if t.rtcp {
            // Reports are not paced media: no lateness, and a failed one is just skipped.
            pair.rtcp.try_send_to(&t.data, t.dest).ok();
        } else {
            send(&pair.rtp, &t).await;
        }
    }
}

async fn send(sock: &UdpSocket, t: &Transmit) {
    let r = match sock.try_send_to(&t.data, t.dest) {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => sock.send_to(&t.data, t.dest).await,
        r => r,
    };
    match r {
        Ok(_) => STATS.sent(now_micros().saturating_sub(t.due)),
        Err(e) => {
            STATS.send_errors.fetch_add(1, Ordering::Relaxed);
            debug!(error = %e, dest = %t.dest, "RTP send failed");
        }
    }
}
