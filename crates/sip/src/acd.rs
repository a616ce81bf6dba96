//! The ACD's async shell: one task owns the `hotline_acd::Acd` engine and feeds it what
//! happens (calls queued by the IVR, offers answered or failed, hang-ups, agents' and
//! supervisors' requests from the HTTP API, registrations coming and going, keepalives
//! unanswered), sends its commands to the call tasks, and publishes its events: JSON on a
//! broadcast channel (the WebSocket stream), rows through [`AcdStore`] (so agent states,
//! callbacks and counters survive a restart), and Prometheus gauges per queue.
//!
//! No stuck agents: every call task holds a [`QueuedCall`] whose drop reports the hang-up,
//! so an agent is released however the call ends (BYE, RTP timeout, shutdown, a panic); an
//! agent whose registration goes away or whose phone stops answering OPTIONS is logged out.

use crate::core::Core;
use hotline_acd::{
    Acd, AcdError, AgentView, CallId, CallView, Caller, Command, Event, Millis, OfferFailure,
    QueueStats, StateRequest,
};
use rsipstack::sip::{Method, Param, SipMessage, StatusCode, Uri};
use rsipstack::transaction::key::{TransactionKey, TransactionRole};
use rsipstack::transaction::transaction::Transaction;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, oneshot};
use tracing::{debug, info, warn};

/// An opaque storage error (the server's store decides what it is).
pub type StoreFailure = Box<dyn std::error::Error + Send + Sync>;

/// A caller's place kept as a callback work item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackItem {
    /// The call record id of the call that left it.
    pub tag: String,
    pub queue: String,
    pub caller: String,
    pub priority: u8,
    pub message: bool,
    pub recording: Option<String>,
    pub requested_at: chrono::DateTime<chrono::Utc>,
}

/// What is read back at start.
#[derive(Debug, Clone, Default)]
pub struct Restored {
    /// (agent, state name: ready | not_ready | logged_out, reason)
    pub agents: Vec<(String, String, Option<String>)>,
    /// Oldest first.
    pub callbacks: Vec<CallbackItem>,
    /// (queue, counters JSON) of today.
    pub counters: Vec<(String, String)>,
    /// (caller, agent, answered at) within the repeat window.
    pub recent: Vec<(String, String, chrono::DateTime<chrono::Utc>)>,
}

