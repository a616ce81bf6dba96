//! Browser phones (issue 8): an agent whose softphone is the desktop page is reached like any
//! SIP phone. While the page's WebSocket is open, the agent has a binding in the registrar
//! pointing at this gateway, a small user agent server on its own UDP socket; the call path
//! (ACD offers, transfers, three-party calls, hold) rings it with an INVITE exactly as it rings
//! a desk phone, so nothing in `anchored` knows the difference. The gateway turns the INVITE
//! into events for the page's owner ([`Phone`]) and takes back the answer: the address of the
//! RTP socket the owner bridged to the browser's WebRTC leg.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use hotline_media::sdp::{self, Codec, Direction, LocalMedia, Offer, SessionVersion};
use rsipstack::EndpointBuilder;
use rsipstack::dialog::dialog::{Dialog, DialogState, TerminatedReason, TransactionHandle};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::{Header, Method, Request, StatusCode};
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transport::TransportLayer;
use rsipstack::transport::udp::UdpConnection;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::core::Core;
use crate::msg;

/// How long a binding lasts; refreshed at half of it while the page is attached, so a server
/// that lost the page (a crash of the owner) forgets the phone within this time.
const BINDING_SECS: u32 = 120;
/// How long an INVITE may ring an attached page before the gateway gives up (the ACD's ring
/// timeout normally CANCELs much sooner).
const RING_LIMIT: Duration = Duration::from_secs(120);
const USER_AGENT: &str = "hotline browser phone";

/// Why a phone could not be attached or a call not handled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PhoneError {
    #[error("{0} is not an agent of this hotline")]
    NotAnAgent(String),
    #[error("the SIP service is stopping")]
    Stopped,
    #[error("no call {0} on this phone")]
    NoCall(String),
}

/// An incoming call ringing the page.
#[derive(Debug, Clone)]
pub struct Ringing {
    /// The gateway's id of this call on the phone (answer, reject and hang up name it).
    pub call: String,
    /// The call record it belongs to (`X-Hotline-Call`): how the API reaches the call.
    pub record: Option<String>,
    /// The caller's number as the hotline presents it (the page masks it as the role
    /// requires) and display name.
    pub caller: String,
    pub display: Option<String>,
    /// The annex line the citizen dialed (`X-Hotline-Line`).
    pub line: Option<String>,
    /// The call's law: the browser leg must be negotiated in it (no transcoding).
    pub codec: Codec,
    /// Where the call's RTP is.
    pub remote_rtp: Option<SocketAddr>,
}

/// What happened on a phone.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PhoneEvent {
    Ring(Ringing),
    /// The call stopped ringing before it was answered (the caller hung up, the ACD gave it
    /// to someone else or timed the ring out).
    Cancelled {
        call: String,
    },
    /// An answered call ended from the hotline's side (caller gone, transfer completed).
    Ended {
        call: String,
    },
    /// The call's RTP moved (a re-INVITE).
    Moved {
        call: String,
        remote_rtp: SocketAddr,
    },
    /// Another page attached for the same agent and took the phone over.
    Replaced,
}

enum CallCmd {
    Answer(SocketAddr),
    Reject(u16),
    HangUp,
}

struct Slot {
    generation: u64,
    events: mpsc::UnboundedSender<PhoneEvent>,
    /// The call on this phone (one at a time: an agent talks to one citizen).
    call: Option<(String, mpsc::UnboundedSender<CallCmd>)>,
}

pub(crate) struct Gateway {
    core: Weak<Core>,
    addr: SocketAddr,
    slots: Mutex<HashMap<String, Slot>>,
    next: AtomicU64,
    cancel: CancellationToken,
}

/// The browser phones of a running SIP service.
#[derive(Clone)]
pub struct Phones {
    gw: Arc<Gateway>,
}

/// One attached page. Dropping it detaches: the binding is removed (the ACD logs the agent
/// out when it was their last) and a call on it is hung up.
pub struct Phone {
    agent: String,
    generation: u64,
    gw: Arc<Gateway>,
    events: mpsc::UnboundedReceiver<PhoneEvent>,
}

