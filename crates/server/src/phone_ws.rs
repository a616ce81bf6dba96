//! The desktop's softphone signalling (issue 8): `GET /api/phone?access_token=` upgrades to a
//! WebSocket carrying JSON both ways. While it is open the agent's page is a phone of the
//! hotline (`hotline_sip::Phones`): calls ring it as they ring a desk phone, and answering
//! one starts a WebRTC leg (`hotline_webrtc_rt::Bridge`) bridged to the call's RTP in the
//! call's law, without transcoding.
//!
//! Page → server: `{"type":"answer","call","sdp"}` (the browser's offer, made when the agent
//! answers), `{"type":"reject","call"}`, `{"type":"hangup","call"}`.
//! Server → page: `attached`, `ring` (call, record, caller, display, line, unit, mode, law),
//! `answer` (our SDP), `connected`, `cancelled`, `ended`, `replaced`, `error` (with `message`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::State as AxState;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hotline_sip::{NumberPlan, Phone, PhoneEvent, Phones, Ringing};
use hotline_webrtc_rt::{Bridge, BridgeConfig, BridgeEvent, G711};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tracing::{info, warn};

#[derive(Clone)]
pub struct PhoneState {
    pub orders: crate::orders_api::OrdersState,
    pub phones: Phones,
    pub numbers: Arc<dyn NumberPlan>,
    /// Where browsers reach our WebRTC sockets and the call's RTP reaches the bridge.
    pub bridge: BridgeConfig,
}

pub fn router(state: PhoneState) -> Router {
    Router::new()
        .route("/api/phone", get(upgrade))
        .with_state(state)
}

fn refuse(code: StatusCode, msg: impl std::fmt::Display) -> Response {
    (code, Json(json!({ "error": msg.to_string() }))).into_response()
}

async fn upgrade(AxState(s): AxState<PhoneState>, req: axum::extract::Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let p = match s.orders.authenticate(&parts).await {
        Ok((p, _)) => p,
        Err(f) => return f.into_response(),
    };
    if p.role != hotline_workorder::Role::Agent {
        return refuse(
            StatusCode::FORBIDDEN,
            format!(
                "a {} has no softphone: only agents take calls in the page",
                p.role.name()
            ),
        );
    }
    let ws = match <WebSocketUpgrade as axum::extract::FromRequestParts<()>>::from_request_parts(
        &mut parts,
        &(),
    )
    .await
    {
        Ok(ws) => ws,
        Err(e) => return e.into_response(),
    };
    let phone = match s.phones.attach(&p.user) {
        Ok(ph) => ph,
        Err(e) => return refuse(StatusCode::CONFLICT, e),
    };
    info!(agent = %p.user, "browser phone attached");
    ws.on_upgrade(move |socket| serve(socket, phone, s))
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum FromPage {
    Answer { call: String, sdp: String },
    Reject { call: String },
    Hangup { call: String },
}

/// A call on the page: what rang, and the WebRTC leg once answered.
struct OnPage {
    ringing: Ringing,
    bridge: Option<Bridge>,
}

fn law(c: hotline_media::Codec) -> G711 {
    match c {
        hotline_media::Codec::Pcmu => G711::Pcmu,
        hotline_media::Codec::Pcma => G711::Pcma,
    }
}

async fn send(socket: &mut WebSocket, v: Value) -> bool {
    socket
        .send(Message::Text(v.to_string().into()))
        .await
        .is_ok()
}

async fn serve(mut socket: WebSocket, mut phone: Phone, s: PhoneState) {
    let agent = phone.agent().to_string();
    if !send(&mut socket, json!({ "type": "attached", "agent": agent })).await {
        return;
    }
    let mut calls: HashMap<String, OnPage> = HashMap::new();
    // Bridge events funnel here with their call id (a bridge is owned by `calls`).
    let (bridge_tx, mut bridge_rx) = mpsc::unbounded_channel::<(String, BridgeEvent)>();
    loop {
        tokio::select! {
            ev = phone.next() => {
                let Some(ev) = ev else { break };
                let out = match ev {
                    PhoneEvent::Ring(r) => {
                        let line = r.line.as_deref().and_then(|l| s.numbers.line(l));
                        let v = json!({
                            "type": "ring",
                            "call": r.call,
                            "record": r.record,
                            "caller": r.caller,
                            "display": r.display,
                            "line": r.line,
                            "unit": line.as_ref().and_then(|l| l.unit.clone()),
                            "mode": line.as_ref().map(|l| l.mode.clone()),
                            "law": match r.codec { hotline_media::Codec::Pcmu => "PCMU", hotline_media::Codec::Pcma => "PCMA" },
                        });
                        calls.insert(r.call.clone(), OnPage { ringing: r, bridge: None });
                        v
                    }
                    PhoneEvent::Cancelled { call } => {
                        calls.remove(&call);
                        json!({ "type": "cancelled", "call": call })
                    }
                    PhoneEvent::Ended { call } => {
                        calls.remove(&call);
                        json!({ "type": "ended", "call": call })
                    }
                    PhoneEvent::Moved { call, remote_rtp } => {
                        if let Some(b) = calls.get(&call).and_then(|c| c.bridge.as_ref()) {
                            b.set_remote(remote_rtp);
                        }
                        continue;
                    }
                    PhoneEvent::Replaced => {
                        send(&mut socket, json!({ "type": "replaced", "message": "这个坐席已在另一个页面登录软电话" })).await;
                        break;
                    }
                    _ => continue,
                };
                if !send(&mut socket, out).await {
                    break;
                }
            }
            ev = bridge_rx.recv() => {
                let Some((call, ev)) = ev else { continue };
                match ev {
                    BridgeEvent::Connected => {
                        if !send(&mut socket, json!({ "type": "connected", "call": call })).await {
                            break;
                        }
                    }
                    _ => {
                        // The browser's media is gone: the call cannot go on in this page.
                        if calls.contains_key(&call) {
                            warn!(%agent, %call, "browser media lost; hanging up");
                            phone.hang_up(&call).ok();
                        }
                    }
                }
            }
            msg = socket.recv() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t.to_string(),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => continue,
                };
                let reply = match serde_json::from_str::<FromPage>(&text) {
                    Err(e) => Err(format!("not a softphone message: {e}")),
                    Ok(FromPage::Answer { call, sdp }) => {
                        answer(&phone, &mut calls, &call, &sdp, s.bridge, &bridge_tx)
                            .await
                            .map(|sdp| Some(json!({ "type": "answer", "call": call, "sdp": sdp })))
                    }
                    Ok(FromPage::Reject { call }) => phone.reject(&call).map(|_| None).map_err(|e| e.to_string()),
                    Ok(FromPage::Hangup { call }) => phone.hang_up(&call).map(|_| None).map_err(|e| e.to_string()),
                };
                let out = match reply {
                    Ok(Some(v)) => v,
                    Ok(None) => continue,
                    Err(message) => json!({ "type": "error", "message": message }),
                };
                if !send(&mut socket, out).await {
                    break;
                }
            }
        }
    }
    info!(%agent, "browser phone detached");
    // Dropping the phone hangs up its call and removes the binding.
}