/// Where the ACD keeps what must survive a restart (implemented by the server over
/// `hotline-store`).
#[async_trait::async_trait]
pub trait AcdStore: Send + Sync + 'static {
    async fn load(
        &self,
        recent_since: chrono::DateTime<chrono::Utc>,
        day: chrono::NaiveDate,
    ) -> Result<Restored, StoreFailure>;
    async fn save_agent(
        &self,
        agent: &str,
        state: &str,
        reason: Option<&str>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreFailure>;
    async fn add_callback(&self, item: &CallbackItem) -> Result<(), StoreFailure>;
    async fn finish_callback(
        &self,
        tag: &str,
        status: &str,
        agent: Option<&str>,
        outcome: Option<&str>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreFailure>;
    async fn save_counters(
        &self,
        day: chrono::NaiveDate,
        rows: Vec<(String, String)>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreFailure>;
}

/// The ACD's configuration as the server resolved it.
#[derive(Clone)]
pub struct AcdSetup {
    pub engine: hotline_acd::AcdConfig,
    pub agents: Vec<hotline_acd::AgentConfig>,
    pub login_on_register: bool,
    pub options_interval: Duration,
    pub options_max_failures: u32,
    pub not_ready_reasons: Vec<String>,
    pub callback_key: Option<char>,
    pub store: Option<Arc<dyn AcdStore>>,
}

/// What the ACD asks of a call task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallCmd {
    Offer {
        agent: String,
    },
    Cancel {
        agent: String,
    },
    Announce {
        position: usize,
        ewt_secs: Option<u64>,
    },
    Leave {
        action: String,
    },
}

/// An agent's or a supervisor's request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AgentOp {
    /// `desk`: an agent desktop is open (callback work items can be shown).
    Login {
        desk: bool,
    },
    Logout,
    Ready,
    NotReady(String),
    EndWrapUp,
    /// A callback work item offered to the agent: taken (the agent calls the citizen).
    AcceptCallback(CallId),
    /// Refused or not reachable: back in its place for another agent.
    DeclineCallback(CallId),
    /// The callback is over, with how it went.
    FinishCallback {
        call: CallId,
        outcome: String,
    },
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AcdApiError {
    #[error(transparent)]
    Acd(#[from] AcdError),
    #[error("`{0}` is not a not-ready reason here (one of: {1})")]
    UnknownReason(String, String),
    #[error("the ACD is not running")]
    Gone,
}

/// Everything a wallboard shows, at one instant.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Snapshot {
    pub agents: Vec<AgentView>,
    pub calls: Vec<CallView>,
    pub queues: Vec<QueueStats>,
    pub overall: QueueStats,
}

enum Req {
    Enqueue {
        queue: String,
        tag: String,
        caller: Caller,
        tx: mpsc::UnboundedSender<CallCmd>,
        reply: oneshot::Sender<Result<CallId, AcdError>>,
    },
    Answered {
        call: CallId,
        agent: String,
        reply: oneshot::Sender<Result<(), AcdError>>,
    },
    OfferFailed {
        call: CallId,
        agent: String,
        why: OfferFailure,
    },
    HungUp {
        call: CallId,
    },
    Elsewhere {
        call: CallId,
    },
    RequestCallback {
        call: CallId,
    },
    /// Answered with the agent as the request left it.
    Agent {
        agent: String,
        op: AgentOp,
        reply: oneshot::Sender<Result<AgentView, AcdError>>,
    },
    Supervisor {
        agent: String,
        state: StateRequest,
        reply: oneshot::Sender<Result<AgentView, AcdError>>,
    },
    /// The record id of the call the agent is talking on (None: on no call).
    TalkingCall {
        agent: String,
        reply: oneshot::Sender<Result<Option<String>, AcdError>>,
    },
    MoveCall {
        call: CallId,
        queue: String,
        reply: oneshot::Sender<Result<(), AcdError>>,
    },
    Snapshot {
        reply: oneshot::Sender<Snapshot>,
    },
    Registered {
        agent: String,
    },
    Unregistered {
        agent: String,
    },
    KeepaliveFailed {
        agent: String,
    },
    KeepaliveOk {
        agent: String,
    },
    /// Stopping: store what is left, then answer.
    Close {
        reply: oneshot::Sender<()>,
    },
}

/// A handle on the running ACD (cheap to clone).
#[derive(Clone)]
pub struct AcdHandle {
    tx: mpsc::UnboundedSender<Req>,
    events: broadcast::Sender<Arc<str>>,
    reasons: Arc<Vec<String>>,
    callback_key: Option<char>,
}

impl AcdHandle {
    /// The live event stream, one JSON object per message.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.events.subscribe()
    }

    pub fn not_ready_reasons(&self) -> &[String] {
        &self.reasons
    }

    pub(crate) fn callback_key(&self) -> Option<char> {
        self.callback_key
    }

    /// Carries out an agent's request; the agent as it left them.
    pub async fn agent(&self, agent: &str, op: AgentOp) -> Result<AgentView, AcdApiError> {
        if let AgentOp::NotReady(r) = &op
            && !self.reasons.iter().any(|x| x == r.trim())
        {
            return Err(AcdApiError::UnknownReason(
                r.clone(),
                self.reasons.join(", "),
            ));
        }
        let (reply, rx) = oneshot::channel();
        self.send(Req::Agent {
            agent: agent.to_string(),
            op,
            reply,
        })?;
        Ok(rx.await.map_err(|_| AcdApiError::Gone)??)
    }

    /// A supervisor forces an agent's state (any reason text is accepted from a supervisor).
    pub async fn force(&self, agent: &str, state: StateRequest) -> Result<AgentView, AcdApiError> {
        let (reply, rx) = oneshot::channel();
        self.send(Req::Supervisor {
            agent: agent.to_string(),
            state,
            reply,
        })?;
        Ok(rx.await.map_err(|_| AcdApiError::Gone)??)
    }

    /// The record id of the call `agent` is talking on, if any (one agent's look-up, not a
    /// snapshot of everything).
    pub async fn talking_call(&self, agent: &str) -> Result<Option<String>, AcdApiError> {
        let (reply, rx) = oneshot::channel();
        self.send(Req::TalkingCall {
            agent: agent.to_string(),
            reply,
        })?;
        Ok(rx.await.map_err(|_| AcdApiError::Gone)??)
    }

    pub async fn move_call(&self, call: CallId, queue: &str) -> Result<(), AcdApiError> {
        let (reply, rx) = oneshot::channel();
        self.send(Req::MoveCall {
            call,
            queue: queue.to_string(),
            reply,
        })?;
        Ok(rx.await.map_err(|_| AcdApiError::Gone)??)
    }

    pub async fn snapshot(&self) -> Result<Snapshot, AcdApiError> {
        let (reply, rx) = oneshot::channel();
        self.send(Req::Snapshot { reply })?;
        rx.await.map_err(|_| AcdApiError::Gone)
    }

    /// Stops the ACD after storing its last state (counters, agent states, callbacks): waits
    /// up to 3 s for the writes to land.
    pub async fn close(&self) {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(Req::Close { reply }).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(5), rx).await;
        }
    }

    fn send(&self, r: Req) -> Result<(), AcdApiError> {
        self.tx.send(r).map_err(|_| AcdApiError::Gone)
    }

    /// Queues a call; its commands arrive on the returned receiver.
    pub(crate) async fn enqueue(
        &self,
        queue: &str,
        tag: &str,
        caller: Caller,
    ) -> Result<(QueuedCall, mpsc::UnboundedReceiver<CallCmd>), AcdApiError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let (reply, r) = oneshot::channel();
        self.send(Req::Enqueue {
            queue: queue.to_string(),
            tag: tag.to_string(),
            caller,
            tx,
            reply,
        })?;
        let id = r.await.map_err(|_| AcdApiError::Gone)??;
        Ok((
            QueuedCall {
                id,
                tx: self.tx.clone(),
                done: false,
            },
            rx,
        ))
    }

    pub(crate) fn registered(&self, agent: &str) {
        let _ = self.tx.send(Req::Registered {
            agent: agent.to_string(),
        });
    }

    pub(crate) fn unregistered(&self, agent: &str) {
        let _ = self.tx.send(Req::Unregistered {
            agent: agent.to_string(),
        });
    }
}

