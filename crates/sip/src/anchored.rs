//! The hotline entry with the media anchored here: the caller's call is answered by the IVR
//! (our SDP, our RTP port), the dialplan runs on its DTMF, and when it queues the call the
//! agents (and a remote seat or utility line rung in parallel, 双线并行) are offered our second
//! RTP port; the first to answer is bridged through the media task, the others are CANCELled.
//!
//! Decisions belong to the pure crates: the dialplan interpreter (`hotline-ivr`) says what to
//! play and where to go, the media session (`hotline-media`) paces and relays. This task only
//! turns SIP dialog events, media notices and timers into their inputs, and their actions into
//! SIP requests and media commands.

use crate::acd::{CallCmd, QueuedCall};
use crate::config::{LineInfo, MediaSetup};
use crate::core::{Core, Target};
use crate::msg;
use hotline_cdr::{CallKind, CallRecordBuilder, EndReason};
use hotline_ivr::{Action, Event, IvrCall, LineVars, Vars};
use hotline_media::sdp::{self, Codec, Direction, LocalMedia, Offer, SdpError, SessionVersion};
use hotline_media::sdp_offer::LocalOffer;
use hotline_media::session::{LegConfig, LegId, MediaConfig, SeatMode};
use hotline_media_rt::{CallMediaHandle, MediaNotice, PortPair};
use rsipstack::dialog::dialog::{DialogState, TerminatedReason, TransactionHandle};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::{Header, Request, Response, StatusCode};
use rsipstack::transaction::transaction::Transaction;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

/// Prompt looped while the caller waits for an agent.
const HOLD_MUSIC: &str = "moh";
/// Prompt played before hanging up on a caller nobody could take.
const GOODBYE: &str = "goodbye";

enum Ev {
    Caller(DialogState),
    Media(MediaNotice),
    /// Leg `i` (an index into `Call::legs`, which only grows).
    Leg(usize, DialogState),
    LegDone(usize, Option<Response>),
    /// What the ACD asks of this call.
    Acd(CallCmd),
    /// The ring timer of round `n` fired.
    RingTimeout(u32),
    /// The voice message reached its longest.
    MessageFull,
    /// A request from the HTTP API (one-key emergency transfer).
    Control(CallControl),
    /// The emergency trunk rung on leg `i` did not answer in time.
    TransferTimeout(usize),
    /// The remote seat rung on leg `i` did not answer in time.
    SeatTimeout(usize),
    /// Time to ring round `n`.
    Ring(u32),
    Shutdown,
}

struct Leg {
    /// Agent id, or the URI of a remote seat / trunk.
    who: String,
    dialog: InviteDialog,
    done: bool,
    /// We gave up on it (CANCEL): an answer that still arrives is hung up.
    cancelled: bool,
    /// Offered by the ACD to this agent (else a line rung beside the queue, or a transfer).
    agent: Option<String>,
    /// The ringing round of a non-ACD leg.
    round: u32,
}

/// Where the call is.
enum Phase {
    /// The dialplan is running.
    Ivr,
    /// Ringing agents (or waiting between rounds), music on hold playing.
    Queue,
    /// Talking to `legs[winner]`.
    Bridged(usize),
    /// A closing prompt plays, then BYE with this reason.
    Closing(EndReason),
    /// The caller leaves a voice message: the prompt plays, then (`recording`) their voice is
    /// recorded until `#`, hang-up or `MESSAGE_MAX`.
    Message { recording: bool },
}

/// The longest voice message a caller may leave.
const MESSAGE_MAX: Duration = Duration::from_secs(60);

/// What the API asks of a call in progress.
pub(crate) enum CallControl {
    /// One-key transfer (话务转接, T5): move the caller to the trunk of an emergency line
    /// (110, 119, 120, 122, 12122), caller ID kept. Answered when the trunk answers (the
    /// number) or fails (why).
    Emergency {
        number: String,
        /// The agent stays on the line as a third party to brief the dispatcher.
        stay: bool,
        reply: tokio::sync::oneshot::Sender<Result<String, String>>,
    },
    /// Blind transfer: to an agent, an annex number or a SIP URI; the caller stays with the
    /// agent until the target answers, and is back with the agent if it does not.
    Transfer {
        to: String,
        reply: tokio::sync::oneshot::Sender<Result<String, String>>,
    },
    /// Hold (保持) or resume: the caller hears music on hold instead of the agent, who stays
    /// on the line. Answered with `held` or `resumed`.
    Hold {
        on: bool,
        reply: tokio::sync::oneshot::Sender<Result<String, String>>,
    },
    /// A supervisor monitors the call from `phone` (an agent id or registered user, an annex
    /// number or a SIP URI): rung, then mixed in as listening, whispering to the agent or
    /// barging in. Answered with the phone's number once it joined.
    Monitor {
        phone: String,
        mode: SeatMode,
        reply: tokio::sync::oneshot::Sender<Result<String, String>>,
    },
    /// The monitoring supervisor changes mode (listen → whisper → barge, or back).
    MonitorMode {
        mode: SeatMode,
        reply: tokio::sync::oneshot::Sender<Result<String, String>>,
    },
    /// Three-party call (三方通话): ring the remote seat of a unit (by annex number or unit
    /// name) and, when it answers, mix it in. Answered with the number when it joins.
    Seat {
        who: String,
        reply: tokio::sync::oneshot::Sender<Result<String, String>>,
    },
}

/// The remote seat of a three-party call: ringing (with the API's reply) or joined.
struct SeatParty {
    leg: usize,
    number: String,
    reply: Option<tokio::sync::oneshot::Sender<Result<String, String>>>,
    joined: bool,
    /// Our RTP port towards it (for its re-INVITEs).
    port: u16,
    /// A supervisor monitoring (listen, whisper, barge) rather than a party to the call:
    /// rung without hold music, and the call ends with the agent.
    monitor: Option<SeatMode>,
}

/// A transfer ringing its target; the caller stays with the agent meanwhile.
struct PendingTransfer {
    leg: usize,
    number: String,
    /// The API's answer, or none for a REFER (whose progress goes back in NOTIFYs).
    reply: Option<tokio::sync::oneshot::Sender<Result<String, String>>>,
    /// Asked by the agent's phone with REFER: report with NOTIFY sipfrag (RFC 3515).
    refer: bool,
    /// `emergency` or `transfer`, for the route.
    label: &'static str,
}

/// What a queue or transfer rings, beside the registered agents of `group`.
struct RingPlan {
    group: Option<String>,
    extra: Vec<String>,
    /// `extra` resolved once, at the first round: a name that does not resolve (a placeholder
    /// `.invalid` target) must not stall every round of the call on DNS.
    resolved: Option<Vec<(String, Target)>>,
    /// Give up after the first round (a transfer) instead of retrying until the max wait.
    once: bool,
    deadline: tokio::time::Instant,
}

