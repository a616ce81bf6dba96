//! The ACD over HTTP: agents (log in/out, ready, not ready with a reason, end wrap-up,
//! callback work items), supervisors (force a state, move a caller), the live snapshot, and
//! the WebSocket event stream (`/api/acd/events`: one JSON object per message, the engine's
//! events plus `queue_stats` when the figures change) that agent desktops and wallboards use.
//!
//! Every error is JSON `{"error": "..."}` saying what was wrong: 404 for an unknown agent,
//! queue or call, 409 for a request the current state forbids, 422 for a bad body, 503 when
//! the ACD is not running (`[ivr] enabled = false`).

// Handlers return their error response directly; its size does not matter on this path.
#![allow(clippy::result_large_err)]

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hotline_acd::{AcdError, StateRequest};
use hotline_sip::{AcdApiError, AcdHandle, AgentOp};
use serde::Deserialize;
use serde_json::json;

#[derive(Clone)]
pub struct AcdState(pub Option<AcdHandle>, pub hotline_sip::Calls);

/// Who may use which ACD route: the same log-in as the work-order API.
#[derive(Clone)]
pub struct Guard {
    pub orders: crate::orders_api::OrdersState,
    pub acd: Option<AcdHandle>,
}

/// Every ACD route wants a token: the snapshot, reasons and events are the center's (agents'
/// desktops, wallboards); an agent's routes are that agent's own or a supervisor's; the
/// supervisor routes are supervisors'; a call's actions are for the agent talking on that call
/// or a supervisor.
async fn guard(
    AxState(g): AxState<Guard>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use hotline_workorder::Role;
    let (parts, body) = req.into_parts();
    let p = match g.orders.authenticate(&parts).await {
        Ok((p, _)) => p,
        Err(f) => return f.into_response(),
    };
    let path = parts.uri.path().to_string();
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let own_agent = |id: &str| p.role == Role::Agent && p.user == id;
    let allowed = match segs.as_slice() {
        ["api", "acd"] | ["api", "acd", "reasons"] | ["api", "acd", "events"] => p.is_center(),
        ["api", "acd", "supervisor", ..] => p.is_supervisor(),
        ["api", "acd", "agents", id, ..] => p.is_supervisor() || own_agent(id),
        ["api", "calls", record, _] => {
            p.is_supervisor()
                || (p.role == Role::Agent
                    && match &g.acd {
                        Some(h) => h
                            .talking_call(&p.user)
                            .await
                            .ok()
                            .flatten()
                            .is_some_and(|r| r == *record),
                        None => false,
                    })
        }
        _ => false,
    };
    if !allowed {
        return error(
            StatusCode::FORBIDDEN,
            format!(
                "a {} may not use {path}: agents act for themselves and on their own call, supervisors for anyone",
                p.role.name()
            ),
        );
    }
    next.run(axum::extract::Request::from_parts(parts, body))
        .await
}

pub fn router(state: AcdState, g: Guard) -> Router {
    routes(state).route_layer(axum::middleware::from_fn_with_state(g, guard))
}

fn routes(state: AcdState) -> Router {
    Router::new()
        .route("/api/acd", get(snapshot))
        .route("/api/acd/reasons", get(reasons))
        .route("/api/acd/events", get(events))
        .route("/api/acd/agents/{id}/login", post(login))
        .route("/api/acd/agents/{id}/logout", post(logout))
        .route("/api/acd/agents/{id}/ready", post(ready))
        .route("/api/acd/agents/{id}/not-ready", post(not_ready))
        .route("/api/acd/agents/{id}/end-wrap-up", post(end_wrap_up))
        .route(
            "/api/acd/agents/{id}/callbacks/{call}/{action}",
            post(callback),
        )
        .route("/api/acd/supervisor/agents/{id}/state", post(force_state))
        .route("/api/acd/supervisor/calls/{call}/move", post(move_call))
        .route("/api/acd/supervisor/monitor/{record}", post(monitor))
        .route(
            "/api/acd/supervisor/monitor/{record}/mode",
            post(monitor_mode),
        )
        // emergency | seat | transfer | hold | resume (the agents' static routes above take
        // precedence).
        .route("/api/calls/{record}/{action}", post(call_action))
        .route("/api/acd/agents/{id}/{action}", post(agent_action))
        .with_state(state)
}

fn error(code: StatusCode, msg: impl std::fmt::Display) -> Response {
    (code, Json(json!({ "error": msg.to_string() }))).into_response()
}