/// A call task's place in the ACD. Dropping it reports the hang-up (unless the call already
/// left the ACD), so no path out of a call task can leave an agent stuck in it.
pub(crate) struct QueuedCall {
    pub id: CallId,
    tx: mpsc::UnboundedSender<Req>,
    done: bool,
}

impl QueuedCall {
    pub async fn answered(&self, agent: &str) -> Result<(), AcdError> {
        let (reply, rx) = oneshot::channel();
        let req = Req::Answered {
            call: self.id,
            agent: agent.to_string(),
            reply,
        };
        if self.tx.send(req).is_err() {
            return Err(AcdError::NoCall(self.id));
        }
        rx.await.unwrap_or(Err(AcdError::NoCall(self.id)))
    }

    pub fn offer_failed(&self, agent: &str, why: OfferFailure) {
        let _ = self.tx.send(Req::OfferFailed {
            call: self.id,
            agent: agent.to_string(),
            why,
        });
    }

    pub fn request_callback(&self) {
        let _ = self.tx.send(Req::RequestCallback { call: self.id });
    }

    /// The call was answered by a line rung beside the queue.
    pub fn answered_elsewhere(mut self) {
        self.done = true;
        let _ = self.tx.send(Req::Elsewhere { call: self.id });
    }

    /// The call left the ACD by the ACD's own decision (a Leave command): nothing to report.
    pub fn left(mut self) {
        self.done = true;
    }
}

impl Drop for QueuedCall {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.tx.send(Req::HungUp { call: self.id });
        }
    }
}

/// The driver's clock: milliseconds since start, offset so that restored ages (up to the
/// repeat window) never underflow.
struct Clock {
    start: Instant,
    offset: Millis,
}

impl Clock {
    fn now(&self) -> Millis {
        self.offset + self.start.elapsed().as_millis() as Millis
    }
    fn instant(&self, at: Millis) -> tokio::time::Instant {
        let rel = at.saturating_sub(self.offset);
        tokio::time::Instant::from_std(self.start + Duration::from_millis(rel))
    }
}