pub(crate) async fn entry(
    core: Arc<Core>,
    dialogs: Arc<DialogLayer>,
    mut s: Transaction,
    line: Option<LineInfo>,
    media: Arc<MediaSetup>,
    mut setup: Option<crate::overload::InflightGuard>,
) {
    let original = s.original.clone();
    let mut record = core.new_record(&original, CallKind::Hotline, s.connection.as_ref());
    if let Some(l) = &line {
        record.line(l.number.clone(), l.unit.clone(), l.mode.clone());
    }
    s.send_trying().await.ok();

    // The caller's offer, answered with our media address; an INVITE without SDP (a delayed
    // offer, as some trunks send) gets our offer in the 200 and answers in its ACK.
    let offer = if original.body.is_empty() {
        None
    } else {
        match std::str::from_utf8(&original.body)
            .map_err(|_| SdpError::Malformed {
                line: 1,
                reason: "not UTF-8".into(),
            })
            .and_then(Offer::parse)
        {
            Ok(o) => Some(o),
            Err(e) => {
                reject(&mut s, 488, &format!("SDP: {e}")).await;
                core.finish_record(record, EndReason::Failed, 488);
                return;
            }
        }
    };
    let caller_pair = match media.ports.allocate() {
        Ok(p) => p,
        Err(e) => {
            warn!(error = %e, "no RTP port for a new call");
            let retry = Header::RetryAfter(core.cfg.retry_after_secs.to_string().into());
            s.reply_with(StatusCode::ServiceUnavailable, vec![retry], None)
                .await
                .ok();
            core.finish_record(record, EndReason::Overload, 503);
            return;
        }
    };
    let local = LocalMedia {
        ip: media.ports.ip(),
        port: caller_pair.rtp_port(),
        prefer: vec![Codec::Pcmu, Codec::Pcma],
    };
    let mut caller_version = SessionVersion::new(rand::random::<u32>().into(), 1);
    let our_offer = LocalOffer {
        ip: local.ip,
        port: local.port,
        codecs: local.prefer.clone(),
        telephone_event: true,
        direction: Direction::SendRecv,
    };
    let (body_200, mut audio) = match &offer {
        Some(offer) => match sdp::answer(offer, local) {
            Ok(a) => (a.to_sdp(&mut caller_version), Some(a.audio)),
            Err(e) => {
                reject(&mut s, 488, &format!("SDP: {e}")).await;
                core.finish_record(record, EndReason::Failed, 488);
                return;
            }
        },
        None => (our_offer.to_sdp(&mut caller_version), None),
    };

    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<Ev>();
    let Some(caller) = crate::caller_leg::start(&core, &dialogs, s, &ev_tx, Ev::Caller).await
    else {
        core.finish_record(record, EndReason::Failed, 500);
        return;
    };
    let caller_id = caller.id();
    let sdp_ct = vec![Header::ContentType("application/sdp".into())];
    if let Err(e) = caller.accept(Some(sdp_ct.clone()), Some(body_200.into_bytes())) {
        warn!(error = %e, "caller went away before the IVR answered");
        core.finish_record(record, EndReason::Abandoned, 487);
        dialogs.remove_dialog(&caller_id);
        return;
    }
    // Answered by the IVR: the setup is over (the call itself is not "in flight").
    setup.take();
    if audio.is_none() {
        // Delayed offer: the answer comes in the ACK (RFC 3264 §4, RFC 3261 §13.2.1).
        match ack_answer(&caller, &our_offer, &mut ev_rx).await {
            Ok(a) => audio = Some(a),
            Err(why) => {
                info!(record = %record.id(), %why, "delayed offer not answered");
                caller.bye().await.ok();
                core.finish_record(record, EndReason::Failed, 200);
                dialogs.remove_dialog(&caller_id);
                return;
            }
        }
    }
    let Some(audio) = audio else { return };

    // Media: the caller's leg from the negotiated stream.
    let remote = remote_addr(audio.remote_ip, audio.remote_port);
    let caller_leg = LegConfig {
        remote,
        codec: audio.codec,
        pt: audio.pt,
        te_pt: audio.telephone_event_pt,
        ssrc: rand::random(),
        initial_seq: rand::random(),
        initial_ts: rand::random(),
        latch: true,
    };
    let (notice_tx, mut notice_rx) = mpsc::unbounded_channel();
    let handle = hotline_media_rt::spawn_call(
        caller_pair,
        caller_leg,
        MediaConfig {
            rtp_timeout: media.rtp_timeout.as_micros() as u64,
            record: media.recordings_dir.is_some(),
            cname: format!("hotline@{}", core.cfg.domain),
            ..MediaConfig::default()
        },
        media.prompts.clone(),
        notice_tx,
    );
    if audio.direction != Direction::SendRecv {
        // Offered on hold from the start: do not time the caller out for silence.
        handle.update_leg(LegId::Caller, remote, true);
    }
    {
        let ev_tx = ev_tx.clone();
        tokio::spawn(async move {
            while let Some(n) = notice_rx.recv().await {
                if ev_tx.send(Ev::Media(n)).is_err() {
                    break;
                }
            }
        });
    }
    let token = tokio_util::sync::CancellationToken::new();
    core.calls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(record.id().to_string(), token.clone());
    {
        let (ctl_tx, mut ctl_rx) = mpsc::unbounded_channel::<CallControl>();
        core.controls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(record.id().to_string(), ctl_tx);
        let ev = ev_tx.clone();
        tokio::spawn(async move {
            while let Some(c) = ctl_rx.recv().await {
                if ev.send(Ev::Control(c)).is_err() {
                    break;
                }
            }
        });
    }
    {
        let ev = ev_tx.clone();
        tokio::spawn(async move {
            token.cancelled().await;
            ev.send(Ev::Shutdown).ok();
        });
    }

    let from = msg::from_value(&original);
    let caller_user = msg::uri_user(from).unwrap_or("anonymous").to_string();
    let dialed = msg::uri_user(&format!("<{}>", original.uri))
        .unwrap_or_default()
        .to_string();
    let line_vars = line
        .as_ref()
        .map(LineInfo::vars)
        .unwrap_or_else(|| LineVars {
            number: dialed.clone(),
            mode: "hotline".into(),
            ..LineVars::default()
        });
    let mut call = Call {
        core: core.clone(),
        dialogs: dialogs.clone(),
        media: media.clone(),
        ev_tx,
        caller,
        caller_user,
        display: msg::display_name(from),
        line: line.clone(),
        handle,
        codec: audio.codec,
        caller_te: audio.telephone_event_pt.is_some(),
        caller_version,
        local_port: 0,
        peer_pair: None,
        seat_pair: None,
        bridged_peer_port: None,
        peer_version: SessionVersion::new(rand::random::<u32>().into(), 1),
        seat_version: SessionVersion::new(rand::random::<u32>().into(), 1),
        legs: Vec::new(),
        round: 0,
        plan: None,
        phase: Phase::Ivr,
        record,
        ivr: None,
        started: Instant::now(),
        outcome: None,
        route_extra: Vec::new(),
        playing: 0,
        acd: None,
        priority: 0,
        transfer: None,
        invite_headers: Vec::new(),
        seat: None,
        agent_left: false,
        held: false,
    };
    call.local_port = call.handle.caller_port();

    // The dialplan; with none for this number, straight to the entry group (T1).
    let plan = media
        .dialplans
        .select(&dialed, line.as_ref().map(|l| l.mode.as_str()))
        .cloned();
    match plan {
        Some(plan) => {
            let vars = Vars::for_call(&call.caller_user, &dialed, &line_vars);
            // While the IVR runs, listen for tones too when the phone has no RFC 4733 (the
            // queue turns it off again).
            if !call.caller_te {
                call.handle.set_inband_dtmf(true);
            }
            let (ivr, actions) = IvrCall::start(plan, vars, 0, chrono::Utc::now());
            call.ivr = Some(ivr);
            call.apply(actions).await;
        }
        None => {
            call.route_extra.push("no dialplan".into());
            let group = core.cfg.entry_group.clone();
            call.start_queue(
                Some(group),
                line.as_ref().and_then(|l| l.target.clone()),
                false,
            )
            .await;
        }
    }

    let ivr_sleep = tokio::time::sleep(Duration::from_secs(3600));
    tokio::pin!(ivr_sleep);
    while call.outcome.is_none() {
        let ivr_deadline = call.ivr_deadline();
        if let Some(at) = ivr_deadline {
            ivr_sleep.as_mut().reset(at);
        }
        tokio::select! {
            ev = ev_rx.recv() => {
                let Some(ev) = ev else { break };
                call.on_event(ev).await;
            }
            _ = &mut ivr_sleep, if ivr_deadline.is_some() => {
                let now = call.ivr_now();
                if let Some(ivr) = call.ivr.as_mut() {
                    let actions = ivr.on_timeout(now);
                    call.apply(actions).await;
                }
            }
        }
    }
    call.finish().await;
    dialogs.remove_dialog(&caller_id);
}

/// Waits (up to 32 s, Timer H's span) for the ACK of our 200 and reads the answer to the offer
/// we put in it. Anything else the caller does meanwhile ends the wait.
async fn ack_answer(
    caller: &InviteDialog,
    offer: &LocalOffer,
    events: &mut mpsc::UnboundedReceiver<Ev>,
) -> Result<hotline_media::sdp::AudioSession, String> {
    let wait = async {
        while let Some(ev) = events.recv().await {
            match ev {
                Ev::Caller(DialogState::Confirmed(..)) => return Ok(()),
                Ev::Caller(DialogState::Terminated(..)) => return Err("caller hung up".into()),
                _ => continue,
            }
        }
        Err("call gone".to_string())
    };
    tokio::time::timeout(Duration::from_secs(32), wait)
        .await
        .map_err(|_| "no ACK".to_string())??;
    let ack = caller.last_remote_ack().ok_or("no ACK stored")?;
    let body = String::from_utf8_lossy(&ack.body).to_string();
    if body.is_empty() {
        return Err("ACK without the SDP answer".into());
    }
    offer
        .accept(&body)
        .map_err(|e| format!("SDP answer in the ACK: {e}"))
}

async fn reject(s: &mut Transaction, code: u16, why: &str) {
    let warning = msg::warning("hotline", why);
    s.reply_with(StatusCode::from(code), vec![warning], None)
        .await
        .ok();
}

fn remote_addr(ip: std::net::IpAddr, port: u16) -> Option<SocketAddr> {
    (!ip.is_unspecified() && port != 0).then(|| SocketAddr::new(ip, port))
}