impl Gateway {
    /// Binds the gateway's UDP socket on `ip` and starts serving it.
    pub(crate) async fn start(
        core: &Arc<Core>,
        ip: std::net::IpAddr,
        cancel: CancellationToken,
    ) -> Result<Arc<Gateway>, crate::SipError> {
        let bind = SocketAddr::new(ip, 0);
        let transport = TransportLayer::new(cancel.child_token());
        let conn = UdpConnection::create_connection(bind, None, Some(cancel.child_token()))
            .await
            .map_err(|e| crate::SipError::Stack(format!("browser phone gateway on {bind}: {e}")))?;
        let addr = conn.get_addr().addr.to_owned();
        let addr: SocketAddr = addr
            .try_into()
            .map_err(|e| crate::SipError::Stack(format!("browser phone gateway address: {e}")))?;
        transport.add_transport(conn.into());
        let endpoint = EndpointBuilder::new()
            .with_user_agent(USER_AGENT)
            .with_transport_layer(transport)
            .with_cancel_token(cancel.child_token())
            .build();
        let mut incoming = endpoint
            .incoming_transactions()
            .map_err(|e| crate::SipError::Stack(e.to_string()))?;
        let dialogs = Arc::new(DialogLayer::new(endpoint.inner.clone()));
        let gw = Arc::new(Gateway {
            core: Arc::downgrade(core),
            addr,
            slots: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
            cancel: cancel.clone(),
        });
        tokio::spawn(async move { endpoint.serve().await });
        let serving = gw.clone();
        tokio::spawn(async move {
            while let Some(tx) = incoming.recv().await {
                tokio::spawn(serving.clone().handle(dialogs.clone(), tx));
            }
        });
        let refresh = Arc::downgrade(&gw);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(u64::from(BINDING_SECS / 2)));
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tick.tick() => {}
                }
                let Some(gw) = refresh.upgrade() else { return };
                let agents: Vec<(String, u64)> = gw
                    .lock()
                    .iter()
                    .map(|(a, s)| (a.clone(), s.generation))
                    .collect();
                for (agent, generation) in agents {
                    gw.bind(&agent, generation, BINDING_SECS);
                }
            }
        });
        info!(%addr, "browser phone gateway started");
        Ok(gw)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn contact(&self, agent: &str) -> String {
        format!("<sip:{agent}@{};transport=udp>", self.addr)
    }

    /// Writes (or with `expires` 0 removes) the agent's binding to this gateway, as a
    /// REGISTER from the gateway's address would, and tells the ACD of a first or last one.
    fn bind(&self, agent: &str, generation: u64, expires: u32) {
        let Some(core) = self.core.upgrade() else {
            return;
        };
        let contact = self.contact(agent);
        let expires = expires.to_string();
        let call_id = format!("browser-{agent}-{generation}@{}", self.addr);
        let (before, after) = {
            let mut reg = core.registrar.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let before = reg.lookup(agent, now).len();
            let cseq = self.next.fetch_add(1, Ordering::Relaxed) as u32;
            let r = reg.register(
                hotline_registrar::RegisterRequest {
                    aor: agent,
                    call_id: &call_id,
                    cseq,
                    contacts: &[contact.as_str()],
                    expires: Some(expires.as_str()),
                    source: self.addr,
                    transport: "udp",
                    user_agent: Some(USER_AGENT),
                },
                now,
            );
            match r {
                Ok(ok) => (before, ok.bindings.len()),
                Err(e) => {
                    warn!(%agent, error = %e, "browser phone binding refused");
                    return;
                }
            }
        };
        if let Some(acd) = core.acd.get() {
            match (before, after) {
                (0, n) if n > 0 => acd.registered(agent),
                (b, 0) if b > 0 => acd.unregistered(agent),
                _ => {}
            }
        }
    }

    async fn handle(self: Arc<Self>, dialogs: Arc<DialogLayer>, mut tx: Transaction) {
        match tx.original.method {
            Method::Invite if dialogs.match_dialog(&tx).is_none() => {
                self.incoming(dialogs, tx).await;
            }
            Method::Ack => {
                if let Some(Dialog::Invite(mut d)) = dialogs.match_dialog(&tx) {
                    d.handle(&mut tx).await.ok();
                }
            }
            _ => match dialogs.match_dialog(&tx) {
                Some(Dialog::Invite(mut d)) => {
                    d.handle(&mut tx).await.ok();
                }
                _ if tx.original.method == Method::Options => {
                    tx.reply(StatusCode::OK).await.ok();
                }
                _ => {
                    tx.reply(StatusCode::CallTransactionDoesNotExist).await.ok();
                }
            },
        }
    }

    /// An INVITE from the hotline to an agent's page.
    async fn incoming(self: Arc<Self>, dialogs: Arc<DialogLayer>, mut tx: Transaction) {
        let agent = tx.original.uri.user().unwrap_or_default().to_string();
        let offer = match std::str::from_utf8(&tx.original.body)
            .ok()
            .filter(|b| !b.is_empty())
            .map(Offer::parse)
        {
            Some(Ok(o)) => o,
            // The hotline always offers; anything else is a mistake we cannot bridge.
            _ => {
                let w = msg::warning("hotline", "browser phones need an SDP offer");
                tx.reply_with(StatusCode::NotAcceptableHere, vec![w], None)
                    .await
                    .ok();
                return;
            }
        };
        let Some(audio) = offer
            .media
            .iter()
            .find(|m| m.media == "audio" && m.port != 0)
        else {
            tx.reply(StatusCode::NotAcceptableHere).await.ok();
            return;
        };
        let codec = if audio.formats.iter().any(|f| f == "0") {
            Codec::Pcmu
        } else if audio.formats.iter().any(|f| f == "8") {
            Codec::Pcma
        } else {
            tx.reply(StatusCode::NotAcceptableHere).await.ok();
            return;
        };
        let remote_rtp = audio
            .connection
            .or(offer.connection)
            .filter(|ip| !ip.is_unspecified())
            .map(|ip| SocketAddr::new(ip, audio.port));
        let (cmd_tx, mut cmd_rx) = mpsc::unbounded_channel();
        let call = format!("c{}", self.next.fetch_add(1, Ordering::Relaxed));
        // None: no page for the agent; Some(None): the page is on a call.
        let slot = {
            let mut slots = self.lock();
            slots.get_mut(&agent).map(|s| {
                if s.call.is_some() {
                    None
                } else {
                    s.call = Some((call.clone(), cmd_tx));
                    Some((s.events.clone(), s.generation))
                }
            })
        };
        let events = match slot {
            Some(None) => {
                tx.reply(StatusCode::BusyHere).await.ok();
                return;
            }
            Some(Some(e)) => Some(e),
            None => None,
        };
        let Some((events, generation)) = events else {
            tx.reply(StatusCode::TemporarilyUnavailable).await.ok();
            return;
        };
        let (state_tx, mut state_rx) = dialogs.new_dialog_state_channel();
        let contact = rsipstack::sip::Uri::try_from(
            format!("sip:{agent}@{};transport=udp", self.addr).as_str(),
        )
        .ok();
        let dialog = match dialogs.get_or_create_server_invite(&tx, state_tx, None, contact) {
            Ok(d) => d,
            Err(e) => {
                warn!(error = %e, "browser phone: cannot create the dialog");
                tx.reply(StatusCode::ServerInternalError).await.ok();
                self.clear(&agent, generation, &call);
                return;
            }
        };
        {
            let mut d = dialog.clone();
            tokio::spawn(async move {
                if let Err(e) = d.handle(&mut tx).await {
                    debug!(error = %e, "browser phone INVITE transaction ended");
                }
            });
        }
        dialog.ringing(None, None).ok();
        let header = |name: &str| {
            let req = dialog.initial_request();
            msg::header_value(req.headers.iter(), name).map(str::to_string)
        };
        let req = dialog.initial_request();
        let from = msg::from_value(&req);
        let ringing = Ringing {
            call: call.clone(),
            record: header("X-Hotline-Call"),
            caller: msg::uri_user(from).unwrap_or("anonymous").to_string(),
            display: msg::display_name(from),
            line: header("X-Hotline-Line"),
            codec,
            remote_rtp,
        };
        info!(%agent, %call, record = ?ringing.record, "browser phone ringing");
        events.send(PhoneEvent::Ring(ringing)).ok();

        let mut version = SessionVersion::new(rand::random::<u32>().into(), 1);
        let mut local: Option<SocketAddr> = None;
        let ring_limit = tokio::time::sleep(RING_LIMIT);
        tokio::pin!(ring_limit);
        let cancel = self.cancel.clone();
        loop {
            tokio::select! {
                _ = cancel.cancelled() => {
                    end(&dialog, local.is_some(), 503).await;
                    break;
                }
                _ = &mut ring_limit, if local.is_none() => {
                    dialog.reject(Some(StatusCode::TemporarilyUnavailable), None).ok();
                    events.send(PhoneEvent::Cancelled { call: call.clone() }).ok();
                    break;
                }
                c = cmd_rx.recv() => match c {
                    Some(CallCmd::Answer(rtp)) if local.is_none() => {
                        match answer_sdp(&offer, rtp, codec, &mut version) {
                            Ok(body) => {
                                let ct = vec![Header::ContentType("application/sdp".into())];
                                if dialog.accept(Some(ct), Some(body.into_bytes())).is_ok() {
                                    local = Some(rtp);
                                } else {
                                    events.send(PhoneEvent::Cancelled { call: call.clone() }).ok();
                                    break;
                                }
                            }
                            Err(e) => {
                                warn!(error = %e, "browser phone: cannot answer the offer");
                                dialog.reject(Some(StatusCode::NotAcceptableHere), None).ok();
                                events.send(PhoneEvent::Cancelled { call: call.clone() }).ok();
                                break;
                            }
                        }
                    }
                    Some(CallCmd::Answer(_)) => {}
                    Some(CallCmd::Reject(code)) if local.is_none() => {
                        dialog.reject(Some(StatusCode::from(code)), None).ok();
                        // The page's own action is over too: it is told like any other end.
                        events.send(PhoneEvent::Cancelled { call: call.clone() }).ok();
                        break;
                    }
                    Some(CallCmd::Reject(_)) => {}
                    Some(CallCmd::HangUp) | None => {
                        end(&dialog, local.is_some(), 486).await;
                        let ev = if local.is_some() {
                            PhoneEvent::Ended { call: call.clone() }
                        } else {
                            PhoneEvent::Cancelled { call: call.clone() }
                        };
                        events.send(ev).ok();
                        break;
                    }
                },
                st = state_rx.recv() => match st {
                    Some(DialogState::Terminated(_, reason)) => {
                        debug!(%call, ?reason, "browser phone call over");
                        let ev = if local.is_some() && !matches!(reason, TerminatedReason::UacCancel) {
                            PhoneEvent::Ended { call: call.clone() }
                        } else {
                            PhoneEvent::Cancelled { call: call.clone() }
                        };
                        events.send(ev).ok();
                        break;
                    }
                    Some(DialogState::Updated(_, req, handle)) => {
                        if let Some(rtp) = local {
                            reoffer(&req, handle, rtp, codec, &mut version, &call, &events).await;
                        } else {
                            handle.reply(StatusCode::RequestPending).await.ok();
                        }
                    }
                    Some(DialogState::Info(_, _, handle)) | Some(DialogState::Options(_, _, handle)) => {
                        handle.reply(StatusCode::OK).await.ok();
                    }
                    Some(DialogState::Refer(_, _, handle))
                    | Some(DialogState::Notify(_, _, handle))
                    | Some(DialogState::Message(_, _, handle))
                    | Some(DialogState::Publish(_, _, handle)) => {
                        handle.reply(StatusCode::NotImplemented).await.ok();
                    }
                    Some(_) => {}
                    None => {
                        events.send(PhoneEvent::Ended { call: call.clone() }).ok();
                        break;
                    }
                },
            }
        }
        dialogs.remove_dialog(&dialog.id());
        self.clear(&agent, generation, &call);
    }

    /// The call is over for the phone: it may ring again.
    fn clear(&self, agent: &str, generation: u64, call: &str) {
        let mut slots = self.lock();
        if let Some(s) = slots.get_mut(agent)
            && s.generation == generation
            && s.call.as_ref().is_some_and(|(c, _)| c == call)
        {
            s.call = None;
        }
    }

    fn command(
        &self,
        agent: &str,
        generation: u64,
        call: &str,
        cmd: CallCmd,
    ) -> Result<(), PhoneError> {
        let slots = self.lock();
        let tx = slots
            .get(agent)
            .filter(|s| s.generation == generation)
            .and_then(|s| s.call.as_ref())
            .filter(|(c, _)| c == call)
            .map(|(_, tx)| tx.clone())
            .ok_or_else(|| PhoneError::NoCall(call.to_string()))?;
        tx.send(cmd)
            .map_err(|_| PhoneError::NoCall(call.to_string()))
    }
}