fn api_error(e: AcdApiError) -> Response {
    let code = match &e {
        AcdApiError::Acd(a) => match a {
            AcdError::NoAgent(_) | AcdError::NoQueue(_) | AcdError::NoCall(_) => {
                StatusCode::NOT_FOUND
            }
            AcdError::NoReason => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::CONFLICT,
        },
        AcdApiError::UnknownReason(..) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    error(code, e)
}

fn handle(s: &AcdState) -> Result<&AcdHandle, Response> {
    s.0.as_ref().ok_or_else(|| {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "no ACD: the IVR is disabled ([ivr] enabled = false)",
        )
    })
}

/// 200 with the agent as the request left them, or the error.
fn done(r: Result<hotline_acd::AgentView, AcdApiError>) -> Response {
    match r {
        Ok(view) => (StatusCode::OK, Json(json!({ "agent": view }))).into_response(),
        Err(e) => api_error(e),
    }
}

async fn snapshot(AxState(s): AxState<AcdState>) -> Response {
    let h = match handle(&s) {
        Ok(h) => h,
        Err(r) => return r,
    };
    match h.snapshot().await {
        Ok(snap) => Json(snap).into_response(),
        Err(e) => api_error(e),
    }
}

async fn reasons(AxState(s): AxState<AcdState>) -> Response {
    match handle(&s) {
        Ok(h) => Json(json!({ "reasons": h.not_ready_reasons() })).into_response(),
        Err(r) => r,
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    #[serde(default)]
    desk: bool,
}

/// Parses an optional JSON body, answering 422 with serde's message for a bad one.
fn body<T: serde::de::DeserializeOwned + Default>(raw: &str) -> Result<T, Response> {
    if raw.trim().is_empty() {
        return Ok(T::default());
    }
    serde_json::from_str(raw).map_err(|e| {
        error(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("request body: {e}"),
        )
    })
}

async fn login(AxState(s): AxState<AcdState>, Path(id): Path<String>, raw: String) -> Response {
    let h = match handle(&s) {
        Ok(h) => h,
        Err(r) => return r,
    };
    let b: LoginBody = match body(&raw) {
        Ok(b) => b,
        Err(r) => return r,
    };
    done(h.agent(&id, AgentOp::Login { desk: b.desk }).await)
}

async fn logout(AxState(s): AxState<AcdState>, Path(id): Path<String>) -> Response {
    let h = match handle(&s) {
        Ok(h) => h,
        Err(r) => return r,
    };
    done(h.agent(&id, AgentOp::Logout).await)
}

async fn ready(AxState(s): AxState<AcdState>, Path(id): Path<String>) -> Response {
    let h = match handle(&s) {
        Ok(h) => h,
        Err(r) => return r,
    };
    done(h.agent(&id, AgentOp::Ready).await)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    reason: Option<String>,
}

async fn not_ready(AxState(s): AxState<AcdState>, Path(id): Path<String>, raw: String) -> Response {
    let h = match handle(&s) {
        Ok(h) => h,
        Err(r) => return r,
    };
    let b: ReasonBody = match body(&raw) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(reason) = b.reason.filter(|r| !r.trim().is_empty()) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "`reason` is required (one of: {})",
                h.not_ready_reasons().join(", ")
            ),
        );
    };
    done(h.agent(&id, AgentOp::NotReady(reason)).await)
}

async fn end_wrap_up(AxState(s): AxState<AcdState>, Path(id): Path<String>) -> Response {
    let h = match handle(&s) {
        Ok(h) => h,
        Err(r) => return r,
    };
    done(h.agent(&id, AgentOp::EndWrapUp).await)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct OutcomeBody {
    outcome: Option<String>,
}

async fn callback(
    AxState(s): AxState<AcdState>,
    Path((id, call, action)): Path<(String, u64, String)>,
    raw: String,
) -> Response {
    let h = match handle(&s) {
        Ok(h) => h,
        Err(r) => return r,
    };
    let op = match action.as_str() {
        "accept" => AgentOp::AcceptCallback(call),
        "decline" => AgentOp::DeclineCallback(call),
        "done" => {
            let b: OutcomeBody = match body(&raw) {
                Ok(b) => b,
                Err(r) => return r,
            };
            AgentOp::FinishCallback {
                call,
                outcome: b.outcome.unwrap_or_else(|| "done".into()),
            }
        }
        other => {
            return error(
                StatusCode::NOT_FOUND,
                format!("no callback action `{other}` (accept, decline or done)"),
            );
        }
    };
    done(h.agent(&id, op).await)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StateBody {
    state: Option<String>,
    reason: Option<String>,
}

async fn force_state(
    AxState(s): AxState<AcdState>,
    Path(id): Path<String>,
    raw: String,
) -> Response {
    let h = match handle(&s) {
        Ok(h) => h,
        Err(r) => return r,
    };
    let b: StateBody = match body(&raw) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let req = match (b.state.as_deref(), b.reason) {
        (Some("ready"), _) => StateRequest::Ready,
        (Some("logged_out"), _) => StateRequest::LoggedOut,
        (Some("not_ready"), Some(r)) if !r.trim().is_empty() => StateRequest::NotReady(r),
        (Some("not_ready"), _) => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "`not_ready` needs a `reason`",
            );
        }
        (other, _) => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "`state` must be ready, not_ready or logged_out, not {}",
                    other.map(|s| format!("`{s}`")).unwrap_or("missing".into())
                ),
            );
        }
    };
    done(h.force(&id, req).await)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MoveBody {
    queue: Option<String>,
}