struct Call {
    core: Arc<Core>,
    dialogs: Arc<DialogLayer>,
    media: Arc<MediaSetup>,
    ev_tx: mpsc::UnboundedSender<Ev>,
    caller: InviteDialog,
    caller_user: String,
    display: Option<String>,
    line: Option<LineInfo>,
    handle: CallMediaHandle,
    codec: Codec,
    caller_te: bool,
    caller_version: SessionVersion,
    local_port: u16,
    /// Our RTP port pair for the agent side, taken when the queue starts ringing.
    peer_pair: Option<PortPair>,
    /// The remote seat's pair while it rings (three-party call).
    seat_pair: Option<PortPair>,
    /// The agent-side port once the pair moved into the media task.
    bridged_peer_port: Option<u16>,
    peer_version: SessionVersion,
    /// Our SDP version towards a third party (a remote seat in a three-party call).
    seat_version: SessionVersion,
    legs: Vec<Leg>,
    /// Ringing round; events of older rounds are stale.
    round: u32,
    plan: Option<RingPlan>,
    phase: Phase,
    record: CallRecordBuilder,
    ivr: Option<IvrCall>,
    started: Instant,
    outcome: Option<(EndReason, u16)>,
    /// Route steps of ours (queue results) after the dialplan's.
    route_extra: Vec<String>,
    /// Id of the latest playback started: only its completion counts.
    playing: u64,
    /// The call's place in the ACD while queued or talking to an agent the ACD offered it to
    /// (dropped when the call ends: the agent goes to wrap-up).
    acd: Option<QueuedCall>,
    /// Caller priority from the dialplan (`priority` variable, 0..=9).
    priority: u8,
    transfer: Option<PendingTransfer>,
    /// Headers the next INVITE carries (Replaces, RFC 3891), taken by `invite`.
    invite_headers: Vec<Header>,
    seat: Option<SeatParty>,
    /// In a three-party call the agent hung up; the citizen and the seat go on.
    agent_left: bool,
    /// The agent put the caller on hold: the caller hears music until resumed.
    held: bool,
}