/// Hangs up from our side: BYE once answered, else the INVITE refused with `code`.
async fn end(dialog: &InviteDialog, answered: bool, code: u16) {
    if answered {
        dialog.bye().await.ok();
    } else {
        dialog.reject(Some(StatusCode::from(code)), None).ok();
    }
}

/// Our answer to the hotline's offer: the bridge's RTP socket, the call's law only.
fn answer_sdp(
    offer: &Offer,
    rtp: SocketAddr,
    codec: Codec,
    version: &mut SessionVersion,
) -> Result<String, sdp::SdpError> {
    let a = sdp::answer(
        offer,
        LocalMedia {
            ip: rtp.ip(),
            port: rtp.port(),
            prefer: vec![codec],
        },
    )?;
    Ok(a.to_sdp(version))
}

/// A re-INVITE on an answered call (the hotline moved its media or held the call): answered
/// from the same socket; a new address is passed on to the bridge.
async fn reoffer(
    req: &Request,
    handle: TransactionHandle,
    rtp: SocketAddr,
    codec: Codec,
    version: &mut SessionVersion,
    call: &str,
    events: &mpsc::UnboundedSender<PhoneEvent>,
) {
    let Ok(text) = std::str::from_utf8(&req.body) else {
        handle.reply(StatusCode::NotAcceptableHere).await.ok();
        return;
    };
    if text.is_empty() {
        handle.reply(StatusCode::OK).await.ok();
        return;
    }
    let parsed = Offer::parse(text).and_then(|o| {
        let a = sdp::answer(
            &o,
            LocalMedia {
                ip: rtp.ip(),
                port: rtp.port(),
                prefer: vec![codec],
            },
        )?;
        Ok(a)
    });
    match parsed {
        Ok(a) => {
            let audio = &a.audio;
            if audio.direction == Direction::SendRecv
                && !audio.remote_ip.is_unspecified()
                && audio.remote_port != 0
            {
                events
                    .send(PhoneEvent::Moved {
                        call: call.to_string(),
                        remote_rtp: SocketAddr::new(audio.remote_ip, audio.remote_port),
                    })
                    .ok();
            }
            let body = a.to_sdp(version);
            handle
                .respond(
                    StatusCode::OK,
                    Some(vec![Header::ContentType("application/sdp".into())]),
                    Some(body.into_bytes()),
                )
                .await
                .ok();
        }
        Err(e) => {
            handle
                .respond(
                    StatusCode::NotAcceptableHere,
                    Some(vec![msg::warning("hotline", &format!("SDP: {e}"))]),
                    None,
                )
                .await
                .ok();
        }
    }
}

