//! What the SIP shell needs to know, independent of how the server loads its configuration.

use hotline_routing::{InviteAuthPolicy, TrustedNetworks};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The annex line a dialed number belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInfo {
    pub number: String,
    pub unit: Option<String>,
    pub mode: String,
    /// Remote seat or utility line rung in parallel (remote-seat, interconnect).
    pub target: Option<String>,
    /// The emergency line's trunk.
    pub trunk: Option<String>,
    /// What a guidance-only line tells the caller.
    pub guidance: Option<String>,
    /// A direct-merge number past its transition period (T2).
    pub retired: bool,
}

impl LineInfo {
    /// The `line.*` variables the dialplans read.
    pub fn vars(&self) -> hotline_ivr::LineVars {
        hotline_ivr::LineVars {
            number: self.number.clone(),
            unit: self.unit.clone().unwrap_or_default(),
            mode: self.mode.clone(),
            target: self.target.clone().unwrap_or_default(),
            trunk: self.trunk.clone().unwrap_or_default(),
            guidance: self.guidance.clone().unwrap_or_default(),
            retired: self.retired,
        }
    }
}

/// Everything the anchored call path needs beside SIP: RTP ports, prompts, dialplans, and
/// the queue's patience. `None` in [`SipConfig::media`] keeps the signalling-only B2BUA.
pub struct MediaSetup {
    pub ports: hotline_media_rt::PortPool,
    pub prompts: Arc<hotline_media_rt::PromptCache>,
    pub dialplans: Arc<hotline_ivr::DialplanSet>,
    pub rtp_timeout: Duration,
    /// Where bridged calls are recorded; `None`: not recorded.
    pub recordings_dir: Option<std::path::PathBuf>,
    pub queue_max_wait: Duration,
    pub queue_retry: Duration,
}

/// The numbers that enter the hotline (12345 and the annex lines).
pub trait NumberPlan: Send + Sync {
    fn line(&self, user: &str) -> Option<LineInfo>;
    /// The remote-seat (or interconnect) line of a unit, by the unit's name: who an agent
    /// brings into a three-party call.
    fn seat_of_unit(&self, _unit: &str) -> Option<LineInfo> {
        None
    }
}

#[derive(Debug, Clone)]
pub struct AgentInfo {
    pub id: String,
    pub groups: Vec<String>,
}

#[derive(Clone)]
pub struct SipConfig {
    pub udp: Vec<SocketAddr>,
    pub tcp: Vec<SocketAddr>,
    /// The name peers use for us (Request-URI host, digest realm's host).
    pub domain: String,
    /// Further domains served here (requests for others are refused as foreign).
    pub aliases: Vec<String>,
    pub realm: String,
    pub user_agent: String,
    pub trusted: TrustedNetworks,
    pub invite_auth: InviteAuthPolicy,
    /// New INVITEs beyond this many transactions in flight get 503 + Retry-After.
    pub max_inflight: usize,
    pub retry_after_secs: u32,
    pub registrar: hotline_registrar::RegistrarConfig,
    pub nonce_ttl: Duration,
    /// Digest algorithms offered, most preferred first (RFC 8760 §2.4).
    pub digest_algorithms: Vec<hotline_registrar::Algorithm>,
    pub credentials: hotline_registrar::Credentials,
    pub agents: Vec<AgentInfo>,
    pub entry_group: String,
    pub ring_timeout: Duration,
    /// `*` in `*110`: the one-key transfer dialed from an agent's phone (None: off).
    pub emergency_feature_prefix: Option<String>,
    /// Music on hold for the citizen while a remote seat rings (else they hear the agent).
    pub hold_music_while_seat_rings: bool,
    pub numbers: Arc<dyn NumberPlan>,
    pub media: Option<Arc<MediaSetup>>,
    /// The ACD behind the IVR's queues (used with `media`).
    pub acd: Option<crate::acd::AcdSetup>,
}