/// The agent answers `call` with the browser's `offer`: the leg starts in the call's law and
/// the hotline gets the 200 OK with the bridge's RTP address.
async fn answer(
    phone: &Phone,
    calls: &mut HashMap<String, OnPage>,
    call: &str,
    offer: &str,
    cfg: BridgeConfig,
    events: &mpsc::UnboundedSender<(String, BridgeEvent)>,
) -> Result<String, String> {
    let c = calls
        .get_mut(call)
        .ok_or_else(|| format!("no call {call} ringing on this phone"))?;
    if c.bridge.is_some() {
        return Err(format!("call {call} is already answered"));
    }
    let mut bridge = Bridge::start(offer, law(c.ringing.codec), cfg, c.ringing.remote_rtp)
        .await
        .map_err(|e| format!("the browser's offer cannot be bridged: {e}"))?;
    phone
        .answer(call, bridge.rtp_local())
        .map_err(|e| e.to_string())?;
    // The bridge's events go to the page's loop; the bridge itself stays in `calls`, so the
    // events are read through a relay that holds only the receiver side.
    let (tx, id) = (events.clone(), call.to_string());
    let mut relay = bridge.take_events();
    tokio::spawn(async move {
        while let Some(ev) = relay.recv().await {
            if tx.send((id.clone(), ev)).is_err() {
                return;
            }
        }
        tx.send((id, BridgeEvent::Disconnected)).ok();
    });
    let sdp = bridge.answer_sdp().to_string();
    c.bridge = Some(bridge);
    Ok(sdp)
}

/// The address both sides of the bridges bind: the media engine's (so the hotline's RTP and
/// the browsers reach the same host address).
pub fn bridge_config(media_ip: IpAddr) -> BridgeConfig {
    BridgeConfig {
        ice_ip: media_ip,
        rtp_ip: media_ip,
    }
}