impl Phones {
    pub(crate) fn new(gw: Arc<Gateway>) -> Self {
        Phones { gw }
    }

    /// Attaches a page as `agent`'s phone: from now on calls for the agent ring it (beside
    /// any desk phone the agent registered). A second page for the same agent replaces the
    /// first, which is told so.
    pub fn attach(&self, agent: &str) -> Result<Phone, PhoneError> {
        let core = self.gw.core.upgrade().ok_or(PhoneError::Stopped)?;
        if !core.cfg.agents.iter().any(|a| a.id == agent) {
            return Err(PhoneError::NotAnAgent(agent.to_string()));
        }
        let generation = self.gw.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        let old = self.gw.lock().insert(
            agent.to_string(),
            Slot {
                generation,
                events: tx,
                call: None,
            },
        );
        if let Some(old) = old {
            if let Some((_, c)) = old.call {
                c.send(CallCmd::HangUp).ok();
            }
            old.events.send(PhoneEvent::Replaced).ok();
        }
        self.gw.bind(agent, generation, BINDING_SECS);
        Ok(Phone {
            agent: agent.to_string(),
            generation,
            gw: self.gw.clone(),
            events: rx,
        })
    }

    /// The gateway's SIP address (where the agents' bindings point).
    pub fn addr(&self) -> SocketAddr {
        self.gw.addr
    }
}