impl Call {
    /// The IVR's clock: milliseconds since the call started.
    fn ivr_now(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn ivr_deadline(&self) -> Option<tokio::time::Instant> {
        if !matches!(self.phase, Phase::Ivr) {
            return None;
        }
        let at = self.ivr.as_ref()?.next_timeout()?;
        Some(tokio::time::Instant::from_std(
            self.started + Duration::from_millis(at),
        ))
    }

    fn route(&self) -> String {
        let mut parts = Vec::new();
        if let Some(ivr) = &self.ivr {
            let r = ivr.route_string();
            if !r.is_empty() {
                parts.push(r);
            }
        }
        parts.extend(self.route_extra.iter().cloned());
        parts.join(" > ")
    }

    async fn apply(&mut self, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Play {
                    prompts,
                    interruptible: _,
                } => {
                    let (id, missing) = self.handle.play(&prompts, false);
                    self.playing = id;
                    for m in missing {
                        self.route_extra.push(format!("missing-prompt:{m}"));
                    }
                }
                Action::StopPlayback => self.handle.stop_playback(),
                Action::Queue { group, also_ring } => {
                    // A dialplan may flag the caller (`set` var `priority`, 0..=9): an elderly
                    // care line, a returning complaint.
                    self.priority = self
                        .ivr
                        .as_ref()
                        .and_then(|i| i.vars().get("priority"))
                        .and_then(|p| p.trim().parse::<u8>().ok())
                        .unwrap_or(0)
                        .min(9);
                    self.start_queue(Some(group), also_ring, false).await;
                }
                Action::Transfer { to } => {
                    self.route_extra.push(format!("transfer:{to}"));
                    self.start_queue(None, Some(to), true).await;
                }
                Action::Hangup => {
                    self.outcome = Some((EndReason::IvrCompleted, 200));
                }
                _ => {}
            }
        }
    }

    async fn on_event(&mut self, ev: Ev) {
        match ev {
            Ev::Caller(DialogState::Terminated(_, reason)) => {
                if matches!(self.phase, Phase::Ivr) {
                    let now = self.ivr_now();
                    if let Some(ivr) = self.ivr.as_mut() {
                        ivr.on_event(Event::CallerHangup, now);
                    }
                }
                let bridged = matches!(self.phase, Phase::Bridged(_));
                if let Phase::Bridged(w) = self.phase {
                    self.legs[w].dialog.hangup().await.ok();
                }
                self.hang_up_legs(None).await;
                let code = if matches!(reason, TerminatedReason::UacBye) {
                    200
                } else {
                    408
                };
                self.outcome = Some(if bridged {
                    (EndReason::CallerHangup, code)
                } else {
                    (EndReason::Abandoned, code)
                });
            }
            Ev::Caller(DialogState::Updated(_, req, handle)) => {
                let port = self.local_port;
                self.answer_reoffer(LegId::Caller, port, req, handle).await
            }
            Ev::Caller(DialogState::Info(_, req, handle)) => {
                if let Some(d) = info_digit(&req) {
                    handle.reply(StatusCode::OK).await.ok();
                    self.on_digit(d).await;
                } else if let Phase::Bridged(w) = self.phase {
                    crate::b2bua::relay_in_dialog(Some(self.legs[w].dialog.clone()), req, handle);
                } else {
                    handle.reply(StatusCode::OK).await.ok();
                }
            }
            Ev::Caller(DialogState::Options(_, _, handle)) => {
                handle.reply(StatusCode::OK).await.ok();
            }
            Ev::Caller(
                DialogState::Refer(_, _, handle)
                | DialogState::Notify(_, _, handle)
                | DialogState::Message(_, _, handle)
                | DialogState::Publish(_, _, handle),
            ) => {
                handle.reply(StatusCode::NotImplemented).await.ok();
            }
            Ev::Caller(_) => {}
            Ev::Media(MediaNotice::Digit { digit, .. }) => self.on_digit(digit.as_char()).await,
            Ev::Media(MediaNotice::PlaybackDone { id }) if id != self.playing => {
                // A prompt that finished as a newer one was started: not the one waited for.
            }
            Ev::Media(MediaNotice::PlaybackDone { .. }) => match self.phase {
                Phase::Ivr => {
                    let now = self.ivr_now();
                    if let Some(ivr) = self.ivr.as_mut() {
                        let actions = ivr.on_event(Event::PlaybackDone, now);
                        self.apply(actions).await;
                    }
                }
                Phase::Closing(reason) => {
                    self.outcome = Some((reason, 200));
                }
                Phase::Message { recording: false } => self.start_message(),
                Phase::Queue => {
                    // An announcement ended: back to the music.
                    self.playing = self.handle.play(&[HOLD_MUSIC.to_string()], true).0;
                }
                _ => {}
            },
            Ev::Media(MediaNotice::RtpTimeout { leg }) => {
                info!(?leg, record = %self.record.id(), "no RTP: ending the call");
                self.route_extra
                    .push(format!("rtp-timeout:{leg:?}").to_lowercase());
                if let Phase::Bridged(w) = self.phase {
                    self.legs[w].dialog.hangup().await.ok();
                }
                self.hang_up_legs(None).await;
                self.outcome = Some((EndReason::RtpTimeout, 200));
            }
            Ev::Media(MediaNotice::Ended { .. }) => {}
            Ev::Leg(i, st)
                if !self.legs[i].cancelled || matches!(self.phase, Phase::Bridged(w) if w == i) =>
            {
                self.on_leg(i, st).await
            }
            Ev::LegDone(i, resp) => self.on_leg_done(i, resp).await,
            Ev::Leg(i, DialogState::Updated(_, _, handle) | DialogState::Info(_, _, handle)) => {
                debug!(leg = i, "in-dialog request on a stale leg");
                handle
                    .reply(StatusCode::CallTransactionDoesNotExist)
                    .await
                    .ok();
            }
            Ev::Leg(..) => {}
            Ev::Acd(cmd) => self.on_acd(cmd).await,
            Ev::RingTimeout(round) if round == self.round => {
                if matches!(self.phase, Phase::Queue) {
                    self.route_extra.push("no-answer".into());
                    self.hang_up_round(round).await;
                    self.next_round().await;
                }
            }
            Ev::RingTimeout(_) => {}
            Ev::Control(CallControl::Emergency {
                number,
                stay,
                reply,
            }) => self.emergency(number, stay, reply).await,
            Ev::Control(CallControl::Transfer { to, reply }) => {
                self.blind_transfer(to, Some(reply), false).await
            }
            Ev::Control(CallControl::Seat { who, reply }) => self.bring_in_seat(who, reply).await,
            Ev::Control(CallControl::Hold { on, reply }) => {
                let _ = reply.send(self.hold(on));
            }
            Ev::Control(CallControl::Monitor { phone, mode, reply }) => {
                if self.held {
                    let _ = reply.send(Err("the caller is on hold".into()));
                } else {
                    let label = mode_name(mode);
                    self.ring_third_party(phone.clone(), phone, reply, label, Some(mode))
                        .await;
                }
            }
            Ev::Control(CallControl::MonitorMode { mode, reply }) => {
                let _ = reply.send(self.monitor_mode(mode));
            }
            Ev::SeatTimeout(i) => {
                if self.seat.as_ref().is_some_and(|s| s.leg == i && !s.joined) && !self.legs[i].done
                {
                    self.legs[i].dialog.hangup().await.ok();
                    self.legs[i].done = true;
                    self.legs[i].cancelled = true;
                    self.seat_failed("no answer".into());
                }
            }
            Ev::TransferTimeout(i) => {
                if self.transfer.as_ref().is_some_and(|t| t.leg == i) && !self.legs[i].done {
                    self.legs[i].dialog.hangup().await.ok();
                    self.legs[i].done = true;
                    self.legs[i].cancelled = true;
                    self.transfer_failed(408, "no answer".into()).await;
                }
            }
            Ev::MessageFull => {
                if matches!(self.phase, Phase::Message { recording: true }) {
                    self.end_message();
                }
            }
            Ev::Ring(round) if round == self.round + 1 => {
                if matches!(self.phase, Phase::Queue) {
                    self.ring_round().await;
                }
            }
            Ev::Ring(_) => {}
            Ev::Shutdown => {
                if let Phase::Bridged(w) = self.phase {
                    self.legs[w].dialog.hangup().await.ok();
                }
                self.hang_up_legs(None).await;
                self.outcome = Some((EndReason::Shutdown, 200));
            }
        }
    }

    async fn on_digit(&mut self, digit: char) {
        if matches!(self.phase, Phase::Message { recording: true }) && digit == '#' {
            self.end_message();
            return;
        }
        if matches!(self.phase, Phase::Queue) {
            let key = self.core.acd.get().and_then(|a| a.callback_key());
            if let (Some(q), Some(k)) = (&self.acd, key)
                && k == digit
            {
                info!(record = %self.record.id(), "caller asked for a callback");
                q.request_callback();
            }
            return;
        }
        if !matches!(self.phase, Phase::Ivr) {
            return;
        }
        let now = self.ivr_now();
        if let Some(ivr) = self.ivr.as_mut() {
            let actions = ivr.on_event(Event::Digit(digit), now);
            self.apply(actions).await;
        }
    }

    /// A re-INVITE or UPDATE on `leg`, answered here (the media is ours, so neither side's
    /// offer goes to the other): our address and the leg's codec, the direction mirrored, a
    /// hold honoured by the media task (no RTP timeout while held).
    async fn answer_reoffer(
        &mut self,
        leg: LegId,
        port: u16,
        req: Request,
        handle: TransactionHandle,
    ) {
        if req.body.is_empty() {
            // A session refresh without SDP: nothing changes.
            handle.reply(StatusCode::OK).await.ok();
            return;
        }
        let text = String::from_utf8_lossy(&req.body).to_string();
        let parsed = Offer::parse(&text).and_then(|o| {
            sdp::answer(
                &o,
                LocalMedia {
                    ip: self.media.ports.ip(),
                    port,
                    prefer: vec![self.codec],
                },
            )
        });
        let answer = match parsed {
            Ok(a) => a,
            Err(e) => {
                handle
                    .respond(
                        StatusCode::NotAcceptableHere,
                        Some(vec![msg::warning("hotline", &format!("SDP: {e}"))]),
                        None,
                    )
                    .await
                    .ok();
                return;
            }
        };
        let version = match leg {
            LegId::Caller => &mut self.caller_version,
            LegId::Peer => &mut self.peer_version,
            LegId::Seat => &mut self.seat_version,
        };
        let body = answer.to_sdp(version);
        let a = &answer.audio;
        let hold = a.direction != Direction::SendRecv;
        self.handle
            .update_leg(leg, remote_addr(a.remote_ip, a.remote_port), hold);
        handle
            .respond(
                StatusCode::OK,
                Some(vec![Header::ContentType("application/sdp".into())]),
                Some(body.into_bytes()),
            )
            .await
            .ok();
    }

    /// Leaves the IVR for the queue (or a transfer): music on hold; the ACD offers the call to
    /// its agents, while lines to ring beside it (a remote seat, 双线并行) or a transfer
    /// target ring in rounds.
    async fn start_queue(&mut self, group: Option<String>, extra: Option<String>, once: bool) {
        self.phase = Phase::Queue;
        self.handle.set_inband_dtmf(false);
        let extra: Vec<String> = extra.into_iter().filter(|t| !t.is_empty()).collect();
        if let (Some(g), None) = (&group, &self.ivr) {
            // With a dialplan the queue node is already on the route.
            self.route_extra.push(format!("queue:{g}"));
        }
        if !extra.is_empty() {
            self.route_extra
                .push(format!("parallel:{}", extra.join(",")));
        }
        match self.media.ports.allocate() {
            Ok(p) => self.peer_pair = Some(p),
            Err(e) => {
                warn!(error = %e, "no RTP port for the agent side");
                self.close(EndReason::Overload);
                return;
            }
        }
        self.playing = self.handle.play(&[HOLD_MUSIC.to_string()], true).0;
        let acd = self.core.acd.get().cloned();
        let mut group = group;
        if let (Some(g), Some(acd)) = (&group, acd) {
            let caller = hotline_acd::Caller {
                number: self.caller_user.clone(),
                priority: self.priority,
            };
            match acd.enqueue(g, self.record.id(), caller).await {
                Ok((queued, mut rx)) => {
                    self.acd = Some(queued);
                    let ev = self.ev_tx.clone();
                    tokio::spawn(async move {
                        while let Some(c) = rx.recv().await {
                            if ev.send(Ev::Acd(c)).is_err() {
                                break;
                            }
                        }
                    });
                    // The ACD rings the agents; only the lines beside it ring in rounds here.
                    group = None;
                }
                Err(e) => {
                    warn!(error = %e, "ACD refused the call");
                    self.close(EndReason::Failed);
                    return;
                }
            }
        }
        let rounds = group.is_some() || !extra.is_empty();
        let max_wait = self.media.queue_max_wait;
        self.plan = Some(RingPlan {
            group,
            extra,
            resolved: None,
            once,
            deadline: tokio::time::Instant::now() + max_wait,
        });
        if rounds {
            self.ring_round().await;
        }
    }

    /// What the ACD asks: ring an agent, stop ringing one, tell the caller their place, or
    /// let the caller go (to a callback, a message, or goodbye).
    async fn on_acd(&mut self, cmd: CallCmd) {
        if !matches!(self.phase, Phase::Queue) {
            if let CallCmd::Offer { agent } = cmd
                && let Some(q) = &self.acd
            {
                q.offer_failed(&agent, hotline_acd::OfferFailure::Busy);
            }
            return;
        }
        match cmd {
            CallCmd::Offer { agent } => {
                let targets = self.core.targets_for_user(&agent);
                if targets.is_empty() {
                    // Logged in with no phone registered (restored after a restart, say):
                    // not this agent's fault, try another.
                    debug!(%agent, "offered agent has no registration");
                    if let Some(q) = &self.acd {
                        q.offer_failed(&agent, hotline_acd::OfferFailure::Busy);
                    }
                    return;
                }
                let mut rung = false;
                for t in targets {
                    rung |= self.invite(agent.clone(), t, Some(agent.clone())).is_some();
                }
                if !rung && let Some(q) = &self.acd {
                    q.offer_failed(&agent, hotline_acd::OfferFailure::Unreachable);
                }
            }
            CallCmd::Cancel { agent } => {
                for l in self.legs.iter_mut() {
                    if l.agent.as_deref() == Some(agent.as_str()) && !l.done {
                        l.dialog.hangup().await.ok();
                        l.done = true;
                        l.cancelled = true;
                    }
                }
            }
            CallCmd::Announce { position, ewt_secs } => {
                let prompts = hotline_acd::position_prompts(position, ewt_secs);
                let (id, missing) = self.handle.play(&prompts, false);
                self.playing = id;
                if !missing.is_empty() {
                    self.playing = self.handle.play(&[HOLD_MUSIC.to_string()], true).0;
                }
            }
            CallCmd::Leave { action } => {
                if let Some(q) = self.acd.take() {
                    q.left();
                }
                self.hang_up_legs(None).await;
                self.route_extra.push(format!("acd:{action}"));
                if action == "message" && self.media.recordings_dir.is_some() {
                    self.phase = Phase::Message { recording: false };
                    let (id, missing) = self.handle.play(&["leave_message".to_string()], false);
                    self.playing = id;
                    if !missing.is_empty() {
                        self.start_message();
                    }
                    return;
                }
                let (prompt, reason) = match action.as_str() {
                    "callback" | "message" => ("callback_promise", EndReason::QueueTimeout),
                    _ => (GOODBYE, EndReason::QueueTimeout),
                };
                self.phase = Phase::Closing(reason);
                let (id, missing) = self.handle.play(&[prompt.to_string()], false);
                self.playing = id;
                if !missing.is_empty() {
                    self.outcome = Some((reason, 200));
                }
            }
        }
    }

    /// Rings every target of the plan once, with a ring timer.
    async fn ring_round(&mut self) {
        self.round += 1;
        let Some(plan) = &self.plan else { return };
        let mut targets: Vec<(String, Target)> = Vec::new();
        if let Some(group) = &plan.group {
            for a in self
                .core
                .cfg
                .agents
                .iter()
                .filter(|a| a.groups.iter().any(|g| g == group))
            {
                for t in self.core.targets_for_user(&a.id) {
                    targets.push((a.id.clone(), t));
                }
            }
        }
        let resolved = match &plan.resolved {
            Some(r) => r.clone(),
            None => {
                let mut r = Vec::new();
                for uri in plan.extra.clone() {
                    match self.resolve(&uri).await {
                        Some(t) => r.push((uri.clone(), t)),
                        None => {
                            warn!(%uri, "parallel target cannot be resolved");
                            self.route_extra.push(format!("unreachable:{uri}"));
                        }
                    }
                }
                if let Some(plan) = self.plan.as_mut() {
                    plan.resolved = Some(r.clone());
                }
                r
            }
        };
        targets.extend(resolved);
        let mut rung = 0;
        for (who, t) in targets {
            rung += usize::from(self.invite(who, t, None).is_some());
        }
        let round = self.round;
        if rung == 0 {
            debug!(record = %self.record.id(), "nobody to ring in this round");
            self.next_round().await;
            return;
        }
        let ev = self.ev_tx.clone();
        let t = self.core.cfg.ring_timeout;
        tokio::spawn(async move {
            tokio::time::sleep(t).await;
            ev.send(Ev::RingTimeout(round)).ok();
        });
    }

    /// Sends an INVITE with our offer to `t`; the leg's events come back as `Ev::Leg`.
    fn invite(&mut self, who: String, t: Target, agent: Option<String>) -> Option<usize> {
        let pair = self.peer_pair.as_ref()?;
        let offer = LocalOffer {
            ip: pair.local_ip(),
            port: pair.rtp_port(),
            codecs: vec![self.codec],
            telephone_event: true,
            direction: Direction::SendRecv,
        };
        let body = offer.to_sdp(&mut self.peer_version);
        let contact = rsipstack::sip::Uri::try_from(self.core.contact_uri().as_str()).ok()?;
        let callee = rsipstack::sip::Uri::try_from(t.uri.as_str()).ok()?;
        let caller_uri = rsipstack::sip::Uri::try_from(
            format!("sip:{}@{}", self.caller_user, self.core.cfg.domain).as_str(),
        )
        .ok()?;
        let mut headers = Vec::new();
        if let Some(l) = &self.line {
            headers.push(Header::Other("X-Hotline-Line".into(), l.number.clone()));
        }
        headers.push(Header::Other(
            "X-Hotline-Call".into(),
            self.record.id().to_string(),
        ));
        // For this INVITE only (an attended transfer's Replaces).
        headers.append(&mut self.invite_headers);
        let opt = InviteOption {
            caller_display_name: self.display.clone(),
            caller: caller_uri,
            callee,
            destination: Some(t.dest.clone()),
            content_type: Some("application/sdp".into()),
            offer: Some(body.into_bytes()),
            contact,
            headers: Some(headers),
            ..Default::default()
        };
        let (leg_tx, mut leg_rx) = self.dialogs.new_dialog_state_channel();
        match self.dialogs.do_invite_async(opt, leg_tx) {
            Ok((dialog, handle)) => {
                let i = self.legs.len();
                self.legs.push(Leg {
                    who,
                    dialog,
                    done: false,
                    cancelled: false,
                    agent,
                    round: self.round,
                });
                let ev = self.ev_tx.clone();
                tokio::spawn(async move {
                    while let Some(st) = leg_rx.recv().await {
                        if ev.send(Ev::Leg(i, st)).is_err() {
                            break;
                        }
                    }
                });
                let ev = self.ev_tx.clone();
                tokio::spawn(async move {
                    let resp = match handle.await {
                        Ok(Ok((_, resp))) => resp,
                        _ => None,
                    };
                    ev.send(Ev::LegDone(i, resp)).ok();
                });
                Some(i)
            }
            Err(e) => {
                warn!(error = %e, who = %who, "cannot ring");
                None
            }
        }
    }

    /// After a round with no answer: try again after a pause, until the caller's max wait.
    async fn next_round(&mut self) {
        let Some(plan) = &self.plan else { return };
        let retry = self.media.queue_retry;
        if plan.once {
            self.route_extra.push("failed".into());
            self.close(EndReason::Unavailable);
            return;
        }
        if self.acd.is_some() {
            // The queue goes on in the ACD; the lines beside it are tried again meanwhile.
        } else if tokio::time::Instant::now() + retry >= plan.deadline {
            self.route_extra.push("max-wait".into());
            self.close(EndReason::QueueTimeout);
            return;
        }
        let ev = self.ev_tx.clone();
        let next = self.round + 1;
        tokio::spawn(async move {
            tokio::time::sleep(retry).await;
            ev.send(Ev::Ring(next)).ok();
        });
    }

    /// After the message prompt: record the caller's voice (its path goes on the call record,
    /// whose id is the callback item's tag) for at most `MESSAGE_MAX`.
    fn start_message(&mut self) {
        let Some(dir) = self.media.recordings_dir.as_ref() else {
            return;
        };
        let day = chrono::Utc::now().format("%Y/%m/%d").to_string();
        let path = dir
            .join("messages")
            .join(day)
            .join(format!("{}.wav", self.record.id()));
        self.record.recording(path.display().to_string());
        self.handle.record_message(path);
        self.phase = Phase::Message { recording: true };
        let ev = self.ev_tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(MESSAGE_MAX).await;
            ev.send(Ev::MessageFull).ok();
        });
    }

    /// The message is complete (`#` or its longest): thank the caller and hang up.
    fn end_message(&mut self) {
        self.handle.end_message();
        self.phase = Phase::Closing(EndReason::QueueTimeout);
        let (id, missing) = self.handle.play(&["callback_promise".to_string()], false);
        self.playing = id;
        if !missing.is_empty() {
            self.outcome = Some((EndReason::QueueTimeout, 200));
        }
    }

    /// Rings the remote seat of a unit for a three-party call; the citizen keeps hearing the
    /// agent meanwhile.
    /// The agent's hold key: music on hold for the caller (the prompt takes the peer's place
    /// in what the caller hears), the agent's audio back on resume.
    fn hold(&mut self, on: bool) -> Result<String, String> {
        if !matches!(self.phase, Phase::Bridged(_)) || self.agent_left {
            return Err("the call is not with an agent".into());
        }
        if self.seat.as_ref().is_some_and(|s| s.joined) {
            return Err(
                "a three-party call is not put on hold: the others would hear the music".into(),
            );
        }
        if self.transfer.is_some() {
            return Err("a transfer is ringing: the caller already hears music".into());
        }
        let word = if on { "held" } else { "resumed" };
        if on == self.held {
            return Ok(word.into());
        }
        if on {
            self.handle.play(&[HOLD_MUSIC.to_string()], true);
            self.route_extra.push("hold".into());
        } else {
            self.handle.resume_peer();
            self.route_extra.push("resume".into());
        }
        self.held = on;
        info!(record = %self.record.id(), word, "agent hold key");
        Ok(word.into())
    }

    async fn bring_in_seat(
        &mut self,
        who: String,
        reply: tokio::sync::oneshot::Sender<Result<String, String>>,
    ) {
        // The call's own state is checked by ring_third_party.
        let refuse = |reply: tokio::sync::oneshot::Sender<Result<String, String>>, why: String| {
            let _ = reply.send(Err(why));
        };
        let line = self
            .core
            .cfg
            .numbers
            .line(&who)
            .or_else(|| self.core.cfg.numbers.seat_of_unit(&who));
        let Some(line) = line else {
            return refuse(
                reply,
                format!("`{who}` is neither an annex number nor a unit"),
            );
        };
        let Some(uri) = line.target.clone() else {
            return refuse(
                reply,
                format!(
                    "{} ({}) has no remote seat",
                    line.number,
                    line.unit.unwrap_or_default()
                ),
            );
        };
        self.ring_third_party(line.number, uri, reply, "seat", None)
            .await;
    }

    /// Rings `uri` to join the call as a third party (a remote seat, or an emergency trunk
    /// with the agent staying on the line).
    async fn ring_third_party(
        &mut self,
        number: String,
        uri: String,
        reply: tokio::sync::oneshot::Sender<Result<String, String>>,
        label: &'static str,
        monitor: Option<SeatMode>,
    ) {
        let refuse = |reply: tokio::sync::oneshot::Sender<Result<String, String>>, why: String| {
            let _ = reply.send(Err(why));
        };
        if !matches!(self.phase, Phase::Bridged(_)) || self.agent_left {
            return refuse(reply, "the caller is not talking to an agent".into());
        }
        if self.seat.is_some() || self.transfer.is_some() {
            return refuse(reply, "a third party is already in or ringing".into());
        }
        let Some(target) = self.resolve(&uri).await else {
            return refuse(reply, format!("`{uri}` cannot be reached"));
        };
        let pair = match self.media.ports.allocate() {
            Ok(p) => p,
            Err(e) => return refuse(reply, format!("no RTP port for the third party: {e}")),
        };
        let port = pair.rtp_port();
        // invite() offers from `peer_pair`: lend it the seat's pair for this INVITE.
        let prev = self.peer_pair.replace(pair);
        let rung = self.invite(number.clone(), target, None);
        let pair = std::mem::replace(&mut self.peer_pair, prev);
        let (Some(i), Some(pair)) = (rung, pair) else {
            return refuse(reply, format!("cannot send the INVITE to {uri}"));
        };
        self.seat_pair = Some(pair);
        info!(record = %self.record.id(), %number, label, "third party ringing");
        self.route_extra.push(format!("{label}:{number}"));
        self.seat = Some(SeatParty {
            leg: i,
            number,
            reply: Some(reply),
            joined: false,
            port,
            monitor,
        });
        // A supervisor's phone ringing is nothing the citizen should notice.
        if self.core.cfg.hold_music_while_seat_rings && monitor.is_none() {
            self.playing = self.handle.play(&[HOLD_MUSIC.to_string()], true).0;
        }
        let ev = self.ev_tx.clone();
        let t = self.core.cfg.ring_timeout;
        tokio::spawn(async move {
            tokio::time::sleep(t).await;
            ev.send(Ev::SeatTimeout(i)).ok();
        });
    }

    async fn seat_answered(&mut self, i: usize, resp: Option<Response>) {
        self.legs[i].done = true;
        let code = resp.as_ref().map(msg::response_code).unwrap_or(408);
        if !(200..300).contains(&code) {
            if !self.legs[i].cancelled {
                self.seat_failed(format!("the seat answered {code}"));
            }
            return;
        }
        let body = resp
            .as_ref()
            .map(|r| String::from_utf8_lossy(&r.body).to_string())
            .unwrap_or_default();
        let (Some(pair), true) = (
            self.seat_pair.take(),
            matches!(self.phase, Phase::Bridged(_)),
        ) else {
            self.legs[i].dialog.hangup().await.ok();
            self.seat_failed("the call moved on meanwhile".into());
            return;
        };
        let cfg = match self.leg_from_answer(&pair, &body) {
            Ok(c) => c,
            Err(e) => {
                self.legs[i].dialog.hangup().await.ok();
                self.seat_failed(format!("the seat's SDP answer: {e}"));
                return;
            }
        };
        self.handle.attach_seat(pair, cfg);
        if let Some(mode) = self.seat.as_ref().and_then(|s| s.monitor) {
            self.handle.set_seat_mode(mode);
        }
        // The leg stays open (not done) until it hangs up.
        self.legs[i].done = false;
        if let Some(s) = self.seat.as_mut() {
            s.joined = true;
            self.route_extra.push(format!("joined:{}", s.number));
            info!(record = %self.record.id(), number = %s.number, "remote seat joined");
            if let Some(r) = s.reply.take() {
                let _ = r.send(Ok(s.number.clone()));
            }
        }
    }

    /// The monitoring supervisor's new mode, applied to the mix at once.
    fn monitor_mode(&mut self, mode: SeatMode) -> Result<String, String> {
        match self.seat.as_ref() {
            Some(s) if s.joined && s.monitor.is_some() => {
                self.handle.set_seat_mode(mode);
                if let Some(s) = self.seat.as_mut() {
                    s.monitor = Some(mode);
                }
                self.route_extra.push(format!("mode:{}", mode_name(mode)));
                Ok(mode_name(mode).into())
            }
            Some(s) if s.monitor.is_some() => {
                Err("the supervisor's phone has not answered yet".into())
            }
            _ => Err("nobody is monitoring this call".into()),
        }
    }

    fn seat_failed(&mut self, why: String) {
        self.seat_pair = None;
        let monitoring = self.seat.as_ref().is_some_and(|s| s.monitor.is_some());
        if self.core.cfg.hold_music_while_seat_rings && !monitoring {
            // Back from the music to the agent.
            self.handle.resume_peer();
        }
        if let Some(s) = self.seat.take() {
            info!(record = %self.record.id(), number = %s.number, %why, "remote seat not reached");
            self.route_extra.push(format!("seat-failed:{}", s.number));
            if let Some(r) = s.reply {
                let _ = r.send(Err(format!("{} did not join: {why}", s.number)));
            }
        }
    }

    /// The one-key emergency transfer: rings the line's trunk with the caller's number as
    /// From; the caller goes on talking to the agent until it answers. With `stay` the trunk
    /// joins as a third party and the agent leaves when done.
    async fn emergency(
        &mut self,
        number: String,
        stay: bool,
        reply: tokio::sync::oneshot::Sender<Result<String, String>>,
    ) {
        let line = self.core.cfg.numbers.line(&number);
        let Some(trunk) = line
            .as_ref()
            .filter(|l| l.mode == "emergency")
            .and_then(|l| l.trunk.clone())
        else {
            let _ = reply.send(Err(format!(
                "`{number}` is not an emergency line with a trunk (110, 119, 120, 122, 12122)"
            )));
            return;
        };
        if stay {
            self.ring_third_party(number, trunk, reply, "emergency", None)
                .await;
        } else {
            self.start_transfer(number, trunk, Some(reply), false, "emergency")
                .await;
        }
    }

    /// Blind transfer to `to`: a registered agent (its id), an annex number (its trunk or
    /// remote seat) or a SIP URI.
    async fn blind_transfer(
        &mut self,
        to: String,
        reply: Option<tokio::sync::oneshot::Sender<Result<String, String>>>,
        refer: bool,
    ) {
        let uri = if to.contains(':') {
            Some(to.clone())
        } else if let Some(t) = self.core.targets_for_user(&to).into_iter().next() {
            Some(t.uri)
        } else {
            self.core
                .cfg
                .numbers
                .line(&to)
                .and_then(|l| l.trunk.or(l.target))
        };
        let Some(uri) = uri else {
            self.transfer_refused(
                reply,
                refer,
                404,
                format!("`{to}` is not a registered agent, an annex number or a SIP URI"),
            )
            .await;
            return;
        };
        self.start_transfer(to, uri, reply, refer, "transfer").await;
    }

    async fn transfer_refused(
        &mut self,
        reply: Option<tokio::sync::oneshot::Sender<Result<String, String>>>,
        refer: bool,
        code: u16,
        why: String,
    ) {
        info!(record = %self.record.id(), %why, "transfer refused");
        if let Some(r) = reply {
            let _ = r.send(Err(why));
        }
        if refer {
            self.notify_agent(code, "terminated;reason=noresource")
                .await;
        }
    }

    /// Rings `uri` for a transfer of the caller; the caller stays with the agent meanwhile.
    async fn start_transfer(
        &mut self,
        number: String,
        uri: String,
        reply: Option<tokio::sync::oneshot::Sender<Result<String, String>>>,
        refer: bool,
        label: &'static str,
    ) {
        if !matches!(self.phase, Phase::Bridged(_)) || self.agent_left {
            return self
                .transfer_refused(
                    reply,
                    refer,
                    481,
                    "the caller is not talking to an agent".into(),
                )
                .await;
        }
        if self.transfer.is_some() || self.seat.is_some() {
            return self
                .transfer_refused(
                    reply,
                    refer,
                    491,
                    "a transfer or third party is already ringing".into(),
                )
                .await;
        }
        let Some(target) = self.resolve(&uri).await else {
            return self
                .transfer_refused(reply, refer, 404, format!("`{uri}` cannot be reached"))
                .await;
        };
        match self.media.ports.allocate() {
            Ok(p) => self.peer_pair = Some(p),
            Err(e) => {
                return self
                    .transfer_refused(reply, refer, 503, format!("no RTP port: {e}"))
                    .await;
            }
        }
        let Some(i) = self.invite(number.clone(), target, None) else {
            self.peer_pair = None;
            return self
                .transfer_refused(
                    reply,
                    refer,
                    500,
                    format!("cannot send the INVITE to {uri}"),
                )
                .await;
        };
        info!(record = %self.record.id(), %number, label, "transfer ringing");
        self.route_extra.push(format!("{label}:{number}"));
        self.transfer = Some(PendingTransfer {
            leg: i,
            number,
            reply,
            refer,
            label,
        });
        if refer {
            self.notify_agent(100, "active;expires=60").await;
        }
        let ev = self.ev_tx.clone();
        let t = self.core.cfg.ring_timeout;
        tokio::spawn(async move {
            tokio::time::sleep(t).await;
            ev.send(Ev::TransferTimeout(i)).ok();
        });
    }

    /// A blind transfer asked by the agent's softphone (REFER, RFC 3515): 202, then the
    /// transfer with its progress in NOTIFYs. Refer-To with Replaces (an attended transfer,
    /// RFC 3891) is answered 501: the consultation call would have to be ours to replace.
    async fn on_refer(&mut self, req: Request, handle: TransactionHandle) {
        let Some(refer_to) = msg::header_value(req.headers.iter(), "Refer-To")
            .or_else(|| msg::header_value(req.headers.iter(), "r"))
            .map(str::to_string)
        else {
            handle
                .respond(
                    StatusCode::BadRequest,
                    Some(vec![msg::warning("hotline", "REFER without Refer-To")]),
                    None,
                )
                .await
                .ok();
            return;
        };
        let inner = msg::inner_uri(&refer_to).to_string();
        // Attended transfer (RFC 5589): Refer-To carries `?Replaces=<consultation dialog>`;
        // the INVITE to the target carries it as a Replaces header (RFC 3891) and the target's
        // phone swaps its consultation call with the agent for the citizen.
        let (uri_part, replaces) = match inner.split_once('?') {
            Some((u, query)) => {
                let replaces = query.split('&').find_map(|kv| {
                    let (k, v) = kv.split_once('=')?;
                    k.eq_ignore_ascii_case("replaces")
                        .then(|| percent_decode(v))
                });
                (u.to_string(), replaces)
            }
            None => (inner.clone(), None),
        };
        if inner.contains('?') && replaces.is_none() {
            handle
                .respond(
                    StatusCode::BadRequest,
                    Some(vec![msg::warning(
                        "hotline",
                        "Refer-To headers other than Replaces are not supported",
                    )]),
                    None,
                )
                .await
                .ok();
            return;
        }
        if let Some(r) = &replaces {
            self.invite_headers = vec![Header::Other("Replaces".into(), r.clone())];
        }
        let uri = uri_part;
        // One of ours (sip:1002@hotline): by user, so an agent's or an annex number's rules
        // apply; anything else as the URI it is.
        let to = match rsipstack::sip::Uri::try_from(uri.as_str()) {
            Ok(u) if self.core.uri_is_local(&u) => msg::uri_user(&format!("<{uri}>"))
                .map(str::to_string)
                .unwrap_or(uri.clone()),
            _ => uri.clone(),
        };
        handle.reply(StatusCode::Accepted).await.ok();
        info!(record = %self.record.id(), %to, attended = replaces.is_some(), "REFER from the agent");
        self.blind_transfer(to, None, true).await;
        // Not used if the transfer was refused before its INVITE.
        self.invite_headers.clear();
    }

    /// A NOTIFY with a sipfrag of the transfer's progress to the agent's phone (RFC 3515).
    async fn notify_agent(&self, code: u16, state: &str) {
        let Phase::Bridged(w) = self.phase else {
            return;
        };
        let reason = match code {
            100 => "Trying",
            180 => "Ringing",
            200 => "OK",
            404 => "Not Found",
            408 => "Request Timeout",
            481 => "Call/Transaction Does Not Exist",
            486 => "Busy Here",
            491 => "Request Pending",
            503 => "Service Unavailable",
            603 => "Decline",
            _ => "Failed",
        };
        let headers = vec![
            Header::Event("refer".into()),
            Header::SubscriptionState(state.into()),
            Header::ContentType("message/sipfrag".into()),
        ];
        let body = format!("SIP/2.0 {code} {reason}\r\n").into_bytes();
        if let Err(e) = self.legs[w].dialog.notify(Some(headers), Some(body)).await {
            debug!(error = %e, "NOTIFY to the agent failed");
        }
    }

    /// The trunk answered (the caller is bridged to it, the agent released) or failed (the
    /// caller stays with the agent).
    async fn transfer_done(&mut self, i: usize, resp: Option<Response>) {
        self.legs[i].done = true;
        let code = resp.as_ref().map(msg::response_code).unwrap_or(408);
        if !(200..300).contains(&code) {
            if !self.legs[i].cancelled {
                self.transfer_failed(code, format!("it answered {code}"))
                    .await;
            }
            return;
        }
        let body = resp
            .as_ref()
            .map(|r| String::from_utf8_lossy(&r.body).to_string())
            .unwrap_or_default();
        let (Some(pair), Phase::Bridged(agent_leg)) = (self.peer_pair.take(), &self.phase) else {
            self.legs[i].dialog.hangup().await.ok();
            self.transfer_failed(481, "the call moved on meanwhile".into())
                .await;
            return;
        };
        let agent_leg = *agent_leg;
        let peer = match self.leg_from_answer(&pair, &body) {
            Ok(c) => c,
            Err(e) => {
                self.legs[i].dialog.hangup().await.ok();
                self.transfer_failed(488, format!("its SDP answer: {e}"))
                    .await;
                return;
            }
        };
        self.bridged_peer_port = Some(pair.rtp_port());
        // The recording goes on (the caller and, now, the new party).
        self.handle.attach_peer(pair, peer, None);
        let t = self.transfer.take().expect("checked by the caller");
        if t.refer {
            // The transferor's phone learns the outcome before we hang it up.
            self.notify_agent(200, "terminated;reason=noresource").await;
        }
        self.legs[agent_leg].dialog.hangup().await.ok();
        self.legs[agent_leg].done = true;
        self.phase = Phase::Bridged(i);
        self.route_extra.push(format!("answered:{}", t.number));
        info!(record = %self.record.id(), number = %t.number, label = t.label, "transfer answered");
        // The agent is free (wrap-up); the call record stays theirs (first contact).
        drop(self.acd.take());
        if let Some(r) = t.reply {
            let _ = r.send(Ok(t.number));
        }
    }

    /// The target did not take the call: the caller is still with the agent.
    async fn transfer_failed(&mut self, code: u16, why: String) {
        self.peer_pair = None;
        if let Some(t) = self.transfer.take() {
            info!(record = %self.record.id(), number = %t.number, %why, label = t.label, "transfer failed");
            self.route_extra
                .push(format!("{}-failed:{}", t.label, t.number));
            if t.refer {
                self.notify_agent(code, "terminated;reason=noresource")
                    .await;
            }
            if let Some(r) = t.reply {
                let _ = r.send(Err(format!("{} did not take the call: {why}", t.number)));
            }
        }
    }

    /// Plays goodbye, then hangs up with `reason`.
    fn close(&mut self, reason: EndReason) {
        self.phase = Phase::Closing(reason);
        let (id, missing) = self.handle.play(&[GOODBYE.to_string()], false);
        self.playing = id;
        if !missing.is_empty() {
            self.outcome = Some((reason, 200));
        }
    }

    async fn resolve(&self, uri: &str) -> Option<Target> {
        // A bare number: an annex line (the trunk of an emergency line, the target of a
        // remote seat) or a registered user.
        if !uri.contains(':') {
            if let Some(l) = self.core.cfg.numbers.line(uri)
                && let Some(u) = l.trunk.or(l.target)
            {
                return Box::pin(self.resolve(&u)).await;
            }
            return self.core.targets_for_user(uri).into_iter().next();
        }
        let dest = self.core.destination_for(uri, uri).await.ok()?;
        Some(Target {
            uri: uri.to_string(),
            dest,
        })
    }

    async fn on_leg(&mut self, i: usize, st: DialogState) {
        match st {
            DialogState::Early(_, resp) if msg::response_code(&resp) >= 180 => {
                self.record.ringing(chrono::Utc::now());
            }
            DialogState::Terminated(_, _)
                if self.seat.as_ref().is_some_and(|s| s.leg == i && s.joined) =>
            {
                // The remote seat hung up: the citizen and the agent go on (or, the agent
                // gone too, the call ends).
                let number = self.seat.take().map(|s| s.number).unwrap_or_default();
                self.legs[i].done = true;
                self.handle.detach_seat();
                self.route_extra.push(format!("left:{number}"));
                info!(record = %self.record.id(), %number, "remote seat left");
                if self.agent_left {
                    self.outcome = Some((EndReason::CalleeHangup, 200));
                }
            }
            DialogState::Terminated(_, _)
                if matches!(self.phase, Phase::Bridged(w) if w == i)
                    && self
                        .seat
                        .as_ref()
                        .is_some_and(|s| s.joined && s.monitor.is_none())
                    && !self.agent_left =>
            {
                // The agent leaves a three-party call: the citizen and the expert go on; the
                // agent is free (wrap-up), the record stays theirs.
                self.agent_left = true;
                self.legs[i].done = true;
                self.handle.detach_peer();
                self.route_extra.push("left:agent".into());
                info!(record = %self.record.id(), "agent left the three-party call");
                drop(self.acd.take());
            }
            DialogState::Terminated(_, reason)
                if matches!(self.phase, Phase::Bridged(w) if w == i) && !self.agent_left =>
            {
                // A supervisor monitoring leaves with the agent.
                if self.seat.as_ref().is_some_and(|s| s.monitor.is_some()) {
                    self.legs[i].done = true;
                    self.hang_up_legs(None).await;
                }
                // finish() sends the caller its BYE.
                self.outcome = Some(if matches!(reason, TerminatedReason::UasBye) {
                    (EndReason::CalleeHangup, 200)
                } else {
                    (EndReason::Failed, 200)
                });
            }
            DialogState::Terminated(..) => {}
            DialogState::Updated(_, req, handle)
                if self.seat.as_ref().is_some_and(|s| s.leg == i && s.joined) =>
            {
                let port = self.seat.as_ref().map(|s| s.port).unwrap_or_default();
                self.answer_reoffer(LegId::Seat, port, req, handle).await;
            }
            DialogState::Updated(_, req, handle) => {
                // The agent's phone moved or put the caller on hold: answer from our side.
                self.peer_reoffer(req, handle).await;
            }
            DialogState::Info(_, req, handle) => {
                let to =
                    matches!(self.phase, Phase::Bridged(w) if w == i).then(|| self.caller.clone());
                crate::b2bua::relay_in_dialog(to, req, handle);
            }
            DialogState::Options(_, _, handle) => {
                handle.reply(StatusCode::OK).await.ok();
            }
            DialogState::Refer(_, req, handle)
                if matches!(self.phase, Phase::Bridged(w) if w == i) && !self.agent_left =>
            {
                self.on_refer(req, handle).await;
            }
            DialogState::Refer(_, _, handle)
            | DialogState::Notify(_, _, handle)
            | DialogState::Message(_, _, handle)
            | DialogState::Publish(_, _, handle) => {
                handle.reply(StatusCode::NotImplemented).await.ok();
            }
            _ => {}
        }
    }

    async fn peer_reoffer(&mut self, req: Request, handle: TransactionHandle) {
        match self.peer_port() {
            Some(port) => self.answer_reoffer(LegId::Peer, port, req, handle).await,
            None => {
                handle
                    .reply(StatusCode::CallTransactionDoesNotExist)
                    .await
                    .ok();
            }
        }
    }

    /// Our RTP port on the agent side (kept after the pair moved into the media task).
    fn peer_port(&self) -> Option<u16> {
        self.peer_pair
            .as_ref()
            .map(|p| p.rtp_port())
            .or(self.bridged_peer_port)
    }

    async fn on_leg_done(&mut self, i: usize, resp: Option<Response>) {
        if self.seat.as_ref().is_some_and(|s| s.leg == i && !s.joined) {
            self.seat_answered(i, resp).await;
            return;
        }
        if self.transfer.as_ref().is_some_and(|t| t.leg == i) {
            self.transfer_done(i, resp).await;
            return;
        }
        let Some(l) = self.legs.get_mut(i) else {
            return;
        };
        let given_up = l.cancelled || l.done;
        l.done = true;
        let code = resp.as_ref().map(msg::response_code).unwrap_or(408);
        let answered = (200..300).contains(&code);
        let agent = self.legs[i].agent.clone();
        if answered && (given_up || !matches!(self.phase, Phase::Queue)) {
            // Answered after we gave up on it, or after the winner: release it at once.
            self.legs[i].dialog.hangup().await.ok();
            return;
        }
        if answered {
            if let Some(agent) = &agent {
                // The ACD decides who owns the call: exactly one answer wins.
                let verdict = match &self.acd {
                    Some(q) => q.answered(agent).await,
                    None => Err(hotline_acd::AcdError::NoCall(0)),
                };
                if let Err(e) = verdict {
                    info!(%agent, error = %e, "answer too late; releasing it");
                    self.legs[i].dialog.hangup().await.ok();
                    return;
                }
            }
            let body = resp
                .as_ref()
                .map(|r| String::from_utf8_lossy(&r.body).to_string())
                .unwrap_or_default();
            let Some(pair) = self.peer_pair.take() else {
                self.legs[i].dialog.hangup().await.ok();
                return;
            };
            let peer = match self.leg_from_answer(&pair, &body) {
                Ok(c) => c,
                Err(e) => {
                    // An answer we cannot use: release this leg. With the ACD the agent has
                    // the call: end it (the ACD puts the agent in wrap-up); without, the
                    // caller stays queued.
                    warn!(error = %e, who = %self.legs[i].who, "unusable SDP answer");
                    self.peer_pair = Some(pair);
                    self.legs[i].dialog.hangup().await.ok();
                    if agent.is_some() {
                        self.route_extra.push("bad-answer".into());
                        self.close(EndReason::Failed);
                    } else {
                        self.check_round_over().await;
                    }
                    return;
                }
            };
            if agent.is_none()
                && let Some(q) = self.acd.take()
            {
                // A line rung beside the queue took the caller.
                q.answered_elsewhere();
            }
            let who = self.legs[i].who.clone();
            self.bridged_peer_port = Some(pair.rtp_port());
            let recording = self.recording_path();
            if let Some(p) = &recording {
                self.record.recording(p.display().to_string());
            }
            self.handle.attach_peer(pair, peer, recording);
            // First contact (首接责任制, A3): whoever answers first owns the record.
            self.record.answered(Some(who.clone()), chrono::Utc::now());
            self.route_extra.push(format!("answered:{who}"));
            self.phase = Phase::Bridged(i);
            info!(record = %self.record.id(), %who, "bridged");
            self.hang_up_legs(Some(i)).await;
            return;
        }
        if let Some(agent) = agent {
            // Tell the ACD once every phone of the agent has failed.
            let open = self
                .legs
                .iter()
                .any(|l| l.agent.as_deref() == Some(agent.as_str()) && !l.done);
            if !open && let Some(q) = &self.acd {
                let why = match code {
                    486 | 600 => hotline_acd::OfferFailure::Busy,
                    603 => hotline_acd::OfferFailure::Rejected,
                    408 | 480 => hotline_acd::OfferFailure::NoAnswer,
                    _ => hotline_acd::OfferFailure::Unreachable,
                };
                info!(%agent, code, "offer failed");
                q.offer_failed(&agent, why);
            }
            return;
        }
        self.check_round_over().await;
    }

    /// Every leg of the current round (beside the ACD) failed: next round (or give up).
    async fn check_round_over(&mut self) {
        let round = self.round;
        if matches!(self.phase, Phase::Queue)
            && self
                .legs
                .iter()
                .filter(|l| l.agent.is_none() && l.round == round)
                .all(|l| l.done)
        {
            self.route_extra.push("no-answer".into());
            self.next_round().await;
        }
    }

    /// Gives up on the legs of a ringing round (not the ACD's).
    async fn hang_up_round(&mut self, round: u32) {
        for l in self.legs.iter_mut() {
            if l.agent.is_none() && l.round == round && !l.done {
                l.dialog.hangup().await.ok();
                l.done = true;
                l.cancelled = true;
            }
        }
    }

    fn recording_path(&self) -> Option<PathBuf> {
        let dir = self.media.recordings_dir.as_ref()?;
        let day = chrono::Utc::now().format("%Y/%m/%d").to_string();
        Some(dir.join(day).join(format!("{}.wav", self.record.id())))
    }

    /// Our leg towards a party that answered our offer from `pair` with `body` (its SDP).
    fn leg_from_answer(&self, pair: &PortPair, body: &str) -> Result<LegConfig, SdpError> {
        let offer = LocalOffer {
            ip: pair.local_ip(),
            port: pair.rtp_port(),
            codecs: vec![self.codec],
            telephone_event: true,
            direction: Direction::SendRecv,
        };
        let session = offer.accept(body)?;
        Ok(LegConfig {
            remote: remote_addr(session.remote_ip, session.remote_port),
            codec: session.codec,
            pt: session.pt,
            te_pt: session.telephone_event_pt,
            ssrc: rand::random(),
            initial_seq: rand::random(),
            initial_ts: rand::random(),
            latch: true,
        })
    }

    /// Releases every ringing leg except `keep`: CANCEL while ringing, BYE if it answered.
    async fn hang_up_legs(&mut self, keep: Option<usize>) {
        for (i, l) in self.legs.iter_mut().enumerate() {
            if !l.done && Some(i) != keep {
                l.dialog.hangup().await.ok();
                l.done = true;
                l.cancelled = true;
            }
        }
    }

    async fn finish(mut self) {
        let (reason, code) = self.outcome.unwrap_or((EndReason::Failed, 500));
        if !matches!(reason, EndReason::CallerHangup | EndReason::Abandoned) {
            // The caller is still there: BYE it (the agent leg was hung up where it was decided).
            self.caller.bye().await.ok();
        }
        self.record.route(self.route());
        self.core
            .calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(self.record.id());
        for l in &self.legs {
            self.dialogs.remove_dialog(&l.dialog.id());
        }
        self.core
            .controls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(self.record.id());
        if let Some(t) = self.transfer.take()
            && let Some(r) = t.reply
        {
            let _ = r.send(Err("the call ended before the target answered".into()));
        }
        // Talk over (or the caller gone): the ACD releases the agent into wrap-up.
        drop(self.acd.take());
        let record = self.record;
        self.core.finish_record(record, reason, code);
    }
}