/// Starts the ACD task. `core` is held weakly (the task must not keep the SIP core alive).
pub(crate) fn start(
    setup: AcdSetup,
    core: Weak<Core>,
    cancel: tokio_util::sync::CancellationToken,
) -> Result<AcdHandle, AcdError> {
    let acd = Acd::new(setup.engine.clone(), setup.agents.clone())?;
    let (tx, rx) = mpsc::unbounded_channel();
    let (events, _) = broadcast::channel(4096);
    let handle = AcdHandle {
        tx: tx.clone(),
        events: events.clone(),
        reasons: Arc::new(setup.not_ready_reasons.clone()),
        callback_key: setup.callback_key,
    };
    let repeat_window = setup.engine.repeat_window_ms;
    let clock = Clock {
        start: Instant::now(),
        offset: repeat_window + 86_400_000,
    };
    let (persist_tx, persist_rx) = mpsc::unbounded_channel();
    let persister = setup
        .store
        .clone()
        .map(|store| tokio::spawn(persister(store, persist_rx)));
    let actor = Actor {
        acd,
        clock,
        calls: HashMap::new(),
        events,
        persist: setup.store.as_ref().map(|_| persist_tx),
        persister,
        setup,
        core,
        tx,
        had_binding: HashSet::new(),
        keepalive_failures: HashMap::new(),
        tags: HashMap::new(),
        day: beijing_today(),
    };
    tokio::spawn(actor.run(rx, cancel));
    Ok(handle)
}

enum Persist {
    Agent(
        String,
        String,
        Option<String>,
        chrono::DateTime<chrono::Utc>,
    ),
    AddCallback(CallbackItem),
    FinishCallback(String, &'static str, Option<String>, Option<String>),
    Counters(chrono::NaiveDate, Vec<(String, String)>),
}

/// Writes in order; a write that fails (database down) is retried until it succeeds, so a
/// state change is never lost, only late.
async fn persister(store: Arc<dyn AcdStore>, mut rx: mpsc::UnboundedReceiver<Persist>) {
    while let Some(p) = rx.recv().await {
        let mut delay = Duration::from_millis(500);
        loop {
            let r = match &p {
                Persist::Agent(a, s, reason, at) => {
                    store.save_agent(a, s, reason.as_deref(), *at).await
                }
                Persist::AddCallback(c) => store.add_callback(c).await,
                Persist::FinishCallback(tag, status, agent, outcome) => {
                    store
                        .finish_callback(
                            tag,
                            status,
                            agent.as_deref(),
                            outcome.as_deref(),
                            chrono::Utc::now(),
                        )
                        .await
                }
                Persist::Counters(day, rows) => {
                    store
                        .save_counters(*day, rows.clone(), chrono::Utc::now())
                        .await
                }
            };
            match r {
                Ok(()) => break,
                Err(e) => {
                    warn!(error = %e, "ACD state not stored yet; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
            }
        }
    }
}

fn beijing_today() -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("valid offset"))
        .date_naive()
}

struct Actor {
    acd: Acd,
    clock: Clock,
    /// Call tasks by ACD call id.
    calls: HashMap<CallId, mpsc::UnboundedSender<CallCmd>>,
    events: broadcast::Sender<Arc<str>>,
    persist: Option<mpsc::UnboundedSender<Persist>>,
    persister: Option<tokio::task::JoinHandle<()>>,
    setup: AcdSetup,
    core: Weak<Core>,
    tx: mpsc::UnboundedSender<Req>,
    /// Logged-in agents seen registered since they logged in: losing the registration
    /// logs them out (an agent restored after a restart is not, until their phone registers).
    had_binding: HashSet<String>,
    keepalive_failures: HashMap<String, u32>,
    /// Callback tags by call id (for storage).
    tags: HashMap<CallId, (String, bool)>,
    day: chrono::NaiveDate,
}

impl Actor {
    async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<Req>,
        cancel: tokio_util::sync::CancellationToken,
    ) {
        self.restore().await;
        let mut stats_tick = tokio::time::interval(Duration::from_secs(2));
        let mut save_tick = tokio::time::interval(Duration::from_secs(10));
        let mut reconcile_tick = tokio::time::interval(Duration::from_secs(1));
        let keepalive_every = if self.setup.options_interval.is_zero() {
            Duration::from_secs(3600)
        } else {
            self.setup.options_interval
        };
        let mut keepalive_tick = tokio::time::interval(keepalive_every);
        keepalive_tick.tick().await;
        let timer = tokio::time::sleep(Duration::from_secs(3600));
        tokio::pin!(timer);
        let mut last_stats = String::new();
        let mut closing = None;
        loop {
            let next = self.acd.poll_timeout();
            if let Some(at) = next {
                timer.as_mut().reset(self.clock.instant(at));
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                r = rx.recv() => match r {
                    Some(Req::Close { reply }) => {
                        closing = Some(reply);
                        break;
                    }
                    Some(r) => self.handle(r),
                    None => break,
                },
                _ = &mut timer, if next.is_some() => {
                    let now = self.clock.now();
                    self.acd.handle_timeout(now);
                }
                _ = stats_tick.tick() => {
                    let (queues, overall) = self.acd.all_stats(self.clock.now());
                    export_metrics(&queues, &overall);
                    let json = serde_json::json!({
                        "type": "queue_stats", "queues": queues, "overall": overall,
                    })
                    .to_string();
                    // Only when something changed besides the clock-driven waits.
                    if json != last_stats {
                        last_stats = json.clone();
                        let _ = self.events.send(json.into());
                    }
                }
                _ = save_tick.tick() => self.save_counters(),
                _ = reconcile_tick.tick() => self.reconcile_registrations(),
                _ = keepalive_tick.tick(), if !self.setup.options_interval.is_zero() => {
                    self.keepalives();
                }
            }
            self.drain();
        }
        // Whatever call tasks reported on their way out, then the day's counters.
        while let Ok(r) = rx.try_recv() {
            if !matches!(r, Req::Close { .. }) {
                self.handle(r);
            }
        }
        self.drain();
        self.save_counters();
        self.persist = None;
        if let Some(p) = self.persister.take()
            && tokio::time::timeout(Duration::from_secs(3), p)
                .await
                .is_err()
        {
            warn!("ACD state not all stored before stopping (database unavailable)");
        }
        if let Some(reply) = closing {
            let _ = reply.send(());
        }
    }