async fn move_call(AxState(s): AxState<AcdState>, Path(call): Path<u64>, raw: String) -> Response {
    let h = match handle(&s) {
        Ok(h) => h,
        Err(r) => return r,
    };
    let b: MoveBody = match body(&raw) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(queue) = b.queue else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "`queue` is required");
    };
    match h.move_call(call, &queue).await {
        Ok(()) => Json(json!({ "moved": call, "queue": queue })).into_response(),
        Err(e) => api_error(e),
    }
}

async fn events(AxState(s): AxState<AcdState>, ws: WebSocketUpgrade) -> Response {
    let h = match handle(&s) {
        Ok(h) => h.clone(),
        Err(r) => return r,
    };
    ws.on_upgrade(move |socket| stream(socket, h))
}

/// Sends a snapshot first (so a wallboard starts complete), then every event. A client too
/// slow to keep up is told how many events it missed and gets a fresh snapshot.
async fn stream(mut socket: WebSocket, h: AcdHandle) {
    let mut rx = h.subscribe();
    let send_snapshot =
        |snap: hotline_sip::Snapshot| json!({ "type": "snapshot", "snapshot": snap }).to_string();
    match h.snapshot().await {
        Ok(s) => {
            if socket
                .send(Message::Text(send_snapshot(s).into()))
                .await
                .is_err()
            {
                return;
            }
        }
        Err(_) => return,
    }
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Ok(json) => {
                    if socket.send(Message::Text(json.to_string().into())).await.is_err() {
                        return;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    let lag = json!({ "type": "lagged", "missed": n }).to_string();
                    if socket.send(Message::Text(lag.into())).await.is_err() {
                        return;
                    }
                    if let Ok(s) = h.snapshot().await
                        && socket.send(Message::Text(send_snapshot(s).into())).await.is_err()
                    {
                        return;
                    }
                }
                Err(_) => return,
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                _ => {}
            },
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct EmergencyBody {
    number: Option<String>,
    /// The agent stays on the line as a third party (to brief the dispatcher).
    #[serde(default)]
    stay: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SeatBody {
    /// An annex number (12369) or a unit's name (市生态环境局).
    unit: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TransferBody {
    /// An agent id, an annex number or a SIP URI.
    to: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MonitorBody {
    /// Where the supervisor is: an agent id or registered user, an annex number or a SIP URI.
    phone: Option<String>,
    /// listen (监听), whisper (密语, to the agent) or barge (强插).
    mode: Option<String>,
}

/// The body of a monitoring request and its mode (listen when not given).
fn monitor_body(raw: &str) -> Result<(MonitorBody, hotline_sip::MonitorMode), Response> {
    let b: MonitorBody = body(raw)?;
    let m = b.mode.as_deref().unwrap_or("listen");
    let mode = hotline_sip::MonitorMode::parse(m).ok_or_else(|| {
        error(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("`mode` = {m:?}: give listen, whisper or barge"),
        )
    })?;
    Ok((b, mode))
}

fn control_result(
    done: Result<String, hotline_sip::CallControlError>,
    record: &str,
    mode: hotline_sip::MonitorMode,
) -> Response {
    match done {
        Ok(n) => Json(
            json!({ "call": record, "monitor": n, "mode": format!("{mode:?}").to_lowercase() }),
        )
        .into_response(),
        Err(hotline_sip::CallControlError::NoCall(r)) => {
            error(StatusCode::NOT_FOUND, format!("no call {r} in progress"))
        }
        Err(e) => error(StatusCode::BAD_GATEWAY, e),
    }
}

/// `POST /api/acd/supervisor/monitor/{record}`: rings the supervisor's `phone` and mixes it into
/// the call as listening, whispering to the agent or barging in; 200 once it joined.
async fn monitor(
    AxState(s): AxState<AcdState>,
    Path(record): Path<String>,
    raw: String,
) -> Response {
    let (b, mode) = match monitor_body(&raw) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(phone) = b.phone.filter(|p| !p.trim().is_empty()) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "`phone` is required: the supervisor's extension, annex number or SIP URI",
        );
    };
    let done = s.1.monitor(&record, phone.trim(), mode).await;
    control_result(done, &record, mode)
}

/// `POST /api/acd/supervisor/monitor/{record}/mode`: listen, whisper or barge from now on.
async fn monitor_mode(
    AxState(s): AxState<AcdState>,
    Path(record): Path<String>,
    raw: String,
) -> Response {
    match monitor_body(&raw) {
        Ok((_, mode)) => control_result(s.1.monitor_mode(&record, mode).await, &record, mode),
        Err(r) => r,
    }
}

/// What is asked of a call in progress (docs/calls.md).
enum CallAction {
    /// One-key transfer (话务转接, T5); needs neither the database nor the ACD's storage.
    Emergency { number: String, stay: bool },
    /// Three-party call with a unit's remote seat.
    Seat(String),
    /// Blind transfer.
    Transfer(String),
    /// Hold (music for the caller) or resume.
    Hold(bool),
}

impl CallAction {
    fn parse(kind: &str, raw: &str) -> Result<Self, Response> {
        let required = |what: &str| error(StatusCode::UNPROCESSABLE_ENTITY, what.to_string());
        let given = |v: Option<String>| v.filter(|x| !x.trim().is_empty());
        Ok(match kind {
            "emergency" => {
                let b: EmergencyBody = body(raw)?;
                let number = given(b.number).ok_or_else(|| {
                    required("`number` is required (110, 119, 120, 122 or 12122)")
                })?;
                CallAction::Emergency {
                    number,
                    stay: b.stay,
                }
            }
            "seat" => {
                let b: SeatBody = body(raw)?;
                CallAction::Seat(given(b.unit).ok_or_else(|| {
                    required("`unit` is required: an annex number such as 12369 or a unit's name")
                })?)
            }
            "transfer" => {
                let b: TransferBody = body(raw)?;
                CallAction::Transfer(given(b.to).ok_or_else(|| {
                    required("`to` is required: an agent id, an annex number or a SIP URI")
                })?)
            }
            "hold" | "resume" => CallAction::Hold(kind == "hold"),
            other => {
                return Err(error(
                    StatusCode::NOT_FOUND,
                    format!("no call action `{other}` (emergency, seat, transfer, hold or resume)"),
                ));
            }
        })
    }

    /// Carries it out on call `record`: 200 with the outcome once known, 502 with the reason
    /// when refused or not answered (the caller is still with the agent), 404 for no call.
    async fn run(self, calls: &hotline_sip::Calls, record: &str) -> Response {
        let done = match self {
            CallAction::Emergency { number, stay } => calls
                .emergency_transfer(record, &number, stay)
                .await
                .map(|n| json!({ "transferred": record, "to": n })),
            CallAction::Seat(who) => calls
                .bring_in_seat(record, &who)
                .await
                .map(|n| json!({ "call": record, "joined": n })),
            CallAction::Transfer(to) => calls
                .blind_transfer(record, &to)
                .await
                .map(|n| json!({ "transferred": record, "to": n })),
            CallAction::Hold(on) => calls
                .hold(record, on)
                .await
                .map(|s| json!({ "call": record, "state": s })),
        };
        match done {
            Ok(v) => Json(v).into_response(),
            Err(hotline_sip::CallControlError::NoCall(r)) => {
                error(StatusCode::NOT_FOUND, format!("no call {r} in progress"))
            }
            Err(e) => error(StatusCode::BAD_GATEWAY, e),
        }
    }
}

/// `POST /api/calls/{record}/{emergency|seat|transfer}`.
async fn call_action(
    AxState(s): AxState<AcdState>,
    Path((record, kind)): Path<(String, String)>,
    raw: String,
) -> Response {
    match CallAction::parse(&kind, &raw) {
        Ok(a) => a.run(&s.1, &record).await,
        Err(r) => r,
    }
}

/// `POST /api/acd/agents/{id}/{emergency|seat|transfer}`: the same, on the call the agent is
/// talking on.
async fn agent_action(
    AxState(s): AxState<AcdState>,
    Path((id, kind)): Path<(String, String)>,
    raw: String,
) -> Response {
    let h = match handle(&s) {
        Ok(h) => h,
        Err(r) => return r,
    };
    let action = match CallAction::parse(&kind, &raw) {
        Ok(a) => a,
        Err(r) => return r,
    };
    match agent_call(h, &id).await {
        Ok(tag) => action.run(&s.1, &tag).await,
        Err(r) => r,
    }
}

/// The record id of the call agent `id` is talking on.
async fn agent_call(h: &AcdHandle, id: &str) -> Result<String, Response> {
    h.talking_call(id).await.map_err(api_error)?.ok_or_else(|| {
        error(
            StatusCode::CONFLICT,
            format!("agent `{id}` is not on a call"),
        )
    })
}
