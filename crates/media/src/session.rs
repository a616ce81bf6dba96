//! One call's media, sans-IO: the caller's RTP leg, an optional peer leg (the agent, a remote
//! seat, a trunk), the prompt player, DTMF from RFC 4733 and in-band tones, the relay between
//! the legs, symmetric-RTP latching, RTP timeouts and the frames a recorder writes.
//!
//! The shape is quinn-proto's: the shell feeds datagrams with [`CallMedia::handle_rtp`] and the
//! clock with [`CallMedia::handle_timeout`], then drains [`CallMedia::poll_transmit`] and
//! [`CallMedia::poll_event`] and sleeps until [`CallMedia::poll_timeout`]. Time is microseconds
//! on any monotonic clock the shell likes; nothing here reads one.
//!
//! Everything the caller hears goes out as one RTP stream ([`OutboundStream`]): prompts, music
//! on hold and the relayed agent keep one SSRC with continuous sequence numbers and timestamps,
//! because many phones drop audio when a new SSRC shows up mid-call.
//!
//! Prompts are paced on a 20 ms grid that starts with the session. The grid also drives the
//! jitter buffers: audio is decoded only when something needs samples (in-band DTMF detection
//! while the IVR listens, or the recorder), so a call that merely relays does no G.711 work.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::digit::Digit;
use crate::dtmf_detect::DtmfDetector;
use crate::g711;
use crate::jitter::{FRAME_SAMPLES, Frame, JitterBuffer, JitterConfig};
use crate::mixer::{Mixer, ParticipantId};
use crate::rtcp::{self, RtcpItem, SenderInfo};
use crate::rtp_stats::ReceiverStats;
use crate::rtp_stream::{OutboundStream, RtpHeader, RtpPacket};
use crate::sdp::Codec;
use crate::telephone_event::EventReceiver;

/// Microseconds on the shell's monotonic clock.
pub type Micros = u64;

/// One 20 ms packet interval.
pub const FRAME_MICROS: Micros = 20_000;
const FRAME_TS: u32 = FRAME_SAMPLES as u32;
/// After a stall longer than this the player skips ahead instead of bursting the backlog: a
/// burst of old prompt audio helps nobody and floods the phone's jitter buffer.
const MAX_CATCH_UP: Micros = 100_000;
/// A latched address that has been silent this long may be replaced by a new source (a NAT
/// rebinding or a phone that moved): rtpengine's "learning" idea, bounded.
const RELATCH_SILENCE: Micros = 2_000_000;

/// Which side of the call a packet belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LegId {
    /// The citizen.
    Caller,
    /// Whoever the caller is bridged to (agent, remote seat, trunk).
    Peer,
    /// A third party brought into the call (a unit's remote seat, 三方通话): with it the call
    /// is a conference, mixed.
    Seat,
}

/// How the third party takes part: a remote seat or an emergency dispatcher talks; a
/// supervisor monitoring listens (heard by nobody), whispers (密语: heard by the agent only) or
/// barges in (强插: heard by all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeatMode {
    Talk,
    Listen,
    Whisper,
}

/// How a key press reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtmfSource {
    /// RFC 4733 telephone-event packets.
    Rfc4733,
    /// Tones in the audio (Goertzel).
    InBand,
}

/// What one leg negotiated in SDP, plus the numbering of the stream we send on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegConfig {
    /// Where to send, from SDP; `None` for `c=0.0.0.0` or an address not known yet.
    pub remote: Option<SocketAddr>,
    pub codec: Codec,
    /// Payload type of the codec on this leg.
    pub pt: u8,
    /// Payload type of telephone-event on this leg, if negotiated.
    pub te_pt: Option<u8>,
    /// Our SSRC and random initial sequence number and timestamp (RFC 3550 §5.1), drawn by the
    /// shell, which has the randomness.
    pub ssrc: u32,
    pub initial_seq: u16,
    pub initial_ts: u32,
    /// Symmetric RTP: send to where this leg's packets come from (RFC 4961), not only to SDP.
    pub latch: bool,
}

/// Session-wide settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaConfig {
    /// A leg that sends nothing for this long (and is not on hold) raises [`MediaEvent::RtpTimeout`].
    pub rtp_timeout: Micros,
    /// Emit [`MediaEvent::Record`] frames once a peer is attached.
    pub record: bool,
    pub jitter: JitterConfig,
    /// RTCP CNAME of our streams (RFC 3550 §6.5.1, e.g. `hotline@host`).
    pub cname: String,
    /// Unix time in microseconds when the shell's clock read 0 (so Unix time is this plus
    /// `now`): RTCP sender reports carry wall-clock time, which this crate cannot read.
    pub unix_micros_at_start: u64,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            rtp_timeout: 30_000_000,
            record: false,
            jitter: JitterConfig::default(),
            cname: "hotline".into(),
            unix_micros_at_start: 0,
        }
    }
}

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub leg: LegId,
    pub dest: SocketAddr,
    pub data: Vec<u8>,
    /// Goes out of the leg's RTCP socket (the RTP port + 1) rather than its RTP socket.
    pub rtcp: bool,
    /// When it was due; the shell compares with when it actually went out (pacing lateness).
    pub due: Micros,
}

