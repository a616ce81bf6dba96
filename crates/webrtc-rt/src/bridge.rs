//! One bridged leg as a tokio task: the WebRTC socket towards the browser, the RTP socket
//! towards the call, and the sans-IO [`Leg`] between them on the real clock.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use hotline_webrtc::{G711, Leg, LegError, LegOutput};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tracing::debug;

use crate::framing::Framing;

/// Where a bridge's sockets are bound.
#[derive(Debug, Clone, Copy)]
pub struct BridgeConfig {
    /// The address browsers reach (their only ICE candidate); a concrete address, not
    /// `0.0.0.0`, because it is written into the answer.
    pub ice_ip: IpAddr,
    /// The address the call's RTP reaches us on (the media engine's side).
    pub rtp_ip: IpAddr,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BridgeError {
    #[error("cannot bind a {what} socket on {ip}: {source}")]
    Bind {
        what: &'static str,
        ip: IpAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Leg(#[from] LegError),
}

/// What the leg did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BridgeEvent {
    /// ICE and DTLS are up: audio flows.
    Connected,
    /// The browser went away (ICE lost, DTLS closed); the task has ended.
    Disconnected,
}

enum Cmd {
    Remote(SocketAddr),
    Close,
}

/// A running bridged leg. Dropping it closes the leg.
pub struct Bridge {
    answer: String,
    law: G711,
    ice_local: SocketAddr,
    rtp_local: SocketAddr,
    cmd: mpsc::UnboundedSender<Cmd>,
    events: Option<mpsc::UnboundedReceiver<BridgeEvent>>,
}

impl Bridge {
    /// Answers the browser's `offer` in `law` (the call's), binds the two sockets and starts
    /// the leg's task. `remote` is where the call's RTP goes, when already known.
    pub async fn start(
        offer: &str,
        law: G711,
        cfg: BridgeConfig,
        remote: Option<SocketAddr>,
    ) -> Result<Bridge, BridgeError> {
        let bind = |what, ip| async move {
            UdpSocket::bind(SocketAddr::new(ip, 0))
                .await
                .map_err(|source| BridgeError::Bind { what, ip, source })
        };
        let ice = bind("WebRTC", cfg.ice_ip).await?;
        let rtp = bind("RTP", cfg.rtp_ip).await?;
        let local_of = |s: &UdpSocket, what, ip| {
            s.local_addr()
                .map_err(|source| BridgeError::Bind { what, ip, source })
        };
        let ice_local = local_of(&ice, "WebRTC", cfg.ice_ip)?;
        let rtp_local = local_of(&rtp, "RTP", cfg.rtp_ip)?;
        let (leg, answer) = Leg::answer_in(offer, ice_local, law, Instant::now())?;
        let (cmd, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, events) = mpsc::unbounded_channel();
        let pt = match law {
            G711::Pcmu => 0,
            G711::Pcma => 8,
        };
        let framing = Framing::new(pt, rand::random(), rand::random(), rand::random());
        let task = Task {
            leg,
            ice,
            ice_local,
            rtp,
            remote,
            framing,
            events: ev_tx,
        };
        tokio::spawn(task.run(cmd_rx));
        Ok(Bridge {
            answer,
            law,
            ice_local,
            rtp_local,
            cmd,
            events: Some(events),
        })
    }

    /// The SDP answer for the browser.
    pub fn answer_sdp(&self) -> &str {
        &self.answer
    }

    pub fn law(&self) -> G711 {
        self.law
    }

    /// Our WebRTC address (the browser's only candidate).
    pub fn ice_local(&self) -> SocketAddr {
        self.ice_local
    }

    /// Our RTP address towards the call (what the SIP side's SDP names).
    pub fn rtp_local(&self) -> SocketAddr {
        self.rtp_local
    }

    /// Where the call's RTP is (a re-INVITE may move it).
    pub fn set_remote(&self, remote: SocketAddr) {
        self.cmd.send(Cmd::Remote(remote)).ok();
    }

    /// The next event; `None` once the task has ended (or the events were taken).
    pub async fn next_event(&mut self) -> Option<BridgeEvent> {
        match self.events.as_mut() {
            Some(rx) => rx.recv().await,
            None => None,
        }
    }

    /// The event stream, for a caller that keeps the bridge in one place and reads its
    /// events in another; it ends when the leg's task does.
    pub fn take_events(&mut self) -> mpsc::UnboundedReceiver<BridgeEvent> {
        self.events
            .take()
            .unwrap_or_else(|| mpsc::unbounded_channel().1)
    }

    /// Hangs the leg up (the browser sees DTLS close) and ends the task.
    pub fn close(&self) {
        self.cmd.send(Cmd::Close).ok();
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.close();
    }
}

struct Task {
    leg: Leg,
    ice: UdpSocket,
    ice_local: SocketAddr,
    rtp: UdpSocket,
    remote: Option<SocketAddr>,
    framing: Framing,
    events: mpsc::UnboundedSender<BridgeEvent>,
}

/// How long a closing leg may take to send its goodbyes.
const CLOSE_DRAIN: std::time::Duration = std::time::Duration::from_millis(200);

/// Enough for any datagram on either socket (a jumbo DTLS flight included).
const BUF: usize = 2048;

impl Task {
    async fn run(mut self, mut cmd: mpsc::UnboundedReceiver<Cmd>) {
        let mut ice_buf = vec![0u8; BUF];
        let mut rtp_buf = vec![0u8; BUF];
        let mut out = Vec::with_capacity(BUF);
        // Deadlines in a row that were already due when the leg gave them.
        let mut due = 0;
        loop {
            let deadline = match self.drain(&mut out).await {
                Ok(Some(at)) => at,
                Ok(None) => {
                    self.events.send(BridgeEvent::Disconnected).ok();
                    return;
                }
                Err(e) => {
                    debug!(error = %e, "browser leg failed");
                    self.events.send(BridgeEvent::Disconnected).ok();
                    return;
                }
            };
            let now = Instant::now();
            // Right after `send_audio` the leg's deadline is already due: str0m packetizes
            // (and encrypts, and hands out) a written frame only on the timeout. Through
            // tokio's timer that waits for its next millisecond tick, about 1 ms added to
            // every frame towards the browser, so a due deadline is handled here at once; a
            // few times in a row at most, so the sockets are served whatever the leg says.
            if deadline <= now && due < 4 {
                due += 1;
                if let Err(e) = self.leg.timeout(now) {
                    debug!(error = %e, "browser leg timer");
                }
                continue;
            }
            due = 0;
            let sleep = deadline.saturating_duration_since(now);
            tokio::select! {
                r = self.ice.recv_from(&mut ice_buf) => {
                    if let Ok((n, from)) = r
                        && let Err(e) = self.leg.receive(from, self.ice_local, &ice_buf[..n], Instant::now())
                    {
                        debug!(error = %e, "browser datagram refused");
                    }
                }
                r = self.rtp.recv_from(&mut rtp_buf) => {
                    // Only the call's own media task (symmetric RTP: it sends from where we
                    // send to) may speak into the browser's ear.
                    if let Ok((n, from)) = r
                        && self.remote.is_none_or(|r| r == from)
                        && let Some((time, payload)) = self.framing.from_call(&rtp_buf[..n])
                        && self.leg.codec().is_some()
                    {
                        // Before the browser is connected str0m has nowhere to send: dropped.
                        self.leg.send_audio(payload, time, Instant::now()).ok();
                    }
                }
                c = cmd.recv() => match c {
                    Some(Cmd::Remote(a)) => self.remote = Some(a),
                    Some(Cmd::Close) | None => {
                        self.close(&mut out).await;
                        return;
                    }
                },
                _ = tokio::time::sleep(sleep) => {
                    if let Err(e) = self.leg.timeout(Instant::now()) {
                        debug!(error = %e, "browser leg timer");
                    }
                }
            }
        }
    }

    /// Hangs the leg up and sends what the close produces (RTCP BYE, DTLS close_notify),
    /// waiting on the leg's own deadlines for at most `CLOSE_DRAIN`.
    async fn close(&mut self, out: &mut Vec<u8>) {
        self.leg.close();
        let give_up = Instant::now() + CLOSE_DRAIN;
        while let Ok(Some(at)) = self.drain(out).await {
            let now = Instant::now();
            if now >= give_up {
                return;
            }
            tokio::time::sleep(at.min(give_up).saturating_duration_since(now)).await;
            if self.leg.timeout(Instant::now()).is_err() {
                return;
            }
        }
    }

    /// Does what the leg asks until it only waits; its deadline, or `None` once it is gone.
    async fn drain(&mut self, out: &mut Vec<u8>) -> Result<Option<Instant>, LegError> {
        loop {
            match self.leg.poll()? {
                LegOutput::Transmit {
                    destination, data, ..
                } => {
                    if let Err(e) = self.ice.send_to(&data, destination).await {
                        debug!(error = %e, %destination, "send to the browser failed");
                    }
                }
                LegOutput::Audio {
                    rtp_time, payload, ..
                } => {
                    if let Some(remote) = self.remote {
                        self.framing.to_call(rtp_time, &payload, out);
                        if let Err(e) = self.rtp.send_to(out, remote).await {
                            debug!(error = %e, %remote, "send to the call failed");
                        }
                    }
                }
                LegOutput::Connected => {
                    self.events.send(BridgeEvent::Connected).ok();
                }
                LegOutput::Disconnected => return Ok(None),
                LegOutput::Timeout(at) => {
                    if !self.leg.is_alive() {
                        return Ok(None);
                    }
                    return Ok(Some(at));
                }
                _ => {}
            }
        }
    }
}