/// The name of a monitoring mode in routes and API answers.
fn mode_name(mode: SeatMode) -> &'static str {
    match mode {
        SeatMode::Listen => "listen",
        SeatMode::Whisper => "whisper",
        SeatMode::Talk => "barge",
    }
}

/// The key in a SIP INFO: `application/dtmf-relay` (`Signal=5`) or `application/dtmf` (`5`).
fn info_digit(req: &Request) -> Option<char> {
    let ct = msg::header_value(req.headers.iter(), "Content-Type")?.to_ascii_lowercase();
    let body = std::str::from_utf8(&req.body).ok()?;
    let value = if ct.starts_with("application/dtmf-relay") {
        body.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            k.trim().eq_ignore_ascii_case("signal").then(|| v.trim())
        })?
    } else if ct.starts_with("application/dtmf") {
        body.trim()
    } else {
        return None;
    };
    let c = value.chars().next()?;
    // Some phones send the RFC 4733 event code for * and # (10, 11).
    let c = match value {
        "10" => '*',
        "11" => '#',
        _ => c,
    };
    matches!(c, '0'..='9' | '*' | '#' | 'A'..='D' | 'a'..='d').then(|| c.to_ascii_uppercase())
}

/// `%XX` escapes of a URI header value (Refer-To's `?Replaces=`), decoded.
fn percent_decode(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(x) = u8::from_str_radix(&v[i + 1..i + 3], 16)
        {
            out.push(x);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn replaces_values_are_unescaped() {
        assert_eq!(
            percent_decode("abc%40host%3Bto-tag%3D12%3Bfrom-tag%3D34"),
            "abc@host;to-tag=12;from-tag=34"
        );
        assert_eq!(percent_decode("plain"), "plain");
        assert_eq!(percent_decode("bad%4"), "bad%4");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