/// Something the call logic must know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    Digit {
        leg: LegId,
        digit: Digit,
        source: DtmfSource,
    },
    /// The last prompt of the playlist finished (not raised for looping music).
    PlaybackDone,
    /// The leg has sent nothing for [`MediaConfig::rtp_timeout`].
    RtpTimeout { leg: LegId },
    /// Symmetric RTP moved the leg's destination to where its packets come from.
    Latched { leg: LegId, addr: SocketAddr },
    /// 20 ms of the conversation for the recorder: what the caller said, what the caller heard
    /// (prompt or peer), 160 samples each.
    Record { caller: Vec<i16>, heard: Vec<i16> },
}

/// Counters for the call's quality and the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LegStats {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    /// Datagrams that were not RTP or had a payload type not negotiated.
    pub rx_dropped: u64,
    /// Packets from an address other than the latched one, ignored.
    pub rx_foreign: u64,
}

/// A prompt already encoded in the caller's codec, as the prompt cache keeps it.
pub type EncodedAudio = Arc<[u8]>;

struct Playlist {
    items: Vec<EncodedAudio>,
    index: usize,
    offset: usize,
    looping: bool,
}

impl Playlist {
    /// Fills one frame; `false` once the list is exhausted (the frame is padded with silence).
    fn next_frame(&mut self, out: &mut [u8; FRAME_SAMPLES], silence: u8) -> bool {
        let mut filled = 0;
        while filled < FRAME_SAMPLES {
            let Some(item) = self.items.get(self.index) else {
                if self.looping
                    && !self.items.is_empty()
                    && self.items.iter().any(|i| !i.is_empty())
                {
                    self.index = 0;
                    self.offset = 0;
                    continue;
                }
                out[filled..].fill(silence);
                return filled > 0;
            };
            let take = (item.len() - self.offset).min(FRAME_SAMPLES - filled);
            out[filled..filled + take].copy_from_slice(&item[self.offset..self.offset + take]);
            filled += take;
            self.offset += take;
            if self.offset >= item.len() {
                self.index += 1;
                self.offset = 0;
            }
        }
        true
    }

    fn exhausted(&self) -> bool {
        !self.looping && self.index >= self.items.len()
    }
}

struct Leg {
    cfg: LegConfig,
    out: OutboundStream,
    events: EventReceiver,
    /// Last time a packet arrived from the remote (or the leg started).
    last_rx: Micros,
    /// Remote SSRC of the current inbound stream: a change means a new source to splice.
    remote_ssrc: Option<u32>,
    latched: bool,
    on_hold: bool,
    timed_out: bool,
    jitter: JitterBuffer,
    stats: LegStats,
    /// RFC 3550 reception statistics of the remote's stream, for our report blocks.
    rx: ReceiverStats,
    /// Payload octets we sent (the SR's octet count) and what the last packet carried.
    tx_payload_octets: u64,
    last_tx: Option<(Micros, u32)>,
    /// Where RTCP goes: learnt from the remote's own RTCP, else the RTP address + 1.
    rtcp_remote: Option<SocketAddr>,
    next_rtcp: Micros,
    reports_sent: u32,
}

impl Leg {
    fn new(cfg: LegConfig, jitter: JitterConfig, now: Micros) -> Self {
        let first = rtcp::report_interval_micros(cfg.ssrc, true);
        Self {
            rx: ReceiverStats::new(8000),
            tx_payload_octets: 0,
            last_tx: None,
            rtcp_remote: None,
            next_rtcp: now + first,
            reports_sent: 0,
            out: OutboundStream::new(cfg.ssrc, cfg.initial_seq, cfg.initial_ts),
            cfg,
            events: EventReceiver::new(),
            last_rx: now,
            remote_ssrc: None,
            latched: false,
            on_hold: false,
            timed_out: false,
            jitter: JitterBuffer::new(jitter),
            stats: LegStats::default(),
        }
    }

    /// Counts a packet we send on this leg.
    fn sent(&mut self, now: Micros, ts: u32, packet_len: usize, payload_len: usize) {
        self.stats.tx_packets += 1;
        self.stats.tx_bytes += packet_len as u64;
        self.tx_payload_octets += payload_len as u64;
        self.last_tx = Some((now, ts));
    }