    async fn restore(&mut self) {
        let Some(store) = self.setup.store.clone() else {
            return;
        };
        let since = chrono::Utc::now()
            - chrono::Duration::milliseconds(self.setup.engine.repeat_window_ms as i64);
        let loaded =
            tokio::time::timeout(Duration::from_secs(5), store.load(since, self.day)).await;
        let restored = match loaded {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                warn!(error = %e, "ACD state not restored (the database answered with an error)");
                return;
            }
            Err(_) => {
                warn!("ACD state not restored (the database did not answer in 5 s)");
                return;
            }
        };
        let now = self.clock.now();
        for (queue, json) in &restored.counters {
            match serde_json::from_str(json) {
                Ok(c) => {
                    let _ = self.acd.restore_counters(queue, c);
                }
                Err(e) => warn!(queue, error = %e, "stored counters unreadable"),
            }
        }
        let wall = chrono::Utc::now();
        for (caller, agent, at) in &restored.recent {
            let age = (wall - *at).num_milliseconds().max(0) as Millis;
            self.acd.restore_recent(caller, agent, age, now);
        }
        let mut agents = 0;
        for (agent, state, reason) in &restored.agents {
            let req = match (state.as_str(), reason) {
                ("ready", _) => StateRequest::Ready,
                ("not_ready", Some(r)) => StateRequest::NotReady(r.clone()),
                _ => continue,
            };
            if self.acd.restore_agent(agent, req, now).is_ok() {
                agents += 1;
            }
        }
        let mut callbacks = 0;
        for c in &restored.callbacks {
            match self
                .acd
                .restore_callback(&c.queue, &c.tag, &c.caller, c.priority, c.message, now)
            {
                Ok(id) => {
                    self.tags.insert(id, (c.tag.clone(), c.message));
                    callbacks += 1;
                }
                Err(e) => warn!(tag = %c.tag, error = %e, "stored callback not restored"),
            }
        }
        info!(
            agents,
            callbacks,
            recent = restored.recent.len(),
            "ACD state restored"
        );
        // Restoring emits agent-state events: drop them rather than write them back.
        while self.acd.poll_event().is_some() {}
    }

    fn handle(&mut self, r: Req) {
        let now = self.clock.now();
        match r {
            Req::Enqueue {
                queue,
                tag,
                caller,
                tx,
                reply,
            } => {
                let queue = if self.acd.has_queue(&queue) {
                    queue
                } else {
                    // A dialplan naming a queue nobody serves: the entry group, not silence.
                    warn!(%queue, "no such ACD queue; using the entry queue");
                    self.setup
                        .engine
                        .queues
                        .first()
                        .map(|q| q.name.clone())
                        .unwrap_or(queue)
                };
                match self.acd.enqueue(&queue, tag, caller, now) {
                    Ok(id) => {
                        self.calls.insert(id, tx);
                        let _ = reply.send(Ok(id));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Req::Answered { call, agent, reply } => {
                let _ = reply.send(self.acd.answered(call, &agent, now));
            }
            Req::OfferFailed { call, agent, why } => {
                let _ = self.acd.offer_failed(call, &agent, why, now);
            }
            Req::HungUp { call } => {
                self.calls.remove(&call);
                if let Err(e) = self.acd.hung_up(call, now) {
                    debug!(call, error = %e, "hang-up of a call the ACD no longer holds");
                }
            }
            Req::Elsewhere { call } => {
                self.calls.remove(&call);
                let _ = self.acd.answered_elsewhere(call, now);
            }
            Req::RequestCallback { call } => {
                let _ = self.acd.request_callback(call, now);
            }
            Req::Agent { agent, op, reply } => {
                let r = self.agent_op(&agent, op, now);
                let _ = reply.send(r.and_then(|()| self.view(&agent, now)));
            }
            Req::Supervisor {
                agent,
                state,
                reply,
            } => {
                let r = self.acd.request_state(&agent, state, now);
                let _ = reply.send(r.and_then(|()| self.view(&agent, now)));
            }
            Req::TalkingCall { agent, reply } => {
                let r = self.view(&agent, now).map(|v| match v.state {
                    hotline_acd::AgentState::Talking { call } => {
                        self.acd.call(call, now).map(|c| c.tag)
                    }
                    _ => None,
                });
                let _ = reply.send(r);
            }
            Req::MoveCall { call, queue, reply } => {
                let _ = reply.send(self.acd.move_call(call, &queue, now));
            }
            Req::Snapshot { reply } => {
                let (queues, overall) = self.acd.all_stats(now);
                let _ = reply.send(Snapshot {
                    agents: self.acd.agents(now),
                    calls: self.acd.calls(now),
                    queues,
                    overall,
                });
            }
            Req::Registered { agent } => {
                self.keepalive_failures.remove(&agent);
                let Some(view) = self.acd.agent(&agent, now) else {
                    return;
                };
                if view.state.logged_in() {
                    self.had_binding.insert(agent);
                } else if self.setup.login_on_register && self.acd.login(&agent, now).is_ok() {
                    info!(%agent, "agent logged in by registering");
                    self.had_binding.insert(agent);
                }
            }
            Req::Unregistered { agent } => self.lost_phone(&agent, "registration ended", now),
            Req::KeepaliveFailed { agent } => {
                let n = self.keepalive_failures.entry(agent.clone()).or_default();
                *n += 1;
                if *n >= self.setup.options_max_failures {
                    self.keepalive_failures.remove(&agent);
                    self.lost_phone(&agent, "phone stopped answering OPTIONS", now);
                }
            }
            Req::KeepaliveOk { agent } => {
                self.keepalive_failures.remove(&agent);
            }
            Req::Close { .. } => {}
        }
    }

    fn view(&self, agent: &str, now: Millis) -> Result<AgentView, AcdError> {
        self.acd
            .agent(agent, now)
            .ok_or_else(|| AcdError::NoAgent(agent.to_string()))
    }

    fn agent_op(&mut self, agent: &str, op: AgentOp, now: Millis) -> Result<(), AcdError> {
        match op {
            AgentOp::Login { desk } => {
                self.acd.login(agent, now)?;
                self.acd.set_takes_callbacks(agent, desk, now)
            }
            AgentOp::Logout => {
                self.had_binding.remove(agent);
                self.acd.set_takes_callbacks(agent, false, now)?;
                self.acd.logout(agent, now)
            }
            AgentOp::Ready => self.acd.ready(agent, now),
            AgentOp::NotReady(r) => self.acd.not_ready(agent, &r, now),
            AgentOp::EndWrapUp => self.acd.end_wrap_up(agent, now),
            AgentOp::AcceptCallback(call) => self.acd.answered(call, agent, now),
            AgentOp::DeclineCallback(call) => {
                self.acd
                    .offer_failed(call, agent, OfferFailure::Rejected, now)
            }
            AgentOp::FinishCallback { call, outcome } => {
                let view = self.acd.call(call, now).ok_or(AcdError::NoCall(call))?;
                if view.state != "connected"
                    || view.agents.first().map(String::as_str) != Some(agent)
                {
                    return Err(AcdError::NotOffered {
                        call,
                        agent: agent.to_string(),
                    });
                }
                self.acd.hung_up(call, now)?;
                if let Some((tag, _)) = self.tags.remove(&call) {
                    self.store(Persist::FinishCallback(
                        tag,
                        "done",
                        Some(agent.to_string()),
                        Some(outcome),
                    ));
                }
                Ok(())
            }
        }
    }

    /// The agent's phone is gone: logged out (after the current call, which ends on its own).
    fn lost_phone(&mut self, agent: &str, why: &str, now: Millis) {
        self.had_binding.remove(agent);
        match self.acd.agent_unreachable(agent, now) {
            Ok(true) => info!(%agent, why, "agent logged out"),
            Ok(false) => {}
            Err(e) => debug!(%agent, error = %e, "not an ACD agent"),
        }
    }

    /// Logged-in agents that had a registration and have none now are logged out; those with
    /// one are marked as having had it.
    fn reconcile_registrations(&mut self) {
        let Some(core) = self.core.upgrade() else {
            return;
        };
        let now = self.clock.now();
        for a in self.acd.agents(now) {
            if !a.state.logged_in() {
                continue;
            }
            let registered = !core.targets_for_user(&a.id).is_empty();
            if registered {
                self.had_binding.insert(a.id);
            } else if self.had_binding.contains(&a.id) {
                self.lost_phone(&a.id, "registration expired", now);
            }
        }
    }

    /// OPTIONS to every registered, logged-in agent's phone (RFC 3261 §11); no final answer
    /// within 5 s is a failure. Any response, even an error, shows the phone is there.
    fn keepalives(&mut self) {
        let Some(core) = self.core.upgrade() else {
            return;
        };
        let now = self.clock.now();
        for a in self.acd.agents(now) {
            if !a.state.logged_in() {
                continue;
            }
            let targets = core.targets_for_user(&a.id);
            let Some(t) = targets.into_iter().next() else {
                continue;
            };
            let core = core.clone();
            let tx = self.tx.clone();
            let agent = a.id.clone();
            tokio::spawn(async move {
                let ok = options_ping(&core, &t.uri, t.dest.clone()).await;
                let _ = tx.send(if ok {
                    Req::KeepaliveOk { agent }
                } else {
                    Req::KeepaliveFailed { agent }
                });
            });
        }
    }

    /// Carries out the engine's commands and publishes its events.
    fn drain(&mut self) {
        while let Some(c) = self.acd.poll_command() {
            let (call, cmd) = match c {
                Command::Offer {
                    call,
                    agent,
                    callback: true,
                    ..
                } => {
                    // A work item: the agent's desktop shows it from the event stream.
                    debug!(call, %agent, "callback offered");
                    continue;
                }
                Command::Offer { call, agent, .. } => (call, CallCmd::Offer { agent }),
                Command::Cancel { call, agent } => (call, CallCmd::Cancel { agent }),
                Command::Announce {
                    call,
                    position,
                    ewt_secs,
                } => (call, CallCmd::Announce { position, ewt_secs }),
                Command::Leave { call, action, .. } => (call, CallCmd::Leave { action }),
                _ => continue,
            };
            let leave = matches!(cmd, CallCmd::Leave { .. });
            if let Some(tx) = self.calls.get(&call)
                && tx.send(cmd).is_err()
            {
                // The call task is gone; its QueuedCall's drop reports it.
                debug!(call, "command for a finished call");
            }
            if leave {
                self.calls.remove(&call);
            }
        }
        while let Some(e) = self.acd.poll_event() {
            self.persist_event(&e);
            match serde_json::to_string(&e) {
                Ok(json) => {
                    let _ = self.events.send(json.into());
                }
                Err(err) => warn!(error = %err, "event not serialisable"),
            }
        }
    }

    fn persist_event(&mut self, e: &Event) {
        match e {
            Event::AgentState { agent, state } => {
                let (name, reason) = match state {
                    hotline_acd::AgentState::LoggedOut => ("logged_out", None),
                    hotline_acd::AgentState::Ready => ("ready", None),
                    hotline_acd::AgentState::NotReady { reason } => {
                        ("not_ready", Some(reason.clone()))
                    }
                    // Busy states do not survive a restart (the calls do not): keep the last
                    // stable one stored.
                    _ => return,
                };
                self.store(Persist::Agent(
                    agent.clone(),
                    name.into(),
                    reason,
                    chrono::Utc::now(),
                ));
            }
            Event::CallbackQueued {
                call,
                tag,
                queue,
                caller,
                priority,
                message,
            } => {
                self.tags.insert(*call, (tag.clone(), *message));
                self.store(Persist::AddCallback(CallbackItem {
                    tag: tag.clone(),
                    queue: queue.clone(),
                    caller: caller.clone(),
                    priority: *priority,
                    message: *message,
                    recording: None,
                    requested_at: chrono::Utc::now(),
                }));
            }
            _ => {}
        }
    }

    fn store(&self, p: Persist) {
        if let Some(tx) = &self.persist {
            let _ = tx.send(p);
        }
    }

    fn save_counters(&mut self) {
        let today = beijing_today();
        let rows: Vec<(String, String)> = self
            .acd
            .counters()
            .into_iter()
            .filter_map(|(q, c)| serde_json::to_string(&c).ok().map(|j| (q, j)))
            .collect();
        self.store(Persist::Counters(self.day, rows));
        if today != self.day {
            // A new day: the figures start again (yesterday's are stored above).
            self.acd.reset_counters();
            self.day = today;
        }
    }
}

/// Sends OPTIONS to `uri` at `dest` and waits (5 s) for any final response.
async fn options_ping(core: &Core, uri: &str, dest: rsipstack::transport::SipAddr) -> bool {
    let Ok(req_uri) = Uri::try_from(uri) else {
        return false;
    };
    let Ok(from_uri) = Uri::try_from(core.contact_uri().as_str()) else {
        return false;
    };
    let Ok(via) = core.endpoint.get_via(None, None) else {
        return false;
    };
    let from = rsipstack::sip::typed::From {
        display_name: None,
        uri: from_uri,
        params: vec![Param::Tag(rsipstack::transaction::make_tag())],
    };
    let to = rsipstack::sip::typed::To {
        display_name: None,
        uri: req_uri.clone(),
        params: vec![],
    };
    let req = core
        .endpoint
        .make_request(Method::Options, req_uri, via, from, to, 1, None);
    let Ok(key) = TransactionKey::from_request(&req, TransactionRole::Client) else {
        return false;
    };
    let mut tx = Transaction::new_client(key, req, core.endpoint.clone(), None);
    tx.destination = Some(dest);
    let wait = async {
        if tx.send().await.is_err() {
            return false;
        }
        while let Some(m) = tx.receive().await {
            if let SipMessage::Response(r) = m {
                let code = u16::from(r.status_code.clone());
                if code >= 200 {
                    // 408 from a stack in between is not the phone answering.
                    return r.status_code != StatusCode::RequestTimeout;
                }
            }
        }
        false
    };
    tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .unwrap_or(false)
}

fn export_metrics(queues: &[QueueStats], overall: &QueueStats) {
    for s in queues.iter().chain(std::iter::once(overall)) {
        let q = if s.queue == "*" {
            "all".to_string()
        } else {
            s.queue.clone()
        };
        metrics::gauge!("hotline_acd_waiting", "queue" => q.clone()).set(s.waiting as f64);
        metrics::gauge!("hotline_acd_callbacks_waiting", "queue" => q.clone())
            .set(s.callbacks_waiting as f64);
        metrics::gauge!("hotline_acd_longest_wait_seconds", "queue" => q.clone())
            .set(s.longest_wait_ms as f64 / 1000.0);
        for (state, n) in [
            ("logged_out", s.agents.logged_out),
            ("ready", s.agents.ready),
            ("not_ready", s.agents.not_ready),
            ("reserved", s.agents.reserved),
            ("talking", s.agents.talking),
            ("wrap_up", s.agents.wrap_up),
        ] {
            metrics::gauge!("hotline_acd_agents", "queue" => q.clone(), "state" => state)
                .set(f64::from(n));
        }
        let c = &s.counters;
        for (outcome, n) in [
            ("offered", c.offered),
            ("answered", c.answered),
            ("answered_in_sl", c.answered_in_sl),
            ("abandoned", c.abandoned),
            ("left", c.left),
            ("overflowed", c.overflowed_out),
            ("callbacks", c.callbacks),
            ("no_answers", c.no_answers),
        ] {
            metrics::gauge!("hotline_acd_calls_today", "queue" => q.clone(), "outcome" => outcome)
                .set(n as f64);
        }
        if let Some(v) = s.service_level {
            metrics::gauge!("hotline_acd_service_level", "queue" => q.clone()).set(v);
        }
        if let Some(v) = s.abandon_rate {
            metrics::gauge!("hotline_acd_abandon_rate", "queue" => q.clone()).set(v);
        }
        if let Some(v) = s.asa_ms {
            metrics::gauge!("hotline_acd_asa_seconds", "queue" => q.clone()).set(v / 1000.0);
        }
        if let Some(v) = s.aht_ms {
            metrics::gauge!("hotline_acd_aht_seconds", "queue" => q).set(v / 1000.0);
        }
    }
}