impl Phone {
    pub fn agent(&self) -> &str {
        &self.agent
    }

    /// The next event; `None` when the SIP service stopped.
    pub async fn next(&mut self) -> Option<PhoneEvent> {
        self.events.recv().await
    }

    /// Answers the ringing `call` with the bridge's RTP address (the 200 OK goes out now).
    pub fn answer(&self, call: &str, rtp: SocketAddr) -> Result<(), PhoneError> {
        self.gw
            .command(&self.agent, self.generation, call, CallCmd::Answer(rtp))
    }

    /// Declines the ringing `call` (603, the ACD's "rejected").
    pub fn reject(&self, call: &str) -> Result<(), PhoneError> {
        self.gw
            .command(&self.agent, self.generation, call, CallCmd::Reject(603))
    }

    /// Hangs up `call`: BYE when answered, refused when still ringing.
    pub fn hang_up(&self, call: &str) -> Result<(), PhoneError> {
        self.gw
            .command(&self.agent, self.generation, call, CallCmd::HangUp)
    }
}

impl Drop for Phone {
    fn drop(&mut self) {
        let mine = {
            let mut slots = self.gw.lock();
            match slots.get(&self.agent) {
                Some(s) if s.generation == self.generation => slots.remove(&self.agent),
                _ => None,
            }
        };
        if let Some(slot) = mine {
            if let Some((_, c)) = slot.call {
                c.send(CallCmd::HangUp).ok();
            }
            self.gw.bind(&self.agent, self.generation, 0);
        }
    }
}