    fn rtcp_dest(&self) -> Option<SocketAddr> {
        self.rtcp_remote.or_else(|| {
            self.cfg
                .remote
                .map(|a| SocketAddr::new(a.ip(), a.port().wrapping_add(1)))
        })
    }

    /// The compound report due now: SR if we sent RTP since the last one, else RR; with a
    /// report block about the remote's stream once it is validated.
    fn report(&mut self, now: Micros, cfg: &MediaConfig) -> Option<Vec<u8>> {
        let blocks: Vec<_> = match self.remote_ssrc {
            Some(ssrc) => self.rx.report_block(ssrc, now).into_iter().collect(),
            None => Vec::new(),
        };
        let ssrc = self.cfg.ssrc;
        let built = match self.last_tx {
            Some((at, ts)) => {
                let unix = cfg.unix_micros_at_start + now;
                // The RTP time of "now" on our media clock: the last packet's plus what passed.
                let elapsed = u32::try_from(now.saturating_sub(at) / 125).unwrap_or(u32::MAX);
                let info = SenderInfo {
                    ntp_time: rtcp::ntp_from_unix_micros(unix),
                    rtp_ts: ts.wrapping_add(elapsed),
                    packet_count: self.stats.tx_packets as u32,
                    octet_count: self.tx_payload_octets as u32,
                };
                rtcp::build_sender_report(ssrc, &info, &blocks, &cfg.cname)
            }
            None => rtcp::build_receiver_report(ssrc, &blocks, &cfg.cname),
        };
        built.ok()
    }

    fn silence_code(&self) -> u8 {
        silence_code(self.cfg.codec)
    }
}

fn silence_code(codec: Codec) -> u8 {
    match codec {
        Codec::Pcmu => g711::linear_to_ulaw(0),
        Codec::Pcma => g711::linear_to_alaw(0),
    }
}

fn decode(codec: Codec, payload: &[u8]) -> Vec<i16> {
    let mut pcm = vec![0i16; payload.len()];
    match codec {
        Codec::Pcmu => g711::decode_ulaw(payload, &mut pcm),
        Codec::Pcma => g711::decode_alaw(payload, &mut pcm),
    };
    pcm
}

/// What feeds the caller's outbound stream right now.
enum Source {
    Nothing,
    Prompt(Playlist),
    Peer,
    /// Three (or more) parties: everyone gets the mix of the others.
    Conference,
}

/// The mixer of a conference call and who is in it.
struct Conference {
    mixer: Mixer,
    members: Vec<(LegId, ParticipantId)>,
    /// Numbering of the mix "source", rewritten into each leg's stream.
    seq: u16,
    ts: u32,
}

impl Conference {
    fn pid(&self, leg: LegId) -> Option<ParticipantId> {
        self.members
            .iter()
            .find(|(l, _)| *l == leg)
            .map(|(_, p)| *p)
    }

    fn leg(&self, pid: ParticipantId) -> Option<LegId> {
        self.members
            .iter()
            .find(|(_, p)| *p == pid)
            .map(|(l, _)| *l)
    }
}

/// The media of one call. See the module documentation for the driving loop.
pub struct CallMedia {
    cfg: MediaConfig,
    caller: Leg,
    peer: Option<Leg>,
    seat: Option<Leg>,
    conf: Option<Conference>,
    source: Source,
    /// Synthetic numbering of the prompt "source", rewritten into the caller's stream.
    prompt_seq: u16,
    prompt_ts: u32,
    /// The 20 ms grid: next tick time and when the last packet to the caller went out.
    next_tick: Micros,
    last_caller_tx: Option<Micros>,
    /// In-band DTMF detection on the caller's audio, while the IVR listens.
    inband: Option<DtmfDetector>,
    /// Recording a voice message from the caller (no peer needed; independent of
    /// `MediaConfig::record`, which is about bridged calls).
    message: bool,
    transmits: VecDeque<Transmit>,
    events: VecDeque<MediaEvent>,
}

impl CallMedia {
    pub fn new(caller: LegConfig, cfg: MediaConfig, now: Micros) -> Self {
        let jitter = cfg.jitter;
        Self {
            cfg,
            caller: Leg::new(caller, jitter, now),
            peer: None,
            seat: None,
            conf: None,
            source: Source::Nothing,
            prompt_seq: 0,
            prompt_ts: 0,
            next_tick: now + FRAME_MICROS,
            last_caller_tx: None,
            inband: None,
            message: false,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Plays `items` to the caller in order from the next tick, replacing whatever it heard;
    /// `looping` repeats them until stopped (music on hold) and raises no
    /// [`MediaEvent::PlaybackDone`]. An empty list finishes at once.
    pub fn play(&mut self, items: Vec<EncodedAudio>, looping: bool, now: Micros) {
        self.resync(now);
        if items.iter().all(|i| i.is_empty()) && !looping {
            self.source = Source::Nothing;
            self.events.push_back(MediaEvent::PlaybackDone);
            return;
        }
        self.splice_caller_stream();
        self.source = Source::Prompt(Playlist {
            items,
            index: 0,
            offset: 0,
            looping,
        });
    }

    /// Stops the prompt (a key pressed during an interruptible prompt). No PlaybackDone follows.
    pub fn stop_playback(&mut self) {
        if matches!(self.source, Source::Prompt(_)) {
            self.source = Source::Nothing;
        }
    }

    pub fn is_playing(&self) -> bool {
        matches!(self.source, Source::Prompt(_))
    }

    /// Listens for in-band DTMF on the caller's audio (for phones that send neither RFC 4733
    /// nor SIP INFO). Costs a G.711 decode and eight Goertzel filters per frame, so the IVR turns
    /// it on only while it waits for keys and only when the caller negotiated no telephone-event.
    pub fn set_inband_dtmf(&mut self, on: bool, now: Micros) {
        self.resync(now);
        match (on, self.inband.is_some()) {
            (true, false) => self.inband = Some(DtmfDetector::new()),
            (false, true) => self.inband = None,
            _ => {}
        }
    }

    /// Records what the caller says (and any prompt they hear) as [`MediaEvent::Record`]
    /// frames, with no peer: a voice message left in the queue.
    pub fn record_message(&mut self, on: bool, now: Micros) {
        self.resync(now);
        self.message = on;
    }

    /// Whether recorder frames are produced now.
    fn recording(&self) -> bool {
        (self.cfg.record && self.peer.is_some()) || self.message
    }

    /// Bridges the caller with `peer`: from now on each side's packets are relayed to the other
    /// (rewritten into the stream that side knows), and any prompt stops.
    pub fn attach_peer(&mut self, peer: LegConfig, now: Micros) {
        self.resync(now);
        self.peer = Some(Leg::new(peer, self.cfg.jitter, now));
        self.splice_caller_stream();
        self.source = Source::Peer;
    }

    /// Ends the bridge (the agent left); the caller's stream goes quiet until the next prompt.
    pub fn detach_peer(&mut self) {
        self.peer = None;
        if matches!(self.source, Source::Peer) {
            self.source = Source::Nothing;
        }
        self.leave_conference(LegId::Peer);
    }

    /// Brings a third party into the call: from the next tick the caller, the peer (if any)
    /// and the seat each hear the mix of the others. Each leg's stream goes on with its SSRC.
    pub fn attach_seat(&mut self, seat: LegConfig, now: Micros) {
        self.resync(now);
        self.seat = Some(Leg::new(seat, self.cfg.jitter, now));
        let mut mixer = Mixer::new(self.cfg.jitter);
        let mut members = Vec::new();
        for id in [LegId::Caller, LegId::Peer, LegId::Seat] {
            if let Some(l) = self.leg_ref(id) {
                members.push((id, mixer.add(l.cfg.codec)));
            }
        }
        self.splice_caller_stream();
        for l in [self.peer.as_mut(), self.seat.as_mut()]
            .into_iter()
            .flatten()
        {
            l.out.switch_source(FRAME_TS);
        }
        self.conf = Some(Conference {
            mixer,
            members,
            seq: 0,
            ts: 0,
        });
        self.source = Source::Conference;
    }

    /// The third party left: the caller and the peer go on (relayed again), or the caller
    /// alone hears nothing until the next prompt.
    pub fn detach_seat(&mut self) {
        self.seat = None;
        self.leave_conference(LegId::Seat);
    }

    /// Back to the peer after a prompt (hold music while a third party rang and did not
    /// answer): the caller hears the peer again, in the same stream.
    pub fn resume_peer(&mut self, now: Micros) {
        self.resync(now);
        if self.peer.is_some() && self.conf.is_none() && !matches!(self.source, Source::Peer) {
            self.splice_caller_stream();
            self.source = Source::Peer;
        }
    }

    pub fn has_seat(&self) -> bool {
        self.seat.is_some()
    }

    /// Mutes `leg` in a conference (nobody hears it; it still hears everyone), or unmutes.
    /// False outside a conference or for a leg not in it.
    pub fn set_muted(&mut self, leg: LegId, muted: bool) -> bool {
        match self.conf.as_mut() {
            Some(c) => match c.pid(leg) {
                Some(p) => c.mixer.set_muted(p, muted),
                None => false,
            },
            None => false,
        }
    }

    /// How the seat takes part (listen, whisper to the peer, talk). False outside a
    /// conference.
    pub fn set_seat_mode(&mut self, mode: SeatMode) -> bool {
        let Some(c) = self.conf.as_mut() else {
            return false;
        };
        let (Some(seat), peer) = (c.pid(LegId::Seat), c.pid(LegId::Peer)) else {
            return false;
        };
        let audience = match mode {
            SeatMode::Whisper => Some(peer.into_iter().collect()),
            SeatMode::Talk | SeatMode::Listen => None,
        };
        c.mixer.set_muted(seat, mode == SeatMode::Listen) && c.mixer.set_audience(seat, audience)
    }

    /// `leg` is gone from the conference; with two parties left it stays mixed (the citizen
    /// and the expert go on), with one it ends; with caller and peer left it is a relay again.
    fn leave_conference(&mut self, leg: LegId) {
        let Some(conf) = self.conf.as_mut() else {
            return;
        };
        if let Some(pid) = conf.pid(leg) {
            conf.mixer.remove(pid);
            conf.members.retain(|(l, _)| *l != leg);
        }
        let left: Vec<LegId> = conf.members.iter().map(|(l, _)| *l).collect();
        if left.len() >= 2 && left.contains(&LegId::Seat) {
            return;
        }
        self.conf = None;
        if self.peer.is_some() {
            self.splice_caller_stream();
            if let Some(p) = self.peer.as_mut() {
                p.out.switch_source(FRAME_TS);
            }
            self.source = Source::Peer;
        } else {
            self.source = Source::Nothing;
        }
    }

    pub fn has_peer(&self) -> bool {
        self.peer.is_some()
    }

    /// A re-INVITE moved a leg (new address) or put it on hold (`None`, or `hold`): a leg on
    /// hold may stop sending without timing out, and nothing is sent to a leg with no address.
    pub fn update_leg(&mut self, leg: LegId, remote: Option<SocketAddr>, hold: bool, now: Micros) {
        if let Some(l) = self.leg_mut(leg) {
            l.cfg.remote = remote;
            l.latched = false;
            l.on_hold = hold;
            l.timed_out = false;
            l.last_rx = now;
        }
    }

    pub fn stats(&self, leg: LegId) -> Option<LegStats> {
        match leg {
            LegId::Caller => Some(self.caller.stats),
            LegId::Peer => self.peer.as_ref().map(|p| p.stats),
            LegId::Seat => self.seat.as_ref().map(|p| p.stats),
        }
    }

    /// Where packets for `leg` go now (SDP or latched).
    pub fn remote(&self, leg: LegId) -> Option<SocketAddr> {
        match leg {
            LegId::Caller => self.caller.cfg.remote,
            LegId::Peer => self.peer.as_ref().and_then(|p| p.cfg.remote),
            LegId::Seat => self.seat.as_ref().and_then(|p| p.cfg.remote),
        }
    }

    fn leg_mut(&mut self, leg: LegId) -> Option<&mut Leg> {
        match leg {
            LegId::Caller => Some(&mut self.caller),
            LegId::Peer => self.peer.as_mut(),
            LegId::Seat => self.seat.as_mut(),
        }
    }

    fn leg_ref(&self, leg: LegId) -> Option<&Leg> {
        match leg {
            LegId::Caller => Some(&self.caller),
            LegId::Peer => self.peer.as_ref(),
            LegId::Seat => self.seat.as_ref(),
        }
    }

    /// The caller's stream changes source: tell the rewriter how much playout time passed since
    /// the last packet so the timestamps keep following real time.
    fn splice_caller_stream(&mut self) {
        let elapsed = match self.last_caller_tx {
            Some(last) => {
                let micros = self.next_tick.saturating_sub(last);
                u32::try_from(micros / 125).unwrap_or(u32::MAX)
            }
            None => FRAME_TS,
        };
        self.caller.out.switch_source(elapsed.max(FRAME_TS));
        // The prompt source restarts its numbering each time; the rewriter maps it anyway.
        self.prompt_seq = 0;
        self.prompt_ts = 0;
    }

    /// Feeds one datagram that arrived on `leg`'s RTP socket from `from`.
    pub fn handle_rtp(&mut self, leg: LegId, from: SocketAddr, data: &[u8], now: Micros) {
        let inband = self.inband.is_some();
        let record = self.recording();
        let l = match leg {
            LegId::Caller => &mut self.caller,
            LegId::Peer => match self.peer.as_mut() {
                Some(p) => p,
                None => return,
            },
            LegId::Seat => match self.seat.as_mut() {
                Some(p) => p,
                None => return,
            },
        };
        let conf = &mut self.conf;
        let events = &mut self.events;
        let Ok(pkt) = RtpPacket::parse(data) else {
            l.stats.rx_dropped += 1;
            return;
        };
        // Symmetric RTP: the first packet (or a new source after the old one went silent)
        // decides where we send. Without latching, packets from elsewhere are still accepted:
        // SDP may name an address the phone does not send from.
        if l.cfg.latch && l.cfg.remote != Some(from) {
            let may_latch = !l.latched || now.saturating_sub(l.last_rx) >= RELATCH_SILENCE;
            if may_latch {
                l.cfg.remote = Some(from);
                l.latched = true;
                events.push_back(MediaEvent::Latched { leg, addr: from });
            } else {
                l.stats.rx_foreign += 1;
                return;
            }
        } else if l.cfg.latch {
            l.latched = true;
        }
        l.last_rx = now;
        l.timed_out = false;
        l.stats.rx_packets += 1;
        l.stats.rx_bytes += data.len() as u64;
        let h = pkt.header;
        let is_event = l.cfg.te_pt == Some(h.pt);
        let is_audio = h.pt == l.cfg.pt;
        if !is_event && !is_audio {
            l.stats.rx_dropped += 1;
            return;
        }
        let new_source = l.remote_ssrc != Some(h.ssrc);
        if new_source {
            l.rx = ReceiverStats::new(8000);
        }
        l.remote_ssrc = Some(h.ssrc);
        if is_audio {
            l.rx.on_packet(h.seq, h.ts, now);
        }
        if is_event {
            if let Ok(Some(d)) = l.events.receive(h.ts, h.marker, pkt.payload) {
                events.push_back(MediaEvent::Digit {
                    leg,
                    digit: d.digit,
                    source: DtmfSource::Rfc4733,
                });
            }
        } else if let Some(c) = conf.as_mut()
            && let Some(pid) = c.pid(leg)
        {
            // In a conference audio goes to the mixer, not across.
            c.mixer.push(pid, playout_clock(now), h.ts, pkt.payload);
            return;
        } else if (leg == LegId::Caller && inband) || record {
            let codec = l.cfg.codec;
            let playout = playout_clock(now);
            l.jitter.push(playout, h.ts, decode(codec, pkt.payload));
        }
        self.relay(leg, &h, is_event, new_source, pkt.payload, now);
    }

    /// Passes a packet from one leg to the other, renumbered into the other's stream.
    fn relay(
        &mut self,
        from: LegId,
        h: &RtpHeader,
        is_event: bool,
        new_source: bool,
        payload: &[u8],
        now: Micros,
    ) {
        if !matches!(self.source, Source::Peer) {
            return;
        }
        let Some(peer) = self.peer.as_mut() else {
            return;
        };
        let (to_leg, dst) = match from {
            LegId::Caller => (LegId::Peer, peer),
            LegId::Peer => (LegId::Caller, &mut self.caller),
            // A seat's audio only ever reaches the others through the mixer.
            LegId::Seat => return,
        };
        let Some(dest) = dst.cfg.remote else { return };
        let pt = if is_event {
            match dst.cfg.te_pt {
                Some(pt) => pt,
                // The other side cannot take RFC 4733; the digit still reached the call logic.
                None => return,
            }
        } else {
            dst.cfg.pt
        };
        if new_source && to_leg == LegId::Peer {
            // The caller restarted its stream: splice it into the one the peer knows.
            dst.out.switch_source(FRAME_TS);
        }
        let out = dst.out.rewrite(&RtpHeader { pt, ..*h });
        let mut data = Vec::with_capacity(12 + payload.len());
        out.write_packet(payload, &mut data);
        dst.sent(now, out.ts, data.len(), payload.len());
        if to_leg == LegId::Caller {
            self.last_caller_tx = Some(now);
        }
        self.transmits.push_back(Transmit {
            leg: to_leg,
            dest,
            data,
            rtcp: false,
            due: now,
        });
    }

    /// Advances the clock: sends the prompt frames that are due, runs the jitter buffers,
    /// detectors and recorder for each 20 ms tick passed, and checks RTP timeouts.
    pub fn handle_timeout(&mut self, now: Micros) {
        if !self.ticking() {
            self.resync(now);
        }
        if now.saturating_sub(self.next_tick) > MAX_CATCH_UP {
            // Stalled (the shell was not scheduled): skip the backlog, keep the grid's phase.
            let behind = (now - self.next_tick) / FRAME_MICROS;
            self.next_tick += behind * FRAME_MICROS;
        }
        while self.next_tick <= now {
            let tick = self.next_tick;
            self.tick(tick);
            self.next_tick += FRAME_MICROS;
        }
        let timeout = self.cfg.rtp_timeout;
        for leg in [LegId::Caller, LegId::Peer, LegId::Seat] {
            let Some(l) = self.leg_mut(leg) else { continue };
            if !l.on_hold && !l.timed_out && now.saturating_sub(l.last_rx) >= timeout {
                l.timed_out = true;
                self.events.push_back(MediaEvent::RtpTimeout { leg });
            }
        }
        self.send_reports(now);
    }

    /// RTCP reports every 5 s ±50 % per leg (RFC 3550 §6.3, two-party session).
    fn send_reports(&mut self, now: Micros) {
        let cfg = &self.cfg;
        let legs = [
            (LegId::Caller, Some(&mut self.caller)),
            (LegId::Peer, self.peer.as_mut()),
            (LegId::Seat, self.seat.as_mut()),
        ];
        for (id, l) in legs {
            let Some(l) = l else { continue };
            if now < l.next_rtcp {
                continue;
            }
            l.reports_sent = l.reports_sent.wrapping_add(1);
            // Deterministic spread: the SSRC is random, the count moves it along.
            let spread = l.cfg.ssrc.rotate_left(l.reports_sent % 32) ^ l.reports_sent;
            l.next_rtcp = now + rtcp::report_interval_micros(spread, false);
            let (Some(dest), Some(data)) = (l.rtcp_dest(), l.report(now, cfg)) else {
                continue;
            };
            self.transmits.push_back(Transmit {
                leg: id,
                dest,
                data,
                rtcp: true,
                due: now,
            });
        }
    }

    /// Feeds one datagram from `leg`'s RTCP socket: a sender report's time for our LSR/DLSR,
    /// and the address to send our reports to. Anything unparsable is dropped.
    pub fn handle_rtcp(&mut self, leg: LegId, from: SocketAddr, data: &[u8], now: Micros) {
        let Some(l) = self.leg_mut(leg) else { return };
        let Ok(items) = rtcp::parse(data) else {
            return;
        };
        l.rtcp_remote = Some(from);
        for item in items {
            if let RtcpItem::SenderReport { ssrc, info, .. } = item
                && Some(ssrc) == l.remote_ssrc
            {
                l.rx.on_sender_report(rtcp::ntp_middle32(info.ntp_time), now);
            }
        }
    }

    /// Reception statistics of `leg`'s remote stream (loss, jitter), for the call's quality.
    pub fn reception(&self, leg: LegId) -> Option<&ReceiverStats> {
        match leg {
            LegId::Caller => Some(&self.caller.rx),
            LegId::Peer => self.peer.as_ref().map(|p| &p.rx),
            LegId::Seat => self.seat.as_ref().map(|p| &p.rx),
        }
    }

    fn tick(&mut self, tick: Micros) {
        if self.conf.is_some() {
            self.conference_tick(tick);
            return;
        }
        // What the caller heard from a prompt in this tick, for the recorder.
        let mut heard_prompt = None;
        let recording_now = self.recording();
        if let Source::Prompt(list) = &mut self.source {
            let silence = self.caller.silence_code();
            let mut frame = [0u8; FRAME_SAMPLES];
            let had_audio = list.next_frame(&mut frame, silence);
            if had_audio {
                let src = RtpHeader {
                    marker: false,
                    pt: self.caller.cfg.pt,
                    seq: self.prompt_seq,
                    ts: self.prompt_ts,
                    ssrc: 0,
                };
                self.prompt_seq = self.prompt_seq.wrapping_add(1);
                self.prompt_ts = self.prompt_ts.wrapping_add(FRAME_TS);
                let out = self.caller.out.rewrite(&src);
                if let Some(dest) = self.caller.cfg.remote {
                    let mut data = Vec::with_capacity(12 + FRAME_SAMPLES);
                    out.write_packet(&frame, &mut data);
                    self.caller.sent(tick, out.ts, data.len(), FRAME_SAMPLES);
                    self.transmits.push_back(Transmit {
                        leg: LegId::Caller,
                        dest,
                        data,
                        rtcp: false,
                        due: tick,
                    });
                }
                // Even with no address (on hold) the prompt's time passes.
                self.last_caller_tx = Some(tick);
                if recording_now {
                    heard_prompt = Some(decode(self.caller.cfg.codec, &frame));
                }
            }
            if list.exhausted() {
                self.source = Source::Nothing;
                self.events.push_back(MediaEvent::PlaybackDone);
            }
        }
        let playout = playout_clock(tick);
        let recording = self.recording();
        let need_caller_audio = self.inband.is_some() || recording;
        if need_caller_audio {
            let said = match self.caller.jitter.pop(playout) {
                Frame::Audio(s) => Some(s),
                Frame::Missing => None,
            };
            if let (Some(det), Some(s)) = (self.inband.as_mut(), said.as_ref()) {
                for digit in det.push(s) {
                    self.events.push_back(MediaEvent::Digit {
                        leg: LegId::Caller,
                        digit,
                        source: DtmfSource::InBand,
                    });
                }
            }
            if recording {
                let heard = match (&self.source, heard_prompt, self.peer.as_mut()) {
                    (_, Some(h), _) => h,
                    (Source::Peer, None, Some(peer)) => match peer.jitter.pop(playout) {
                        Frame::Audio(s) => s,
                        Frame::Missing => vec![0; FRAME_SAMPLES],
                    },
                    _ => vec![0; FRAME_SAMPLES],
                };
                self.events.push_back(MediaEvent::Record {
                    caller: said.unwrap_or_else(|| vec![0; FRAME_SAMPLES]),
                    heard,
                });
            }
        }
    }

    /// One 20 ms frame of a conference: each member gets the mix of the others, in its own
    /// stream; the recorder gets the caller and what the caller heard.
    fn conference_tick(&mut self, tick: Micros) {
        let Some(conf) = self.conf.as_mut() else {
            return;
        };
        let mixed = conf.mixer.mix(playout_clock(tick));
        let (seq, ts) = (conf.seq, conf.ts);
        conf.seq = conf.seq.wrapping_add(1);
        conf.ts = conf.ts.wrapping_add(FRAME_TS);
        let record = self.cfg.record;
        let caller_said = conf
            .pid(LegId::Caller)
            .and_then(|p| conf.mixer.frame_of(p))
            .map(<[i16]>::to_vec);
        let out: Vec<(LegId, Vec<u8>)> = mixed
            .into_iter()
            .filter_map(|m| conf.leg(m.to).map(|l| (l, m.payload)))
            .collect();
        let mut heard = None;
        for (id, payload) in out {
            if record && id == LegId::Caller {
                heard = Some(decode(self.caller.cfg.codec, &payload));
            }
            let Some(leg) = self.leg_mut(id) else {
                continue;
            };
            let src = RtpHeader {
                marker: false,
                pt: leg.cfg.pt,
                seq,
                ts,
                ssrc: 0,
            };
            let hdr = leg.out.rewrite(&src);
            let Some(dest) = leg.cfg.remote else { continue };
            let mut data = Vec::with_capacity(12 + payload.len());
            hdr.write_packet(&payload, &mut data);
            leg.sent(tick, hdr.ts, data.len(), payload.len());
            if id == LegId::Caller {
                self.last_caller_tx = Some(tick);
            }
            self.transmits.push_back(Transmit {
                leg: id,
                dest,
                data,
                rtcp: false,
                due: tick,
            });
        }
        if record {
            self.events.push_back(MediaEvent::Record {
                caller: caller_said.unwrap_or_else(|| vec![0; FRAME_SAMPLES]),
                heard: heard.unwrap_or_else(|| vec![0; FRAME_SAMPLES]),
            });
        }
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<MediaEvent> {
        self.events.pop_front()
    }

    /// When [`CallMedia::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Micros {
        let mut next = self.rtp_deadline();
        for l in [Some(&self.caller), self.peer.as_ref(), self.seat.as_ref()]
            .into_iter()
            .flatten()
        {
            next = next.min(l.next_rtcp);
        }
        if self.ticking() {
            next = next.min(self.next_tick);
        }
        next
    }

    /// Whether the 20 ms grid has work: a prompt, a detector or a recorder.
    fn ticking(&self) -> bool {
        matches!(self.source, Source::Prompt(_))
            || self.inband.is_some()
            || self.recording()
            || self.conf.is_some()
    }

    fn rtp_deadline(&self) -> Micros {
        let timeout = self.cfg.rtp_timeout;
        [Some(&self.caller), self.peer.as_ref(), self.seat.as_ref()]
            .into_iter()
            .flatten()
            .filter(|l| !l.on_hold && !l.timed_out)
            .map(|l| l.last_rx + timeout)
            .min()
            .unwrap_or(Micros::MAX)
    }

    /// Moves an idle grid to its first point at or after `now`, so that work starting now
    /// begins on the grid instead of catching up ticks that had nothing to do.
    fn resync(&mut self, now: Micros) {
        if !self.ticking() && self.next_tick < now {
            let behind = (now - self.next_tick).div_ceil(FRAME_MICROS);
            self.next_tick += behind * FRAME_MICROS;
        }
    }
}

/// The jitter buffers' playout clock in samples (8 kHz), from microseconds.
fn playout_clock(now: Micros) -> u32 {
    // Wraps after 6 days; the buffer compares with wrapping arithmetic.
    (now / 125) as u32
}
